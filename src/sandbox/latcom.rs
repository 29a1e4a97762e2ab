//! A LATCOM simulator that speaks the real wire format over HTTP, for sandbox mode
//! and tests. Test numbers (seed 000): 5500000000 always succeeds, 5500000001 always
//! fails. Extra sandbox numbers: 5500000002 is processed (success) but answered only
//! after the client has given up; 5500000003 is processed (failure) and answered
//! with a 500 HTML page; 5500000004 is answered "Pending", settled by a status lookup.
//! Scenario numbers (`super::scenario`, last digits `77OD`) choose any outcome and
//! delay. Faults can also be injected for every request.
//!
//! Like real LATCOM (providers.md §3A) it refuses, with HTTP 200 and `status: "Fail"`,
//! products it does not sell and amounts its products do not take: the open
//! `TFE_MXN_20_TO_2000` only 20-2000, each `XOOM_<n>_MXN` only n. Status lookups go by
//! LATCOM's `transId`; by our `dist_transid` only when configured to (as an account
//! LATCOM has confirmed for it would).

use super::enquiries::EnquiryLog;
use super::scenario::{self, Scenario};
use super::{history, loopback};
use crate::providers::latcom::wire::{LoginRequest, LoginResponse, TopupRequest, TopupResponse};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hashlink::LruCache;
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ALWAYS_SUCCEEDS: &str = "5500000000";
pub const ALWAYS_FAILS: &str = "5500000001";
pub const ANSWERS_TOO_LATE: &str = "5500000002";
pub const ANSWERS_500: &str = "5500000003";
/// Processed (success), but the top-up's answer says `status: "Pending"` with its transId;
/// the status lookup says Success. LATCOM's pending answer is unrecorded (its shape here
/// is the top-up answer's, a guess).
pub const ANSWERS_PENDING: &str = "5500000004";

/// Why a pending scenario top-up that settled as not delivered failed.
const SETTLED_AS_FAILED: (&str, &str) = ("Test number: pending, then failed", "-1");

/// What to do with every top-up request, on top of the test numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Process the top-up, then hold the answer this long (the client times out).
    HangAfterProcessing(Duration),
    /// Process the top-up, then answer 500 with an HTML page.
    ServerErrorAfterProcessing,
    /// Answer 500 without processing anything.
    ServerErrorBeforeProcessing,
    /// Process the top-up, then answer 200 with a body that is not the top-up JSON.
    GarbledAfterProcessing,
}

struct Inner {
    tokens: HashSet<String>,
    /// The top-ups processed, by dist_transid (the latest ones: see `history`).
    processed: LruCache<String, Record>,
    /// LATCOM's transId → our dist_transid, for the documented status path.
    trans_ids: LruCache<String, String>,
    fault: Fault,
    latency: Duration,
    status_unavailable: bool,
    dist_transid_lookup: bool,
    /// What status lookups report instead of the top-up's own status.
    lookup_status: Option<&'static str>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            tokens: HashSet::new(),
            processed: history::history(),
            trans_ids: history::history(),
            fault: Fault::None,
            latency: Duration::ZERO,
            status_unavailable: false,
            dist_transid_lookup: false,
            lookup_status: None,
        }
    }
}

/// What the simulator keeps of a processed top-up: enough to give the same answer again,
/// in far fewer bytes than the answer itself.
struct Record {
    n: u64,
    uid: uuid::Uuid,
    /// Why it failed (`vendorResponseMsg`, `vendorResponseCode`), if it did.
    failure: Option<(&'static str, &'static str)>,
    amount: Decimal,
    product_id: String,
    service: u8,
    at: DateTime<Utc>,
    /// How many times its dist_transid arrived (tests check that nothing is sent twice).
    calls: u64,
    /// A pending top-up (a scenario number's): when it settles, and whether delivered.
    settles: Option<(DateTime<Utc>, bool)>,
}

/// Shared state; tests hold it to inject faults and to count what arrived.
#[derive(Clone, Default)]
pub struct SimState {
    inner: Arc<Mutex<Inner>>,
    topups: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    logins: Arc<AtomicU64>,
    seq: Arc<AtomicU64>,
    asked: EnquiryLog,
}

impl SimState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("simulator state")
    }
    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }
    /// Make status lookups answer 503 (true) or work again (false).
    pub fn set_status_unavailable(&self, unavailable: bool) {
        self.lock().status_unavailable = unavailable;
    }
    /// Status lookups report this `status` (e.g. "Pending": still with the carrier), or
    /// the top-up's own again (`None`).
    pub fn set_lookup_status(&self, status: Option<&'static str>) {
        self.lock().lookup_status = status;
    }
    /// Every token issued so far stops working.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }
    pub fn topup_calls(&self) -> u64 {
        self.topups.load(Ordering::SeqCst)
    }
    /// Top-up requests that arrived (counted before any latency or fault).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
    pub fn login_calls(&self) -> u64 {
        self.logins.load(Ordering::SeqCst)
    }
    pub fn calls_for(&self, dist_transid: &str) -> u64 {
        self.lock().processed.peek(dist_transid).map_or(0, |r| r.calls)
    }
    /// The product and amount that arrived under this dist_transid.
    pub fn sent(&self, dist_transid: &str) -> Option<(String, Decimal)> {
        let inner = self.lock();
        let r = inner.processed.peek(dist_transid)?;
        Some((r.product_id.clone(), r.amount))
    }
    /// Every top-up remembered: its dist_transid, arrivals, and whether delivered by now.
    pub fn seen(&self) -> Vec<history::Seen> {
        let inner = self.lock();
        inner
            .processed
            .iter()
            .map(|(dist_transid, r)| history::Seen {
                reference: dist_transid.clone(),
                arrivals: r.calls,
                delivered: r.delivered(),
            })
            .collect()
    }
    /// Whether status lookups by our dist_transid are answered (only LATCOM's transId is
    /// documented; `providers.latcom.enquire_by_dist_transid` says an account has both).
    /// Status lookups, by the id they asked about.
    pub fn enquiry_log(&self) -> &EnquiryLog {
        &self.asked
    }
    pub fn set_dist_transid_lookup(&self, enabled: bool) {
        self.lock().dist_transid_lookup = enabled;
    }
}

/// The amounts real LATCOM takes for a product code, or `None` for a code it does not
/// sell. The Movistar codes are documented (providers.md §3A); the others are the
/// catalog's unconfirmed codes, accepted here only so that the sandbox can sell them.
enum Takes {
    Exactly(Decimal),
    Between(Decimal, Decimal),
    /// Bundles (service 1), priced by skuID; their amount rule is unrecorded.
    AnyAmount,
}

const XOOM_DENOMINATIONS: [u32; 14] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 150, 200, 300, 500];

fn takes(product_id: &str) -> Option<Takes> {
    if product_id == "TFE_MXN_20_TO_2000" {
        return Some(Takes::Between(Decimal::from(20), Decimal::from(2000)));
    }
    if let Some(n) = product_id.strip_prefix("XOOM_").and_then(|r| r.strip_suffix("_MXN")) {
        // Written without leading zeros: "XOOM_010_MXN" is not a product.
        let n = XOOM_DENOMINATIONS.iter().find(|d| d.to_string() == n)?;
        return Some(Takes::Exactly(Decimal::from(*n)));
    }
    let unconfirmed = ["TELCEL", "ATT", "UNEFON", "VIRGIN"].map(|op| format!("{op}_MXN_10_TO_500"));
    if unconfirmed.iter().any(|p| p == product_id) {
        return Some(Takes::Between(Decimal::from(10), Decimal::from(500)));
    }
    product_id.starts_with("TEMXN_").then_some(Takes::AnyAmount)
}

/// Why LATCOM refuses this request outright. "product_not_found" is recorded; the
/// message for an amount a product does not take is NOT (guessed, unverified).
fn refusal(req: &TopupRequest) -> Option<(&'static str, &'static str)> {
    match takes(&req.product_id) {
        None => Some(("product_not_found", "-120054")),
        Some(Takes::Exactly(a)) if req.amount != a => Some(("invalid_amount", "-1")),
        Some(Takes::Between(lo, hi)) if req.amount < lo || req.amount > hi => Some(("invalid_amount", "-1")),
        _ => None,
    }
}

pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/api/dislogin", post(login))
        .route("/api/tn/fast", post(topup))
        .route("/api/transaction/{id}", get(status))
        .with_state(state)
}

/// Serve the simulator on an ephemeral loopback port.
pub async fn spawn(latency: Duration) -> std::io::Result<(SocketAddr, SimState)> {
    let state = SimState::default();
    state.set_latency(latency);
    let addr = loopback::serve(router(state.clone()), "LATCOM").await?;
    Ok((addr, state))
}

fn validation_error(message: &str) -> Response {
    let body = serde_json::json!({
        "error": "Validation Error", "message": message, "status": 400,
        "timestamp": chrono::Utc::now().to_rfc3339(),
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn login(State(state): State<SimState>, body: Option<Json<LoginRequest>>) -> Response {
    let Some(Json(req)) = body else {
        return validation_error("username, password, dist_api and user_uid are required");
    };
    if req.username.is_empty() || req.password.is_empty() || req.dist_api.is_empty() {
        return validation_error("Invalid credentials");
    }
    state.logins.fetch_add(1, Ordering::SeqCst);
    let token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    state.lock().tokens.insert(token.clone());
    Json(LoginResponse { access: token }).into_response()
}

fn authorised(state: &SimState, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    state.lock().tokens.contains(token)
}

fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"error": "Unauthorized", "status": 401})),
    )
        .into_response()
}

fn server_error_page() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<html><body><h1>500 Internal Server Error</h1></body></html>"),
    )
        .into_response()
}

async fn topup(State(state): State<SimState>, headers: HeaderMap, body: Option<Json<TopupRequest>>) -> Response {
    if !authorised(&state, &headers) {
        return unauthorised();
    }
    let Some(Json(req)) = body else {
        return validation_error("malformed top-up request");
    };
    state.received.fetch_add(1, Ordering::SeqCst);
    // The work runs in its own task: like a real upstream, it carries on when the
    // caller hangs up.
    let work = tokio::spawn(process(state, req));
    work.await.unwrap_or_else(|_| server_error_page())
}

async fn process(state: SimState, req: TopupRequest) -> Response {
    let (fault, latency) = {
        let inner = state.lock();
        (inner.fault, inner.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fault == Fault::ServerErrorBeforeProcessing {
        return server_error_page();
    }
    let planned = scenario::for_number(&req.target_msisdn);
    state.topups.fetch_add(1, Ordering::SeqCst);
    let answer = {
        let mut inner = state.lock();
        // A repeated dist_transid gets the original answer, never a second top-up.
        if let Some(existing) = inner.processed.peek_mut(&req.dist_transid) {
            existing.calls += 1;
            existing.answer(&req.dist_transid)
        } else {
            let test_failure = ([ALWAYS_FAILS, ANSWERS_500].contains(&req.target_msisdn.as_str())
                || planned.is_some_and(|p| !p.delivers() && p.settles().is_none()))
            .then_some(("Test number: always fails", "-1"));
            let failure = refusal(&req).or(test_failure);
            let mut record = Record::new(&req, state.seq.fetch_add(1, Ordering::SeqCst), failure);
            if failure.is_none() {
                record.settles = planned.and_then(|p| p.settles()).map(|(after, delivered)| {
                    (
                        record.at + chrono::Duration::from_std(after).unwrap_or_default(),
                        delivered,
                    )
                });
            }
            let mut answer = record.answer(&req.dist_transid);
            if req.target_msisdn == ANSWERS_PENDING && failure.is_none() {
                answer.status = "Pending".into();
            }
            if let Some(trans_id) = &answer.trans_id {
                inner.trans_ids.insert(trans_id.clone(), req.dist_transid.clone());
            }
            inner.processed.insert(req.dist_transid.clone(), record);
            answer
        }
    };
    if let Some(planned) = planned {
        tokio::time::sleep(planned.answer_delay()).await;
        if planned.scenario == Scenario::UnknownThenSuccess {
            return server_error_page();
        }
    }
    match (fault, req.target_msisdn.as_str()) {
        (Fault::HangAfterProcessing(d), _) => tokio::time::sleep(d).await,
        (_, ANSWERS_TOO_LATE) => tokio::time::sleep(Duration::from_secs(120)).await,
        (Fault::ServerErrorAfterProcessing, _) | (_, ANSWERS_500) => return server_error_page(),
        (Fault::GarbledAfterProcessing, _) => return Html("<html><body>OK</body></html>").into_response(),
        _ => {}
    }
    Json(answer).into_response()
}

impl Record {
    fn new(req: &TopupRequest, n: u64, failure: Option<(&'static str, &'static str)>) -> Self {
        Self {
            n,
            uid: uuid::Uuid::new_v4(),
            failure,
            amount: req.amount,
            product_id: req.product_id.clone(),
            service: req.service,
            at: Utc::now(),
            calls: 1,
            settles: None,
        }
    }

    /// Delivered by now: not failed, and a pending one settled as delivered.
    fn delivered(&self) -> bool {
        self.failure.is_none()
            && self
                .settles
                .is_none_or(|(when, delivered)| delivered && Utc::now() >= when)
    }

    fn answer(&self, dist_transid: &str) -> TopupResponse {
        let (n, at) = (self.n, self.at.to_rfc3339());
        let (status, failure) = match self.settles {
            Some((when, _)) if Utc::now() < when => ("Pending", None),
            // Settled as not delivered: the answer says why, never "Recarga exitosa".
            Some((_, false)) => ("Fail", Some(self.failure.unwrap_or(SETTLED_AS_FAILED))),
            _ if self.failure.is_some() => ("Fail", self.failure),
            _ => ("Success", None),
        };
        let fails = failure.is_some();
        TopupResponse {
            uid: Some(self.uid.to_string()),
            amount: Some(self.amount),
            product_id: Some(self.product_id.clone()),
            service: Some(self.service),
            trans_id: Some(format!("LT{:08}", 38_000_000 + n)),
            status: status.into(),
            created_at: Some(at.clone()),
            ven_transid: (!fails).then(|| format!("VEN{n:010}")),
            response_code: None,
            response_message: None,
            vendor_response_msg: Some(failure.map_or("Recarga exitosa", |f| f.0).into()),
            vendor_response_code: Some(failure.map_or("0", |f| f.1).into()),
            dist_transid: Some(dist_transid.into()),
            ended_at: Some(at),
        }
    }
}

async fn status(State(state): State<SimState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&state, &headers) {
        return unauthorised();
    }
    let _open = state.asked.enter(&id).await;
    let inner = state.lock();
    if inner.status_unavailable {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<html><body>503 Service Unavailable</body></html>"),
        )
            .into_response();
    }
    let dist_transid = match inner.trans_ids.peek(&id) {
        Some(dist_transid) => Some(dist_transid.clone()),
        None if inner.dist_transid_lookup => Some(id),
        None => None,
    };
    match dist_transid.and_then(|d| Some((inner.processed.peek(&d)?, d))) {
        Some((record, dist_transid)) => {
            let mut answer = record.answer(&dist_transid);
            if let Some(status) = inner.lookup_status {
                answer.status = status.into();
            }
            Json(answer).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "Not Found", "status": 404})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_top_up_settled_as_failed_answers_a_failure_not_recarga_exitosa() {
        let req = TopupRequest {
            target_msisdn: "5512347731".into(),
            dist_transid: "T-1".into(),
            operator: "TELEFONICA".into(),
            country: "MX".into(),
            currency: "MXN".into(),
            amount: Decimal::from(50),
            product_id: "XOOM_50_MXN".into(),
            sku_id: "0".into(),
            service: 2,
        };
        let mut record = Record::new(&req, 1, None);
        record.settles = Some((Utc::now() - chrono::Duration::seconds(1), false));
        let answer = record.answer("T-1");
        assert_eq!(answer.status, "Fail");
        assert_eq!(answer.vendor_response_msg.as_deref(), Some(SETTLED_AS_FAILED.0));
        assert_eq!(answer.vendor_response_code.as_deref(), Some("-1"));
        assert_eq!(answer.ven_transid, None);
        assert!(!record.delivered());
    }
}
