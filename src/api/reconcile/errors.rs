//! Every reconciliation error, and its status and body, in one place.

use crate::store::is_unavailable;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub enum ReconcileError {
    /// Missing, unknown or revoked reconcile key.
    Unauthorized,
    Validation(Vec<(&'static str, String)>),
    Unavailable,
    Internal(String),
}

impl From<sqlx::Error> for ReconcileError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl IntoResponse for ReconcileError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"success": false, "error": "Invalid reconcile key"}),
            ),
            Self::Validation(details) => (
                StatusCode::BAD_REQUEST,
                json!({
                    "success": false,
                    "error": "Validation failed",
                    "details": details.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>(),
                }),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"success": false, "error": "Service temporarily unavailable"}),
            ),
            Self::Internal(cause) => {
                tracing::error!(cause, "reconciliation failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"success": false, "error": "Internal error"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
