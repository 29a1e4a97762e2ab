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

/// 415 for a body not declared as JSON (it is not read, nothing is charged).
pub fn unsupported_media_type() -> Response {
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Json(json!({"success": false, "error": UNSUPPORTED_MEDIA_TYPE})),
    )
        .into_response()
}

pub const UNSUPPORTED_MEDIA_TYPE: &str = "Unsupported Media Type: send Content-Type: application/json";

/// What an unknown route (404), a known route asked with another method (405) or a
/// request that timed out (503) is told.
pub fn no_route_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed for this route; see /openapi.json",
        StatusCode::SERVICE_UNAVAILABLE => "Request timed out; retry later (a purchase is never charged twice)",
        _ => "No such route; see /openapi.json",
    }
}
