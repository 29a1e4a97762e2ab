//! `POST /api/distributor/bulk_purchase`: up to 100 purchases in one request, each with
//! its own `distributor_transaction_id` (its idempotency key), checked, rate-limited,
//! debited and answered exactly as `product_purchase` would alone; the service sends
//! those for one upstream in one call where the upstream can take that (DataMart's
//! `/v1/purchase/bulk`). The answer lists every item's outcome; a retried bulk request
//! replays each item and charges nothing twice.

use super::auth::Distributor;
use super::codes::Code;
use super::errors::DistributorError;
use super::handlers::{body, purchase_request, purchased};
use super::types::{BulkBody, BulkItemResult, BulkResult};
use crate::api::json::JsonBody;
use crate::api::rate_limit::LimitKind;
use crate::api::AppState;
use crate::service::purchase::PurchaseRequest;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// At most this many items per request.
pub const MAX_ITEMS: usize = 100;
/// A bulk body may be this large (100 items).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[utoipa::path(post, path = "/api/distributor/bulk_purchase", tag = "distributor", request_body = BulkBody,
    operation_id = "bulk_purchase", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every item's outcome, in order, each as product_purchase would answer it (its HTTP status and body)", body = BulkResult),
        (status = 400, description = "12: not 1-100 items, or a malformed body; nothing debited"),
        (status = 401, description = "Invalid or missing token"),
        (status = 413, description = "Body too large")))]
pub async fn bulk_purchase(
    State(state): State<AppState>,
    caller: Distributor,
    raw: JsonBody,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let bulk: BulkBody = body(raw, None)?;
    if bulk.items.is_empty() || bulk.items.len() > MAX_ITEMS {
        return Err(DistributorError::coded(
            Code::InvalidTransaction,
            format!("items must hold 1 to {MAX_ITEMS} purchases"),
            None,
        ));
    }
    // Each item is a top-up for the rate limits, and checked, as it would be alone.
    let mut checked = Vec::with_capacity(bulk.items.len());
    for item in bulk.items {
        let check = match caller.rate_limit(&state, LimitKind::Topup).await {
            Err(limited) => Err(limited),
            Ok(()) => match purchase_request(&caller, item, state.sandbox) {
                Err(invalid) => Err(invalid),
                // Never silently a purchase: validation is product_purchase's.
                Ok((dtid, _, true)) => Err(DistributorError::coded(
                    Code::InvalidTransaction,
                    "validate_only is not taken in a bulk purchase; send the item to product_purchase",
                    Some(&dtid),
                )),
                Ok((dtid, request, false)) => Ok((dtid, request)),
            },
        };
        checked.push(check);
    }
    let (ids, requests): (Vec<String>, Vec<PurchaseRequest>) = checked.iter().flatten().cloned().unzip();
    let mut carried_out = ids
        .into_iter()
        .zip(state.purchases.purchase_many(requests).await)
        .map(|(dtid, result)| purchased(result, dtid));
    let mut results = Vec::with_capacity(checked.len());
    for check in checked {
        let answer = match check {
            Ok(_) => carried_out.next().expect("one result per purchase"),
            Err(refused) => Err(refused),
        };
        results.push(item_result(answer.unwrap_or_else(IntoResponse::into_response)).await);
    }
    Ok(Json(BulkResult::new(results)).into_response())
}

/// An item's answer as a listing entry: its HTTP status and its JSON body.
async fn item_result(response: Response) -> BulkItemResult {
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    BulkItemResult {
        http_status: status,
        result: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}
