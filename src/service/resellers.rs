//! Running resellers' accounts, for every surface that does (the CLI, the admin API, the
//! dashboard): opening one with its keys, rotating keys, suspending, and setting its
//! commission and limits. The checks and the key generation live here once; each change
//! is audited under its actor and, on this instance, takes effect at the next request.

use crate::domain::keys;
use crate::service::customer_cache::CustomerCache;
use crate::store::customers::{self, Customer, NewCustomer, TermsChange};
use crate::store::StoreError;
use rust_decimal::Decimal;
use sqlx::PgPool;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ResellerError {
    #[error("{0}")]
    Invalid(String),
    #[error("customer not found")]
    NotFound,
    #[error("customer {0} exists already")]
    Exists(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ResellerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::CustomerNotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl From<sqlx::Error> for ResellerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A reseller to open. Terms left `None` take their defaults: no commission, no credit
/// limit, the configured daily and rate limits.
pub struct NewReseller {
    pub id: String,
    pub name: String,
    pub opening_balance_usd: Decimal,
    pub terms: TermsChange,
}

/// A reseller's API key (Relier API, dashboard login) and distributor secret: shown
/// once, to whoever asked; only their hashes are kept.
pub struct Keys {
    pub api_key: String,
    pub secret_key: String,
}

pub struct Opened {
    pub customer: Customer,
    pub keys: Keys,
    /// For the reconciliation export; shown once too.
    pub reconcile_key: String,
}

/// Open a reseller: its row, its opening balance through the ledger, an audit note.
pub async fn create(pool: &PgPool, new: NewReseller, actor: &str) -> Result<Opened, ResellerError> {
    let valid_id = !new.id.is_empty()
        && new.id.len() <= 64
        && new
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_id {
        return Err(invalid("id must be 1-64 characters of A-Z, a-z, 0-9, _ or -"));
    }
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(invalid("name must be 1-200 characters"));
    }
    if new.opening_balance_usd < Decimal::ZERO || !cents(new.opening_balance_usd) {
        return Err(invalid("the opening balance must be zero or more, in cents"));
    }
    check(&new.terms)?;
    let (keys, reconcile_key) = (new_keys(), keys::generate("rc_"));
    let t = &new.terms;
    let customer = customers::create(
        pool,
        NewCustomer {
            id: &new.id,
            name,
            opening_balance_usd: new.opening_balance_usd,
            credit_limit_usd: t.credit_limit_usd.unwrap_or_default(),
            commission_rate: t.commission_rate.unwrap_or_default(),
            daily_limit_local: t.daily_limit_local.flatten(),
            topup_rate_per_min: t.topup_rate_per_min.flatten(),
            api_rate_per_15min: t.api_rate_per_15min.flatten(),
            api_key_hash: &keys::hash(&keys.api_key),
            secret_key_hash: &keys::hash(&keys.secret_key),
            reconcile_key_hash: &keys::hash(&reconcile_key),
        },
        actor,
    )
    .await
    .map_err(|e| match e {
        StoreError::CustomerExists => ResellerError::Exists(new.id.clone()),
        other => other.into(),
    })?;
    tracing::info!(customer = %customer.id, actor, "reseller created");
    Ok(Opened {
        customer,
        keys,
        reconcile_key,
    })
}

/// New keys for a reseller; the old ones, its distributor tokens and its dashboard
/// sessions stop (revoking keys is rotating them: there is no keyless reseller).
pub async fn rotate_keys(
    pool: &PgPool,
    cache: &CustomerCache,
    id: &str,
    note: &str,
    actor: &str,
) -> Result<Keys, ResellerError> {
    let note = required(note)?;
    let keys = new_keys();
    let api_key_hash = keys::hash(&keys.api_key);
    let secret_key_hash = keys::hash(&keys.secret_key);
    if !customers::rotate_keys(pool, id, &api_key_hash, &secret_key_hash, note, actor).await? {
        return Err(ResellerError::NotFound);
    }
    cache.forget(id);
    tracing::info!(customer = %id, actor, "keys rotated");
    Ok(keys)
}

/// Suspend (`active = false`) or reactivate a reseller. Its purchases under way finish.
pub async fn set_active(
    pool: &PgPool,
    cache: &CustomerCache,
    id: &str,
    active: bool,
    note: &str,
    actor: &str,
) -> Result<(), ResellerError> {
    let note = required(note)?;
    if !customers::set_active(pool, id, active, note, actor).await? {
        return Err(ResellerError::NotFound);
    }
    cache.forget(id);
    tracing::info!(customer = %id, actor, active, "reseller status set");
    Ok(())
}

/// Change a reseller's commission and limits; the audit note lists what was set.
pub async fn set_terms(
    pool: &PgPool,
    cache: &CustomerCache,
    id: &str,
    change: &TermsChange,
    note: &str,
    actor: &str,
) -> Result<Customer, ResellerError> {
    let note = required(note)?;
    if *change == TermsChange::default() {
        return Err(invalid("nothing to change"));
    }
    check(change)?;
    let note = format!("{}: {note}", describe(change));
    if !customers::set_terms(pool, id, change, &note, actor).await? {
        return Err(ResellerError::NotFound);
    }
    cache.forget(id);
    tracing::info!(customer = %id, actor, "reseller terms set");
    customers::get(pool, id).await?.ok_or(ResellerError::NotFound)
}

fn new_keys() -> Keys {
    Keys {
        api_key: keys::generate("rk_"),
        secret_key: keys::generate("sk_"),
    }
}

/// The terms' rules: commission a fraction in [0, 1) (the database keeps 6 decimals);
/// money in cents; limits positive (or absent: the default).
fn check(t: &TermsChange) -> Result<(), ResellerError> {
    if let Some(c) = t.commission_rate {
        if c < Decimal::ZERO || c >= Decimal::ONE || c.round_dp(6) != c {
            return Err(invalid(
                "commission_rate is a fraction in [0, 1) with at most 6 decimals: 0.02 means 2 %",
            ));
        }
    }
    if let Some(l) = t.credit_limit_usd {
        if l < Decimal::ZERO || !cents(l) {
            return Err(invalid("credit_limit_usd must be zero or more, in cents"));
        }
    }
    if let Some(Some(d)) = t.daily_limit_local {
        if d <= Decimal::ZERO || !cents(d) {
            return Err(invalid(
                "daily_limit_local must be positive, in cents (or null for the default)",
            ));
        }
    }
    for (name, rate) in [
        ("topup_rate_per_min", t.topup_rate_per_min),
        ("api_rate_per_15min", t.api_rate_per_15min),
    ] {
        if rate.flatten().is_some_and(|n| n <= 0) {
            return Err(ResellerError::Invalid(format!(
                "{name} must be positive (or null for the default)"
            )));
        }
    }
    Ok(())
}

/// Whole cents, and within the columns' NUMERIC(18, 2).
fn cents(d: Decimal) -> bool {
    d.round_dp(2) == d && d.abs() < Decimal::from(10_i64.pow(16))
}

/// What a change sets, for the audit log: `commission_rate 0.03, daily_limit_local default`.
fn describe(t: &TermsChange) -> String {
    let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".into());
    let parts = [
        ("commission_rate", t.commission_rate.map(|c| c.to_string())),
        ("credit_limit_usd", t.credit_limit_usd.map(|c| c.to_string())),
        (
            "daily_limit_local",
            t.daily_limit_local.map(|d| or_default(d.map(|d| d.to_string()))),
        ),
        (
            "topup_rate_per_min",
            t.topup_rate_per_min.map(|n| or_default(n.map(|n| n.to_string()))),
        ),
        (
            "api_rate_per_15min",
            t.api_rate_per_15min.map(|n| or_default(n.map(|n| n.to_string()))),
        ),
    ];
    parts
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The note an action must carry, trimmed; refused when blank.
pub fn required(note: &str) -> Result<&str, ResellerError> {
    match note.trim() {
        "" => Err(invalid("a note saying why is required")),
        note => Ok(note),
    }
}

fn invalid(message: &str) -> ResellerError {
    ResellerError::Invalid(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn terms_are_checked_and_described() {
        let ok = TermsChange {
            commission_rate: Some(dec("0.025")),
            daily_limit_local: Some(None),
            topup_rate_per_min: Some(Some(3)),
            ..TermsChange::default()
        };
        assert!(check(&ok).is_ok());
        assert_eq!(
            describe(&ok),
            "commission_rate 0.025, daily_limit_local default, topup_rate_per_min 3"
        );
        let with = |set: &dyn Fn(&mut TermsChange)| {
            let mut t = TermsChange::default();
            set(&mut t);
            t
        };
        for bad in [
            with(&|t| t.commission_rate = Some(dec("1"))),
            with(&|t| t.commission_rate = Some(dec("-0.01"))),
            with(&|t| t.commission_rate = Some(dec("0.0000001"))),
            with(&|t| t.credit_limit_usd = Some(dec("1.001"))),
            with(&|t| t.credit_limit_usd = Some(dec("10000000000000000"))),
            with(&|t| t.daily_limit_local = Some(Some(dec("0")))),
            with(&|t| t.api_rate_per_15min = Some(Some(-1))),
        ] {
            assert!(matches!(check(&bad), Err(ResellerError::Invalid(_))), "{bad:?}");
        }
    }
}
