//! Every error of the notification API, as seed 002 gives them: `{"detail": "…"}` with
//! 400, 401, 403, 404 or 500 (and 413/503 where the server itself cannot go on).

use crate::domain::notification::Permission;
use crate::service::notifications::NotifyError;
use crate::store::is_unavailable;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub enum NotificationsError {
    /// Missing fields, invalid data, a disconnected instance.
    BadRequest(String),
    Unauthorized,
    Forbidden(Permission),
    InstanceNotFound,
    PayloadTooLarge,
    Service(NotifyError),
}

impl From<NotifyError> for NotificationsError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::InstanceNotFound => Self::InstanceNotFound,
            NotifyError::NotConnected => Self::BadRequest(e.to_string()),
            other => Self::Service(other),
        }
    }
}

fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"detail": message.into()}))).into_response()
}

impl IntoResponse for NotificationsError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(message) => detail(StatusCode::BAD_REQUEST, message),
            Self::Unauthorized => {
                let mut r = detail(StatusCode::UNAUTHORIZED, "Invalid or missing API key");
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Self::Forbidden(p) => detail(
                StatusCode::FORBIDDEN,
                format!("API key lacks the {} permission", p.as_str()),
            ),
            Self::InstanceNotFound => detail(StatusCode::NOT_FOUND, "Instance not found"),
            Self::PayloadTooLarge => detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            Self::Service(NotifyError::WhatsApp(e)) => {
                tracing::warn!(error = %e, "Evolution API error");
                detail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            Self::Service(e @ NotifyError::NotConfigured) => detail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            Self::Service(NotifyError::Db(e)) if is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable; nothing was sent. Retry later.",
                )
            }
            Self::Service(e) => {
                tracing::error!(error = ?e, "internal error");
                detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}
