//! The reseller's webhook and callback delivery log, and manual re-send.

use super::auth::RelierCustomer;
use super::errors::RelierError;
use crate::api::json::timestamp;
use crate::api::paging::next_page;
use crate::api::rate_limit::LimitKind;
use crate::api::search::MAX_LIMIT;
use crate::api::AppState;
use crate::store::webhooks::{self, Delivery};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Serialize)]
struct DeliveryView {
    id: i64,
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    transaction_id: Option<String>,
    /// `webhook` (your endpoint) or `callback` (a purchase's callback_url).
    target: String,
    url: String,
    /// pending, delivered or failed (no more retries; re-send it to try again).
    status: String,
    attempts: i32,
    next_attempt_at: Option<String>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: format!("evt_{}", d.event_id),
            next_attempt_at: (d.status == "pending").then(|| timestamp(d.next_attempt_at)),
            kind: d.kind,
            transaction_id: d.transaction_id,
            target: d.target,
            url: d.url,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: timestamp(d.created_at),
            delivered_at: d.delivered_at.map(timestamp),
        }
    }
}

#[utoipa::path(get, path = "/api/webhooks/deliveries", tag = "relier", operation_id = "relier_webhook_deliveries",
    params(LogQuery), security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Your deliveries, newest first, and next_cursor while more remain: {success, deliveries: [...], next_cursor}", body = Object),
              (status = 400, description = "Validation failed"), (status = 401, description = "Invalid API credentials")))]
pub async fn log(
    State(state): State<AppState>,
    customer: RelierCustomer,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let Query(query) = query.map_err(|e| RelierError::Validation(vec![("query", e.body_text())]))?;
    let limit = query.limit.unwrap_or(50);
    let mut errors = Vec::new();
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(("limit", format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let before = match query.cursor.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push(("cursor", "cursor is not one this API gave out".into()));
            None
        }
    };
    if !errors.is_empty() {
        return Err(RelierError::Validation(errors));
    }
    let mut rows = webhooks::deliveries_for(&state.pool, &customer.0.id, before, limit + 1).await?;
    let next_cursor = next_page(&mut rows, limit).map(|d| d.id.to_string());
    let deliveries: Vec<DeliveryView> = rows.into_iter().map(DeliveryView::from).collect();
    Ok(Json(json!({"success": true, "deliveries": deliveries, "next_cursor": next_cursor})).into_response())
}

#[utoipa::path(post, path = "/api/webhooks/deliveries/{id}/resend", tag = "relier", operation_id = "relier_webhook_resend",
    params(("id" = i64, Path, description = "Delivery id")), security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Queued to be sent again now, with the same body: {success, delivery_id, status}", body = Object),
              (status = 401, description = "Invalid API credentials"), (status = 404, description = "Not found (or not yours)")))]
pub async fn resend(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Path(id): Path<String>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let id: i64 = id.parse().map_err(|_| RelierError::DeliveryNotFound)?;
    if !webhooks::resend(&state.pool, &customer.0.id, id).await? {
        return Err(RelierError::DeliveryNotFound);
    }
    Ok(Json(json!({"success": true, "delivery_id": id, "status": "pending"})).into_response())
}
