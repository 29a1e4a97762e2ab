//! A DataMart simulator speaking the reseller API's wire format (providers.md §2A) over
//! HTTP on loopback: `/v1/purchase`, `/v1/purchase/bulk`, `/v1/transactions/{reference}`,
//! `/v1/balance`, `/v1/products`. Orders stay pending for a configurable time, then complete or fail,
//! and their webhook goes to the order's `callback_url` (the gateway's receiver) — on
//! time, late, twice, forged or never, by test number:
//!
//! | number | behaviour |
//! | --- | --- |
//! | `0240000000` | completed at once (201 `completed`) |
//! | `0240000001` | refused at once: 500 `PROVIDER_ERROR`, wallet refunded |
//! | `0240000002` | pending, then failed (webhook `transaction.failed`) |
//! | `0240000003` | pending, then completed; the webhook never comes |
//! | `0240000004` | pending, then completed; the webhook comes twice |
//! | `0240000005` | pending; a forged `transaction.completed` arrives at once; then really failed |
//! | `0240000006` | pending, then completed; the webhook comes a pending time late |
//! | any other MTN number | pending, then completed (webhook) |
//!
//! Scenario numbers (`…77OD`, `crate::sandbox::scenario`) choose outcome and delay as
//! for every simulator. Faults (latency, hangs, HTML 500s, garbled bodies) can be
//! injected for every request.

mod orders;

use super::enquiries::EnquiryLog;
use super::{history, loopback};
use crate::providers::datamart::wire::{BalanceData, Envelope, OrderStatus, ProductData, ProductsData};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hashlink::LruCache;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const API_KEY: &str = "pk_sandbox";
pub const API_SECRET: &str = "sk_sandbox";

pub const COMPLETES_AT_ONCE: &str = "0240000000";
pub const FAILS_AT_ONCE: &str = "0240000001";
pub const PENDING_THEN_FAILS: &str = "0240000002";
pub const WEBHOOK_NEVER_SENT: &str = "0240000003";
pub const WEBHOOK_DUPLICATED: &str = "0240000004";
pub const WEBHOOK_FORGED: &str = "0240000005";
pub const WEBHOOK_LATE: &str = "0240000006";

/// What to do with every purchase, on top of the test numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Take the order, then hold the answer this long (the client times out).
    HangAfterProcessing(Duration),
    /// Answer 500 with an HTML page, taking nothing.
    ServerErrorBeforeProcessing,
    /// Take the order, then answer 200 with a body that is not the envelope.
    GarbledAfterProcessing,
}

struct Inner {
    orders: LruCache<String, orders::Order>,
    fault: Fault,
    latency: Duration,
    pending_for: Duration,
    /// Pending orders never settle (contract tests of the pending state).
    keep_pending: bool,
    /// Our wallet at DataMart, GHS.
    balance: Decimal,
}

/// Shared state; tests hold it to inject faults and to count what arrived.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Mutex<Inner>>,
    received: Arc<AtomicU64>,
    enquiries: Arc<AtomicU64>,
    bulks: Arc<AtomicU64>,
    webhooks: Arc<AtomicU64>,
    seq: Arc<AtomicU64>,
    asked: EnquiryLog,
    client: reqwest::Client,
}

impl SimState {
    pub fn new(pending_for: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                orders: history::history(),
                fault: Fault::None,
                latency: Duration::ZERO,
                pending_for,
                keep_pending: false,
                balance: dec!(5000),
            })),
            received: Arc::default(),
            enquiries: Arc::default(),
            bulks: Arc::default(),
            webhooks: Arc::default(),
            seq: Arc::default(),
            asked: EnquiryLog::default(),
            client: reqwest::Client::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("simulator state")
    }
    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }
    pub fn set_pending_for(&self, pending_for: Duration) {
        self.lock().pending_for = pending_for;
    }
    pub fn set_keep_pending(&self, keep: bool) {
        self.lock().keep_pending = keep;
    }
    pub fn set_balance(&self, balance: Decimal) {
        self.lock().balance = balance;
    }
    pub fn balance(&self) -> Decimal {
        self.lock().balance
    }
    /// Purchase requests that passed authentication and validation.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
    /// Transaction lookups (`GET /v1/transactions/{reference}`) answered.
    pub fn enquiries(&self) -> u64 {
        self.enquiries.load(Ordering::SeqCst)
    }
    /// Bulk purchase requests (`/v1/purchase/bulk`) taken.
    pub fn bulk_calls(&self) -> u64 {
        self.bulks.load(Ordering::SeqCst)
    }
    /// Webhooks posted (forged ones included).
    pub fn webhooks_sent(&self) -> u64 {
        self.webhooks.load(Ordering::SeqCst)
    }
    /// How many purchases arrived under this reference (one order at most, ever).
    pub fn calls_for(&self, reference: &str) -> u64 {
        self.lock().orders.peek(reference).map_or(0, |o| o.calls)
    }
    /// Every order remembered: its reference, arrivals, and whether completed by now.
    pub fn seen(&self) -> Vec<history::Seen> {
        let inner = self.lock();
        inner
            .orders
            .iter()
            .map(|(reference, o)| history::Seen {
                reference: reference.clone(),
                arrivals: o.calls,
                delivered: o.status == OrderStatus::Completed,
            })
            .collect()
    }
    /// Transaction lookups, by reference.
    pub fn enquiry_log(&self) -> &EnquiryLog {
        &self.asked
    }
    /// An order's status now.
    pub fn status_of(&self, reference: &str) -> Option<OrderStatus> {
        self.lock().orders.peek(reference).map(|o| o.status)
    }
}

/// The price list: MTN ("YELLOW") bundles, GHS, with DataMart's own field names.
pub fn listed_products() -> Vec<ProductData> {
    [
        ("500MB", dec!(0.5), "MB", "30 days", dec!(3.00)),
        ("1GB", dec!(1), "GB", "90 days", dec!(5.50)),
        ("2GB", dec!(2), "GB", "90 days", dec!(10.50)),
        ("5GB", dec!(5), "GB", "90 days", dec!(24.00)),
        ("10GB", dec!(10), "GB", "90 days", dec!(46.00)),
        ("50GB", dec!(50), "GB", "90 days", dec!(210.00)),
    ]
    .into_iter()
    .map(|(capacity, value, unit, validity, price)| ProductData {
        product_code: format!("YELLOW_{capacity}"),
        name: "YELLOW".into(),
        category: Some("data".into()),
        capacity: capacity.into(),
        capacity_value: Some(value),
        capacity_unit: Some(unit.into()),
        validity: Some(validity.into()),
        price,
        currency: "GHS".into(),
        status: "active".into(),
    })
    .collect()
}

pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/api/v1/purchase", post(orders::purchase))
        .route("/api/v1/purchase/bulk", post(orders::purchase_bulk))
        .route("/api/v1/transactions/{reference}", get(orders::transaction))
        .route("/api/v1/balance", get(balance))
        .route("/api/v1/products", get(products))
        .with_state(state)
}

/// Serve the simulator on an ephemeral loopback port; its base URL (up to `/api`).
pub async fn spawn(state: SimState) -> std::io::Result<String> {
    let addr: SocketAddr = loopback::serve(router(state), "DataMart").await?;
    Ok(format!("http://{addr}/api"))
}

/// DataMart's error envelope under `status`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(Envelope::<()>::err(message, code))).into_response()
}

/// The headers, checked as DataMart's middleware does: the refusal, if any (its 401
/// carries no code).
fn unauthenticated(headers: &HeaderMap) -> Option<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let message = match (header("x-api-key"), header("x-api-secret")) {
        (None, _) | (_, None) => "API credentials required",
        (Some(key), _) if key != API_KEY => "Invalid API key",
        (_, Some(secret)) if secret != API_SECRET => "Invalid API credentials",
        _ => return None,
    };
    let body = serde_json::json!({"success": false, "message": message});
    Some((StatusCode::UNAUTHORIZED, Json(body)).into_response())
}

async fn balance(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let balance = state.balance();
    let data = BalanceData {
        balance,
        currency: "GHS".into(),
        formatted: Some(format!("GHS {balance:.2}")),
    };
    Json(Envelope::ok("Balance retrieved", data)).into_response()
}

async fn products(headers: HeaderMap) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let products = listed_products();
    let total = Some(products.len() as u32);
    Json(Envelope::ok("Products retrieved", ProductsData { products, total })).into_response()
}
