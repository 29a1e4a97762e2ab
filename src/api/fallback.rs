//! Unknown routes (404), known routes asked with another method (405) and requests that
//! outlive `limits.request_timeout_secs` (503) answer a JSON error in the shape of the
//! dialect the path belongs to, never an empty body.

use super::admin::errors::AdminError;
use super::distributor::errors::DistributorError;
use super::relier::errors::RelierError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn not_found(uri: Uri) -> Response {
    no_route(&uri, StatusCode::NOT_FOUND)
}

pub async fn method_not_allowed(uri: Uri) -> Response {
    no_route(&uri, StatusCode::METHOD_NOT_ALLOWED)
}

/// A request still unanswered after the timeout gets 503 (the purchases run in tasks of
/// their own: dropping the handler stops no debit or send, see docs/decisions.md).
pub async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    let limit = Duration::from_secs(state.settings.limits.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path = uri.path(), "request timed out");
            no_route(&uri, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

fn no_route(uri: &Uri, status: StatusCode) -> Response {
    let path = uri.path();
    if path.starts_with("/api/distributor/") {
        DistributorError::NoRoute(status).into_response()
    } else if path.starts_with("/api/admin/") {
        AdminError::NoRoute(status).into_response()
    } else {
        RelierError::NoRoute(status).into_response()
    }
}
