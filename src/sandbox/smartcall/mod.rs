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
//!
//! This file holds the router and its hosts (api1 and api2 served on one backend); each
//! endpoint's handlers live in the module of their concern.

mod answers;
mod auth;
mod dealer;
mod enquiry;
mod numbers;
mod products;
mod recharge;
mod state;

pub use state::{Fault, ReportedExpiry, Scripted, SimState, Status};

use super::loopback;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A dealer (Smartload) id for sandbox configs; any `27`+9-digit id is accepted unless
/// [`SimState::set_dealer`] restricts it.
pub const DEALER: &str = "27820000001";
/// Seed §10g QA amounts (rand).
pub const BUSINESS_FAILURE: Decimal = dec!(11);
pub const NETWORK_PENDING: Decimal = dec!(13);
pub const NETWORK_DOWN: Decimal = dec!(17);
/// Seed §6 and FAQ 5: at most 50 live tokens per user.
pub const TOKEN_LIMIT: usize = 50;

pub fn router(state: SimState) -> Router {
    Router::new()
        .route(
            "/webservice/test/ping",
            get(|| async { Json(json!({"response": "Pong"})) }),
        )
        .route("/webservice/auth", post(auth::login).delete(auth::logout))
        .route(
            "/webservice/auth/token",
            get(auth::token_query).delete(auth::token_flush),
        )
        .route("/webservice/smartload/balance/{id}", get(dealer::balance))
        .route("/webservice/smartload/v2/recharges", post(recharge::recharge))
        .route(
            "/webservice/smartload/recharges/{id}/{reference}",
            get(enquiry::enquiry),
        )
        .route("/webservice/smartload/networks", get(products::networks))
        .route("/webservice/utilities/simnetwork/{msisdn}", get(numbers::sim_network))
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
    let addr = loopback::serve(host_router(state, &host), "Smartcall").await?;
    Ok((addr, host))
}

/// The simulator as one host of the pair: `host` controls and counts what reaches it.
pub fn host_router(state: SimState, host: &Host) -> Router {
    router(state).layer(axum::middleware::from_fn_with_state(host.clone(), host_gate))
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
        return answers::html(StatusCode::SERVICE_UNAVAILABLE);
    }
    next.run(request).await
}
