//! Error responses both dialects give in the same shape.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

/// 429 with `Retry-After` (whole seconds, at least 1).
pub fn too_many_requests(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let body = json!({"success": false, "error": "Too many requests", "retry_after_seconds": secs});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    response
}

pub fn payload_too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(json!({"success": false, "error": "Request body too large"})),
    )
        .into_response()
}
