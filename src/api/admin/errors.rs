//! Every admin API error, with its status and JSON body, in one place.

use crate::api::json::BodyError;
use crate::api::responses::{no_route_message, payload_too_large, UNSUPPORTED_MEDIA_TYPE};
use crate::service::resellers::ResellerError;
use crate::store::{is_unavailable, StoreError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("missing, unknown or revoked ops token")]
    Unauthorized,
    #[error("{0}")]
    Invalid(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{UNSUPPORTED_MEDIA_TYPE}")]
    NotJson,
    #[error("{}", no_route_message(*.0))]
    NoRoute(StatusCode),
    /// What was not found (a transaction, a customer, a webhook).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The action does not apply to the thing in its current state.
    #[error("{0}")]
    Conflict(String),
    #[error("database unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            StoreError::CustomerNotFound => Self::NotFound("customer"),
            StoreError::InvalidAmount | StoreError::NoteRequired => Self::Invalid(e.to_string()),
            StoreError::BelowZero { .. } => Self::Conflict(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ResellerError> for AdminError {
    fn from(e: ResellerError) -> Self {
        match e {
            ResellerError::Invalid(m) => Self::Invalid(m),
            ResellerError::NotFound => Self::NotFound("customer"),
            ResellerError::Exists(_) => Self::Conflict(e.to_string()),
            ResellerError::Store(e) => e.into(),
        }
    }
}

impl From<BodyError> for AdminError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::NotJson => Self::NotJson,
            BodyError::Invalid(m) => Self::Invalid(m),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => return payload_too_large(),
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NoRoute(status) => *status,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(cause) => {
                tracing::error!(cause, "admin API internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({"success": false, "error": self.to_string()}))).into_response()
    }
}

/// The body of every admin API error.
#[derive(utoipa::ToSchema)]
pub struct AdminErrorBody {
    pub success: bool,
    pub error: String,
    /// 429 (also in `Retry-After`).
    pub retry_after_seconds: Option<u64>,
}
