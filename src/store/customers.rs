//! Resellers (customers): creation, credits, lookups for authentication.

use super::ledger::PostingOutcome;
use super::{audit, is_unique_violation, StoreError};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub status: String,
    pub balance_usd: Decimal,
    pub credit_limit_usd: Decimal,
    pub commission_rate: Decimal,
    pub daily_limit_local: Option<Decimal>,
    pub topup_rate_per_min: Option<i32>,
    pub api_rate_per_15min: Option<i32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Charged for purchases that are not final yet (PENDING, PROCESSING, REVIEW): already
    /// out of `balance_usd`, and either spent or refunded when they settle.
    pub held_usd: Decimal,
    /// A `balance.low` event each time a debit takes the balance below this (None: off).
    pub low_balance_usd: Option<Decimal>,
}

/// What authentication needs: the hashes, never the keys.
#[derive(Clone, sqlx::FromRow)]
pub struct CustomerAuth {
    pub id: String,
    pub name: String,
    pub status: String,
    pub commission_rate: Decimal,
    pub daily_limit_local: Option<Decimal>,
    pub topup_rate_per_min: Option<i32>,
    pub api_rate_per_15min: Option<i32>,
    pub api_key_hash: Vec<u8>,
    pub secret_key_hash: Vec<u8>,
}

pub struct NewCustomer<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub opening_balance_usd: Decimal,
    pub credit_limit_usd: Decimal,
    pub commission_rate: Decimal,
    pub daily_limit_local: Option<Decimal>,
    pub topup_rate_per_min: Option<i32>,
    pub api_rate_per_15min: Option<i32>,
    pub api_key_hash: &'a [u8],
    pub secret_key_hash: &'a [u8],
    pub reconcile_key_hash: &'a [u8],
}

/// The held sum reads the open purchases' own index (migration 0012), a few entries.
const CUSTOMER_COLUMNS: &str = "id, name, status, balance_usd, credit_limit_usd, commission_rate, daily_limit_local,
     topup_rate_per_min, api_rate_per_15min, created_at, updated_at,
     (SELECT COALESCE(sum(t.charged_usd), 0) FROM transactions t
      WHERE t.customer_id = customers.id AND t.processed_at IS NULL) AS held_usd, low_balance_usd";

/// Create a reseller, with its opening balance (a credit) and an audit note naming
/// `actor` (an ops user, or "cli"), in one transaction.
pub async fn create(pool: &PgPool, c: NewCustomer<'_>, actor: &str) -> Result<Customer, StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO customers (id, name, credit_limit_usd, commission_rate, daily_limit_local,
             topup_rate_per_min, api_rate_per_15min, api_key_hash, secret_key_hash, reconcile_key_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.id)
    .bind(c.name)
    .bind(c.credit_limit_usd)
    .bind(c.commission_rate)
    .bind(c.daily_limit_local)
    .bind(c.topup_rate_per_min)
    .bind(c.api_rate_per_15min)
    .bind(c.api_key_hash)
    .bind(c.secret_key_hash)
    .bind(c.reconcile_key_hash)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(StoreError::CustomerExists),
        other => other?,
    };
    audit(&mut tx, c.id, "created", c.name, actor).await?;
    if c.opening_balance_usd > Decimal::ZERO {
        post(
            &mut *tx,
            CREDIT,
            c.id,
            c.opening_balance_usd,
            Some("opening balance"),
            actor,
        )
        .await?;
    }
    tx.commit().await?;
    get(pool, c.id).await?.ok_or(StoreError::CustomerNotFound)
}

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Several customers in one query (those that exist, in no particular order).
pub async fn get_many(pool: &PgPool, ids: &[String]) -> Result<Vec<Customer>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
}

pub async fn auth(pool: &PgPool, id: &str) -> Result<Option<CustomerAuth>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, status, commission_rate, daily_limit_local, topup_rate_per_min, api_rate_per_15min,
                api_key_hash, secret_key_hash
         FROM customers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Add funds (a wire received, say; `recarga_credit`): positive cents only. The ledger
/// entry and the audit note (naming `actor`: an ops user, or "cli") commit with it.
/// Returns the new balance.
pub async fn credit(
    pool: &PgPool,
    id: &str,
    usd: Decimal,
    note: Option<&str>,
    actor: &str,
) -> Result<Decimal, StoreError> {
    post(pool, CREDIT, id, usd, note, actor).await
}

/// An ops correction either way (`recarga_adjust`): the note saying why is required, and
/// a balance never goes below zero (`BelowZero`, nothing written). The ledger entry and
/// the audit note naming `actor` commit with it. Returns the new balance.
pub async fn adjust(pool: &PgPool, id: &str, usd: Decimal, note: &str, actor: &str) -> Result<Decimal, StoreError> {
    post(pool, ADJUST, id, usd, Some(note), actor).await
}

/// Suspend (`active = false`) or reactivate a reseller, with an audit note naming `actor`,
/// in one transaction. False when the reseller does not exist. A suspended reseller's
/// requests are refused once the authentication cache has let go of it
/// (`limits.auth_cache_ttl_ms`); its purchases under way finish.
pub async fn set_active(pool: &PgPool, id: &str, active: bool, note: &str, actor: &str) -> Result<bool, sqlx::Error> {
    let status = if active { "active" } else { "suspended" };
    let mut tx = pool.begin().await?;
    let found = sqlx::query("UPDATE customers SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if found {
        audit(
            &mut tx,
            id,
            if active { "reactivated" } else { "suspended" },
            note,
            actor,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// A change to a reseller's terms (checked by the caller): `None` leaves a term as it
/// is; for the limits, `Some(None)` puts it back to the configured default.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TermsChange {
    pub commission_rate: Option<Decimal>,
    pub credit_limit_usd: Option<Decimal>,
    pub daily_limit_local: Option<Option<Decimal>>,
    pub topup_rate_per_min: Option<Option<i32>>,
    pub api_rate_per_15min: Option<Option<i32>>,
}

/// Apply `change` in one statement (so two ops editing different terms at once both
/// win), with an audit note naming `actor`. False when the reseller does not exist.
pub async fn set_terms(
    pool: &PgPool,
    id: &str,
    change: &TermsChange,
    note: &str,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "UPDATE customers SET
             commission_rate    = CASE WHEN $2 THEN $3 ELSE commission_rate END,
             credit_limit_usd   = CASE WHEN $4 THEN $5 ELSE credit_limit_usd END,
             daily_limit_local  = CASE WHEN $6 THEN $7 ELSE daily_limit_local END,
             topup_rate_per_min = CASE WHEN $8 THEN $9 ELSE topup_rate_per_min END,
             api_rate_per_15min = CASE WHEN $10 THEN $11 ELSE api_rate_per_15min END,
             updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(change.commission_rate.is_some())
    .bind(change.commission_rate)
    .bind(change.credit_limit_usd.is_some())
    .bind(change.credit_limit_usd)
    .bind(change.daily_limit_local.is_some())
    .bind(change.daily_limit_local.flatten())
    .bind(change.topup_rate_per_min.is_some())
    .bind(change.topup_rate_per_min.flatten())
    .bind(change.api_rate_per_15min.is_some())
    .bind(change.api_rate_per_15min.flatten())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if found {
        audit(&mut tx, id, "terms_set", note, actor).await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Replace a reseller's API key and distributor secret (their hashes), and end every
/// session they opened: distributor token families (so access tokens stop at once, not
/// at expiry) and dashboard sessions. With an audit note naming `actor`; false when the
/// reseller does not exist.
pub async fn rotate_keys(
    pool: &PgPool,
    id: &str,
    api_key_hash: &[u8],
    secret_key_hash: &[u8],
    note: &str,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found =
        sqlx::query("UPDATE customers SET api_key_hash = $2, secret_key_hash = $3, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(api_key_hash)
            .bind(secret_key_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if found {
        sqlx::query(
            "UPDATE token_families SET revoked_at = now(), revoked_reason = 'keys rotated'
             WHERE customer_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE dashboard_sessions SET revoked_at = now()
             WHERE user_kind = 'reseller' AND subject = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, id, "keys_rotated", note, actor).await?;
    }
    tx.commit().await?;
    Ok(found)
}

const CREDIT: &str = "SELECT outcome, balance_after FROM recarga_credit($1, $2, $3, $4)";
const ADJUST: &str = "SELECT outcome, balance_after FROM recarga_adjust($1, $2, $3, $4)";

async fn post(
    db: impl sqlx::PgExecutor<'_>,
    statement: &'static str,
    id: &str,
    usd: Decimal,
    note: Option<&str>,
    actor: &str,
) -> Result<Decimal, StoreError> {
    let (outcome, balance): (PostingOutcome, Option<Decimal>) = sqlx::query_as(statement)
        .bind(id)
        .bind(usd)
        .bind(note)
        .bind(actor)
        .fetch_one(db)
        .await?;
    match (outcome, balance) {
        (PostingOutcome::Posted, Some(balance)) => Ok(balance),
        (PostingOutcome::Posted, None) => Err(StoreError::Inconsistent(
            "a posting answered without the balance it left".into(),
        )),
        (PostingOutcome::CustomerNotFound, _) => Err(StoreError::CustomerNotFound),
        (PostingOutcome::InvalidAmount, _) => Err(StoreError::InvalidAmount),
        (PostingOutcome::NoteRequired, _) => Err(StoreError::NoteRequired),
        (PostingOutcome::BelowZero, balance) => Err(StoreError::BelowZero {
            balance: balance.unwrap_or_default(),
        }),
    }
}
