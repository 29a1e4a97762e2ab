//! What the simulator holds (tokens, recharges, the dealer's balance) and the handle
//! through which tests steer it (faults, scripted answers, QA settings) and count calls.

use super::TOKEN_LIMIT;
use crate::sandbox::enquiries::EnquiryLog;
use crate::sandbox::history;
use hashlink::LruCache;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Process the recharge, then answer 200 with a body that is not the recharge JSON.
    GarbledAfterProcessing,
}

/// What a successful login says in `expiresAt`; the token lives `token_ttl` whatever it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportedExpiry {
    #[default]
    True,
    /// An instant already past (as a real login was seen to answer).
    Past,
    /// `null`.
    Missing,
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
    pub(super) fn text(self) -> &'static str {
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

pub(super) struct Txn {
    pub(super) order_ref: u64,
    pub(super) status_id: String,
    pub(super) status_text: String,
    pub(super) msisdn: String,
    pub(super) product: String,
    pub(super) price: Decimal,
    pub(super) discount: Decimal,
    pub(super) cost: Decimal,
    pub(super) date_ms: i64,
    /// R13: since when a network-pending recharge has been waiting to settle.
    pub(super) pending_since: Option<Instant>,
    /// A scenario number's own settlement (after, to), instead of the R13 setting.
    pub(super) settles: Option<(Duration, Status)>,
}

pub(super) struct Inner {
    pub(super) credentials: Option<(String, String)>,
    pub(super) dealer: Option<String>,
    pub(super) balance: Decimal,
    pub(super) tokens: HashMap<String, Instant>,
    pub(super) token_ttl: Duration,
    pub(super) token_limit: usize,
    pub(super) reported_expiry: ReportedExpiry,
    /// The recharges recorded, by clientReference, and the (msisdn, amount) pairs recently
    /// recharged: the latest ones (see `history`).
    pub(super) txns: LruCache<String, Txn>,
    pub(super) recent: LruCache<(String, Decimal), Instant>,
    pub(super) duplicate_window: Duration,
    pub(super) calls_by_reference: LruCache<String, u64>,
    pub(super) fault: Fault,
    pub(super) latency: Duration,
    pub(super) scripted: Option<Scripted>,
    pub(super) pending_after: Duration,
    pub(super) pending_to: Status,
    pub(super) enquiry_unavailable: bool,
    pub(super) catalog_revision: u32,
    pub(super) sim_networks: HashMap<String, (String, bool)>,
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
            reported_expiry: ReportedExpiry::True,
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
    pub(super) fn purge_expired_tokens(&mut self) {
        let now = Instant::now();
        self.tokens.retain(|_, expires| *expires > now);
    }
}

/// Shared state; tests hold it to inject faults and count what arrived. Two servers
/// started with [`serve`](super::serve) on one state behave like api1 and api2 on one backend.
#[derive(Clone, Default)]
pub struct SimState {
    pub(super) inner: Arc<Mutex<Inner>>,
    pub(super) recharges: Arc<AtomicU64>,
    pub(super) received: Arc<AtomicU64>,
    pub(super) logins: Arc<AtomicU64>,
    pub(super) rejected_tokens: Arc<AtomicU64>,
    pub(super) enquiries: Arc<AtomicU64>,
    pub(super) catalog_fetches: Arc<AtomicU64>,
    pub(super) seq: Arc<AtomicU64>,
    pub(super) asked: EnquiryLog,
}

impl SimState {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
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
    pub fn set_reported_expiry(&self, reported: ReportedExpiry) {
        self.lock().reported_expiry = reported;
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
    /// Transaction enquiries by client reference that arrived with a live token.
    pub fn enquiry_calls(&self) -> u64 {
        self.enquiries.load(Ordering::SeqCst)
    }
    /// Enquiries by client reference.
    pub fn enquiry_log(&self) -> &EnquiryLog {
        &self.asked
    }
    /// Product list requests that arrived with a live token (answered 200 or 304).
    pub fn catalog_fetches(&self) -> u64 {
        self.catalog_fetches.load(Ordering::SeqCst)
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
    /// Every recharge remembered: its client reference, arrivals, and whether successful
    /// by now (network-pending ones whose time has come settled first, as an enquiry would).
    pub fn seen(&self) -> Vec<history::Seen> {
        let mut inner = self.lock();
        let references: Vec<String> = inner.txns.iter().map(|(r, _)| r.clone()).collect();
        references
            .into_iter()
            .map(|reference| {
                super::enquiry::settle_due(&mut inner, &reference);
                let delivered = inner
                    .txns
                    .peek(&reference)
                    .is_some_and(|t| t.status_id == Status::Successful.id());
                let arrivals = inner.calls_by_reference.peek(&reference).copied().unwrap_or(0);
                history::Seen {
                    reference,
                    arrivals,
                    delivered,
                }
            })
            .collect()
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
