//! The provider contract: the same cases against every upstream adapter, each talking to
//! its simulator over real HTTP on loopback, asserting only what the adapter reports
//! through the `Provider` trait. A new upstream is one more `Upstream` implementation and
//! one more line in `upstreams()`.

use async_trait::async_trait;
use recarga::domain::provider::{Enquiry, Outcome, Provider, UpstreamTopup};
use recarga::providers::datamart::adapter::{self as datamart, DatamartAdapter, FloatPolicy};
use recarga::providers::executor::Executor;
use recarga::providers::latcom::{self, adapter::LatcomAdapter};
use recarga::providers::smartcall::adapter::SmartcallAdapter;
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Shorter than every hang the simulators are told to make.
const TIMEOUT: Duration = Duration::from_millis(300);
const HANG: Duration = Duration::from_secs(2);

/// A fault, in terms every simulator can be told.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    /// Processed, then no answer before the client gives up.
    Hang,
    /// An HTML 500 page, nothing processed.
    Html500,
    /// Processed, then 200 with a body that is not the expected JSON.
    Garbled,
}

/// What the contract needs of an upstream: its adapter, requests that its simulator
/// answers a given way, and the simulator's knobs and counters.
#[async_trait]
trait Upstream: Send + Sync {
    fn provider(&self) -> &dyn Provider;
    /// A request the simulator delivers.
    fn delivers(&self, reference: &str) -> UpstreamTopup;
    /// A request the simulator definitely refuses.
    fn refuses(&self, reference: &str) -> UpstreamTopup;
    /// A request the simulator takes and leaves pending.
    fn leaves_pending(&self, reference: &str) -> UpstreamTopup;
    /// From now on, enquiries about pending requests keep answering pending.
    fn keep_pending(&self);
    fn inject(&self, fault: Fault);
    /// Every token the simulator has issued stops working.
    fn expire_tokens(&self);
    fn logins(&self) -> u64;
    /// Whether the upstream authenticates with a session token (DataMart sends its key
    /// and secret with every call: there is nothing to replace).
    fn has_sessions(&self) -> bool {
        true
    }
}

/// Fault injection, spelled alike by every simulator, on a `sim` field; `$fault` is its `Fault`.
macro_rules! injects {
    ($fault:path) => {
        fn inject(&self, fault: Fault) {
            type F = $fault;
            self.sim.set_fault(match fault {
                Fault::None => F::None,
                Fault::Hang => F::HangAfterProcessing(HANG),
                Fault::Html500 => F::ServerErrorBeforeProcessing,
                Fault::Garbled => F::GarbledAfterProcessing,
            });
        }
    };
}

/// The knobs the simulators with sessions spell alike: faults, and tokens.
macro_rules! spelled_alike {
    ($fault:path) => {
        injects!($fault);
        fn expire_tokens(&self) {
            self.sim.expire_tokens();
        }
        fn logins(&self) -> u64 {
            self.sim.login_calls()
        }
    };
}

struct Latcom {
    adapter: LatcomAdapter,
    sim: recarga::sandbox::latcom::SimState,
}

impl Latcom {
    async fn start() -> Self {
        let (addr, sim) = recarga::sandbox::latcom::spawn(Duration::ZERO).await.unwrap();
        // Asked by our dist_transid too, so that a request never sent can be "not found"
        // (by LATCOM's transId alone it has no id to ask with).
        sim.set_dist_transid_lookup(true);
        let credentials = latcom::adapter::Credentials {
            username: "user".into(),
            password: SecretString::from("secret"),
            dist_api: SecretString::from("api"),
            user_uid: "uid".into(),
        };
        let adapter = LatcomAdapter::new(
            Executor::new(),
            &format!("http://{addr}"),
            credentials,
            Duration::from_secs(300),
            TIMEOUT,
            true,
        );
        Self { adapter, sim }
    }

    fn request(reference: &str, msisdn: &str) -> UpstreamTopup {
        UpstreamTopup {
            upstream_reference: reference.into(),
            msisdn: msisdn.into(),
            upstream_product: "XOOM_20_MXN".into(),
            amount: Decimal::from(20),
            currency: "MXN".into(),
            operator: Some("TELEFONICA".into()),
            service: Some("2".into()),
            sku: None,
            network_auto_correct: false,
            upstream_transaction_id: None,
        }
    }
}

#[async_trait]
impl Upstream for Latcom {
    fn provider(&self) -> &dyn Provider {
        &self.adapter
    }
    fn delivers(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, recarga::sandbox::latcom::ALWAYS_SUCCEEDS)
    }
    fn refuses(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, recarga::sandbox::latcom::ALWAYS_FAILS)
    }
    fn leaves_pending(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, recarga::sandbox::latcom::ANSWERS_PENDING)
    }
    fn keep_pending(&self) {
        self.sim.set_lookup_status(Some("Pending"));
    }
    spelled_alike!(recarga::sandbox::latcom::Fault);
}

struct Smartcall {
    adapter: SmartcallAdapter,
    sim: recarga::sandbox::smartcall::SimState,
    /// A fresh number per request: Smartcall refuses the same number and amount twice
    /// within 5 minutes.
    numbers: AtomicU64,
}

impl Smartcall {
    async fn start() -> Self {
        let (addr, sim) = recarga::sandbox::smartcall::spawn(Duration::ZERO).await.unwrap();
        let base = format!("http://{addr}");
        let adapter = SmartcallAdapter::new(
            Executor::new(),
            &base,
            &base,
            "user".into(),
            SecretString::from("secret"),
            recarga::sandbox::smartcall::DEALER.into(),
            TIMEOUT,
            Decimal::from(1000),
        );
        Self {
            adapter,
            sim,
            numbers: AtomicU64::new(0),
        }
    }

    fn request(&self, reference: &str, amount: Decimal) -> UpstreamTopup {
        let n = self.numbers.fetch_add(1, Ordering::SeqCst);
        UpstreamTopup {
            upstream_reference: reference.into(),
            msisdn: format!("27825{n:06}"),
            upstream_product: "62".into(),
            amount,
            currency: "ZAR".into(),
            operator: Some("Vodacom".into()),
            service: None,
            sku: None,
            network_auto_correct: false,
            upstream_transaction_id: None,
        }
    }
}

#[async_trait]
impl Upstream for Smartcall {
    fn provider(&self) -> &dyn Provider {
        &self.adapter
    }
    fn delivers(&self, reference: &str) -> UpstreamTopup {
        self.request(reference, Decimal::from(20))
    }
    fn refuses(&self, reference: &str) -> UpstreamTopup {
        self.request(reference, recarga::sandbox::smartcall::BUSINESS_FAILURE)
    }
    fn leaves_pending(&self, reference: &str) -> UpstreamTopup {
        self.request(reference, recarga::sandbox::smartcall::NETWORK_PENDING)
    }
    fn keep_pending(&self) {
        self.sim.set_network_pending(
            Duration::from_secs(3600),
            recarga::sandbox::smartcall::Status::Successful,
        );
    }
    spelled_alike!(recarga::sandbox::smartcall::Fault);
}

struct Datamart {
    adapter: DatamartAdapter,
    sim: recarga::sandbox::datamart::SimState,
}

impl Datamart {
    async fn start() -> Self {
        use recarga::sandbox::datamart as sim;
        let state = sim::SimState::new(Duration::from_secs(3600));
        let base = sim::spawn(state.clone()).await.unwrap();
        let credentials = datamart::Credentials {
            api_key: SecretString::from(sim::API_KEY),
            api_secret: SecretString::from(sim::API_SECRET),
        };
        let policy = FloatPolicy {
            low: Decimal::from(100),
            large_order: Decimal::from(1000),
        };
        let adapter = DatamartAdapter::new(Executor::new(), &base, credentials, TIMEOUT, policy, None);
        Self { adapter, sim: state }
    }

    fn request(reference: &str, msisdn: &str) -> UpstreamTopup {
        UpstreamTopup {
            upstream_reference: reference.into(),
            msisdn: msisdn.into(),
            upstream_product: "YELLOW_1GB".into(),
            amount: Decimal::new(550, 2),
            currency: "GHS".into(),
            operator: Some("YELLOW".into()),
            service: None,
            sku: Some("1GB".into()),
            network_auto_correct: false,
            upstream_transaction_id: None,
        }
    }
}

#[async_trait]
impl Upstream for Datamart {
    fn provider(&self) -> &dyn Provider {
        &self.adapter
    }
    fn delivers(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, recarga::sandbox::datamart::COMPLETES_AT_ONCE)
    }
    fn refuses(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, recarga::sandbox::datamart::FAILS_AT_ONCE)
    }
    fn leaves_pending(&self, reference: &str) -> UpstreamTopup {
        Self::request(reference, "0241234567")
    }
    fn keep_pending(&self) {
        self.sim.set_keep_pending(true);
    }
    injects!(recarga::sandbox::datamart::Fault);
    fn expire_tokens(&self) {}
    fn logins(&self) -> u64 {
        0
    }
    fn has_sessions(&self) -> bool {
        false
    }
}

/// Every upstream, each with a fresh simulator.
async fn upstreams() -> Vec<Box<dyn Upstream>> {
    vec![
        Box::new(Latcom::start().await),
        Box::new(Smartcall::start().await),
        Box::new(Datamart::start().await),
    ]
}

/// The request as the resolver would ask about it: with the upstream's own id, once an
/// answer gave one.
fn answered(mut request: UpstreamTopup, outcome: &Outcome) -> UpstreamTopup {
    if let Outcome::Success { upstream_id, .. } | Outcome::Pending { upstream_id } = outcome {
        request.upstream_transaction_id = upstream_id.clone();
    }
    request
}

#[tokio::test]
async fn success() {
    for u in upstreams().await {
        let p = u.provider();
        let outcome = p.topup(&u.delivers("ok-1")).await;
        assert!(
            matches!(
                outcome,
                Outcome::Success {
                    upstream_id: Some(_),
                    ..
                }
            ),
            "{}: {outcome:?}",
            p.id()
        );
    }
}

#[tokio::test]
async fn definite_failure() {
    for u in upstreams().await {
        let p = u.provider();
        let outcome = p.topup(&u.refuses("fail-1")).await;
        assert!(
            matches!(outcome, Outcome::Failed { retryable: false, .. }),
            "{}: {outcome:?}",
            p.id()
        );
    }
}

/// Timeout, HTML 5xx, 200 with an unreadable body: the adapter cannot know, and says so.
#[tokio::test]
async fn unknown_outcomes() {
    for u in upstreams().await {
        let p = u.provider();
        for (i, fault) in [Fault::Hang, Fault::Html500, Fault::Garbled].into_iter().enumerate() {
            u.inject(fault);
            let outcome = p.topup(&u.delivers(&format!("unknown-{i}"))).await;
            assert!(
                matches!(outcome, Outcome::Unknown { .. }),
                "{} {fault:?}: {outcome:?}",
                p.id()
            );
        }
        u.inject(Fault::None);
    }
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_call_succeeds() {
    for u in upstreams().await.into_iter().filter(|u| u.has_sessions()) {
        let p = u.provider();
        assert!(matches!(p.topup(&u.delivers("token-1")).await, Outcome::Success { .. }));
        assert_eq!(u.logins(), 1, "{}", p.id());
        u.expire_tokens();
        let outcome = p.topup(&u.delivers("token-2")).await;
        assert!(matches!(outcome, Outcome::Success { .. }), "{}: {outcome:?}", p.id());
        assert_eq!(u.logins(), 2, "{}", p.id());
    }
}

#[tokio::test]
async fn enquiry_finds_a_delivered_request() {
    for u in upstreams().await {
        let p = u.provider();
        let request = u.delivers("found-1");
        let outcome = p.topup(&request).await;
        let enquiry = p.enquire(&answered(request, &outcome)).await;
        assert!(
            matches!(enquiry, Enquiry::Known(Outcome::Success { .. })),
            "{}: {enquiry:?}",
            p.id()
        );
    }
}

#[tokio::test]
async fn enquiry_finds_a_pending_request() {
    for u in upstreams().await {
        let p = u.provider();
        u.keep_pending();
        let request = u.leaves_pending("pending-1");
        let outcome = p.topup(&request).await;
        assert!(matches!(outcome, Outcome::Pending { .. }), "{}: {outcome:?}", p.id());
        let enquiry = p.enquire(&answered(request, &outcome)).await;
        assert!(
            matches!(enquiry, Enquiry::Known(Outcome::Pending { .. })),
            "{}: {enquiry:?}",
            p.id()
        );
    }
}

#[tokio::test]
async fn enquiry_about_a_request_never_sent_is_not_found() {
    for u in upstreams().await {
        let p = u.provider();
        assert_eq!(
            p.enquire(&u.delivers("never-sent")).await,
            Enquiry::NotFound,
            "{}",
            p.id()
        );
    }
}
