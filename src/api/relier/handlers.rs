//! Relier endpoints.

use super::auth::RelierCustomer;
use super::errors::{RelierError, RelierErrorBody};
use super::types::{Balance, Page, Queued, QueuedAnswer, QuoteBody, Status, SyncSuccess, TopupAnswer, TopupBody};
use crate::api::json::{decimal, parse_body, BodyError, JsonBody};
use crate::api::offers::{CountryQuery, LookupView, ProductList, ProductQuery, QuoteView, WouldReplay, WouldSucceed};
use crate::api::rate_limit::LimitKind;
use crate::api::search::SearchQuery;
use crate::api::AppState;
use crate::domain::callback;
use crate::domain::money::has_at_most_dp;
use crate::domain::status::TxnStatus;
use crate::service::purchase::{Accepted, DryRun, PurchaseRequest, QuoteRequest};
use crate::store::transactions;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

#[utoipa::path(get, path = "/api/balance", operation_id = "relier_balance", tag = "relier",
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Current USD balance", body = Balance), (status = 401, description = "Invalid API credentials", body = RelierErrorBody),
              (status = 429, description = "Too many requests", body = RelierErrorBody)))]
pub async fn balance(State(state): State<AppState>, customer: RelierCustomer) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
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
        available: c.balance_usd,
        held: c.held_usd,
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/enviadespensa/topup", operation_id = "relier_topup", tag = "relier", request_body = TopupBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Used as the reference when the body has none")),
    security(("api_key" = [], "customer_id" = [])),
    responses(
        (status = 200, description = "Top-up delivered; balance debited. With validate_only: every check passed (or the reference would replay its original); nothing charged", body = TopupAnswer),
        (status = 202, description = "Outcome not known by the deadline: funds held, poll check_status_url", body = Queued),
        (status = 400, description = "Validation failed", body = RelierErrorBody), (status = 401, description = "Invalid API credentials", body = RelierErrorBody),
        (status = 403, description = "Insufficient balance", body = RelierErrorBody), (status = 409, description = "Reference reused with a different request", body = RelierErrorBody),
        (status = 429, description = "Too many requests, or daily limit exceeded", body = RelierErrorBody),
        (status = 500, description = "Transaction processing failed; nothing stays debited", body = RelierErrorBody),
        (status = 503, description = "Exchange rate or database unavailable; nothing debited (with transaction_id when the debit could not be confirmed)", body = RelierErrorBody)))]
pub async fn topup(
    State(state): State<AppState>,
    customer: RelierCustomer,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Topup).await?;
    let (request, validate_only) = purchase_request(&state, &customer, &headers, body, false)?;
    if validate_only {
        return dry_run(&state, request).await;
    }
    let accepted = state.purchases.purchase_sync(request).await?;
    Ok(sync_response(accepted))
}

#[utoipa::path(post, path = "/api/enviadespensa/topup-async", operation_id = "relier_topup_async", tag = "relier", request_body = TopupBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Used as the reference when the body has none")),
    security(("api_key" = [], "customer_id" = [])),
    responses(
        (status = 200, description = "Queued (PENDING); poll check_status_url. With validate_only: every check passed (or the reference would replay its original); nothing charged", body = QueuedAnswer),
        (status = 400, description = "Validation failed", body = RelierErrorBody), (status = 401, description = "Invalid API credentials", body = RelierErrorBody),
        (status = 403, description = "Insufficient balance", body = RelierErrorBody), (status = 409, description = "Reference reused with a different request", body = RelierErrorBody),
        (status = 429, description = "Too many requests, or daily limit exceeded", body = RelierErrorBody),
        (status = 503, description = "Exchange rate or database unavailable; nothing debited (with transaction_id when the debit could not be confirmed)", body = RelierErrorBody)))]
pub async fn topup_async(
    State(state): State<AppState>,
    customer: RelierCustomer,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Topup).await?;
    let (request, validate_only) = purchase_request(&state, &customer, &headers, body, true)?;
    if validate_only {
        return dry_run(&state, request).await;
    }
    let accepted = state.purchases.submit(request).await?;
    Ok(Json(Queued::new(&accepted.txn, "Transaction queued for processing")).into_response())
}

#[utoipa::path(get, path = "/api/transaction/{id}", operation_id = "relier_transaction", tag = "relier",
    params(("id" = String, Path, description = "Our transaction id, or your own reference")),
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "The transaction", body = Status), (status = 404, description = "Not found (or not yours)", body = RelierErrorBody)))]
pub async fn transaction(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Path(id): Path<String>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let txn = transactions::by_id_or_reference(&state.pool, &customer.0.id, &id)
        .await?
        .ok_or(RelierError::NotFound)?;
    Ok(Json(Status::new(&txn)).into_response())
}

/// A validate-only request: what the purchase would do, with nothing moved; refusals
/// are the purchase's own.
async fn dry_run(state: &AppState, request: PurchaseRequest) -> Result<Response, RelierError> {
    Ok(match state.purchases.dry_run(request).await? {
        DryRun::WouldDebit {
            quote,
            balance_before,
            balance_after,
        } => Json(WouldSucceed::new(&quote, balance_before, balance_after)).into_response(),
        DryRun::Replay(original) => Json(WouldReplay::new(&original)).into_response(),
    })
}

#[utoipa::path(post, path = "/api/quote", operation_id = "relier_quote", tag = "relier", request_body = QuoteBody,
    security(("api_key" = [], "customer_id" = [])),
    responses(
        (status = 200, description = "The price a purchase would be charged while the rate is unchanged", body = QuoteView),
        (status = 400, description = "Validation failed (amount, product, phone, operator)", body = RelierErrorBody),
        (status = 401, description = "Invalid API credentials", body = RelierErrorBody), (status = 429, description = "Too many requests", body = RelierErrorBody),
        (status = 503, description = "Exchange rate unavailable", body = RelierErrorBody)))]
pub async fn quote(
    State(state): State<AppState>,
    customer: RelierCustomer,
    body: JsonBody,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let body: QuoteBody = parse(body)?;
    let mut errors = Vec::new();
    let operator = operator_of(&body.operator);
    // Without a product it is a top-up's price, within a top-up's bounds.
    let (amount, product_id) = match body.product_id.as_deref().map(str::trim) {
        Some(p) => (field(&mut errors, amount(&body.amount)), Some(p.to_string())),
        None => (
            field(&mut errors, topup_amount(&state, &body.amount)),
            field(&mut errors, product_for(&state.settings.relier, &operator)),
        ),
    };
    let (Some(amount), Some(product_id)) = (amount, product_id) else {
        return Err(RelierError::Validation(errors));
    };
    let quote = state.purchases.quote(QuoteRequest {
        buyer: customer.buyer(),
        product_id,
        amount,
        phone: body.phone,
        operator,
    })?;
    Ok(Json(QuoteView::from(&quote)).into_response())
}

#[utoipa::path(get, path = "/api/products", operation_id = "relier_products", tag = "relier", params(ProductQuery),
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Products offered, fixed ones priced for the caller", body = ProductList),
              (status = 400, description = "Unknown filter value", body = RelierErrorBody), (status = 401, description = "Invalid API credentials", body = RelierErrorBody),
              (status = 429, description = "Too many requests", body = RelierErrorBody)))]
pub async fn products(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Query(query): Query<ProductQuery>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let filter = query.filter().map_err(|e| RelierError::Validation(vec![e]))?;
    let products = state.purchases.priced_products(&customer.buyer(), &filter);
    Ok(Json(ProductList::new(&products)).into_response())
}

#[utoipa::path(get, path = "/api/lookup/{phone}", operation_id = "relier_lookup", tag = "relier",
    params(("phone" = String, Path, description = "The number, international form preferred"), CountryQuery),
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Country, operator where known, and the products for the number", body = LookupView),
              (status = 400, description = "Not a number of a country served, or valid in several", body = RelierErrorBody),
              (status = 401, description = "Invalid API credentials", body = RelierErrorBody), (status = 429, description = "Too many requests", body = RelierErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Path(phone): Path<String>,
    Query(query): Query<CountryQuery>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let lookup = state
        .purchases
        .lookup(&customer.buyer(), &phone, query.country().as_deref())
        .await?;
    Ok(Json(LookupView::from(&lookup)).into_response())
}

#[utoipa::path(get, path = "/api/transactions", tag = "relier", operation_id = "relier_search_transactions",
    params(SearchQuery), security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Your transactions, newest first, and next_cursor while more remain: {success, transactions: [as GET /api/transaction], next_cursor}", body = Object),
              (status = 400, description = "Validation failed"), (status = 401, description = "Invalid API credentials"),
              (status = 429, description = "Too many requests")))]
pub async fn search(
    State(state): State<AppState>,
    customer: RelierCustomer,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let Query(query) = query.map_err(|e| RelierError::Validation(vec![("query", e.body_text())]))?;
    let search = query.validate().map_err(RelierError::Validation)?;
    let (rows, next_cursor) = search.run(&state.pool, &customer.0.id).await?;
    Ok(Json(Page {
        success: true,
        transactions: rows.iter().map(|t| Status::new(t).transaction).collect(),
        next_cursor,
    })
    .into_response())
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

/// The idempotency key: the body's `reference`, or else the standard `Idempotency-Key`
/// header (so a client that sends only the header is not charged twice for a retry).
/// Both present and different is refused: either could be the one the client meant.
fn idempotency_key<'a>(body: Option<&'a str>, headers: &'a HeaderMap) -> Result<Option<&'a str>, &'static str> {
    let header = match headers.get(IDEMPOTENCY_KEY).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return Err("the Idempotency-Key header must be printable ASCII"),
    };
    match (body.map(str::trim), header.map(str::trim)) {
        (Some(b), Some(h)) if b != h => Err("reference and the Idempotency-Key header differ; send one, or the same"),
        (Some(b), _) => Ok(Some(b)),
        (None, h) => Ok(h),
    }
}

/// Validate a top-up body, reporting every problem at once; with whether it asks
/// only to validate.
fn purchase_request(
    state: &AppState,
    customer: &RelierCustomer,
    headers: &HeaderMap,
    body: JsonBody,
    is_async: bool,
) -> Result<(PurchaseRequest, bool), RelierError> {
    let body: TopupBody = parse(body)?;
    let settings = &state.settings.relier;
    let mut errors = Vec::new();
    let amount = field(&mut errors, topup_amount(state, &body.amount));
    let reference = match idempotency_key(body.reference.as_deref(), headers) {
        Err(m) => {
            errors.push(("reference", m.to_string()));
            None
        }
        Ok(Some("")) => {
            errors.push(("reference", "reference must not be empty".to_string()));
            None
        }
        Ok(Some(r)) if r.chars().count() > 100 || r.chars().any(char::is_control) => {
            errors.push((
                "reference",
                "reference must be at most 100 printable characters".to_string(),
            ));
            None
        }
        Ok(r) => r.map(str::to_owned),
    };
    let callback_url = match body
        .callback_url
        .as_deref()
        .map(|u| callback::validate(u, state.sandbox))
    {
        None => None,
        Some(Ok(url)) => Some(url),
        Some(Err(m)) => {
            errors.push(("callback_url", m.to_string()));
            None
        }
    };
    let operator = operator_of(&body.operator);
    let product_id = field(&mut errors, product_for(settings, &operator));
    // The number is checked for the product's country by the purchase service.
    match (amount, product_id) {
        (Some(amount), Some(product_id)) if errors.is_empty() => Ok((
            PurchaseRequest {
                buyer: customer.buyer(),
                channel: "relier",
                product_id,
                phone: body.phone,
                operator,
                amount,
                reference,
                is_async,
                callback_url,
            },
            body.validate_only,
        )),
        _ => Err(RelierError::Validation(errors)),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: JsonBody) -> Result<T, RelierError> {
    parse_body(body).map_err(|e| match e {
        BodyError::TooLarge => RelierError::PayloadTooLarge,
        BodyError::NotJson => RelierError::NotJson,
        BodyError::Invalid(m) => RelierError::Validation(vec![("body", m)]),
    })
}

type FieldError = (&'static str, String);

/// The value, or the field's problem noted in `errors`.
fn field<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn operator_of(operator: &Option<String>) -> Option<String> {
    operator.as_deref().map(|o| o.trim().to_ascii_uppercase())
}

/// A positive amount of at most two decimals.
fn amount(n: &serde_json::Number) -> Result<Decimal, FieldError> {
    match decimal(n) {
        Some(a) if a <= Decimal::ZERO => Err(("amount", "amount must be positive".to_string())),
        Some(a) if !has_at_most_dp(a, 2) => Err(("amount", "amount may have at most 2 decimal places".to_string())),
        Some(a) => Ok(a.normalize()),
        None => Err(("amount", "amount is not a usable number".to_string())),
    }
}

/// A top-up's amount, within the Relier API's own MXN bounds.
fn topup_amount(state: &AppState, n: &serde_json::Number) -> Result<Decimal, FieldError> {
    let settings = &state.settings.relier;
    let a = amount(n)?;
    if a < settings.min_amount || a > settings.max_amount {
        return Err((
            "amount",
            format!(
                "amount must be between {} and {} MXN",
                settings.min_amount, settings.max_amount
            ),
        ));
    }
    Ok(a)
}

/// The product a top-up uses: the operator's, or the default.
fn product_for(settings: &crate::config::RelierSettings, operator: &Option<String>) -> Result<String, FieldError> {
    match operator {
        None => Ok(settings.default_product.clone()),
        Some(op) => settings.operator_products.get(op).cloned().ok_or_else(|| {
            let known: Vec<_> = settings.operator_products.keys().cloned().collect();
            ("operator", format!("unknown operator; known: {}", known.join(", ")))
        }),
    }
}
