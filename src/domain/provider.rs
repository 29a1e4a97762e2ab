//! The contract every upstream adapter fulfils. Adapters speak their own wire format
//! and report one of these outcomes; they know nothing of resellers or the ledger.

use crate::domain::money::DecimalNumber;
use async_trait::async_trait;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::time::Duration;

/// One request to an upstream, named by our own upstream reference so that a
/// re-send or an enquiry always designates the same request.
#[derive(Debug, Clone)]
pub struct UpstreamTopup {
    pub upstream_reference: String,
    /// The number in the form this upstream expects.
    pub msisdn: String,
    /// The upstream's own product code.
    pub upstream_product: String,
    /// The amount in the upstream's terms (may differ from the face value, e.g. net of VAT).
    pub amount: Decimal,
    pub currency: String,
    /// The operator name in the upstream's vocabulary, when the route names one.
    pub operator: Option<String>,
    /// Upstream-specific extra (e.g. LATCOM's `service`, `skuID`).
    pub service: Option<String>,
    pub sku: Option<String>,
    /// Let the upstream correct variable airtime to the number's current network.
    pub network_auto_correct: bool,
    /// The upstream's own id for this request, once an answer gave one (some upstreams,
    /// e.g. LATCOM, can be asked about a request only by their id).
    pub upstream_transaction_id: Option<String>,
}

/// What happened upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to the phone.
    Success {
        upstream_id: Option<String>,
        message: Option<String>,
    },
    /// Definitely not delivered. `retryable` means another route may be tried.
    Failed {
        retryable: bool,
        code: Option<String>,
        message: String,
    },
    /// Accepted upstream, settles later (poll or webhook).
    Pending { upstream_id: Option<String> },
    /// We cannot know (timeout, 5xx, reset, garbage body): keep the funds held and enquire.
    Unknown { reason: String },
}

/// The answer to "what happened to the request with this reference?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enquiry {
    Known(Outcome),
    /// The upstream has no record of it. Whether that is final is the adapter's call
    /// (see [`Provider::not_found_is_final_after`]).
    NotFound,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderHealth {
    pub upstream: String,
    pub up: bool,
    pub detail: Option<String>,
    /// Our prepaid float with the upstream, where it reports one.
    #[schema(value_type = Option<DecimalNumber>)]
    #[serde(serialize_with = "crate::domain::provider::float_json")]
    pub float: Option<Decimal>,
    /// Set when the float is under its alert threshold.
    pub float_low: bool,
}

/// Floats go out as exact JSON numbers, like all money.
pub fn float_json<S: serde::Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    value
        .map(|d| serde_json::Number::from_str(&d.normalize().to_string()).expect("decimal is a JSON number"))
        .serialize(s)
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Stable id used in routes, attempt rows and logs (e.g. "latcom").
    fn id(&self) -> &'static str;

    async fn topup(&self, request: &UpstreamTopup) -> Outcome;

    async fn enquire(&self, request: &UpstreamTopup) -> Enquiry;

    /// Send several requests in one upstream call, where the upstream has one (DataMart's
    /// `/v1/purchase/bulk`): an outcome per request, in order. `None`: it has none, and
    /// each request is sent on its own.
    async fn topup_together(&self, _requests: &[UpstreamTopup]) -> Option<Vec<Outcome>> {
        None
    }

    /// If the upstream documents that "not found" after some grace period means the
    /// request never arrived, that period; `None` means not-found is never proof.
    fn not_found_is_final_after(&self) -> Option<Duration> {
        None
    }

    /// Whether a request whose outcome was unknown may be sent again under the same
    /// reference once an enquiry found no record of it. True only where the upstream
    /// refuses a second request with a reference it already holds, so that a first one
    /// that arrives late cannot be delivered twice.
    fn resend_when_not_found(&self) -> bool {
        false
    }

    async fn health(&self) -> ProviderHealth;

    /// Whether a request this upstream holds as pending is asked about again with
    /// backoff rather than at every resolver sweep: where pending is the normal answer
    /// and may last hours (DataMart processes orders by hand) and a notification
    /// usually tells us when to ask.
    fn enquire_pending_with_backoff(&self) -> bool {
        false
    }

    /// The reference (ours, as sent upstream) that a notification from this upstream
    /// (a webhook, a callback) names, read from its raw body. A notification is only a
    /// hint to look the request up: it settles nothing by itself. `None`: this upstream
    /// sends none, or the body names no reference.
    fn notification_reference(&self, _body: &[u8]) -> Option<String> {
        None
    }

    /// The network a number is on now (numbers are portable), where the upstream can
    /// say; in our operator vocabulary (upper case).
    async fn detect_operator(&self, _msisdn: &str) -> Option<String> {
        None
    }
}
