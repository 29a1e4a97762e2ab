//! Opening resellers and changing their money and terms, for ops scripts: create one
//! (keys shown once, as `recarga customer create` prints them), adjust a balance either
//! way (as `recarga customer adjust`), set commission and limits. Each is audited under
//! the token's name; the checks are the service's, shared with the CLI and the dashboard.

use super::auth::Ops;
use super::customers::Account;
use super::errors::{AdminError, AdminErrorBody};
use crate::api::json::{decimal, money, parse_body, JsonBody};
use crate::api::AppState;
use crate::domain::money::DecimalNumber;
use crate::service::resellers::{self, NewReseller};
use crate::store::customers::{self, TermsChange};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// A reseller's commission and limits. In a change, a term left out stays as it is, and
/// a limit set to null goes back to the configured default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsBody {
    /// A fraction in [0, 1): 0.02 is 2 %, added to the cost of each purchase.
    #[schema(value_type = Option<DecimalNumber>)]
    pub commission_rate: Option<serde_json::Number>,
    /// Informational (shown as the Relier API shows it): zero or more, in cents.
    #[schema(value_type = Option<DecimalNumber>)]
    pub credit_limit_usd: Option<serde_json::Number>,
    /// Per end-user phone per business day, in the product's currency: positive, in
    /// cents, or null for the default (`limits.daily_limit_local`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub daily_limit_local: Option<Option<serde_json::Number>>,
    /// Top-up requests per minute: positive, or null for the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub topup_rate_per_min: Option<Option<i32>>,
    /// Other API requests per 15 minutes: positive, or null for the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub api_rate_per_15min: Option<Option<i32>>,
}

/// A field that is there, even as null (`Some(None)`), as against one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl TermsBody {
    fn change(self) -> Result<TermsChange, AdminError> {
        let number = |name: &str, n: Option<serde_json::Number>| {
            n.map(|n| decimal(&n).ok_or_else(|| AdminError::Invalid(format!("{name} must be a decimal number"))))
                .transpose()
        };
        Ok(TermsChange {
            commission_rate: number("commission_rate", self.commission_rate)?,
            credit_limit_usd: number("credit_limit_usd", self.credit_limit_usd)?,
            daily_limit_local: self
                .daily_limit_local
                .map(|d| number("daily_limit_local", d))
                .transpose()?,
            topup_rate_per_min: self.topup_rate_per_min,
            api_rate_per_15min: self.api_rate_per_15min,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// 1-64 characters of A-Z, a-z, 0-9, _ or -: the `x-customer-id` it will use.
    pub customer_id: String,
    pub name: String,
    /// Credited at once through the ledger (default 0).
    #[schema(value_type = Option<DecimalNumber>)]
    pub opening_balance_usd: Option<serde_json::Number>,
    /// Left out: no commission, no credit limit, the default limits.
    #[serde(default)]
    pub terms: TermsBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub success: bool,
    pub account: Account,
    /// The `x-api-key` (Relier API, dashboard login). Shown this once.
    pub api_key: String,
    /// The distributor `secret_key`. Shown this once.
    pub secret_key: String,
    /// The reconciliation export's key. Shown this once.
    pub reconcile_key: String,
}

#[utoipa::path(post, path = "/api/admin/customers", operation_id = "admin_create_customer", tag = "admin", request_body = CreateBody,
    security(("ops_bearer" = [])),
    responses(
        (status = 201, description = "Created, with its opening balance through the ledger; its keys are shown this once (only their hashes are kept); audited under the token's name", body = Created),
        (status = 400, description = "Id, name, balance or terms invalid, or body invalid; nothing created", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 409, description = "A customer with this id exists; nothing changed", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing created", body = AdminErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ops: Ops,
    body: JsonBody,
) -> Result<(StatusCode, Json<Created>), AdminError> {
    let body: CreateBody = parse_body(body)?;
    let opening_balance_usd = match &body.opening_balance_usd {
        Some(n) => {
            decimal(n).ok_or_else(|| AdminError::Invalid("opening_balance_usd must be a decimal number".into()))?
        }
        None => Decimal::ZERO,
    };
    let new = NewReseller {
        id: body.customer_id,
        name: body.name,
        opening_balance_usd,
        terms: body.terms.change()?,
    };
    let opened = resellers::create(&state.pool, new, &ops.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            success: true,
            account: Account::from(opened.customer),
            api_key: opened.keys.api_key,
            secret_key: opened.keys.secret_key,
            reconcile_key: opened.reconcile_key,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsChangeBody {
    pub terms: TermsBody,
    /// Why: kept in the audit log with what was set.
    pub note: String,
}

#[utoipa::path(patch, path = "/api/admin/customers/{id}/terms", operation_id = "admin_set_terms", tag = "admin", request_body = TermsChangeBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Set; this instance applies them from the next request, others within `limits.auth_cache_ttl_ms`; audited with what was set", body = Account),
        (status = 400, description = "A term out of range, nothing to change, note missing, or body invalid; nothing changed", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn set_terms(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Account>, AdminError> {
    let body: TermsChangeBody = parse_body(body)?;
    let change = body.terms.change()?;
    let c = resellers::set_terms(&state.pool, &state.customers, &id, &change, &body.note, &ops.actor()).await?;
    Ok(Json(Account::from(c)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Either sign, non-zero, in cents at most: positive adds, negative takes away.
    #[schema(value_type = DecimalNumber)]
    pub usd: serde_json::Number,
    /// Why: kept with the ledger entry and in the audit log.
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Adjusted {
    pub success: bool,
    pub customer_id: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub adjusted_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_usd: Decimal,
}

#[utoipa::path(post, path = "/api/admin/customers/{id}/adjust", operation_id = "admin_adjust_balance", tag = "admin", request_body = AdjustBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Adjusted through the ledger (an `adjustment` entry with the note), audited under the token's name", body = Adjusted),
        (status = 400, description = "Amount zero, not in cents or not a number, note missing, or body invalid; nothing moved", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 409, description = "It would take the balance below zero; nothing moved", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing moved", body = AdminErrorBody)))]
pub async fn adjust(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Adjusted>, AdminError> {
    let body: AdjustBody = parse_body(body)?;
    let usd = decimal(&body.usd).ok_or_else(|| AdminError::Invalid("usd must be a decimal number".into()))?;
    let (note, actor) = (resellers::required(&body.note)?, ops.actor());
    let balance = customers::adjust(&state.pool, &id, usd, note, &actor).await?;
    tracing::info!(customer = %id, actor, %usd, "balance adjusted");
    Ok(Json(Adjusted {
        success: true,
        customer_id: id,
        adjusted_usd: usd,
        balance_usd: balance,
    }))
}
