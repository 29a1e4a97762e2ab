//! Every upstream's simulator in one HTTP server, each under its own path prefix, with
//! the control API beside them. Sandbox mode serves it in-process on loopback; for
//! several instances, `recarga sandbox` serves it as one process they all point at
//! (`sandbox.simulators_url`), so that an enquiry reaches the simulator that took the
//! top-up, whichever instance sent it.

use super::{control, datamart, evolution, latcom, smartcall};
use crate::config::SandboxSettings;
use axum::Router;
use std::time::Duration;

/// The simulators of one sandbox; tests hold them to inject faults and count.
#[derive(Clone)]
pub struct Sandbox {
    pub latcom: latcom::SimState,
    pub smartcall: smartcall::SimState,
    /// Smartcall's live-live pair: two hosts on one backend.
    pub api1: smartcall::Host,
    pub api2: smartcall::Host,
    pub evolution: evolution::SimState,
    pub datamart: datamart::SimState,
}

/// Where each simulator is, under a sandbox's base URL.
pub struct Urls {
    pub latcom: String,
    pub smartcall_api1: String,
    pub smartcall_api2: String,
    /// Up to `/api`, as DataMart's base URL is configured.
    pub datamart: String,
    pub evolution: String,
}

impl Urls {
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            latcom: format!("{base}/latcom"),
            smartcall_api1: format!("{base}/smartcall/api1"),
            smartcall_api2: format!("{base}/smartcall/api2"),
            datamart: format!("{base}/datamart/api"),
            evolution: format!("{base}/evolution"),
        }
    }
}

impl Sandbox {
    /// Fresh simulators with the sandbox settings; LATCOM answers lookups by our
    /// reference when the gateway is configured to make them.
    pub fn new(settings: &SandboxSettings, latcom_lookup_by_reference: bool) -> Self {
        let latency = Duration::from_millis(settings.latency_ms);
        let latcom = latcom::SimState::default();
        latcom.set_latency(latency);
        latcom.set_dist_transid_lookup(latcom_lookup_by_reference);
        let smartcall = smartcall::SimState::default();
        smartcall.set_latency(latency);
        smartcall.set_network_pending(
            Duration::from_millis(settings.smartcall_pending_ms),
            smartcall::Status::Successful,
        );
        let datamart = datamart::SimState::new(Duration::from_millis(settings.datamart_pending_ms));
        datamart.set_latency(latency);
        Self {
            latcom,
            smartcall,
            api1: smartcall::Host::default(),
            api2: smartcall::Host::default(),
            evolution: evolution::SimState::default(),
            datamart,
        }
    }

    /// The simulators at their prefixes (see [`Urls`]) and the control API at `/_sandbox`.
    pub fn router(&self) -> Router {
        Router::new()
            .nest("/latcom", latcom::router(self.latcom.clone()))
            .nest(
                "/smartcall/api1",
                smartcall::host_router(self.smartcall.clone(), &self.api1),
            )
            .nest(
                "/smartcall/api2",
                smartcall::host_router(self.smartcall.clone(), &self.api2),
            )
            .nest("/datamart", datamart::router(self.datamart.clone()))
            .nest("/evolution", evolution::router(self.evolution.clone()))
            .nest("/_sandbox", control::router(self.clone()))
    }
}
