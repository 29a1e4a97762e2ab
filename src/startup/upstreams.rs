//! Which upstreams run, and against what: in sandbox mode every upstream is a simulator
//! on loopback; in live mode an upstream without credentials is disabled.

use crate::config::Settings;
use crate::providers::executor::Executor;
use crate::providers::latcom::{self, adapter::Credentials, adapter::LatcomAdapter};
use crate::providers::smartcall::{self, adapter::SmartcallAdapter};
use crate::providers::Providers;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// Handles to the simulators started in sandbox mode (tests inject faults through them).
#[derive(Clone, Default)]
pub struct Simulators {
    pub latcom: Option<latcom::simulator::SimState>,
    pub smartcall: Option<SmartcallSim>,
}

/// The Smartcall simulator: one backend served as a live-live pair.
#[derive(Clone)]
pub struct SmartcallSim {
    pub state: smartcall::simulator::SimState,
    pub api1: smartcall::simulator::Host,
    pub api2: smartcall::simulator::Host,
}

pub struct Upstreams {
    pub providers: Providers,
    pub simulators: Simulators,
    /// Kept concrete for its catalog sync and token invalidation on shutdown.
    pub smartcall: Option<Arc<SmartcallAdapter>>,
}

pub async fn start(settings: &Settings, sandbox: bool, executor: &Executor) -> anyhow::Result<Upstreams> {
    let latency = Duration::from_millis(settings.sandbox.latency_ms);
    let mut providers = Providers::default();
    let mut simulators = Simulators::default();

    let l = &settings.providers.latcom;
    let latcom_endpoint = if sandbox {
        let (addr, state) = latcom::simulator::spawn(latency).await?;
        state.set_dist_transid_lookup(l.enquire_by_dist_transid);
        simulators.latcom = Some(state);
        let sandbox_secret = || SecretString::from("sandbox");
        let creds = Credentials {
            username: "sandbox".into(),
            password: sandbox_secret(),
            dist_api: sandbox_secret(),
            user_uid: "0".into(),
        };
        Some((format!("http://{addr}"), creds))
    } else if let (Some(u), Some(p), Some(k)) = (&l.username, &l.password, &l.dist_api) {
        let user_uid = l.user_uid.clone().unwrap_or_default();
        Some((
            l.base_url.clone(),
            Credentials {
                username: u.clone(),
                password: p.clone(),
                dist_api: k.clone(),
                user_uid,
            },
        ))
    } else {
        tracing::warn!("LATCOM has no credentials: disabled (live mode never simulates)");
        None
    };
    if let Some((base_url, creds)) = latcom_endpoint {
        let refresh = Duration::from_secs(l.token_refresh_secs);
        let timeout = Duration::from_secs(l.timeout_secs);
        providers.insert(Arc::new(LatcomAdapter::new(
            executor.clone(),
            &base_url,
            creds,
            refresh,
            timeout,
            l.enquire_by_dist_transid,
        )));
    }

    let s = &settings.providers.smartcall;
    let smartcall_endpoint = if sandbox {
        let state = smartcall::simulator::SimState::default();
        state.set_latency(latency);
        let (addr1, api1) = smartcall::simulator::serve(state.clone()).await?;
        let (addr2, api2) = smartcall::simulator::serve(state.clone()).await?;
        simulators.smartcall = Some(SmartcallSim { state, api1, api2 });
        let dealer = smartcall::simulator::DEALER.to_string();
        Some((
            format!("http://{addr1}"),
            format!("http://{addr2}"),
            "sandbox".into(),
            SecretString::from("sandbox"),
            dealer,
        ))
    } else if let (Some(u), Some(p), Some(id)) = (&s.username, &s.password, &s.smartload_id) {
        Some((s.api1.clone(), s.api2.clone(), u.clone(), p.clone(), id.clone()))
    } else {
        tracing::warn!("Smartcall has no credentials: disabled (live mode never simulates)");
        None
    };
    let smartcall = smartcall_endpoint.map(|(api1, api2, user, password, dealer)| {
        let timeout = Duration::from_secs(s.timeout_secs);
        Arc::new(SmartcallAdapter::new(
            executor.clone(),
            &api1,
            &api2,
            user,
            password,
            dealer,
            timeout,
            s.low_float_threshold,
        ))
    });
    if let Some(adapter) = &smartcall {
        providers.insert(adapter.clone());
    }
    Ok(Upstreams {
        providers,
        simulators,
        smartcall,
    })
}
