//! The Smartcall adapter.
//!
//! - One bearer token for the deployment when start-up shares the session through the
//!   database (`sharing_session`; Smartcall counts live tokens per account, and a flush
//!   ends every one of them), else one per process; concurrent callers share one login
//!   (`providers::session`). It is refreshed shortly before `expiresAt`; an `expiresAt` that is absent or
//!   already past is unknown, and the token is used until refused. A 401 "Token
//!   validation failed" means the request was not processed: log in again, send once more.
//! - api1 and api2 are live-live; calls go to the host that last answered. A recharge
//!   moves to the other host only when it provably never reached this one (connect
//!   refused, DNS, TLS). A timeout, reset or 5xx after sending is an unknown outcome: the
//!   recharge reports `Unknown` and the purchase service makes the one immediate enquiry
//!   by client reference (seed §10f/g), and may send it again with the same reference once
//!   the enquiry shows it never arrived. Other calls (login, enquiries, reads) also move on
//!   after a 503, which is how the next calls learn that a host is down.

pub use super::catalog::CatalogFetch;
use super::catalog::{operator_name, products_from_listing};
use super::rules::Verdict;
use super::wire::{
    balance_in_message, AuthResponse, BalanceResponse, EnquiryResponse, RechargeRequest, RechargeResponse,
    SimNetworkResponse, CLIENT_REFERENCE_UNKNOWN, TOKEN_REJECTED,
};
use super::ID;
use crate::domain::phone::normalize_za;
use crate::domain::provider::{Enquiry, Outcome, Provider, ProviderHealth, UpstreamTopup};
use crate::domain::upstream_session::SessionStore;
use crate::providers::executor::{CallError, Executor};
use crate::providers::sealing::SealingKey;
use crate::providers::session::{Issued, Session};
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::IF_NONE_MATCH;
use reqwest::RequestBuilder;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Refresh this long before expiry at most (a tenth of the lifetime for short tokens).
const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// An answer from api1 or api2; `etag` only where asked for.
struct Reply {
    status: u16,
    body: Bytes,
    etag: Option<String>,
}

pub struct SmartcallAdapter {
    executor: Executor,
    hosts: [String; 2],
    username: String,
    password: SecretString,
    smartload_id: String,
    timeout: Duration,
    low_float_threshold: Decimal,
    session: Session,
    /// The index in `hosts` that calls go to first: the one that last answered.
    preferred: AtomicUsize,
    float: std::sync::Mutex<Option<Decimal>>,
}

/// Whether a call may go on to the other host after this host's answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Failover {
    /// Only if the request never reached this host: a recharge, which it may have acted on.
    NotSent,
    /// Also after a 503: logins, enquiries and reads, which act on nothing.
    AlsoOn503,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `https://api1.smartcall.co.za:8100` (a trailing `/webservice` is tolerated).
fn host(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    base.strip_suffix("/webservice").unwrap_or(base).to_string()
}

fn message_of(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AnyError {
        message: Option<String>,
        response_description: Option<String>,
        error: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<AnyError>(body) {
        Ok(e) => e
            .message
            .or(e.response_description)
            .or_else(|| {
                e.error
                    .and_then(|v| v.get("message").and_then(|m| m.as_str().map(str::to_string)))
            })
            .unwrap_or_default(),
        Err(_) => "non-JSON answer".into(),
    }
}

impl SmartcallAdapter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        executor: Executor,
        api1: &str,
        api2: &str,
        username: String,
        password: SecretString,
        smartload_id: String,
        timeout: Duration,
        low_float_threshold: Decimal,
    ) -> Self {
        Self {
            executor,
            hosts: [host(api1), host(api2)],
            username,
            password,
            smartload_id,
            timeout,
            low_float_threshold,
            session: Session::new(ID),
            preferred: AtomicUsize::new(0),
            float: std::sync::Mutex::new(None),
        }
    }

    /// Keep the session in `store`, shared by every instance, the token sealed with a key
    /// derived from our credentials. The login lease covers one try of both hosts: an
    /// instance that died logging in holds the others up no longer, and a login slower
    /// than that at worst lets a second instance log in too (the first to publish wins).
    pub fn sharing_session(mut self, store: Arc<dyn SessionStore>) -> Self {
        let key = SealingKey::derive(ID, &self.username, &self.password);
        self.session = Session::shared(ID, store, key, 2 * self.timeout);
        self
    }

    /// How long one product list fetch may take: a login and the list, each trying both
    /// hosts. The shared catalogue's fetch lease: an instance that died fetching holds
    /// the others up no longer.
    pub fn fetch_lease(&self) -> Duration {
        4 * self.timeout
    }

    /// The last dealer balance seen (recharge answers, balance checks, error 15).
    pub fn float(&self) -> Option<Decimal> {
        *self.float.lock().expect("float")
    }

    fn record_float(&self, balance: Decimal) {
        *self.float.lock().expect("float") = Some(balance);
    }

    fn url(host: &str, segments: &[&str]) -> String {
        match reqwest::Url::parse(host) {
            Ok(mut url) => {
                if let Ok(mut path) = url.path_segments_mut() {
                    path.pop_if_empty().push("webservice").extend(segments);
                }
                url.to_string()
            }
            // reqwest fails the same way when building: reported as never sent.
            Err(_) => format!("{host}/webservice/{}", segments.join("/")),
        }
    }

    async fn call(&self, operation: &'static str, request: RequestBuilder) -> Result<Reply, CallError> {
        let r = self.executor.call(ID, operation, request, self.timeout).await?;
        Ok(Reply {
            status: r.status,
            body: r.body,
            etag: r.etag,
        })
    }

    /// The preferred host, and the other one when `failover` allows. A host that was not
    /// reached, or answered 503, stops being preferred. If the other host cannot be
    /// reached either, the first answer is the one we keep.
    async fn send(
        &self,
        operation: &'static str,
        failover: Failover,
        build: impl Fn(&str) -> RequestBuilder,
    ) -> Result<Reply, CallError> {
        let first = self.preferred.load(Ordering::Relaxed);
        let other = 1 - first;
        let reply = self.call(operation, build(&self.hosts[first])).await;
        let (down, move_on) = match &reply {
            Err(CallError::NotSent(_)) => (true, true),
            Ok(r) if r.status == 503 => (true, failover == Failover::AlsoOn503),
            _ => (false, false),
        };
        if self.hosts[other] == self.hosts[first] || !down {
            return reply;
        }
        self.preferred.store(other, Ordering::Relaxed);
        if !move_on {
            tracing::warn!(
                upstream = ID,
                operation,
                "host answered 503 after receiving the request; not re-sent"
            );
            return reply;
        }
        tracing::warn!(
            upstream = ID,
            operation,
            "host did not take the request; sending it to the other"
        );
        match (reply, self.call(operation, build(&self.hosts[other])).await) {
            (Ok(answered), Err(CallError::NotSent(_))) => Ok(answered),
            (_, second) => second,
        }
    }

    async fn login(&self) -> Result<Issued, String> {
        for attempt in 0..2 {
            let reply = self
                .send("login", Failover::AlsoOn503, |host| {
                    self.executor
                        .client()
                        .post(Self::url(host, &["auth"]))
                        .basic_auth(&self.username, Some(self.password.expose_secret()))
                })
                .await
                .map_err(|e| format!("Smartcall login failed: {e}"))?;
            let answer = serde_json::from_slice::<AuthResponse>(&reply.body).ok();
            match (reply.status, answer) {
                (
                    200,
                    Some(AuthResponse {
                        access_token: Some(token),
                        expires_at,
                        ..
                    }),
                ) => {
                    return Ok(Issued {
                        token: SecretString::from(token),
                        refresh_in: refresh_in(expires_at, now_ms()),
                    });
                }
                // "Maximum concurrent session limit reached": tokens leaked somewhere (a
                // crashed instance). Flush them all, as S2 does; live holders of a flushed
                // token get a 401 and log in again once.
                (429, _) if attempt == 0 => {
                    tracing::warn!(upstream = ID, "Smartcall session limit reached; flushing our tokens");
                    self.flush_tokens().await;
                }
                (status, _) => {
                    return Err(format!(
                        "Smartcall login refused (HTTP {status}): {}",
                        message_of(&reply.body)
                    ))
                }
            }
        }
        Err("Smartcall login refused: session limit still reached after a flush".into())
    }

    /// `DELETE /auth/token` with Basic credentials: every token of this user goes.
    async fn flush_tokens(&self) {
        let result = self
            .send("flush_tokens", Failover::AlsoOn503, |host| {
                self.executor
                    .client()
                    .delete(Self::url(host, &["auth", "token"]))
                    .basic_auth(&self.username, Some(self.password.expose_secret()))
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(upstream = ID, error = %e, "Smartcall token flush failed");
        }
    }

    /// Give the token back (`DELETE /auth`), e.g. on shutdown: tokens count against the
    /// account's limit of 50 until they expire. A shared token stays: the other
    /// instances use it, and the next start takes it up.
    pub async fn invalidate_token(&self) {
        let Some(token) = self.session.take().await else {
            return;
        };
        let result = self
            .send("invalidate_token", Failover::AlsoOn503, |host| {
                self.executor
                    .client()
                    .delete(Self::url(host, &["auth"]))
                    .bearer_auth(token.expose_secret())
            })
            .await;
        match result {
            Ok(r) if r.status == 200 => tracing::info!(upstream = ID, "Smartcall token invalidated"),
            Ok(r) => tracing::warn!(upstream = ID, status = r.status, "Smartcall token invalidation refused"),
            Err(e) => tracing::warn!(upstream = ID, error = %e, "Smartcall token invalidation failed"),
        }
    }

    /// Send with the session's token; on 401 "Token validation failed" (nothing was
    /// processed) log in again and send once more. `Err` means no token: nothing sent.
    async fn authorised(
        &self,
        operation: &'static str,
        failover: Failover,
        build: impl Fn(&str, &str) -> RequestBuilder,
    ) -> Result<Result<Reply, CallError>, String> {
        let build = &build;
        self.session
            .call(
                operation,
                || self.login(),
                |token| async move {
                    self.send(operation, failover, |host| build(host, token.expose_secret()))
                        .await
                },
                |answer| matches!(answer, Ok(r) if r.status == 401 && token_refused(&r.body)),
            )
            .await
    }

    fn recharge_body(&self, t: &UpstreamTopup) -> Result<RechargeRequest, Outcome> {
        let msisdn = normalize_za(&t.msisdn).map_err(|e| Outcome::Failed {
            retryable: false,
            code: Some("PHONE".into()),
            message: e.to_string(),
        })?;
        // A misconfigured route: nothing is sent, so another route may be tried.
        let product_id = t.upstream_product.trim().parse().map_err(|_| Outcome::Failed {
            retryable: true,
            code: None,
            message: format!("Smartcall product id {:?} is not numeric", t.upstream_product),
        })?;
        Ok(RechargeRequest {
            smartload_id: self.smartload_id.clone(),
            client_reference: t.upstream_reference.clone(),
            sms_recipient_msisdn: msisdn.clone(),
            device_id: msisdn,
            product_id,
            amount: t.amount.normalize(),
            send_sms: false,
            // Seed §10g: populated only when a branded SMS is wanted; we send none.
            sms_provider_identifier: None,
            airtime_network_auto_correct: t.network_auto_correct.then_some(true),
        })
    }

    /// What a recharge answer means, recording the float it reports.
    fn recharge_verdict(&self, reply: &Reply) -> Verdict {
        let unknown = |reason: String| Verdict {
            outcome: Outcome::Unknown { reason },
            float_alarm: false,
        };
        if reply.status == 401 {
            // Refused before processing, even after a fresh login.
            return Verdict {
                outcome: Outcome::Failed {
                    retryable: true,
                    code: Some("401".into()),
                    message: format!("Smartcall refused our authorisation: {}", message_of(&reply.body)),
                },
                float_alarm: false,
            };
        }
        if reply.status >= 500 {
            return unknown(format!("Smartcall HTTP {}", reply.status));
        }
        let Ok(answer) = serde_json::from_slice::<RechargeResponse>(&reply.body) else {
            return unknown(format!("unreadable Smartcall answer (HTTP {})", reply.status));
        };
        if let Some(balance) = answer.recharge.as_ref().and_then(|r| r.balance) {
            self.record_float(balance);
        }
        let verdict = answer.verdict();
        if verdict.float_alarm {
            let left = answer.error_text().as_deref().and_then(balance_in_message);
            if let Some(balance) = left {
                self.record_float(balance);
            }
            tracing::error!(
                upstream = ID,
                alarm = "upstream_float",
                balance = ?left,
                "Smartcall wallet has insufficient funds: top up the Smartload account"
            );
        }
        if matches!(verdict.outcome, Outcome::Success { .. }) && !(200..300).contains(&reply.status) {
            return unknown(format!("Smartcall success body under HTTP {}", reply.status));
        }
        verdict
    }

    /// The dealer balance, `GET /smartload/balance/{smartloadId}`, recorded as our float.
    pub async fn balance(&self) -> Result<Decimal, String> {
        let reply = self
            .authorised("balance", Failover::AlsoOn503, |host, token| {
                self.executor
                    .client()
                    .get(Self::url(host, &["smartload", "balance", &self.smartload_id]))
                    .bearer_auth(token)
            })
            .await?
            .map_err(|e| e.to_string())?;
        let answer = serde_json::from_slice::<BalanceResponse>(&reply.body).ok();
        match answer {
            Some(BalanceResponse {
                balance: Some(balance),
                response_code,
                ..
            }) if reply.status == 200 && response_code.as_deref().is_none_or(|c| c == "SUCCESS") => {
                self.record_float(balance);
                Ok(balance)
            }
            _ => Err(format!(
                "Smartcall balance check failed (HTTP {}): {}",
                reply.status,
                message_of(&reply.body)
            )),
        }
    }

    /// The product list as catalog products; `etag` from the previous fetch makes an
    /// unchanged list a cheap 304 (seed §9).
    pub async fn fetch_products(&self, etag: Option<&str>) -> Result<CatalogFetch, String> {
        let reply = self
            .authorised("networks", Failover::AlsoOn503, |host, token| {
                let request = self
                    .executor
                    .client()
                    .get(Self::url(host, &["smartload", "networks"]))
                    .bearer_auth(token);
                match etag {
                    Some(tag) => request.header(IF_NONE_MATCH, tag),
                    None => request,
                }
            })
            .await?
            .map_err(|e| e.to_string())?;
        match reply.status {
            304 => Ok(CatalogFetch::NotModified),
            200 => {
                let listing = String::from_utf8(reply.body.to_vec())
                    .map_err(|e| format!("unreadable Smartcall product list: {e}"))?;
                Ok(CatalogFetch::Products {
                    etag: reply.etag,
                    products: products_from_listing(&listing)?,
                    listing,
                })
            }
            s => Err(format!(
                "Smartcall product list failed (HTTP {s}): {}",
                message_of(&reply.body)
            )),
        }
    }

    /// The network a number is on now (numbers are portable), in our operator vocabulary
    /// (upper-cased, as catalog operators are): "MTN", "TELKOM MOBILE"…
    pub async fn sim_network(&self, msisdn: &str) -> Result<String, String> {
        let msisdn = normalize_za(msisdn).map_err(|e| e.to_string())?;
        let reply = self
            .authorised("sim_network", Failover::AlsoOn503, |host, token| {
                self.executor
                    .client()
                    .get(Self::url(host, &["utilities", "simnetwork", &msisdn]))
                    .bearer_auth(token)
            })
            .await?
            .map_err(|e| e.to_string())?;
        let answer = serde_json::from_slice::<SimNetworkResponse>(&reply.body).ok();
        match answer.as_ref().and_then(|a| a.network.as_deref()) {
            Some(network) if reply.status == 200 && !network.trim().is_empty() => Ok(operator_name(network)),
            _ => {
                let why = answer
                    .and_then(|a| a.error.and_then(|e| e.message).or(a.message))
                    .unwrap_or_else(|| message_of(&reply.body));
                Err(format!(
                    "Smartcall SIM network lookup failed (HTTP {}): {why}",
                    reply.status
                ))
            }
        }
    }

    fn enquiry_answer(reply: &Reply) -> Enquiry {
        let answer = serde_json::from_slice::<EnquiryResponse>(&reply.body).ok();
        match answer {
            _ if reply.status >= 500 => Enquiry::Known(Outcome::Unknown {
                reason: format!("Smartcall enquiry HTTP {}", reply.status),
            }),
            Some(a) if a.error_code() == Some(CLIENT_REFERENCE_UNKNOWN) => Enquiry::NotFound,
            Some(EnquiryResponse {
                transaction: Some(t), ..
            }) if reply.status == 200 => Enquiry::Known(t.outcome()),
            _ => Enquiry::Known(Outcome::Unknown {
                reason: format!("Smartcall enquiry HTTP {}: {}", reply.status, message_of(&reply.body)),
            }),
        }
    }
}

/// How long to use a token whose answer said `expires_at` (epoch ms), leaving a margin.
/// An expiry that is absent or already past when the token arrives is unknown (a real
/// login answered with one in the past, and re-logging in before every call followed):
/// the token is used until Smartcall refuses it. Seed §6 asks for exactly that: "there is
/// a system limit of 50 concurrently active tokens. Reuse of tokens as much as possible is
/// encouraged." The 50 counts live tokens, not uses of one, so one reused token (per
/// process) stays far inside it; Step 4's "expire after 24 hours (or 4 hours of no
/// usage)" ends in the refusal that makes us log in again.
fn refresh_in(expires_at: Option<i64>, now_ms: i64) -> Option<Duration> {
    let left = expires_at? - now_ms;
    if left <= 0 {
        return None;
    }
    let margin = (left / 10).min(REFRESH_MARGIN_MS);
    Some(Duration::from_millis((left - margin).unsigned_abs()))
}

fn token_refused(body: &[u8]) -> bool {
    serde_json::from_slice::<AuthResponse>(body)
        .ok()
        .and_then(|a| a.response_description)
        .is_some_and(|d| d.trim() == TOKEN_REJECTED)
}

#[async_trait]
impl Provider for SmartcallAdapter {
    fn id(&self) -> &'static str {
        ID
    }

    async fn topup(&self, request: &UpstreamTopup) -> Outcome {
        let body = match self.recharge_body(request) {
            Ok(body) => body,
            Err(outcome) => return outcome,
        };
        let call = self
            .authorised("recharge", Failover::NotSent, |host, token| {
                self.executor
                    .client()
                    .post(Self::url(host, &["smartload", "v2", "recharges"]))
                    .bearer_auth(token)
                    .json(&body)
            })
            .await;
        // Anything undecided is the purchase service's to enquire about, once.
        match call {
            // No token, or neither host reachable: nothing was sent.
            Err(reason) | Ok(Err(CallError::NotSent(reason))) => Outcome::Failed {
                retryable: true,
                code: None,
                message: reason,
            },
            Ok(Err(CallError::Unknown(reason))) => Outcome::Unknown { reason },
            Ok(Ok(reply)) => self.recharge_verdict(&reply).outcome,
        }
    }

    async fn enquire(&self, request: &UpstreamTopup) -> Enquiry {
        let call = self
            .authorised("enquire", Failover::AlsoOn503, |host, token| {
                let path = [
                    "smartload",
                    "recharges",
                    self.smartload_id.as_str(),
                    request.upstream_reference.as_str(),
                ];
                self.executor.client().get(Self::url(host, &path)).bearer_auth(token)
            })
            .await;
        match call {
            Err(reason) => Enquiry::Known(Outcome::Unknown { reason }),
            Ok(Err(e)) => Enquiry::Known(Outcome::Unknown { reason: e.to_string() }),
            Ok(Ok(reply)) => Self::enquiry_answer(&reply),
        }
    }

    /// Seed Table 3: 1005 "ClientReference does not exist" (Result: Failure), and §10f/
    /// FAQ 3: a recharge "is immediately logged into Smartcall's recharging system". So
    /// once a request has had time to arrive, an unknown reference means it never did.
    /// Ten minutes covers our own timeout and any queueing many times over. The seed also
    /// says lookups by client reference only reach back 1 week (§10o); the resolver moves
    /// anything unresolved to REVIEW long before that (24 h by default), so an aged-out
    /// reference is never read as "never arrived".
    fn not_found_is_final_after(&self) -> Option<Duration> {
        Some(Duration::from_secs(10 * 60))
    }

    /// Seed Table 3, 1001: "Duplicate recharge (usually when customer recharge ID is
    /// re-used)": a second recharge with a clientReference Smartcall holds is refused. So
    /// after a 5xx and an enquiry that found nothing, the same recharge may go again (to
    /// the other host, the first having answered 503); if the first arrives after all,
    /// one of the two is refused.
    fn resend_when_not_found(&self) -> bool {
        true
    }

    /// `/utilities/simnetwork`: numbers are portable, so the prefix proves nothing.
    async fn detect_operator(&self, msisdn: &str) -> Option<String> {
        match self.sim_network(msisdn).await {
            Ok(network) => Some(network),
            Err(e) => {
                tracing::warn!(error = %e, "Smartcall SIM network lookup failed");
                None
            }
        }
    }

    async fn health(&self) -> ProviderHealth {
        let result = self.balance().await;
        let float = result.as_ref().ok().copied().or_else(|| self.float());
        ProviderHealth {
            upstream: ID.into(),
            up: result.is_ok(),
            detail: result.err(),
            float,
            float_low: float.is_some_and(|f| f < self.low_float_threshold),
        }
    }
}
