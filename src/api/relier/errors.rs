//! Every Relier error, and its status and body (seed 000's shapes), in one place.

use crate::api::json::number;
use crate::api::rate_limit::Limited;
use crate::api::responses::no_route_message;
use crate::api::responses::{payload_too_large, too_many_requests, unsupported_media_type};
use crate::domain::money::DecimalNumber;
use crate::domain::refusal::Refusal;
use crate::service::fx::FxError;
use crate::service::purchase::PurchaseError;
use crate::store::limits::CellError;
use crate::store::{is_unavailable, StoreError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::json;
use std::time::Duration;

#[derive(Debug)]
pub enum RelierError {
    Validation(Vec<(&'static str, String)>),
    PayloadTooLarge,
    /// The body is not declared as JSON.
    NotJson,
    /// No such route, or not with this method.
    NoRoute(StatusCode),
    Unauthorized,
    Suspended,
    RateLimited(Duration),
    NotFound,
    DeliveryNotFound,
    InvoiceNotFound,
    Purchase(PurchaseError),
    /// The top-up definitely failed and was refunded.
    ProcessingFailed {
        transaction_id: String,
        reason: Option<String>,
        response_time_ms: i64,
    },
    /// The database could not be reached; nothing was changed.
    Unavailable(String),
    Internal(String),
}

impl From<PurchaseError> for RelierError {
    fn from(e: PurchaseError) -> Self {
        Self::Purchase(e)
    }
}

impl From<StoreError> for RelierError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

impl From<Limited> for RelierError {
    fn from(l: Limited) -> Self {
        match l {
            Limited::Wait(wait) => Self::RateLimited(wait),
            Limited::Store(CellError::Postgres(e)) => e.into(),
            Limited::Store(e @ CellError::Redis(_)) => Self::Unavailable(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for RelierError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

fn body(status: StatusCode, value: serde_json::Value) -> Response {
    (status, Json(value)).into_response()
}

impl IntoResponse for RelierError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(details) => body(
                StatusCode::BAD_REQUEST,
                json!({
                    "success": false,
                    "error": "Validation failed",
                    "details": details.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>(),
                }),
            ),
            Self::PayloadTooLarge => payload_too_large(),
            Self::NotJson => unsupported_media_type(),
            Self::NoRoute(status) => body(status, json!({"success": false, "error": no_route_message(status)})),
            Self::Unauthorized => body(
                StatusCode::UNAUTHORIZED,
                json!({"success": false, "error": "Invalid API credentials"}),
            ),
            Self::Suspended => body(
                StatusCode::FORBIDDEN,
                json!({"success": false, "error": "Account suspended"}),
            ),
            Self::RateLimited(wait) => too_many_requests(wait),
            Self::NotFound => body(
                StatusCode::NOT_FOUND,
                json!({"success": false, "error": "Transaction not found"}),
            ),
            Self::DeliveryNotFound => body(
                StatusCode::NOT_FOUND,
                json!({"success": false, "error": "Delivery not found"}),
            ),
            Self::InvoiceNotFound => body(
                StatusCode::NOT_FOUND,
                json!({"success": false, "error": "Invoice not found"}),
            ),
            Self::ProcessingFailed {
                transaction_id,
                reason,
                response_time_ms,
            } => body(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({
                    "success": false,
                    "error": "Transaction processing failed",
                    "response_time_ms": response_time_ms,
                    "transaction_id": transaction_id,
                    "reason": reason,
                    "refunded": true,
                }),
            ),
            Self::Purchase(e) => purchase_error(e),
            Self::Unavailable(cause) => {
                tracing::warn!(cause, "database unavailable");
                body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({
                        "success": false,
                        "error": "Service temporarily unavailable",
                        "message": "The database could not be reached; nothing was charged. Retry later.",
                    }),
                )
            }
            Self::Internal(cause) => {
                tracing::error!(cause, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"success": false, "error": "Internal error"}),
                )
            }
        }
    }
}

fn purchase_error(e: PurchaseError) -> Response {
    match e {
        PurchaseError::Refused(Refusal::InsufficientBalance {
            balance,
            required_usd,
            rate,
            requested,
        }) => body(
            StatusCode::FORBIDDEN,
            json!({
                "success": false,
                "error": "Insufficient balance",
                "current_balance_usd": number(balance),
                "requested_mxn": number(requested),
                "required_usd": number(required_usd),
                "exchange_rate": number(rate),
            }),
        ),
        PurchaseError::Refused(Refusal::DailyLimit { used, limit, requested }) => body(
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "success": false,
                "error": "Daily transaction limit exceeded",
                "daily_limit_mxn": number(limit),
                "used_today_mxn": number(used),
                "requested_mxn": number(requested),
                "available_mxn": number((limit - used).max(Decimal::ZERO)),
            }),
        ),
        PurchaseError::Refused(Refusal::ReferenceConflict) => body(
            StatusCode::CONFLICT,
            json!({
                "success": false,
                "error": "Duplicate reference",
                "message": "This reference was already used for a different phone or amount",
            }),
        ),
        PurchaseError::Refused(Refusal::CustomerInactive) => RelierError::Suspended.into_response(),
        PurchaseError::Amount(e) => RelierError::Validation(vec![("amount", e.to_string())]).into_response(),
        PurchaseError::Phone(e) => RelierError::Validation(vec![("phone", e.to_string())]).into_response(),
        e @ PurchaseError::NoSigningSecret => {
            RelierError::Validation(vec![("callback_url", e.to_string())]).into_response()
        }
        e @ PurchaseError::OperatorMismatch { .. } => {
            RelierError::Validation(vec![("operator", e.to_string())]).into_response()
        }
        PurchaseError::UnknownProduct(p) => {
            RelierError::Validation(vec![("product_id", format!("unknown product {p}"))]).into_response()
        }
        PurchaseError::Fx(e) => {
            let detail = match &e {
                FxError::Unavailable(_) => "no exchange rate has been obtained yet",
                FxError::Stale { .. } => "the latest exchange rate is too old to price with",
            };
            body(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"success": false, "error": "Exchange rate unavailable", "message": detail}),
            )
        }
        PurchaseError::Unavailable(e) => RelierError::Unavailable(format!("{e:?}")).into_response(),
        PurchaseError::Unconfirmed {
            transaction_id,
            reference,
            cause,
        } => {
            tracing::warn!(txn = %transaction_id, error = ?cause, "purchase outcome unconfirmed");
            // By reference when there is one: a twin request with it may have won the
            // race, and then this id was never recorded but the reference was.
            let check_status_url = match reference {
                Some(reference) => format!(
                    "/api/transactions?reference={}",
                    url::form_urlencoded::byte_serialize(reference.as_bytes()).collect::<String>()
                ),
                None => format!("/api/transaction/{transaction_id}"),
            };
            body(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({
                    "success": false,
                    "error": "Outcome unknown",
                    "message": "The purchase may have been recorded. Check check_status_url before retrying, \
                                or retry with the same reference (it is never charged twice).",
                    "transaction_id": transaction_id,
                    "check_status_url": check_status_url,
                }),
            )
        }
        PurchaseError::Store(e) => RelierError::Internal(format!("{e:?}")).into_response(),
        PurchaseError::Internal(e) => RelierError::Internal(e).into_response(),
    }
}

/// The body of every Relier error (the shapes of seed 000): `success` is false and
/// `error` says what; the other fields come with the errors that have them.
#[derive(utoipa::ToSchema)]
pub struct RelierErrorBody {
    pub success: bool,
    pub error: String,
    pub message: Option<String>,
    /// 400: each field's problem.
    pub details: Option<Vec<FieldProblem>>,
    /// 500 (refunded) and 503 "Outcome unknown".
    pub transaction_id: Option<String>,
    /// 503 "Outcome unknown": where to look, by your reference when you sent one
    /// (`/api/transactions?reference=…`), else by the transaction id.
    pub check_status_url: Option<String>,
    pub reason: Option<String>,
    pub refunded: Option<bool>,
    pub response_time_ms: Option<i64>,
    /// 429 (also in `Retry-After`).
    pub retry_after_seconds: Option<u64>,
    /// 403 "Insufficient balance".
    #[schema(value_type = Option<DecimalNumber>)]
    pub current_balance_usd: Option<Decimal>,
    #[schema(value_type = Option<DecimalNumber>)]
    pub required_usd: Option<Decimal>,
    #[schema(value_type = Option<DecimalNumber>)]
    pub exchange_rate: Option<Decimal>,
    /// 403 and 429 "Daily transaction limit exceeded".
    #[schema(value_type = Option<DecimalNumber>)]
    pub requested_mxn: Option<Decimal>,
    #[schema(value_type = Option<DecimalNumber>)]
    pub daily_limit_mxn: Option<Decimal>,
    #[schema(value_type = Option<DecimalNumber>)]
    pub used_today_mxn: Option<Decimal>,
    #[schema(value_type = Option<DecimalNumber>)]
    pub available_mxn: Option<Decimal>,
}

#[derive(utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}
