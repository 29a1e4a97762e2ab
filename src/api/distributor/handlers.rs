//! Distributor endpoints.

use super::auth::{ClientAddr, Distributor};
use super::codes::Code;
use super::errors::{DistributorError, DistributorErrorBody};
use super::types::{
    Approved, Balance, LoggedOut, LoginBody, Pending, ProductQuoteBody, PurchaseAnswer, PurchaseBody, RefreshBody,
    TokenPair, TransactionView,
};
use crate::api::json::{decimal, parse_body, timestamp, BodyError, JsonBody};
use crate::api::offers::{CountryQuery, LookupView, ProductList, ProductQuery, QuoteView, WouldReplay, WouldSucceed};
use crate::api::rate_limit::LimitKind;
use crate::api::search::SearchQuery;
use crate::api::AppState;
use crate::domain::callback;
use crate::domain::keys;
use crate::domain::money::has_at_most_dp;
use crate::domain::status::TxnStatus;
use crate::service::purchase::{Accepted, DryRun, PurchaseError, PurchaseRequest, QuoteRequest};
use crate::service::tokens::Issued;
use crate::store::{customers, transactions};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub(super) fn body<T: DeserializeOwned>(raw: JsonBody, dtid: Option<&str>) -> Result<T, DistributorError> {
    parse_body(raw).map_err(|e| match e {
        BodyError::TooLarge => DistributorError::PayloadTooLarge,
        BodyError::NotJson => DistributorError::NotJson,
        BodyError::Invalid(m) => DistributorError::coded(Code::InvalidTransaction, m, dtid),
    })
}

fn tokens(issued: Issued) -> Response {
    Json(TokenPair {
        success: true,
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
    })
    .into_response()
}

#[utoipa::path(post, path = "/api/distributor/login", operation_id = "distributor_login", tag = "distributor", request_body = LoginBody,
    responses((status = 200, description = "Access and refresh tokens", body = TokenPair),
              (status = 401, description = "Invalid credentials", body = DistributorErrorBody), (status = 429, description = "Too many failed logins", body = DistributorErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    raw: JsonBody,
) -> Result<Response, DistributorError> {
    let creds: LoginBody = body(raw, None)?;
    state.login_guard.check(&creds.customer_id, addr).await?;
    let customer = customers::auth(&state.pool, &creds.customer_id).await?;
    let valid = customer
        .as_ref()
        .is_some_and(|c| keys::verify(&creds.secret_key, &c.secret_key_hash));
    let Some(customer) = customer.filter(|_| valid) else {
        state.login_guard.record_failure(&creds.customer_id, addr).await;
        return Err(DistributorError::Unauthorized("Invalid credentials".into()));
    };
    if customer.status != "active" {
        return Err(DistributorError::Unauthorized("Account suspended".into()));
    }
    Ok(tokens(state.tokens.login(&customer.id).await?))
}

#[utoipa::path(post, path = "/api/distributor/refresh", operation_id = "distributor_refresh", tag = "distributor", request_body = RefreshBody,
    responses((status = 200, description = "A new pair; the old refresh token is spent", body = TokenPair),
              (status = 401, description = "Invalid, expired or reused refresh token (reuse revokes the session)", body = DistributorErrorBody)))]
pub async fn refresh(State(state): State<AppState>, raw: JsonBody) -> Result<Response, DistributorError> {
    let req: RefreshBody = body(raw, None)?;
    Ok(tokens(state.tokens.refresh(&req.refresh_token).await?))
}

#[utoipa::path(post, path = "/api/distributor/logout", operation_id = "distributor_logout", tag = "distributor", security(("bearer" = [])),
    responses((status = 200, description = "Session revoked: its access and refresh tokens stop working", body = LoggedOut)))]
pub async fn logout(State(state): State<AppState>, caller: Distributor) -> Result<Response, DistributorError> {
    state.tokens.logout(&caller.claims).await?;
    Ok(Json(LoggedOut {
        success: true,
        message: "Logged out",
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/distributor/get_balance", operation_id = "distributor_get_balance", tag = "distributor", security(("bearer" = [])),
    responses((status = 200, description = "USD balance", body = Balance), (status = 401, description = "Invalid or missing token", body = DistributorErrorBody)))]
pub async fn get_balance(State(state): State<AppState>, caller: Distributor) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let c = state
        .customer_reads
        .get(&caller.customer.id)
        .await?
        .ok_or(DistributorError::NotFound)?;
    Ok(Json(Balance {
        success: true,
        balance: c.balance_usd,
        currency: "USD",
        last_updated: timestamp(c.updated_at),
        available: c.balance_usd,
        held: c.held_usd,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/distributor/products", operation_id = "distributor_products", tag = "distributor", params(ProductQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Products the caller can buy, fixed ones priced for the caller", body = ProductList),
              (status = 400, description = "Unknown filter value", body = DistributorErrorBody), (status = 401, description = "Invalid or missing token", body = DistributorErrorBody)))]
pub async fn products(
    State(state): State<AppState>,
    caller: Distributor,
    Query(query): Query<ProductQuery>,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let filter = query
        .filter()
        .map_err(|(_, message)| DistributorError::coded(Code::InvalidTransaction, message, None))?;
    let products = state.purchases.priced_products(&caller.buyer(), &filter);
    Ok(Json(ProductList::new(&products)).into_response())
}

#[utoipa::path(post, path = "/api/distributor/quote", operation_id = "distributor_quote", tag = "distributor", request_body = ProductQuoteBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The price a purchase would be charged while the rate is unchanged", body = QuoteView),
        (status = 400, description = "12/13/14/83: invalid request, amount, product or number", body = DistributorErrorBody),
        (status = 401, description = "Invalid or missing token", body = DistributorErrorBody), (status = 500, description = "96: exchange rate unavailable", body = DistributorErrorBody)))]
pub async fn quote(
    State(state): State<AppState>,
    caller: Distributor,
    raw: JsonBody,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let req: ProductQuoteBody = body(raw, None)?;
    let quote = state
        .purchases
        .quote(QuoteRequest {
            buyer: caller.buyer(),
            product_id: req.product_id.trim().to_string(),
            amount: amount(&req.amount, None)?,
            phone: req.phone_number,
            operator: operator_of(req.operator),
        })
        .map_err(|e| DistributorError::purchase(e, None))?;
    Ok(Json(QuoteView::from(&quote)).into_response())
}

#[utoipa::path(get, path = "/api/distributor/lookup/{phone}", operation_id = "distributor_lookup", tag = "distributor",
    params(("phone" = String, Path, description = "The number, international form preferred"), CountryQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Country, operator where known, and the products for the number", body = LookupView),
              (status = 400, description = "83: not a number of a country served, or valid in several", body = DistributorErrorBody),
              (status = 401, description = "Invalid or missing token", body = DistributorErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Distributor,
    Path(phone): Path<String>,
    Query(query): Query<CountryQuery>,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let lookup = state
        .purchases
        .lookup(&caller.buyer(), &phone, query.country().as_deref())
        .await
        .map_err(|e| DistributorError::purchase(e, None))?;
    Ok(Json(LookupView::from(&lookup)).into_response())
}

/// A positive amount of at most two decimals (code 13 otherwise).
fn amount(n: &serde_json::Number, dtid: Option<&str>) -> Result<Decimal, DistributorError> {
    Ok(decimal(n)
        .filter(|a| *a > Decimal::ZERO && has_at_most_dp(*a, 2))
        .ok_or_else(|| {
            DistributorError::coded(
                Code::InvalidAmount,
                "amount must be positive with at most 2 decimals",
                dtid,
            )
        })?
        .normalize())
}

fn operator_of(operator: Option<String>) -> Option<String> {
    operator
        .map(|o| o.trim().to_ascii_uppercase())
        .filter(|o| !o.is_empty())
}

#[utoipa::path(get, path = "/api/distributor/transaction/{distributor_transaction_id}", operation_id = "distributor_transaction", tag = "distributor",
    params(("distributor_transaction_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, description = "Current state and response code", body = TransactionView), (status = 404, description = "Not found (or not yours)", body = DistributorErrorBody)))]
pub async fn transaction(
    State(state): State<AppState>,
    caller: Distributor,
    Path(dtid): Path<String>,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let t = transactions::by_reference(&state.pool, &caller.customer.id, &dtid)
        .await?
        .ok_or(DistributorError::NotFound)?;
    Ok(Json(TransactionView::new(&t, final_code(t.status))).into_response())
}

/// The response code a final transaction answers with; none while it is open.
fn final_code(status: TxnStatus) -> Option<Code> {
    match status {
        TxnStatus::Success => Some(Code::Approved),
        // Refunded either way: never delivered, or delivered and reversed upstream.
        TxnStatus::Failed | TxnStatus::Reversed => Some(Code::IssuerUnavailable),
        _ => None,
    }
}

#[utoipa::path(get, path = "/api/distributor/transactions", tag = "distributor",
    operation_id = "distributor_search_transactions", params(SearchQuery), security(("bearer" = [])),
    responses((status = 200, description = "Your transactions, newest first, and next_cursor while more remain: {success, transactions: [as GET transaction], next_cursor}", body = Object),
              (status = 400, description = "12: invalid search parameters"), (status = 401, description = "Invalid or missing token"),
              (status = 429, description = "Too many requests")))]
pub async fn search(
    State(state): State<AppState>,
    caller: Distributor,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Api).await?;
    let invalid = |m: String| DistributorError::coded(Code::InvalidTransaction, m, None);
    let Query(query) = query.map_err(|e| invalid(e.body_text()))?;
    let search = query
        .validate()
        .map_err(|errors| invalid(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; ")))?;
    let (rows, next_cursor) = search.run(&state.pool, &caller.customer.id).await?;
    let views: Vec<TransactionView> = rows
        .iter()
        .map(|t| TransactionView::new(t, final_code(t.status)))
        .collect();
    Ok(Json(json!({"success": true, "transactions": views, "next_cursor": next_cursor})).into_response())
}

#[utoipa::path(post, path = "/api/distributor/product_purchase", operation_id = "distributor_product_purchase", tag = "distributor", request_body = PurchaseBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "00 approved; with validate_only, what a purchase would do", body = PurchaseAnswer), (status = 202, description = "Outcome not final yet: PENDING", body = Pending),
        (status = 400, description = "05/12/13/14/83, nothing debited", body = DistributorErrorBody), (status = 401, description = "Invalid or missing token", body = DistributorErrorBody),
        (status = 402, description = "51 insufficient funds", body = DistributorErrorBody), (status = 409, description = "12: id reused with another payload", body = DistributorErrorBody),
        (status = 429, description = "Too many requests", body = DistributorErrorBody), (status = 500, description = "91 refunded / 96 system error", body = DistributorErrorBody),
        (status = 503, description = "96: database unavailable, nothing debited (with transaction_id when the debit could not be confirmed)", body = DistributorErrorBody)))]
pub async fn product_purchase(
    State(state): State<AppState>,
    caller: Distributor,
    raw: JsonBody,
) -> Result<Response, DistributorError> {
    caller.rate_limit(&state, LimitKind::Topup).await?;
    let value: Value = body(raw, None)?;
    purchase_one(&state, &caller, value).await
}

/// One purchase from its JSON body (also each item of a bulk purchase), checked for
/// this dialect's rules: its `distributor_transaction_id`, the service's request, and
/// whether it asks only to validate.
pub(super) fn purchase_request(
    caller: &Distributor,
    value: Value,
    sandbox: bool,
) -> Result<(String, PurchaseRequest, bool), DistributorError> {
    let dtid = value
        .get("distributor_transaction_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .map(str::to_owned);
    let req: PurchaseBody = serde_json::from_value(value).map_err(|e| {
        DistributorError::coded(
            Code::InvalidTransaction,
            format!("invalid request: {e}"),
            dtid.as_deref(),
        )
    })?;
    let dtid = req.distributor_transaction_id.trim().to_string();
    if dtid.is_empty() || dtid.chars().count() > 100 || dtid.chars().any(char::is_control) {
        return Err(DistributorError::coded(
            Code::InvalidTransaction,
            "distributor_transaction_id must be 1-100 printable characters",
            Some(&dtid),
        ));
    }
    let amount = amount(&req.amount, Some(&dtid))?;
    // Product, amount for its routes, number for its country and operator: the service
    // checks them, in one place for both dialects.
    let callback_url = req
        .callback_url
        .as_deref()
        .map(|u| callback::validate(u, sandbox))
        .transpose()
        .map_err(|m| DistributorError::coded(Code::InvalidTransaction, m, Some(&dtid)))?;
    let request = PurchaseRequest {
        buyer: caller.buyer(),
        channel: "distributor",
        product_id: req.product_id.trim().to_string(),
        phone: req.phone_number,
        operator: operator_of(req.operator),
        amount,
        reference: Some(dtid.clone()),
        is_async: false,
        callback_url,
    };
    Ok((dtid, request, req.validate_only))
}

/// One purchase from its JSON body, carried out (or, with `validate_only`, checked) and
/// answered in this dialect's shapes.
async fn purchase_one(state: &AppState, caller: &Distributor, value: Value) -> Result<Response, DistributorError> {
    let (dtid, request, validate_only) = purchase_request(caller, value, state.sandbox)?;
    if validate_only {
        return dry_run(state, request, &dtid).await;
    }
    purchased(state.purchases.purchase_sync(request).await, dtid)
}

/// The answer to a purchase carried out (alone or in a bulk).
pub(super) fn purchased(result: Result<Accepted, PurchaseError>, dtid: String) -> Result<Response, DistributorError> {
    let accepted = result.map_err(|e| DistributorError::purchase(e, Some(&dtid)))?;
    Ok(purchase_response(accepted, dtid))
}

/// A validate-only purchase: what it would do, with nothing moved; refusals are the
/// purchase's own codes.
async fn dry_run(state: &AppState, request: PurchaseRequest, dtid: &str) -> Result<Response, DistributorError> {
    let verdict = state
        .purchases
        .dry_run(request)
        .await
        .map_err(|e| DistributorError::purchase(e, Some(dtid)))?;
    Ok(match verdict {
        DryRun::WouldDebit {
            quote,
            balance_before,
            balance_after,
        } => Json(WouldSucceed::new(&quote, balance_before, balance_after)).into_response(),
        DryRun::Replay(original) => Json(WouldReplay::new(&original)).into_response(),
    })
}

/// 00 delivered; 91 definitely failed (refunded); anything still open, or not fully
/// known, while the money may have moved: 202 with the transaction's status.
fn purchase_response(a: Accepted, dtid: String) -> Response {
    let t = &a.txn;
    match (t.status, a.balances) {
        (TxnStatus::Success, Some((_, balance_after))) => Json(Approved {
            success: true,
            transaction_id: t.id.clone(),
            distributor_transaction_id: dtid,
            response_code: Code::Approved.code(),
            response_message: Code::Approved.message(),
            reference: t.operator_transaction_id.clone(),
            auth_code: auth_code(&t.id),
            balance_after,
        })
        .into_response(),
        (TxnStatus::Failed, _) => {
            let reason = t.failure_reason.clone().unwrap_or_else(|| "declined upstream".into());
            let mut r = DistributorError::coded(
                Code::IssuerUnavailable,
                format!("Top-up failed and was refunded: {reason}"),
                Some(&dtid),
            )
            .into_response();
            if let Ok(v) = t.id.parse() {
                r.headers_mut().insert("x-transaction-id", v);
            }
            r
        }
        (status, _) => (
            StatusCode::ACCEPTED,
            Json(Pending {
                success: false,
                status: if status.is_final() {
                    t.status.to_string()
                } else {
                    "PENDING".into()
                },
                transaction_id: t.id.clone(),
                check_status_url: format!("/api/distributor/transaction/{dtid}"),
                distributor_transaction_id: dtid,
                message:
                    "The outcome is not final yet, or not readable just now; funds are held. Poll check_status_url.",
            }),
        )
            .into_response(),
    }
}

/// A stable six-character authorisation code derived from our transaction id.
fn auth_code(transaction_id: &str) -> String {
    hex::encode_upper(&Sha256::digest(transaction_id.as_bytes())[..3])
}
