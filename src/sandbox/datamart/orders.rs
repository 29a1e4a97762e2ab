//! The simulator's orders: taken by `/v1/purchase`, looked up by
//! `/v1/transactions/{reference}`, settled after their pending time, announced by webhook.

use super::*;
use crate::providers::datamart::wire::{
    self as wire, BulkData, BulkOrderResult, BulkRequest, NotificationData, PurchaseData, PurchaseRequest,
    TransactionData,
};
use crate::sandbox::scenario::{self, Scenario, TIMEOUT_HOLD};
use axum::extract::Path;
use axum::response::Html;
use chrono::{DateTime, Utc};
use sha2::Digest;

pub(super) struct Order {
    transaction_id: String,
    beneficiary: String,
    amount: Decimal,
    pub(super) status: OrderStatus,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    pub(super) calls: u64,
}

/// How the webhook of a settled order is delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Webhook {
    OnTime,
    Never,
    Twice,
    /// A pending time after the order settled.
    Late,
}

/// What happens to an order, chosen by its number.
#[derive(Clone, Copy)]
struct Plan {
    /// Before the first answer.
    delay: Duration,
    /// `None`: settled at once, with this answer's status.
    settles: Option<(OrderStatus, Option<Duration>)>,
    now: OrderStatus,
    webhook: Webhook,
    forged_first: bool,
    answer: Answer,
}

/// The HTTP answer to a purchase that was taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Normal,
    /// `PROVIDER_ERROR` (HEAD: the wallet refunded before answering).
    ProviderError,
    Html500,
    Hold,
}

fn plan(number: &str) -> Plan {
    let pending = |then, webhook| Plan {
        delay: Duration::ZERO,
        settles: Some((then, None)),
        now: OrderStatus::Pending,
        webhook,
        forged_first: false,
        answer: Answer::Normal,
    };
    let at_once = |status, answer| Plan {
        settles: None,
        now: status,
        answer,
        ..pending(status, Webhook::OnTime)
    };
    if let Some(p) = scenario::for_number(number) {
        let after = |then| Plan {
            delay: p.delay,
            settles: Some((then, Some(p.delay))),
            ..pending(then, Webhook::OnTime)
        };
        return match p.scenario {
            Scenario::Success => Plan {
                delay: p.delay,
                ..at_once(OrderStatus::Completed, Answer::Normal)
            },
            Scenario::Failure => Plan {
                delay: p.delay,
                ..at_once(OrderStatus::Failed, Answer::ProviderError)
            },
            Scenario::PendingThenSuccess => after(OrderStatus::Completed),
            Scenario::PendingThenFailure => after(OrderStatus::Failed),
            Scenario::UnknownThenSuccess => Plan {
                delay: p.delay,
                ..at_once(OrderStatus::Completed, Answer::Html500)
            },
            Scenario::Timeout => Plan {
                delay: p.delay,
                ..at_once(OrderStatus::Failed, Answer::Hold)
            },
        };
    }
    match number {
        COMPLETES_AT_ONCE => at_once(OrderStatus::Completed, Answer::Normal),
        FAILS_AT_ONCE => at_once(OrderStatus::Failed, Answer::ProviderError),
        PENDING_THEN_FAILS => pending(OrderStatus::Failed, Webhook::OnTime),
        WEBHOOK_NEVER_SENT => pending(OrderStatus::Completed, Webhook::Never),
        WEBHOOK_DUPLICATED => pending(OrderStatus::Completed, Webhook::Twice),
        WEBHOOK_FORGED => Plan {
            forged_first: true,
            ..pending(OrderStatus::Failed, Webhook::OnTime)
        },
        WEBHOOK_LATE => pending(OrderStatus::Completed, Webhook::Late),
        _ => pending(OrderStatus::Completed, Webhook::OnTime),
    }
}

/// DataMart's rules at HEAD: `^\d+(\.\d+)?(MB|GB)$`, case-insensitive.
fn capacity_format_ok(capacity: &str) -> bool {
    let upper = capacity.to_ascii_uppercase();
    let Some(number) = upper.strip_suffix("MB").or_else(|| upper.strip_suffix("GB")) else {
        return false;
    };
    let mut parts = number.splitn(2, '.');
    let digits = |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let whole = parts.next();
    digits(whole) && parts.next().is_none_or(|f| digits(Some(f)))
}

/// MTN only: `^(\+233|0)(24|25|53|54|55|59)\d{7}$`.
fn mtn_number_ok(number: &str) -> bool {
    let national = number.strip_prefix("+233").or_else(|| number.strip_prefix('0'));
    national.is_some_and(|n| {
        n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit()) && ["24", "25", "53", "54", "55", "59"].contains(&&n[..2])
    })
}

/// A refusal: HTTP status, error code, message.
type Refusal = (StatusCode, &'static str, &'static str);

/// Validate as DataMart does; the price, or the refusal.
fn price(req: &PurchaseRequest) -> Result<Decimal, Refusal> {
    let missing = [
        (req.capacity.is_empty(), "MISSING_CAPACITY", "Capacity is required"),
        (
            req.product_name.is_empty(),
            "MISSING_PRODUCT_NAME",
            "Product name is required",
        ),
        (
            req.beneficiary_number.is_empty(),
            "MISSING_BENEFICIARY",
            "Beneficiary number is required",
        ),
    ];
    if let Some((_, code, message)) = missing.iter().find(|(m, _, _)| *m) {
        return Err((StatusCode::BAD_REQUEST, code, message));
    }
    if !mtn_number_ok(&req.beneficiary_number) {
        return Err((
            StatusCode::BAD_REQUEST,
            "INVALID_PHONE_NUMBER",
            "Invalid MTN Ghana phone number",
        ));
    }
    if !capacity_format_ok(&req.capacity) {
        return Err((
            StatusCode::NOT_FOUND,
            "INVALID_CAPACITY_FORMAT",
            "Invalid capacity format",
        ));
    }
    let listed = listed_products();
    let named: Vec<_> = listed
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case(&req.product_name))
        .collect();
    if named.is_empty() {
        return Err((StatusCode::NOT_FOUND, "PRODUCT_NOT_FOUND", "Product not found"));
    }
    named
        .iter()
        .find(|p| p.capacity.eq_ignore_ascii_case(&req.capacity))
        .map(|p| p.price)
        .ok_or((
            StatusCode::NOT_FOUND,
            "CAPACITY_NOT_AVAILABLE",
            "Capacity not available",
        ))
}

pub(super) async fn purchase(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Option<Json<PurchaseRequest>>,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let Some(Json(req)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "MISSING_CAPACITY",
            "Malformed purchase request",
        );
    };
    let price = match price(&req) {
        Ok(price) => price,
        Err((status, code, message)) => return error(status, code, message),
    };
    state.received.fetch_add(1, Ordering::SeqCst);
    // The work runs in its own task: like a real upstream, it carries on when the
    // caller hangs up.
    tokio::spawn(take(state, req, price))
        .await
        .unwrap_or_else(|_| html_500())
}

/// `POST /v1/purchase/bulk`: each order taken as `/v1/purchase` would take it alone,
/// then listed as taken or refused; 400 `ALL_ORDERS_FAILED` when none was taken.
pub(super) async fn purchase_bulk(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Option<Json<BulkRequest>>,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let Some(Json(bulk)) = body.filter(|b| (1..=100).contains(&b.0.orders.len())) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ORDERS",
            "orders must hold 1 to 100 orders",
        );
    };
    state.bulks.fetch_add(1, Ordering::SeqCst);
    let taken = futures::future::join_all(bulk.orders.into_iter().map(|order| {
        let state = state.clone();
        let req = PurchaseRequest {
            capacity: order.capacity,
            product_name: order.product_name,
            beneficiary_number: order.beneficiary_number,
            reference: order.reference,
            callback_url: bulk.callback_url.clone(),
        };
        async move {
            let reference = req.reference.clone();
            let answer = match price(&req) {
                Err((_, code, message)) => Some(wire::Answer::Error {
                    code: code.into(),
                    message: message.into(),
                }),
                Ok(price) => {
                    state.received.fetch_add(1, Ordering::SeqCst);
                    let response = take(state, req, price).await;
                    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap_or_default();
                    wire::read::<PurchaseData>(&bytes)
                }
            };
            (reference, answer)
        }
    }))
    .await;
    let (mut successful_orders, mut failed_orders) = (Vec::new(), Vec::new());
    for (reference, answer) in taken {
        let listed = |transaction_id, status, code, message| BulkOrderResult {
            reference: reference.clone(),
            transaction_id,
            status,
            code,
            message,
        };
        match answer {
            Some(wire::Answer::Data(order)) => {
                successful_orders.push(listed(order.transaction_id, Some(order.status), None, None))
            }
            Some(wire::Answer::Error { code, message }) => {
                failed_orders.push(listed(None, None, Some(code), Some(message)))
            }
            None => {} // its answer was lost (a fault): in neither list
        }
    }
    if successful_orders.is_empty() {
        return error(StatusCode::BAD_REQUEST, "ALL_ORDERS_FAILED", "All orders failed");
    }
    let data = BulkData {
        bulk_reference: Some(format!("BULK{}", state.seq.fetch_add(1, Ordering::SeqCst))),
        successful_orders,
        failed_orders,
        balance_after: Some(state.balance()),
    };
    (StatusCode::CREATED, Json(Envelope::ok("Bulk purchase processed", data))).into_response()
}

fn html_500() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<html><body><h1>500 Internal Server Error</h1></body></html>"),
    )
        .into_response()
}

async fn take(state: SimState, req: PurchaseRequest, price: Decimal) -> Response {
    let plan = plan(&req.beneficiary_number);
    let (fault, latency, pending_for, keep_pending) = {
        let inner = state.lock();
        (inner.fault, inner.latency, inner.pending_for, inner.keep_pending)
    };
    tokio::time::sleep(latency + plan.delay).await;
    if fault == Fault::ServerErrorBeforeProcessing {
        return html_500();
    }
    let order = {
        let mut inner = state.lock();
        if let Some(existing) = inner.orders.peek_mut(&req.reference) {
            existing.calls += 1;
            return error(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_REFERENCE",
                "Reference already exists",
            );
        }
        if inner.balance < price {
            return error(StatusCode::BAD_REQUEST, "INSUFFICIENT_BALANCE", "Insufficient balance");
        }
        let n = state.seq.fetch_add(1, Ordering::SeqCst);
        let now = Utc::now();
        let order = Order {
            transaction_id: format!("DM{:010}", 7_000_000 + n),
            beneficiary: req.beneficiary_number.clone(),
            amount: price,
            status: plan.now,
            created_at: now,
            completed_at: (plan.now != OrderStatus::Pending).then_some(now),
            calls: 1,
        };
        // A failed order is refunded, as DataMart's wallet does.
        if plan.now != OrderStatus::Failed {
            inner.balance -= price;
        }
        let data = purchased(&req.reference, &order, inner.balance);
        inner.orders.insert(req.reference.clone(), order);
        data
    };
    let callback = req.callback_url.clone();
    if plan.forged_first {
        let forged = NotificationData {
            reference: Some(req.reference.clone()),
            status: Some("completed".into()),
            transaction_id: Some(order.transaction_id.clone().unwrap_or_default()),
        };
        tokio::spawn(notify(
            state.clone(),
            callback.clone(),
            "transaction.completed",
            forged,
            1,
        ));
    }
    if let Some((then, after)) = plan.settles.filter(|_| !keep_pending) {
        tokio::spawn(settle(
            state.clone(),
            req.reference.clone(),
            then,
            after.unwrap_or(pending_for),
            plan.webhook,
            callback,
        ));
    }
    match (fault, plan.answer) {
        (Fault::HangAfterProcessing(d), _) => tokio::time::sleep(d).await,
        (_, Answer::Hold) => tokio::time::sleep(TIMEOUT_HOLD).await,
        (_, Answer::Html500) => return html_500(),
        (Fault::GarbledAfterProcessing, _) => return Html("<html><body>OK</body></html>").into_response(),
        _ => {}
    }
    match (plan.answer, order.status) {
        (Answer::ProviderError, _) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PROVIDER_ERROR",
            "Purchase failed: wallet refunded",
        ),
        (_, OrderStatus::Pending) => (
            StatusCode::CREATED,
            Json(Envelope::ok("Purchase successful - pending manual processing", order)),
        )
            .into_response(),
        _ => (
            StatusCode::CREATED,
            Json(Envelope::ok("Purchase completed successfully", order)),
        )
            .into_response(),
    }
}

fn purchased(reference: &str, order: &Order, balance_after: Decimal) -> PurchaseData {
    PurchaseData {
        reference: reference.into(),
        transaction_id: Some(order.transaction_id.clone()),
        status: order.status,
        amount: Some(order.amount),
        currency: Some("GHS".into()),
        balance_after: Some(balance_after),
        provider_reference: (order.status == OrderStatus::Completed).then(|| format!("PRV-{}", order.transaction_id)),
    }
}

/// After `after`, the order becomes `then` (a failure refunds the wallet), and its
/// webhook goes out as planned.
async fn settle(
    state: SimState,
    reference: String,
    then: OrderStatus,
    after: Duration,
    webhook: Webhook,
    callback: Option<String>,
) {
    tokio::time::sleep(after).await;
    let data = {
        let mut inner = state.lock();
        let Some(order) = inner.orders.peek_mut(&reference) else {
            return;
        };
        order.status = then;
        order.completed_at = Some(Utc::now());
        let refund = (then == OrderStatus::Failed).then_some(order.amount);
        let data = NotificationData {
            reference: Some(reference.clone()),
            status: Some(
                if then == OrderStatus::Failed {
                    "failed"
                } else {
                    "completed"
                }
                .into(),
            ),
            transaction_id: Some(order.transaction_id.clone()),
        };
        if let Some(amount) = refund {
            inner.balance += amount;
        }
        data
    };
    let event = if then == OrderStatus::Failed {
        "transaction.failed"
    } else {
        "transaction.completed"
    };
    match webhook {
        Webhook::Never => {}
        Webhook::OnTime => notify(state, callback, event, data, 1).await,
        Webhook::Twice => notify(state, callback, event, data, 2).await,
        Webhook::Late => {
            tokio::time::sleep(after).await;
            notify(state, callback, event, data, 1).await
        }
    }
}

/// POST the event `times` times to the order's callback URL, as DataMart's webhooks
/// look: `X-Platform-Event`, and a signature no receiver can check (providers.md §2A).
async fn notify(state: SimState, callback: Option<String>, event: &'static str, data: NotificationData, times: u32) {
    let Some(url) = callback else { return };
    let body = serde_json::json!({
        "event": event,
        "data": data,
        "timestamp": Utc::now().to_rfc3339(),
        "signature": hex::encode(sha2::Sha256::digest(format!("{event}{:?}", data.reference))),
    });
    for _ in 0..times {
        state.webhooks.fetch_add(1, Ordering::SeqCst);
        let sent = state
            .client
            .post(&url)
            .header("X-Platform-Event", event)
            .json(&body)
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "DataMart simulator could not deliver a webhook");
        }
    }
}

pub(super) async fn transaction(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    state.enquiries.fetch_add(1, Ordering::SeqCst);
    let _open = state.asked.enter(&reference).await;
    let inner = state.lock();
    let Some(order) = inner.orders.peek(&reference) else {
        return error(StatusCode::NOT_FOUND, "TRANSACTION_NOT_FOUND", "Transaction not found");
    };
    let data = TransactionData {
        reference: reference.clone(),
        transaction_id: Some(order.transaction_id.clone()),
        status: order.status,
        beneficiary: Some(order.beneficiary.clone()),
        amount: Some(order.amount),
        currency: Some("GHS".into()),
        created_at: Some(order.created_at.to_rfc3339()),
        completed_at: order.completed_at.map(|t| t.to_rfc3339()),
        failure_reason: (order.status == OrderStatus::Failed).then(|| "Order could not be processed".into()),
    };
    Json(Envelope::ok("Transaction retrieved", data)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datamart_validation_rules() {
        for ok in ["1GB", "2gb", "500MB", "1.5GB"] {
            assert!(capacity_format_ok(ok), "{ok}");
        }
        for bad in ["GB", "1", "1.GB", "1TB", "x1GB"] {
            assert!(!capacity_format_ok(bad), "{bad}");
        }
        assert!(mtn_number_ok("0241234567") && mtn_number_ok("+233551234567"));
        assert!(!mtn_number_ok("0201234567") && !mtn_number_ok("233241234567") && !mtn_number_ok("024123456"));
    }
}
