//! The one place that calls upstreams: timeouts, timing, one structured log line per
//! call (never bodies or tokens) and its latency in `/metrics`, and the classification
//! that matters for money: a request that provably never left is `NotSent`; anything
//! after that is `Unknown`.

use crate::telemetry::series;
use bytes::Bytes;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CallError {
    /// Connection refused, DNS, TLS, bad URL: the upstream never saw the request.
    #[error("not sent: {0}")]
    NotSent(String),
    /// Timeout, reset, truncated body: the upstream may have acted on it.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

#[derive(Debug)]
pub struct CallResponse {
    pub status: u16,
    pub body: Bytes,
    /// The `ETag` header, for conditional re-fetches of catalogs.
    pub etag: Option<String>,
    pub elapsed: Duration,
}

#[derive(Clone)]
pub struct Executor {
    client: reqwest::Client,
}

impl Executor {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1024)
            .build()
            .expect("reqwest client with rustls");
        Self { client }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    #[tracing::instrument(name = "upstream_call", skip_all, fields(upstream = upstream, operation = operation))]
    pub async fn call(
        &self,
        upstream: &'static str,
        operation: &'static str,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<CallResponse, CallError> {
        let started = Instant::now();
        let result = async {
            let response = request.timeout(timeout).send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let etag = response
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .bytes()
                .await
                .map_err(|e| CallError::Unknown(e.without_url().to_string()))?;
            Ok(CallResponse {
                status,
                body,
                etag,
                elapsed: started.elapsed(),
            })
        }
        .await;
        let latency = started.elapsed();
        let answered = if result.is_ok() { "answered" } else { "error" };
        metrics::histogram!(series::UPSTREAM_CALL_DURATION, "upstream" => upstream, "operation" => operation, "result" => answered)
            .record(latency.as_secs_f64());
        let latency_ms = latency.as_millis() as u64;
        match &result {
            Ok(r) => tracing::info!(upstream, operation, status = r.status, latency_ms, "upstream call"),
            Err(e) => tracing::warn!(upstream, operation, latency_ms, error = %e, "upstream call failed"),
        }
        result
    }
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

/// The URL is dropped from the message: a query string may carry a credential (an
/// App ID), and these messages reach the logs.
fn classify(e: reqwest::Error) -> CallError {
    let e = e.without_url();
    if e.is_connect() || e.is_builder() {
        CallError::NotSent(e.to_string())
    } else {
        CallError::Unknown(e.to_string())
    }
}
