//! Every distributor error and its HTTP status, code and body, in one place.

use super::codes::Code;
use crate::api::json::number;
use crate::api::rate_limit::Limited;
use crate::api::responses::{no_route_message, payload_too_large, too_many_requests, UNSUPPORTED_MEDIA_TYPE};
use crate::domain::refusal::Refusal;
use crate::service::purchase::PurchaseError;
use crate::service::tokens::TokenError;
use crate::store::limits::CellError;
use crate::store::{is_unavailable, StoreError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

#[derive(Debug)]
pub enum DistributorError {
    /// A coded refusal about a purchase.
    Coded {
        code: Code,
        error: String,
        dtid: Option<String>,
    },
    /// The same distributor_transaction_id with another payload.
    Conflict {
        dtid: String,
    },
    Unauthorized(String),
    TooManyRequests(Duration),
    PayloadTooLarge,
    /// The body is not declared as JSON.
    NotJson,
    /// No such route, or not with this method.
    NoRoute(StatusCode),
    NotFound,
    /// The database could not be reached: nothing was debited, or (with a transaction
    /// id) whether the debit committed could not be confirmed.
    Unavailable {
        transaction_id: Option<String>,
        dtid: Option<String>,
    },
    Internal(String),
}

impl DistributorError {
    pub fn coded(code: Code, error: impl Into<String>, dtid: Option<&str>) -> Self {
        Self::Coded {
            code,
            error: error.into(),
            dtid: dtid.map(str::to_owned),
        }
    }

    /// Map a purchase refusal, naming the request it answers (a quote or lookup names none).
    pub fn purchase(e: PurchaseError, dtid: Option<&str>) -> Self {
        let d = dtid;
        match e {
            PurchaseError::UnknownProduct(p) => Self::coded(Code::InvalidPackage, format!("Unknown product {p}"), d),
            PurchaseError::Amount(e) => Self::coded(Code::InvalidAmount, format!("Invalid amount: {e}"), d),
            PurchaseError::Phone(e) => Self::coded(Code::InvalidNumber, e.to_string(), d),
            e @ PurchaseError::NoSigningSecret => Self::coded(Code::InvalidTransaction, e.to_string(), d),
            e @ PurchaseError::OperatorMismatch { .. } => Self::coded(Code::InvalidPackage, e.to_string(), d),
            PurchaseError::Refused(Refusal::InsufficientBalance {
                balance, required_usd, ..
            }) => Self::Coded {
                code: Code::InsufficientFunds,
                error: format!(
                    "Insufficient balance: {} USD required, {} USD available",
                    number(required_usd),
                    number(balance)
                ),
                dtid: d.map(str::to_owned),
            },
            PurchaseError::Refused(Refusal::DailyLimit { used, limit, .. }) => Self::coded(
                Code::NotAuthorized,
                format!(
                    "Daily transaction limit exceeded for this number ({} of {} used)",
                    number(used),
                    number(limit)
                ),
                d,
            ),
            PurchaseError::Refused(Refusal::ReferenceConflict) => Self::Conflict {
                dtid: d.unwrap_or_default().into(),
            },
            PurchaseError::Refused(Refusal::CustomerInactive) => {
                Self::coded(Code::NotAuthorized, "Account suspended", d)
            }
            PurchaseError::Fx(e) => Self::coded(Code::SystemError, format!("Exchange rate unavailable: {e}"), d),
            PurchaseError::Unavailable(e) => {
                tracing::warn!(error = ?e, "purchase refused: database unavailable");
                Self::Unavailable {
                    transaction_id: None,
                    dtid: d.map(str::to_owned),
                }
            }
            PurchaseError::Unconfirmed {
                transaction_id, cause, ..
            } => {
                tracing::warn!(txn = %transaction_id, error = ?cause, "purchase outcome unconfirmed");
                Self::Unavailable {
                    transaction_id: Some(transaction_id),
                    dtid: d.map(str::to_owned),
                }
            }
            PurchaseError::Store(e) => Self::Internal(format!("{e:?}")),
            PurchaseError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<TokenError> for DistributorError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Db(e) => e.into(),
            other => Self::Unauthorized(match other {
                TokenError::Expired => "Token expired".into(),
                TokenError::Revoked => "Session revoked".into(),
                TokenError::Reused => "Refresh token already used; session revoked".into(),
                _ => "Invalid or missing token".into(),
            }),
        }
    }
}

impl From<StoreError> for DistributorError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

impl From<Limited> for DistributorError {
    fn from(l: Limited) -> Self {
        match l {
            Limited::Wait(wait) => Self::TooManyRequests(wait),
            Limited::Store(CellError::Postgres(e)) => e.into(),
            Limited::Store(e @ CellError::Redis(_)) => {
                tracing::warn!(error = %e, "rate limits unavailable");
                Self::Unavailable {
                    transaction_id: None,
                    dtid: None,
                }
            }
        }
    }
}

impl From<sqlx::Error> for DistributorError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            Self::Unavailable {
                transaction_id: None,
                dtid: None,
            }
        } else {
            Self::Internal(e.to_string())
        }
    }
}

fn coded_body(code: Code, error: &str, dtid: Option<&str>) -> serde_json::Value {
    let mut body = json!({
        "success": false,
        "error": error,
        "response_code": code.code(),
        "response_message": code.message(),
    });
    if let Some(d) = dtid {
        body["distributor_transaction_id"] = json!(d);
    }
    body
}

impl IntoResponse for DistributorError {
    fn into_response(self) -> Response {
        match self {
            Self::Coded { code, error, dtid } => (code.status(), Json(coded_body(code, &error, dtid.as_deref()))).into_response(),
            Self::Conflict { dtid } => (
                StatusCode::CONFLICT,
                Json(coded_body(
                    Code::InvalidTransaction,
                    "distributor_transaction_id already used for a different purchase",
                    Some(&dtid),
                )),
            )
                .into_response(),
            Self::Unauthorized(error) => {
                (StatusCode::UNAUTHORIZED, Json(json!({"success": false, "error": error}))).into_response()
            }
            Self::TooManyRequests(wait) => too_many_requests(wait),
            Self::PayloadTooLarge => payload_too_large(),
            Self::NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(coded_body(Code::InvalidTransaction, UNSUPPORTED_MEDIA_TYPE, None)),
            )
                .into_response(),
            Self::NoRoute(status) => (
                status,
                Json(coded_body(Code::InvalidTransaction, no_route_message(status), None)),
            )
                .into_response(),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                Json(json!({"success": false, "error": "Transaction not found", "response_code": Code::InvalidTransaction.code()})),
            )
                .into_response(),
            Self::Unavailable { transaction_id, dtid } => {
                let mut body = coded_body(
                    Code::SystemError,
                    match transaction_id {
                        None => "Service temporarily unavailable; nothing was charged. Retry later.",
                        Some(_) => "Outcome unknown: the purchase may have been recorded. Check check_status_url, \
                                    or retry with the same distributor_transaction_id (never charged twice).",
                    },
                    dtid.as_deref(),
                );
                if let (Some(id), Some(dtid)) = (transaction_id, dtid) {
                    body["transaction_id"] = json!(id);
                    body["check_status_url"] = json!(format!("/api/distributor/transaction/{dtid}"));
                }
                (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
            }
            Self::Internal(cause) => {
                tracing::error!(cause, "internal error");
                let body = coded_body(Code::SystemError, "Internal error", None);
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}

/// The body of every distributor error: `success` false, `error`, and for coded
/// refusals `response_code`/`response_message` (the table in docs/decisions.md).
#[derive(utoipa::ToSchema)]
pub struct DistributorErrorBody {
    pub success: bool,
    pub error: String,
    #[schema(example = "13")]
    pub response_code: Option<String>,
    pub response_message: Option<String>,
    pub distributor_transaction_id: Option<String>,
    /// 503 when whether the debit committed could not be confirmed.
    pub transaction_id: Option<String>,
    pub check_status_url: Option<String>,
    /// 429 (also in `Retry-After`).
    pub retry_after_seconds: Option<u64>,
}
