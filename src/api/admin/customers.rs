//! A reseller's account for ops scripts: read it, credit it (as `recarga customer
//! credit`), suspend and reactivate it, rotate (that is, revoke and replace) its keys;
//! every change audited under the token's name.

use super::auth::Ops;
use super::errors::{AdminError, AdminErrorBody};
use crate::api::json::{decimal, money, opt_money, parse_body, JsonBody};
use crate::api::AppState;
use crate::domain::money::DecimalNumber;
use crate::service::resellers::{self, required};
use crate::store::customers::{self, Customer};
use axum::extract::{Path, State};
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Account {
    pub success: bool,
    pub customer_id: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_usd: Decimal,
    /// Charged for purchases not final yet (already out of the balance).
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub held_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub credit_limit_usd: Decimal,
    /// A fraction: 0.02 is 2 %.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub commission_rate: Decimal,
    /// Per end-user phone per business day, in the product's currency (null: the default).
    #[serde(serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub daily_limit_local: Option<Decimal>,
    pub topup_rate_per_min: Option<i32>,
    pub api_rate_per_15min: Option<i32>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// Positive, in cents at most.
    #[schema(value_type = DecimalNumber)]
    pub usd: serde_json::Number,
    /// Why (a wire's reference, say): kept with the ledger entry and in the audit log.
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Credited {
    pub success: bool,
    pub customer_id: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub credited_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_usd: Decimal,
}

#[utoipa::path(get, path = "/api/admin/customers/{id}", operation_id = "admin_get_customer", tag = "admin",
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Balance, held funds, limits and status (never a key)", body = Account),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 503, description = "Database unavailable", body = AdminErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _ops: Ops,
    Path(id): Path<String>,
) -> Result<Json<Account>, AdminError> {
    let c = customers::get(&state.pool, &id)
        .await?
        .ok_or(AdminError::NotFound("customer"))?;
    Ok(Json(Account::from(c)))
}

impl From<Customer> for Account {
    fn from(c: Customer) -> Self {
        Self {
            success: true,
            customer_id: c.id,
            name: c.name,
            status: c.status,
            balance_usd: c.balance_usd,
            held_usd: c.held_usd,
            credit_limit_usd: c.credit_limit_usd,
            commission_rate: c.commission_rate,
            daily_limit_local: c.daily_limit_local,
            topup_rate_per_min: c.topup_rate_per_min,
            api_rate_per_15min: c.api_rate_per_15min,
        }
    }
}

#[utoipa::path(post, path = "/api/admin/customers/{id}/credit", operation_id = "admin_credit_customer", tag = "admin", request_body = CreditBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Credited through the ledger (an entry with the note), audited under the token's name; the reseller's WhatsApp confirmation is queued where a contact is set", body = Credited),
        (status = 400, description = "Amount not a positive number of cents, note missing, or body invalid; nothing moved", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing moved", body = AdminErrorBody)))]
pub async fn credit(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Credited>, AdminError> {
    let body: CreditBody = parse_body(body)?;
    let usd = decimal(&body.usd).ok_or_else(|| AdminError::Invalid("usd must be a decimal number".into()))?;
    let (note, actor) = (required(&body.note)?, ops.actor());
    let balance = customers::credit(&state.pool, &id, usd, Some(note), &actor).await?;
    tracing::info!(customer = %id, actor, "credit");
    state.notifications.confirm_credit(&id, usd, balance).await;
    Ok(Json(Credited {
        success: true,
        customer_id: id,
        credited_usd: usd,
        balance_usd: balance,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// Why: kept in the audit log.
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusChanged {
    pub success: bool,
    pub customer_id: String,
    /// `active` or `suspended`.
    pub status: String,
}

#[utoipa::path(post, path = "/api/admin/customers/{id}/suspend", operation_id = "admin_suspend_customer", tag = "admin", request_body = StatusBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Suspended: its requests are refused (403) from the next one on this instance, on others within `limits.auth_cache_ttl_ms`; purchases under way finish; audited", body = StatusChanged),
        (status = 400, description = "Note missing, or body invalid", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn suspend(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<StatusChanged>, AdminError> {
    set_active(&state, ops, id, body, false).await
}

#[utoipa::path(post, path = "/api/admin/customers/{id}/activate", operation_id = "admin_activate_customer", tag = "admin", request_body = StatusBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Active again (at once on this instance, on others within `limits.auth_cache_ttl_ms`); audited", body = StatusChanged),
        (status = 400, description = "Note missing, or body invalid", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<StatusChanged>, AdminError> {
    set_active(&state, ops, id, body, true).await
}

async fn set_active(
    state: &AppState,
    ops: Ops,
    id: String,
    body: JsonBody,
    active: bool,
) -> Result<Json<StatusChanged>, AdminError> {
    let body: StatusBody = parse_body(body)?;
    resellers::set_active(&state.pool, &state.customers, &id, active, &body.note, &ops.actor()).await?;
    let status = if active { "active" } else { "suspended" };
    Ok(Json(StatusChanged {
        success: true,
        customer_id: id,
        status: status.into(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeysRotated {
    pub success: bool,
    pub customer_id: String,
    /// The new `x-api-key` (Relier API, dashboard login). Shown this once.
    pub api_key: String,
    /// The new distributor `secret_key`. Shown this once.
    pub secret_key: String,
}

#[utoipa::path(post, path = "/api/admin/customers/{id}/keys/rotate", operation_id = "admin_rotate_keys", tag = "admin", request_body = StatusBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "New API key and secret, shown once (only their hashes are kept). Revoking keys is rotating them. The old ones stop at once on this instance, on others within `limits.auth_cache_ttl_ms`; distributor tokens and dashboard sessions end at once; audited", body = KeysRotated),
        (status = 400, description = "Note missing, or body invalid", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<KeysRotated>, AdminError> {
    let body: StatusBody = parse_body(body)?;
    let keys = resellers::rotate_keys(&state.pool, &state.customers, &id, &body.note, &ops.actor()).await?;
    Ok(Json(KeysRotated {
        success: true,
        customer_id: id,
        api_key: keys.api_key,
        secret_key: keys.secret_key,
    }))
}
