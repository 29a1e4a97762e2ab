//! Relier endpoints.

use super::auth::RelierCustomer;
use super::errors::RelierError;
use super::types::{Balance, Queued, Status, SyncSuccess, TopupBody};
use crate::api::json::{decimal, parse_body, BodyError};
use crate::api::rate_limit::LimitKind;
use crate::api::AppState;
use crate::domain::money::has_at_most_dp;
use crate::domain::status::TxnStatus;
use crate::service::purchase::{Accepted, PurchaseRequest};
use crate::store::transactions;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use rust_decimal::Decimal;

#[utoipa::path(get, path = "/api/balance", tag = "relier",
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Current USD balance"), (status = 401, description = "Invalid API credentials"),
              (status = 429, description = "Too many requests")))]
pub async fn balance(State(state): State<AppState>, customer: RelierCustomer) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api)?;
    let c = state
        .customer_reads
        .get(&customer.0.id)
        .await?
        .ok_or(RelierError::Unauthorized)?;
    Ok(Json(Balance {
        success: true,
        customer_id: c.id,
        company_name: c.name,
        current_balance: c.balance_usd,
        credit_limit: c.credit_limit_usd,
        currency: "USD",
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/enviadespensa/topup", tag = "relier", request_body = TopupBody,
    security(("api_key" = [], "customer_id" = [])),
    responses(
        (status = 200, description = "Top-up delivered; balance debited"),
        (status = 202, description = "Outcome not known by the deadline: funds held, poll check_status_url"),
        (status = 400, description = "Validation failed"), (status = 401, description = "Invalid API credentials"),
        (status = 403, description = "Insufficient balance"), (status = 409, description = "Reference reused with a different request"),
        (status = 429, description = "Too many requests, or daily limit exceeded"),
        (status = 500, description = "Transaction processing failed; nothing stays debited"),
        (status = 503, description = "Exchange rate or database unavailable; nothing debited (with transaction_id when the debit could not be confirmed)")))]
pub async fn topup(
    State(state): State<AppState>,
    customer: RelierCustomer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Topup)?;
    let request = purchase_request(&state, &customer, body, false)?;
    let accepted = state.purchases.purchase_sync(request).await?;
    Ok(sync_response(accepted))
}

#[utoipa::path(post, path = "/api/enviadespensa/topup-async", tag = "relier", request_body = TopupBody,
    security(("api_key" = [], "customer_id" = [])),
    responses(
        (status = 200, description = "Queued (PENDING); poll check_status_url"),
        (status = 400, description = "Validation failed"), (status = 401, description = "Invalid API credentials"),
        (status = 403, description = "Insufficient balance"), (status = 409, description = "Reference reused with a different request"),
        (status = 429, description = "Too many requests, or daily limit exceeded"),
        (status = 503, description = "Exchange rate or database unavailable; nothing debited (with transaction_id when the debit could not be confirmed)")))]
pub async fn topup_async(
    State(state): State<AppState>,
    customer: RelierCustomer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Topup)?;
    let request = purchase_request(&state, &customer, body, true)?;
    let accepted = state.purchases.submit(request).await?;
    Ok(Json(Queued::new(&accepted.txn, "Transaction queued for processing")).into_response())
}

#[utoipa::path(get, path = "/api/transaction/{id}", tag = "relier",
    params(("id" = String, Path, description = "Transaction id")),
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "The transaction"), (status = 404, description = "Not found (or not yours)")))]
pub async fn transaction(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Path(id): Path<String>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api)?;
    let txn = transactions::get_for_customer(&state.pool, &customer.0.id, &id)
        .await?
        .ok_or(RelierError::NotFound)?;
    Ok(Json(Status::new(&txn)).into_response())
}

/// 200 delivered; 500 definitely failed (refunded); anything else is still open, or
/// not fully known, and the money may have moved: 202 with the transaction id.
fn sync_response(a: Accepted) -> Response {
    match (a.txn.status, a.balances) {
        (TxnStatus::Success, Some((before, after))) => Json(SyncSuccess::new(&a.txn, before, after)).into_response(),
        (TxnStatus::Failed, _) => RelierError::ProcessingFailed {
            transaction_id: a.txn.id.clone(),
            reason: a.txn.failure_reason.clone(),
            response_time_ms: a.txn.response_time_ms.unwrap_or_default(),
        }
        .into_response(),
        _ => (
            StatusCode::ACCEPTED,
            Json(Queued::new(
                &a.txn,
                "Transaction is still being processed; funds are held. Poll check_status_url.",
            )),
        )
            .into_response(),
    }
}

/// Validate a top-up body, reporting every problem at once.
fn purchase_request(
    state: &AppState,
    customer: &RelierCustomer,
    body: Result<Bytes, BytesRejection>,
    is_async: bool,
) -> Result<PurchaseRequest, RelierError> {
    let body: TopupBody = parse_body(body).map_err(|e| match e {
        BodyError::TooLarge => RelierError::PayloadTooLarge,
        BodyError::Invalid(m) => RelierError::Validation(vec![("body", m)]),
    })?;
    let settings = &state.settings.relier;
    let mut errors = Vec::new();
    let amount = match decimal(&body.amount) {
        Some(a) if a <= Decimal::ZERO => {
            errors.push(("amount", "amount must be positive".to_string()));
            None
        }
        Some(a) if !has_at_most_dp(a, 2) => {
            errors.push(("amount", "amount may have at most 2 decimal places".to_string()));
            None
        }
        Some(a) if a < settings.min_amount || a > settings.max_amount => {
            errors.push((
                "amount",
                format!(
                    "amount must be between {} and {} MXN",
                    settings.min_amount, settings.max_amount
                ),
            ));
            None
        }
        Some(a) => Some(a.normalize()),
        None => {
            errors.push(("amount", "amount is not a usable number".to_string()));
            None
        }
    };
    let reference = match body.reference.as_deref().map(str::trim) {
        Some("") => {
            errors.push(("reference", "reference must not be empty".to_string()));
            None
        }
        Some(r) if r.chars().count() > 100 || r.chars().any(char::is_control) => {
            errors.push((
                "reference",
                "reference must be at most 100 printable characters".to_string(),
            ));
            None
        }
        r => r.map(str::to_owned),
    };
    let operator = body.operator.as_deref().map(|o| o.trim().to_ascii_uppercase());
    let product_id = match &operator {
        None => Some(settings.default_product.clone()),
        Some(op) => match settings.operator_products.get(op) {
            Some(p) => Some(p.clone()),
            None => {
                let known: Vec<_> = settings.operator_products.keys().cloned().collect();
                errors.push(("operator", format!("unknown operator; known: {}", known.join(", "))));
                None
            }
        },
    };
    // The number is checked for the product's country by the purchase service.
    match (amount, product_id) {
        (Some(amount), Some(product_id)) if errors.is_empty() => Ok(PurchaseRequest {
            buyer: customer.buyer(),
            channel: "relier",
            product_id,
            phone: body.phone,
            operator,
            amount,
            reference,
            is_async,
        }),
        _ => Err(RelierError::Validation(errors)),
    }
}
