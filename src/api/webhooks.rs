//! `POST /api/webhooks/{upstream}`: notifications from upstreams (DataMart's webhooks
//! and order callbacks). They cannot be authenticated (providers.md §2A: DataMart signs
//! with a key we do not hold), so they are hints only: the service asks the upstream
//! about the request it names before any money moves, and a forged or repeated one
//! settles nothing twice. The raw body goes to the service; its wire format is the
//! adapter's business.

use super::AppState;
use crate::service::purchase::Notified;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/webhooks/{upstream}", post(notification))
}

#[utoipa::path(post, path = "/api/webhooks/{upstream}", tag = "upstreams", operation_id = "upstream_notification",
    params(("upstream" = String, Path, description = "The upstream that sends it, e.g. `datamart`")),
    request_body(content = String, description = "The upstream's own notification body (DataMart: `{event, data{reference, …}}` or `{reference, status, …}`)", content_type = "application/json"),
    responses(
        (status = 200, description = "Received; the request it names was looked up upstream (nothing is settled on the notification's word): {success, received}", body = Object),
        (status = 400, description = "The body names no reference"),
        (status = 404, description = "No such upstream is enabled"),
        (status = 503, description = "Could not be handled now (e.g. database unavailable): send it again")))]
pub async fn notification(State(state): State<AppState>, Path(upstream): Path<String>, body: Bytes) -> Response {
    let answer = |status: StatusCode, body: serde_json::Value| (status, Json(body)).into_response();
    match state.purchases.notified(&upstream, &body).await {
        Ok(Notified::UnknownUpstream) => answer(
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "unknown upstream"}),
        ),
        Ok(Notified::Unreadable) => answer(
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "the notification names no reference"}),
        ),
        // Whether we know the reference is not the sender's business.
        Ok(Notified::UnknownReference | Notified::Confirmed { .. }) => {
            answer(StatusCode::OK, json!({"success": true, "received": true}))
        }
        // Handling one twice is harmless (it only triggers an enquiry), so any failure
        // asks the sender to try again.
        Err(e) => {
            tracing::warn!(upstream, error = ?e, "notification not handled");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"success": false, "error": "not handled; send it again later"}),
            )
        }
    }
}
