//! The enquiry by client reference, settling network-pending recharges when due.

use super::answers::{error_body, html};
use super::auth::check_bearer;
use super::dealer::not_our_dealer;
use super::state::{Inner, SimState, Status};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::atomic::Ordering;

/// A network-pending recharge whose time has come takes its final status.
pub(super) fn settle_due(inner: &mut Inner, reference: &str) {
    let default = (inner.pending_after, inner.pending_to);
    let Some(txn) = inner.txns.peek_mut(reference) else {
        return;
    };
    let (after, to) = txn.settles.unwrap_or(default);
    if txn.pending_since.is_none_or(|since| since.elapsed() < after) {
        return;
    }
    txn.pending_since = None;
    txn.status_id = to.id().into();
    txn.status_text = to.text().into();
    if matches!(to, Status::Failed | Status::Cancelled) {
        let refund = txn.cost;
        inner.balance += refund;
    }
}

pub(super) async fn enquiry(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path((id, reference)): Path<(String, String)>,
) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    state.enquiries.fetch_add(1, Ordering::SeqCst);
    let _open = state.asked.enter(&reference).await;
    if state.lock().enquiry_unavailable {
        return html(StatusCode::SERVICE_UNAVAILABLE);
    }
    if let Some(response) = not_our_dealer(&state, &id) {
        return response.into_response();
    }
    let mut inner = state.lock();
    settle_due(&mut inner, &reference);
    let Some(t) = inner.txns.peek(&reference) else {
        return error_body(StatusCode::BAD_REQUEST, 1005, "ClientReference does not exist");
    };
    // The recorded shape: money as formatted strings, the product name under "network".
    Json(json!({"error": null, "responseCode": "SUCCESS", "transaction": {
        "description": "Order", "network": t.product, "recipientMsisdn": t.msisdn, "statusDate": t.date_ms,
        "reference": t.order_ref.to_string(), "amount": format!("R{:.2}", t.price),
        "discount": format!("{:.2}%", t.discount), "cost": format!("R{:.2}", t.cost),
        "status": t.status_text, "statusId": t.status_id, "ticketNumber": null, "voucherPin": null,
        "additionalVoucherPin": null, "boxNumber": null, "batchNumber": null, "expiryDate": null,
    }}))
    .into_response()
}
