//! A reseller's webhook endpoint, set by ops scripts as with `recarga webhook set`.

use super::auth::Ops;
use super::errors::{AdminError, AdminErrorBody};
use crate::api::json::{decimal, opt_money, parse_body, timestamp, JsonBody};
use crate::api::AppState;
use crate::domain::money::DecimalNumber;
use crate::service::webhook_endpoints::{self, EndpointError};
use crate::store::webhooks;
use axum::extract::{Path, State};
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// https (http only in sandbox mode). Absent or null: no webhooks; the new secret
    /// signs per-purchase callbacks only.
    pub url: Option<String>,
    /// Send `balance.low` each time a debit takes the balance below this. Absent or
    /// null: off.
    #[schema(value_type = Option<DecimalNumber>)]
    pub low_balance_usd: Option<serde_json::Number>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookSet {
    pub success: bool,
    pub customer_id: String,
    pub url: Option<String>,
    #[serde(serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub low_balance_usd: Option<Decimal>,
    /// Signs every delivery and callback (`Recarga-Signature`, docs/webhooks.md). Shown
    /// this once: setting the webhook again issues a new one.
    pub signing_secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookSettings {
    pub success: bool,
    pub customer_id: String,
    pub url: Option<String>,
    #[serde(serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub low_balance_usd: Option<Decimal>,
    pub updated_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookRemoved {
    pub success: bool,
    pub customer_id: String,
    pub removed: bool,
}

impl From<EndpointError> for AdminError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::Invalid(m) => Self::Invalid(m),
            EndpointError::NoCustomer => Self::NotFound("customer"),
            EndpointError::Db(e) => e.into(),
        }
    }
}

#[utoipa::path(put, path = "/api/admin/customers/{id}/webhook", operation_id = "admin_set_webhook", tag = "admin", request_body = WebhookBody,
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Set (replacing any earlier one), with a new signing secret shown once; audited under the token's name", body = WebhookSet),
        (status = 400, description = "URL not https (http only in sandbox), threshold not positive, or body invalid", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such customer", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn set(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<WebhookSet>, AdminError> {
    let body: WebhookBody = parse_body(body)?;
    let low_balance_usd = body
        .low_balance_usd
        .map(|n| decimal(&n).ok_or_else(|| AdminError::Invalid("low_balance_usd must be a decimal number".into())))
        .transpose()?;
    let set = webhook_endpoints::configure(
        &state.pool,
        &id,
        body.url.as_deref(),
        low_balance_usd,
        state.sandbox,
        &ops.actor(),
    )
    .await?;
    Ok(Json(WebhookSet {
        success: true,
        customer_id: id,
        url: set.url,
        low_balance_usd: set.low_balance_usd,
        signing_secret: set.signing_secret,
    }))
}

#[utoipa::path(get, path = "/api/admin/customers/{id}/webhook", operation_id = "admin_get_webhook", tag = "admin",
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "The endpoint (never its secret)", body = WebhookSettings),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "The customer has no webhook (or does not exist)", body = AdminErrorBody),
        (status = 503, description = "Database unavailable", body = AdminErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _ops: Ops,
    Path(id): Path<String>,
) -> Result<Json<WebhookSettings>, AdminError> {
    let s = webhooks::settings(&state.pool, &id)
        .await?
        .ok_or(AdminError::NotFound("webhook"))?;
    Ok(Json(WebhookSettings {
        success: true,
        customer_id: id,
        url: s.url,
        low_balance_usd: s.low_balance_usd,
        updated_at: timestamp(s.updated_at),
    }))
}

#[utoipa::path(delete, path = "/api/admin/customers/{id}/webhook", operation_id = "admin_remove_webhook", tag = "admin",
    params(("id" = String, Path, description = "Customer id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Removed: no more webhooks or callbacks for this reseller (queued deliveries are not signed any more); audited", body = WebhookRemoved),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "The customer has no webhook (or does not exist)", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
) -> Result<Json<WebhookRemoved>, AdminError> {
    if !webhooks::remove_endpoint(&state.pool, &id, &ops.actor()).await? {
        return Err(AdminError::NotFound("webhook"));
    }
    Ok(Json(WebhookRemoved {
        success: true,
        customer_id: id,
        removed: true,
    }))
}
