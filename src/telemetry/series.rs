//! The metric series recarga exports on `/metrics` (Prometheus text format): their
//! names, what each means (docs/operations.md lists them too), and the one recorder
//! of the process they are recorded into.
//!
//! Labels are always from a fixed set (route templates, upstream ids, statuses,
//! currencies), never a raw path, phone number or id: a label value is a new series.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Requests answered, by `route` (the matched route template, or `unmatched`) and `status`.
pub const HTTP_REQUESTS: &str = "recarga_http_requests_total";
/// Time to answer a request, by `route`.
pub const HTTP_DURATION: &str = "recarga_http_request_duration_seconds";
/// Purchases sent to an upstream, by `upstream` and `outcome`: the upstream's first answer
/// (`success`, `failed`, `retryable` (the next route is tried), `pending`, `unknown`),
/// or `skipped` when its circuit was open and it was not sent.
pub const PURCHASES: &str = "recarga_purchases_total";
/// Purchases no upstream could take (none enabled, every route failed or skipped): refunded.
pub const PURCHASES_UNROUTED: &str = "recarga_purchases_unrouted_total";
/// Every call to an upstream (purchase, enquiry, balance, login, catalogue), by
/// `upstream`, `operation` and `result` (`answered` or `error`: no answer).
pub const UPSTREAM_CALL_DURATION: &str = "recarga_upstream_call_duration_seconds";
/// Work waiting, by `queue`: `purchases` (async top-ups not sent yet), `notifications`
/// (WhatsApp messages), `webhook_events` (not yet fanned out), `webhook_deliveries`.
pub const QUEUE_DEPTH: &str = "recarga_queue_depth";
/// Transactions not final, by `status`: `PENDING`, `PROCESSING`, `REVIEW` (funds held for ops).
pub const TRANSACTIONS_OPEN: &str = "recarga_transactions_open";
/// Our prepaid float with an upstream, in its currency, by `upstream` (where it reports one).
pub const UPSTREAM_FLOAT: &str = "recarga_upstream_float";
/// 1 when an upstream's float is under its alert threshold, else 0.
pub const UPSTREAM_FLOAT_LOW: &str = "recarga_upstream_float_low";
/// 1 when an upstream answered its last health check, else 0.
pub const UPSTREAM_UP: &str = "recarga_upstream_up";
/// Age of the exchange rate purchases are priced with, by `currency`.
pub const FX_RATE_AGE: &str = "recarga_fx_rate_age_seconds";
/// Database connections of this instance's pool: open (`size`), idle, and the maximum.
pub const DB_POOL_SIZE: &str = "recarga_db_pool_connections";
pub const DB_POOL_IDLE: &str = "recarga_db_pool_idle_connections";
pub const DB_POOL_MAX: &str = "recarga_db_pool_max_connections";

/// The route label of a request that matched no route (never its path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Histogram buckets for every `_seconds` series: 5 ms to the sync deadline.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process's recorder, installed on first use (one per process: every application
/// built in it records into the same series). None if another recorder was installed.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "Requests answered, by route template and status");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer a request, by route template"
    );
    describe_counter!(
        PURCHASES,
        "Purchases sent to an upstream, by upstream and its first answer"
    );
    describe_counter!(PURCHASES_UNROUTED, "Purchases no upstream could take (refunded)");
    describe_histogram!(
        UPSTREAM_CALL_DURATION,
        Unit::Seconds,
        "Upstream call latency, by upstream, operation and result"
    );
    describe_gauge!(QUEUE_DEPTH, "Work waiting, by queue");
    describe_gauge!(TRANSACTIONS_OPEN, "Transactions not final, by status");
    describe_gauge!(UPSTREAM_FLOAT, "Prepaid float with the upstream, in its currency");
    describe_gauge!(
        UPSTREAM_FLOAT_LOW,
        "1 when the upstream's float is under its alert threshold"
    );
    describe_gauge!(UPSTREAM_UP, "1 when the upstream answered its last health check");
    describe_gauge!(
        FX_RATE_AGE,
        Unit::Seconds,
        "Age of the exchange rate in use, by currency"
    );
    describe_gauge!(DB_POOL_SIZE, "Open database connections in this instance's pool");
    describe_gauge!(DB_POOL_IDLE, "Idle database connections in this instance's pool");
    describe_gauge!(DB_POOL_MAX, "Maximum database connections of this instance's pool");
}
