//! A Smartcall Web Service V3 simulator speaking the recorded wire format over HTTP,
//! for sandbox mode and tests (providers.md §1, seed 004).
//!
//! QA behaviours follow the seed's network simulator (§10g), keyed by the recharge
//! amount in rand, whatever the number: R11 business failure (statusCode 2), R13
//! network pending (statusCode 3; the enquiry later answers SUCCESSFUL, configurable),
//! R17 mobile network down (HTTP 503, statusCode 1, recorded FAILED). The 5-minute rule
//! (same MSISDN + amount → code 16), the 50-token limit (429), token expiry, duplicate
//! client references (1001), insufficient funds (15) and the product list quirks
//! (space-padded codes, every product twice, string money, 99999.99 open amounts, ETags)
//! are reproduced. Faults can be injected for every recharge.

use super::{history, loopback};
use crate::domain::money::round_half_up;
use crate::providers::smartcall::wire::{RechargeRequest, TOKEN_REJECTED};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hashlink::LruCache;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A dealer (Smartload) id for sandbox configs; any `27`+9-digit id is accepted unless
/// [`SimState::set_dealer`] restricts it.
pub const DEALER: &str = "27820000001";
/// Seed §10g QA amounts (rand).
pub const BUSINESS_FAILURE: Decimal = dec!(11);
pub const NETWORK_PENDING: Decimal = dec!(13);
pub const NETWORK_DOWN: Decimal = dec!(17);
/// Seed §6 and FAQ 5: at most 50 live tokens per user.
pub const TOKEN_LIMIT: usize = 50;

/// What to do with every recharge, on top of the QA amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Process the recharge, then hold the answer this long (the client times out).
    HangAfterProcessing(Duration),
    /// Process the recharge, then answer 500 with a JBoss HTML page.
    ServerErrorAfterProcessing,
    /// Answer 500 with an HTML page without processing anything.
    ServerErrorBeforeProcessing,
    /// Answer 503 without processing anything (this host is unavailable).
    UnavailableBeforeProcessing,
}

/// A transaction status as the enquiry reports it (seed Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Requested,
    Pending,
    Successful,
    Failed,
    Cancelled,
}

impl Status {
    pub fn id(self) -> &'static str {
        match self {
            Status::Requested => "REQUESTED",
            Status::Pending => "PENDING",
            Status::Successful => "SUCCESSFUL",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }
    fn text(self) -> &'static str {
        match self {
            Status::Requested => "Recharge Requested",
            Status::Pending => "Recharge Pending",
            Status::Successful => "Recharge Successful",
            Status::Failed => "Recharge Failed",
            Status::Cancelled => "Recharge Cancelled",
        }
    }
}

/// A canned answer for every recharge (used to reach codes the QA amounts cannot, e.g.
/// 1004), given after the recharge is recorded with `record_as`.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub http: u16,
    pub status_code: Option<i64>,
    pub error_code: Option<i64>,
    pub message: String,
    pub record_as: Status,
}

struct Txn {
    order_ref: u64,
    status_id: String,
    status_text: String,
    msisdn: String,
    product: String,
    price: Decimal,
    discount: Decimal,
    cost: Decimal,
    date_ms: i64,
    /// R13: since when a network-pending recharge has been waiting to settle.
    pending_since: Option<Instant>,
}

struct Inner {
    credentials: Option<(String, String)>,
    dealer: Option<String>,
    balance: Decimal,
    tokens: HashMap<String, Instant>,
    token_ttl: Duration,
    token_limit: usize,
    /// The recharges recorded, by clientReference, and the (msisdn, amount) pairs recently
    /// recharged: the latest ones (see `history`).
    txns: LruCache<String, Txn>,
    recent: LruCache<(String, Decimal), Instant>,
    duplicate_window: Duration,
    calls_by_reference: LruCache<String, u64>,
    fault: Fault,
    latency: Duration,
    scripted: Option<Scripted>,
    pending_after: Duration,
    pending_to: Status,
    enquiry_unavailable: bool,
    catalog_revision: u32,
    sim_networks: HashMap<String, (String, bool)>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            credentials: None,
            dealer: None,
            balance: dec!(100000.0000),
            tokens: HashMap::new(),
            token_ttl: Duration::from_secs(24 * 3600),
            token_limit: TOKEN_LIMIT,
            txns: history::history(),
            recent: history::history(),
            duplicate_window: Duration::from_secs(300),
            calls_by_reference: history::history(),
            fault: Fault::None,
            latency: Duration::ZERO,
            scripted: None,
            pending_after: Duration::from_secs(30),
            pending_to: Status::Successful,
            enquiry_unavailable: false,
            catalog_revision: 0,
            sim_networks: HashMap::new(),
        }
    }
}

impl Inner {
    fn purge_expired_tokens(&mut self) {
        let now = Instant::now();
        self.tokens.retain(|_, expires| *expires > now);
    }
}

/// Shared state; tests hold it to inject faults and count what arrived. Two servers
/// started with [`serve`] on one state behave like api1 and api2 on one backend.
#[derive(Clone, Default)]
pub struct SimState {
    inner: Arc<Mutex<Inner>>,
    recharges: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    logins: Arc<AtomicU64>,
    rejected_tokens: Arc<AtomicU64>,
    seq: Arc<AtomicU64>,
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
    pub fn script(&self, answer: Option<Scripted>) {
        self.lock().scripted = answer;
    }
    /// Only these credentials log in (default: any non-empty pair).
    pub fn set_credentials(&self, username: &str, password: &str) {
        self.lock().credentials = Some((username.into(), password.into()));
    }
    /// Only this Smartload id is ours (default: any).
    pub fn set_dealer(&self, smartload_id: Option<&str>) {
        self.lock().dealer = smartload_id.map(str::to_string);
    }
    pub fn set_balance(&self, balance: Decimal) {
        self.lock().balance = balance;
    }
    pub fn balance(&self) -> Decimal {
        self.lock().balance
    }
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().token_ttl = ttl;
    }
    pub fn set_token_limit(&self, limit: usize) {
        self.lock().token_limit = limit;
    }
    pub fn set_duplicate_window(&self, window: Duration) {
        self.lock().duplicate_window = window;
    }
    /// R13 recharges settle to `to` once `after` has passed since they were made
    /// (default 30 s → SUCCESSFUL). Read at enquiry time, so it applies to waiting ones.
    pub fn set_network_pending(&self, after: Duration, to: Status) {
        let mut inner = self.lock();
        inner.pending_after = after;
        inner.pending_to = to;
    }
    /// Enquiries answer 503 (true) or work again (false).
    pub fn set_enquiry_unavailable(&self, unavailable: bool) {
        self.lock().enquiry_unavailable = unavailable;
    }
    /// Change the product list (and so its ETag).
    pub fn bump_catalog(&self) {
        self.lock().catalog_revision += 1;
    }
    /// Make `/utilities/simnetwork` report this network (e.g. a ported number).
    pub fn set_sim_network(&self, msisdn: &str, network: &str, ported: bool) {
        self.lock().sim_networks.insert(msisdn.into(), (network.into(), ported));
    }
    /// Every token issued so far stops working (as after expiry or a flush elsewhere).
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }
    /// A token issued to someone else (another instance), counting against the limit.
    pub fn issue_token(&self) -> String {
        let token = format!("sim.{}", uuid::Uuid::new_v4().simple());
        let mut inner = self.lock();
        let expires = Instant::now() + inner.token_ttl;
        inner.tokens.insert(token.clone(), expires);
        token
    }
    pub fn live_tokens(&self) -> usize {
        let mut inner = self.lock();
        inner.purge_expired_tokens();
        inner.tokens.len()
    }
    /// Recharge requests that arrived (counted before any latency or fault).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
    pub fn recharge_calls(&self) -> u64 {
        self.recharges.load(Ordering::SeqCst)
    }
    pub fn login_calls(&self) -> u64 {
        self.logins.load(Ordering::SeqCst)
    }
    /// 401 "Token validation failed" answers given.
    pub fn rejected_tokens(&self) -> u64 {
        self.rejected_tokens.load(Ordering::SeqCst)
    }
    pub fn calls_for(&self, client_reference: &str) -> u64 {
        self.lock()
            .calls_by_reference
            .peek(client_reference)
            .copied()
            .unwrap_or(0)
    }
    /// Lose a recharge's record: its enquiry answers "ClientReference does not exist"
    /// (as for one that aged out of the 1-week lookup window, or one Smartcall lost).
    pub fn forget(&self, client_reference: &str) {
        self.lock().txns.remove(client_reference);
    }
    /// Force what the enquiry reports (any string, to test unrecognised ids).
    pub fn set_status_id(&self, client_reference: &str, status_id: &str) {
        if let Some(t) = self.lock().txns.peek_mut(client_reference) {
            t.status_id = status_id.into();
            t.pending_since = None;
        }
    }
}

pub fn router(state: SimState) -> Router {
    Router::new()
        .route(
            "/webservice/test/ping",
            get(|| async { Json(json!({"response": "Pong"})) }),
        )
        .route("/webservice/auth", post(login).delete(logout))
        .route("/webservice/auth/token", get(token_query).delete(token_flush))
        .route("/webservice/smartload/balance/{id}", get(balance))
        .route("/webservice/smartload/v2/recharges", post(recharge))
        .route("/webservice/smartload/recharges/{id}/{reference}", get(enquiry))
        .route("/webservice/smartload/networks", get(networks))
        .route("/webservice/utilities/simnetwork/{msisdn}", get(sim_network))
        .with_state(state)
}

/// Serve a fresh simulator on an ephemeral loopback port.
pub async fn spawn(latency: Duration) -> std::io::Result<(SocketAddr, SimState)> {
    let state = SimState::default();
    state.set_latency(latency);
    let (addr, _) = serve(state.clone()).await?;
    Ok((addr, state))
}

/// Serve one more host (api1, api2) on `state`'s backend; the [`Host`] handle controls
/// and counts this host alone.
pub async fn serve(state: SimState) -> std::io::Result<(SocketAddr, Host)> {
    let host = Host::default();
    let app = router(state).layer(axum::middleware::from_fn_with_state(host.clone(), host_gate));
    let addr = loopback::serve(app, "Smartcall").await?;
    Ok((addr, host))
}

/// One server of a live-live pair.
#[derive(Clone, Default)]
pub struct Host {
    unavailable: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
}

impl Host {
    /// Answer every request on this host with 503 (down for maintenance).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }
    /// Requests this host received, of any kind.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn host_gate(State(host): State<Host>, request: Request, next: Next) -> Response {
    host.requests.fetch_add(1, Ordering::SeqCst);
    if host.unavailable.load(Ordering::SeqCst) {
        return html(StatusCode::SERVICE_UNAVAILABLE);
    }
    next.run(request).await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn number(d: Decimal) -> Value {
    Value::Number(serde_json::Number::from_str(&d.to_string()).expect("decimal is a JSON number"))
}

fn auth_answer(status: StatusCode, description: &str, token: Option<(&str, i64)>) -> Response {
    let body = json!({
        "responseDescription": description,
        "accessToken": token.map(|t| t.0),
        "tokenType": token.map(|_| "Bearer"),
        "expiresAt": token.map(|t| t.1),
        "scope": token.map(|_| "WEBSERVICE_SMARTLOAD_FULL,WEBSERVICE_SMARTRICA_FULL"),
    });
    (status, Json(body)).into_response()
}

fn error_body(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn html(status: StatusCode) -> Response {
    let page = format!(
        "<html><head><title>JBoss Web/7.0.13.Final - Error report</title></head><body>\
         <h1>HTTP Status {} - </h1><hr/><p><b>type</b> Status report</p></body></html>",
        status.as_u16()
    );
    (status, Html(page)).into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.into(), pass.into()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A 401 with one of the recorded descriptions.
struct Refused(&'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        auth_answer(StatusCode::UNAUTHORIZED, self.0, None)
    }
}

/// The bearer token, if it is live; otherwise the recorded 401 answer.
fn check_bearer(state: &SimState, headers: &HeaderMap) -> Result<String, Refused> {
    let Some(token) = bearer(headers) else {
        return Err(Refused("Authorization denied. Invalid authorization header"));
    };
    let live = state.lock().tokens.get(token).is_some_and(|e| *e > Instant::now());
    if live {
        Ok(token.to_string())
    } else {
        state.rejected_tokens.fetch_add(1, Ordering::SeqCst);
        Err(Refused(TOKEN_REJECTED))
    }
}

fn credentials_ok(state: &SimState, headers: &HeaderMap) -> Result<(), &'static str> {
    let (user, pass) = basic(headers).ok_or("Authorization denied. Invalid authorization header")?;
    match state.lock().credentials.as_ref() {
        Some((u, _)) if *u != user => Err("Invalid username"),
        Some((_, p)) if *p != pass => Err("Invalid password"),
        None if user.is_empty() => Err("Invalid username"),
        None if pass.is_empty() => Err("Invalid password"),
        _ => Ok(()),
    }
}

async fn login(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(description) = credentials_ok(&state, &headers) {
        return auth_answer(StatusCode::UNAUTHORIZED, description, None);
    }
    state.logins.fetch_add(1, Ordering::SeqCst);
    let mut inner = state.lock();
    inner.purge_expired_tokens();
    if inner.tokens.len() >= inner.token_limit {
        let description = format!(
            "Maximum concurrent session limit reached. Limit is {}",
            inner.token_limit
        );
        return auth_answer(StatusCode::TOO_MANY_REQUESTS, &description, None);
    }
    let token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    let ttl = inner.token_ttl;
    inner.tokens.insert(token.clone(), Instant::now() + ttl);
    let expires_at = now_ms() + ttl.as_millis() as i64;
    auth_answer(StatusCode::OK, "Authentication successful", Some((&token, expires_at)))
}

async fn logout(State(state): State<SimState>, headers: HeaderMap) -> Response {
    match check_bearer(&state, &headers) {
        Ok(token) => {
            state.lock().tokens.remove(&token);
            auth_answer(StatusCode::OK, "Token invalidation successful", None)
        }
        Err(refused) => refused.into_response(),
    }
}

fn basic_or_bearer(state: &SimState, headers: &HeaderMap) -> Result<(), Refused> {
    if basic(headers).is_some() {
        return credentials_ok(state, headers).map_err(Refused);
    }
    check_bearer(state, headers).map(|_| ())
}

async fn token_query(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = basic_or_bearer(&state, &headers) {
        return response.into_response();
    }
    let mut inner = state.lock();
    inner.purge_expired_tokens();
    let available = inner.token_limit.saturating_sub(inner.tokens.len());
    Json(json!({ "availableTokens": available })).into_response()
}

async fn token_flush(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = basic_or_bearer(&state, &headers) {
        return response.into_response();
    }
    let mut inner = state.lock();
    inner.tokens.clear();
    Json(json!({ "availableTokens": inner.token_limit })).into_response()
}

fn not_our_dealer(state: &SimState, id: &str) -> Option<Response> {
    let registered = state.lock().dealer.as_deref().is_none_or(|d| d == id);
    (!registered).then(|| {
        error_body(
            StatusCode::FORBIDDEN,
            400,
            "The supplied Smartload ID is not registered to your account",
        )
    })
}

async fn balance(State(state): State<SimState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    if let Some(response) = not_our_dealer(&state, &id) {
        return response.into_response();
    }
    let balance = state.lock().balance;
    Json(json!({"error": null, "responseCode": "SUCCESS", "balance": number(balance)})).into_response()
}

async fn recharge(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Result<Json<RechargeRequest>, JsonRejection>,
) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    let req = match body {
        Ok(Json(req)) => req,
        Err(e) => {
            return v2_error(
                StatusCode::BAD_REQUEST,
                2,
                1007,
                "Recharge parameter validation failure",
                &e.body_text(),
            )
        }
    };
    state.received.fetch_add(1, Ordering::SeqCst);
    // The work runs in its own task: like the real server, it carries on when the
    // caller hangs up.
    tokio::spawn(process(state, req))
        .await
        .unwrap_or_else(|_| html(StatusCode::INTERNAL_SERVER_ERROR))
}

/// A synchronous recharge error in the v2 shape: `error` populated, statusCode set.
fn v2_error(http: StatusCode, status_code: i64, code: i64, message: &str, status_message: &str) -> Response {
    let body = json!({
        "error": {"code": code, "message": message, "statusMessage": status_message},
        "responseCode": if status_code == 1 { "SYS_ERROR" } else { "APP_ERROR" },
        "statusCode": status_code,
        "statusMessage": status_message,
        "recharge": null,
    });
    (http, Json(body)).into_response()
}

async fn process(state: SimState, req: RechargeRequest) -> Response {
    let (fault, latency) = {
        let inner = state.lock();
        (inner.fault, inner.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::ServerErrorBeforeProcessing => return html(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::UnavailableBeforeProcessing => return html(StatusCode::SERVICE_UNAVAILABLE),
        _ => {}
    }
    state.recharges.fetch_add(1, Ordering::SeqCst);
    let answer = {
        let mut inner = state.lock();
        match inner.calls_by_reference.peek_mut(&req.client_reference) {
            Some(calls) => *calls += 1,
            None => {
                inner.calls_by_reference.insert(req.client_reference.clone(), 1);
            }
        }
        decide(&state, &mut inner, &req)
    };
    match fault {
        Fault::HangAfterProcessing(d) => tokio::time::sleep(d).await,
        Fault::ServerErrorAfterProcessing => return html(StatusCode::INTERNAL_SERVER_ERROR),
        _ => {}
    }
    answer
}

/// One product of the simulated list; `code` is the raw space-padded type code.
struct SimProduct {
    network_id: i64,
    network: &'static str,
    type_id: i64,
    code: Option<&'static str>,
    type_name: &'static str,
    fixed: bool,
    id: i64,
    name: String,
    min: Decimal,
    max: Decimal,
    discount: Decimal,
    retail: Decimal,
    pin: bool,
}

#[rustfmt::skip]
fn sim_products(revision: u32) -> Vec<SimProduct> {
    let open = dec!(99999.99);
    let p = |network_id, network, type_id, code, type_name, fixed, id, name: &str, min, max, discount, retail, pin| SimProduct {
        network_id, network, type_id, code, type_name, fixed, id, name: name.to_string(), min, max, discount, retail, pin,
    };
    let mut list = vec![
        // Pinless airtime product ids as recorded: 62 Vodacom, 63 MTN, 189 Cell C, 24 Telkom Mobile.
        p(1, "Vodacom", 1, Some("A "), "Airtime", false, 62, "Vodacom Airtime", dec!(2), dec!(1000), dec!(5.5), open, false),
        p(1, "Vodacom", 5, Some("D "), "Data", true, 1101, "Vodacom 1GB Data", dec!(0), dec!(0), dec!(4), dec!(99), false),
        p(1, "Vodacom", 5, Some("D "), "Data", true, 1102, "Vodacom 100MB Data", dec!(0), dec!(0), dec!(4), dec!(29), false),
        p(1, "Vodacom", 3, Some("S "), "SMS", true, 1201, "Vodacom 100 SMS", dec!(0), dec!(0), dec!(3), dec!(20), false),
        p(1, "Vodacom", 9, None, "Other", false, 1301, "Vodacom Other", dec!(1), dec!(100), dec!(1), open, false),
        // MTN, Cell C and Telkom airtime stop at 999 in the real listing (issue 18).
        p(2, "MTN", 1, Some("A "), "Airtime", false, 63, "MTN Airtime", dec!(5), dec!(999), dec!(5), open, false),
        p(2, "MTN", 6, Some("SD"), "Social Data", true, 2101, "MTN 1GB Data", dec!(0), dec!(0), dec!(4), dec!(99), false),
        p(2, "MTN", 7, Some("V "), "Voucher", true, 2201, "MTN R12 Voucher", dec!(0), dec!(0), dec!(3), dec!(12), true),
        p(3, "Cell C", 1, Some("A "), "Airtime", false, 189, "Cell C Airtime", dec!(5), dec!(999), dec!(6), open, false),
        p(3, "Cell C", 8, Some("WD"), "WhatsApp Data", true, 3101, "Cell C 500MB Data", dec!(0), dec!(0), dec!(4), dec!(49), false),
        // Cell C's data bundle types as listed (issue 18); names, ids and prices unverified.
        p(3, "Cell C", 20, Some("P3"), "Data 3 day", true, 3200, "Cell C 300MB 3 days", dec!(0), dec!(0), dec!(4), dec!(15), false),
        p(3, "Cell C", 21, Some("P6"), "Data 6 day", true, 3201, "Cell C 600MB 6 days", dec!(0), dec!(0), dec!(4), dec!(29), false),
        p(3, "Cell C", 22, Some("FD"), "Data Daily", true, 3202, "Cell C 100MB Daily", dec!(0), dec!(0), dec!(4), dec!(7), false),
        p(3, "Cell C", 23, Some("ND"), "Night Data", true, 3203, "Cell C 1GB Night", dec!(0), dec!(0), dec!(4), dec!(19), false),
        p(3, "Cell C", 24, Some("RH"), "Data Hourly", true, 3204, "Cell C 500MB 1 hour", dec!(0), dec!(0), dec!(4), dec!(9), false),
        p(3, "Cell C", 25, Some("M "), "Data Monthly", true, 3205, "Cell C 2GB Monthly", dec!(0), dec!(0), dec!(4), dec!(149), false),
        p(3, "Cell C", 26, Some("L "), "Data LTE", true, 3206, "Cell C 5GB LTE", dec!(0), dec!(0), dec!(4), dec!(249), false),
        p(3, "Cell C", 27, Some("FM"), "Data FM", true, 3207, "Cell C 1GB FM", dec!(0), dec!(0), dec!(4), dec!(59), false),
        p(3, "Cell C", 28, Some("R "), "Data Roaming", true, 3208, "Cell C 1GB Roaming", dec!(0), dec!(0), dec!(4), dec!(199), false),
        p(3, "Cell C", 29, Some("W "), "Data Weekly", true, 3209, "Cell C 1GB Weekly", dec!(0), dec!(0), dec!(4), dec!(69), false),
        p(9, "Telkom Mobile", 1, Some("A "), "Airtime", false, 24, "Telkom Mobile Airtime", dec!(5), dec!(999), dec!(6), open, false),
        p(9, "Telkom Mobile", 10, Some("X "), "Data", true, 9101, "Telkom 2GB Data", dec!(0), dec!(0), dec!(4), dec!(149), false),
        // Listed alongside the South African networks; prices unverified.
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1501, "Vodacom Mozambique 50 MT", dec!(0), dec!(0), dec!(3), dec!(50), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1502, "Vodacom Mozambique 100 MT", dec!(0), dec!(0), dec!(3), dec!(100), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1503, "Vodacom Mozambique 200 MT", dec!(0), dec!(0), dec!(3), dec!(200), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1504, "Vodacom Mozambique 500 MT", dec!(0), dec!(0), dec!(3), dec!(500), false),
        p(13, "Electricity-Eskom", 11, Some("E "), "Electricity", false, 1300, "Eskom Prepaid", dec!(20), dec!(3000), dec!(1), open, false),
    ];
    for r in 1..=revision {
        let name = format!("Vodacom Promo {r}GB");
        list.push(p(1, "Vodacom", 5, Some("D "), "Data", true, 1190 + i64::from(r), &name, dec!(0), dec!(0), dec!(4), Decimal::from(50 * r), false));
    }
    list
}

/// Seed §10g: with AirtimeNetworkAutoCorrect, a variable pinless airtime product is
/// switched to the airtime product of the network the number is on now.
fn auto_corrected(inner: &Inner, req: &RechargeRequest, products: &[SimProduct]) -> Option<i64> {
    if req.airtime_network_auto_correct != Some(true) {
        return None;
    }
    let asked = products.iter().find(|p| p.id == req.product_id)?;
    if asked.code.map(str::trim) != Some("A") || asked.fixed {
        return None;
    }
    let network = match inner.sim_networks.get(&req.device_id) {
        Some((network, _)) => network.clone(),
        None => network_by_range(&req.device_id)?.to_string(),
    };
    products
        .iter()
        .find(|p| p.network.eq_ignore_ascii_case(&network) && p.code.map(str::trim) == Some("A") && !p.fixed && !p.pin)
        .map(|p| p.id)
}

fn rechargeable(code: Option<&str>) -> bool {
    matches!(
        code.map(str::trim),
        Some("A" | "D" | "X" | "SD" | "WD" | "P" | "P3" | "P6" | "FD" | "ND" | "RH" | "M" | "L" | "FM" | "R" | "W")
    )
}

fn valid_msisdn(m: &str) -> bool {
    m.len() == 11 && m.starts_with("27") && m.bytes().all(|b| b.is_ascii_digit())
}

/// Record a recharge; its order reference.
fn record(
    state: &SimState,
    inner: &mut Inner,
    req: &RechargeRequest,
    status: Status,
    price: Decimal,
    cost: Decimal,
) -> u64 {
    let n = state.seq.fetch_add(1, Ordering::SeqCst);
    let order_ref = 130_078_272 + n;
    let product = sim_products(inner.catalog_revision)
        .into_iter()
        .find(|p| p.id == req.product_id)
        .map_or_else(|| format!("Product {}", req.product_id), |p| p.name);
    let pending_since = (status == Status::Pending).then(Instant::now);
    inner.txns.insert(
        req.client_reference.clone(),
        Txn {
            order_ref,
            status_id: status.id().into(),
            status_text: status.text().into(),
            msisdn: req.device_id.clone(),
            product,
            price,
            discount: if price.is_zero() {
                Decimal::ZERO
            } else {
                round_half_up((price - cost) / price * dec!(100), 2)
            },
            cost,
            date_ms: now_ms(),
            pending_since,
        },
    );
    order_ref
}

/// The business rules of one recharge, in the order the checks are made.
fn decide(state: &SimState, inner: &mut Inner, req: &RechargeRequest) -> Response {
    if let Some(original) = inner.txns.peek(&req.client_reference) {
        // Seed 1.2.15: the duplicate error carries the original transaction's details.
        let message = format!(
            "Duplicate recharge. Original transaction: reference {}, status {}",
            original.order_ref, original.status_id
        );
        return v2_error(StatusCode::BAD_REQUEST, 2, 1001, &message, "Duplicate recharge");
    }
    let reject = |inner: &mut Inner, http, status_code, code, message: &str| {
        record(state, inner, req, Status::Failed, Decimal::ZERO, Decimal::ZERO);
        v2_error(http, status_code, code, message, message)
    };
    if inner.dealer.as_deref().is_some_and(|d| d != req.smartload_id) || !valid_msisdn(&req.smartload_id) {
        return reject(inner, StatusCode::BAD_REQUEST, 2, 3, "Invalid owner Cell No provided");
    }
    if !valid_msisdn(&req.device_id) {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            6,
            "Invalid recharge Cell No provided",
        );
    }
    let products = sim_products(inner.catalog_revision);
    let product_id = auto_corrected(inner, req, &products).unwrap_or(req.product_id);
    let Some(product) = products
        .iter()
        .find(|p| p.id == product_id && rechargeable(p.code) && !p.pin)
    else {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            9,
            "Invalid Offering ID (product code)",
        );
    };
    // Fixed-price products are charged at their own value (recorded v1 behaviour).
    let price = if product.fixed { product.retail } else { req.amount };
    if !product.fixed && (price < product.min || price > product.max) {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            1007,
            "Recharge parameter validation failure",
        );
    }
    let key = (req.device_id.clone(), price.normalize());
    let window = inner.duplicate_window;
    if inner.recent.peek(&key).is_some_and(|at| at.elapsed() < window) {
        let message =
            "A trx with the same Cell no + amount was done in the last 5 minutes. Please retry in 5 min if valid.";
        return reject(inner, StatusCode::BAD_REQUEST, 2, 16, message);
    }
    let cost = round_half_up(price * (dec!(100) - product.discount) / dec!(100), 4);
    if price == NETWORK_DOWN {
        // Seed §16.2: a mobile network outage is a 503 and the recharge fails.
        record(state, inner, req, Status::Failed, price, cost);
        return v2_error(
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            2,
            "General System Error, recharged failed",
            "Mobile network is down",
        );
    }
    if cost > inner.balance {
        let message = format!(
            "Insufficient funds in the SmartLoad wallet - Current balance: R{:.2}",
            inner.balance
        );
        return reject(inner, StatusCode::BAD_REQUEST, 2, 15, &message);
    }
    if price == BUSINESS_FAILURE {
        record(state, inner, req, Status::Failed, price, cost);
        return v2_error(
            StatusCode::BAD_REQUEST,
            2,
            1003,
            "Generic recharge failure",
            "12 Invalid Recharge",
        );
    }
    let scripted = inner.scripted.clone();
    let status = match (&scripted, price == NETWORK_PENDING) {
        (Some(s), _) => s.record_as,
        (None, true) => Status::Pending,
        (None, false) => Status::Successful,
    };
    if matches!(status, Status::Successful | Status::Pending | Status::Requested) {
        inner.balance -= cost;
        inner.recent.insert(key, Instant::now());
    }
    let order_ref = record(state, inner, req, status, price, cost);
    let recharge = json!({
        "balance": number(inner.balance), "orderReferenceId": order_ref, "ticketNumber": "", "boxNumber": "",
        "batchNumber": "", "voucherPin": "", "expiryDate": null,
        "retailPrice": format!("{price:.2}"), "dealerDiscount": product.discount.normalize().to_string(),
    });
    let (http, status_code, error, message) = match (&scripted, status) {
        (Some(s), _) => (
            StatusCode::from_u16(s.http).unwrap_or(StatusCode::OK),
            s.status_code,
            s.error_code
                .map(|c| json!({"code": c, "message": s.message, "statusMessage": s.message})),
            s.message.clone(),
        ),
        (None, Status::Pending) => (
            StatusCode::OK,
            Some(3),
            Some(
                json!({"code": 1002, "message": "Recharge still being processed", "statusMessage": "10 Delay in processing the recharge"}),
            ),
            "10 Delay in processing the recharge".to_string(),
        ),
        _ => (
            StatusCode::OK,
            Some(0),
            None,
            "00 Recharge completed successfully".to_string(),
        ),
    };
    let body = json!({
        "error": error, "responseCode": if status_code == Some(0) { "SUCCESS" } else { "APP_ERROR" },
        "statusCode": status_code, "statusMessage": message, "recharge": recharge,
    });
    (http, Json(body)).into_response()
}

/// A network-pending recharge whose time has come takes its final status.
fn settle_due(inner: &mut Inner, reference: &str) {
    let (after, to) = (inner.pending_after, inner.pending_to);
    let Some(txn) = inner.txns.peek_mut(reference) else {
        return;
    };
    if txn.pending_since.is_none_or(|since| since.elapsed() < after) {
        return;
    }
    txn.pending_since = None;
    txn.status_id = to.id().into();
    txn.status_text = to.text().into();
    if matches!(to, Status::Failed | Status::Cancelled) {
        let refund = txn.cost;
        inner.balance += refund;
    }
}

async fn enquiry(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path((id, reference)): Path<(String, String)>,
) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    if state.lock().enquiry_unavailable {
        return html(StatusCode::SERVICE_UNAVAILABLE);
    }
    if let Some(response) = not_our_dealer(&state, &id) {
        return response.into_response();
    }
    let mut inner = state.lock();
    settle_due(&mut inner, &reference);
    let Some(t) = inner.txns.peek(&reference) else {
        return error_body(StatusCode::BAD_REQUEST, 1005, "ClientReference does not exist");
    };
    // The recorded shape: money as formatted strings, the product name under "network".
    Json(json!({"error": null, "responseCode": "SUCCESS", "transaction": {
        "description": "Order", "network": t.product, "recipientMsisdn": t.msisdn, "statusDate": t.date_ms,
        "reference": t.order_ref.to_string(), "amount": format!("R{:.2}", t.price),
        "discount": format!("{:.2}%", t.discount), "cost": format!("R{:.2}", t.cost),
        "status": t.status_text, "statusId": t.status_id, "ticketNumber": null, "voucherPin": null,
        "additionalVoucherPin": null, "boxNumber": null, "batchNumber": null, "expiryDate": null,
    }}))
    .into_response()
}

/// The product list with the recorded quirks: every product twice (smsIndicator false
/// then true, the SMS twin at a lower discount), space-padded and null type codes,
/// airtime money as 4-decimal numbers, fixed products' money as strings.
/// Products of one type: (code, description, fixedAmount, products), by type id.
type Types = BTreeMap<i64, (Option<&'static str>, &'static str, bool, Vec<Value>)>;

fn networks_body(revision: u32) -> Value {
    let mut networks: BTreeMap<i64, (&str, Types)> = BTreeMap::new();
    for p in sim_products(revision) {
        let entry = networks.entry(p.network_id).or_insert((p.network, BTreeMap::new()));
        let types = entry
            .1
            .entry(p.type_id)
            .or_insert((p.code, p.type_name, p.fixed, Vec::new()));
        for sms in [false, true] {
            let discount = if sms { p.discount - dec!(0.5) } else { p.discount };
            let money = |d: Decimal| {
                if p.fixed {
                    Value::String(format!("{d:.2}"))
                } else {
                    let mut d = d;
                    d.rescale(4);
                    number(d)
                }
            };
            types.3.push(json!({
                "id": p.id, "name": p.name, "description": p.name, "typeCode": p.code,
                "minAmount": money(p.min), "maxAmount": money(p.max), "discountPercentage": money(discount),
                "retailValue": money(p.retail), "pinIndicator": p.pin, "smsIndicator": sms,
            }));
        }
    }
    let list: Vec<Value> = networks
        .into_iter()
        .map(|(id, (name, types))| {
            let types: Vec<Value> = types
                .into_iter()
                .map(|(tid, (code, desc, fixed, products))| {
                    json!({"id": tid, "code": code, "description": desc, "fixedAmount": fixed, "products": products})
                })
                .collect();
            json!({"id": id, "description": name, "productTypes": types})
        })
        .collect();
    json!({ "networks": list })
}

async fn networks(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    let revision = state.lock().catalog_revision;
    let body = networks_body(revision).to_string();
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(body.as_bytes())[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::ETAG, etag), (header::CONTENT_TYPE, "application/json".into())],
        body,
    )
        .into_response()
}

/// Original network by number range (simulator only: numbers are portable, which is
/// why the real endpoint exists).
fn network_by_range(msisdn: &str) -> Option<&'static str> {
    if !valid_msisdn(msisdn) {
        return None;
    }
    match &msisdn[2..4] {
        "60" | "71" | "72" | "76" | "79" | "82" => Some("Vodacom"),
        "63" | "73" | "78" | "83" => Some("MTN"),
        "61" | "74" | "84" => Some("Cell C"),
        "81" => Some("Telkom Mobile"),
        _ => None,
    }
}

async fn sim_network(State(state): State<SimState>, headers: HeaderMap, Path(msisdn): Path<String>) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    let query_date = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let known = state.lock().sim_networks.get(&msisdn).cloned();
    let found = known.or_else(|| network_by_range(&msisdn).map(|n| (n.to_string(), false)));
    match found {
        Some((network, ported)) => Json(json!({
            "msisdn": msisdn, "queryDate": query_date, "ported": ported, "network": network, "error": null,
        }))
        .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "msisdn": msisdn, "queryDate": query_date, "ported": null, "network": null,
                "error": {"code": 6, "message": "Invalid recharge Cell No provided"},
            })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn login_limit_delete_and_ping() {
        let (addr, sim) = spawn(Duration::ZERO).await.unwrap();
        let base = format!("http://{addr}/webservice");
        let client = reqwest::Client::new();
        let ping: Value = client
            .get(format!("{base}/test/ping"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ping["response"], "Pong");

        sim.set_credentials("u", "p");
        let login = |password: &'static str| {
            client
                .post(format!("{base}/auth"))
                .basic_auth("u", Some(password))
                .send()
        };
        let bad = login("x").await.unwrap();
        assert_eq!(bad.status(), 401);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(
            (body["responseDescription"].as_str(), body["accessToken"].is_null()),
            (Some("Invalid password"), true)
        );

        sim.set_token_limit(1);
        let ok: Value = login("p").await.unwrap().json().await.unwrap();
        let token = ok["accessToken"].as_str().unwrap().to_string();
        assert!(ok["expiresAt"].as_i64().unwrap() > now_ms());
        let full = login("p").await.unwrap();
        assert_eq!(full.status(), 429);
        let body: Value = full.json().await.unwrap();
        assert_eq!(
            body["responseDescription"],
            "Maximum concurrent session limit reached. Limit is 1"
        );

        let out = client
            .delete(format!("{base}/auth"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 200);
        assert_eq!(sim.live_tokens(), 0);
        let after = client
            .get(format!("{base}/smartload/balance/{DEALER}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 401);
        let body: Value = after.json().await.unwrap();
        assert_eq!(body["responseDescription"], TOKEN_REJECTED);
    }

    #[test]
    fn product_list_has_the_recorded_quirks() {
        let body = networks_body(0);
        let vodacom = &body["networks"][0];
        assert_eq!(vodacom["description"], "Vodacom");
        let airtime = &vodacom["productTypes"][0];
        assert_eq!(airtime["code"], "A ");
        let products = airtime["products"].as_array().unwrap();
        assert_eq!(products.len(), 2, "each product twice");
        assert_eq!(
            (
                products[0]["smsIndicator"].as_bool(),
                products[1]["smsIndicator"].as_bool()
            ),
            (Some(false), Some(true))
        );
        assert_eq!(products[0]["retailValue"].to_string(), "99999.9900");
        assert_eq!(products[0]["minAmount"].to_string(), "2.0000");
        let types = vodacom["productTypes"].as_array().unwrap();
        let data = &types.iter().find(|t| t["code"] == "D ").unwrap()["products"][0];
        assert_eq!(data["retailValue"], "99.00", "fixed products' money as strings");
        let text = body.to_string();
        assert!(text.contains(r#""code":null"#));
    }
}
