//! Which upstreams run, and against what: in sandbox mode every upstream is a simulator
//! on loopback; in live mode an upstream without credentials is disabled. A build
//! without the `sandbox` feature refuses sandbox mode rather than run anything live.

use crate::config::Settings;
use crate::domain::notification::whatsapp::WhatsApp;
use crate::domain::upstream_session::SessionStore;
use crate::providers::datamart::adapter::{self as datamart, DatamartAdapter, FloatPolicy};
use crate::providers::evolution::adapter::EvolutionAdapter;
use crate::providers::executor::Executor;
use crate::providers::latcom::adapter::{Credentials, LatcomAdapter};
use crate::providers::smartcall::adapter::SmartcallAdapter;
use crate::providers::Providers;
#[cfg(feature = "sandbox")]
use crate::sandbox;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Handles to the simulators started in sandbox mode (tests inject faults through them);
/// empty in a build without the simulators.
#[derive(Clone, Default)]
pub struct Simulators {
    #[cfg(feature = "sandbox")]
    pub latcom: Option<sandbox::latcom::SimState>,
    #[cfg(feature = "sandbox")]
    pub smartcall: Option<SmartcallSim>,
    #[cfg(feature = "sandbox")]
    pub evolution: Option<sandbox::evolution::SimState>,
    #[cfg(feature = "sandbox")]
    pub datamart: Option<sandbox::datamart::SimState>,
}

/// The Smartcall simulator: one backend served as a live-live pair.
#[cfg(feature = "sandbox")]
#[derive(Clone)]
pub struct SmartcallSim {
    pub state: sandbox::smartcall::SimState,
    pub api1: sandbox::smartcall::Host,
    pub api2: sandbox::smartcall::Host,
}

pub struct Upstreams {
    pub providers: Providers,
    pub simulators: Simulators,
    /// Kept concrete for its catalog sync and token invalidation on shutdown.
    pub smartcall: Option<Arc<SmartcallAdapter>>,
    /// The WhatsApp gateway notifications are sent through, if any.
    pub whatsapp: Option<Arc<dyn WhatsApp>>,
    /// Kept concrete for its catalog sync.
    pub datamart: Option<Arc<DatamartAdapter>>,
}

/// Where each upstream is reached and as whom; `None` leaves it disabled.
struct Endpoints {
    /// Base URL and credentials.
    latcom: Option<(String, Credentials)>,
    /// api1, api2, user, password, Smartload (dealer) id.
    smartcall: Option<(String, String, String, SecretString, String)>,
    /// Evolution API base URL and API key.
    evolution: Option<(String, SecretString)>,
    /// Base URL, credentials, callback URL.
    datamart: Option<(String, datamart::Credentials, Option<String>)>,
}

/// `gateway` is where this gateway listens: in sandbox mode the DataMart simulator's
/// webhooks go there unless `providers.datamart.callback_url` says otherwise. Upstream
/// sessions that must be one per deployment (Smartcall's) are kept in `sessions`.
pub async fn start(
    settings: &Settings,
    sandbox: bool,
    executor: &Executor,
    gateway: SocketAddr,
    sessions: Arc<dyn SessionStore>,
) -> anyhow::Result<Upstreams> {
    let mut providers = Providers::default();
    let mut simulators = Simulators::default();
    let endpoints = if sandbox {
        simulated(settings, &mut simulators, gateway).await?
    } else {
        live(settings)
    };

    let l = &settings.providers.latcom;
    if let Some((base_url, creds)) = endpoints.latcom {
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
    let smartcall = endpoints.smartcall.map(|(api1, api2, user, password, dealer)| {
        let timeout = Duration::from_secs(s.timeout_secs);
        Arc::new(
            SmartcallAdapter::new(
                executor.clone(),
                &api1,
                &api2,
                user,
                password,
                dealer,
                timeout,
                s.low_float_threshold,
            )
            .sharing_session(sessions),
        )
    });
    if let Some(adapter) = &smartcall {
        providers.insert(adapter.clone());
    }

    let timeout = Duration::from_secs(settings.notifications.evolution.timeout_secs);
    let whatsapp = endpoints.evolution.map(|(base_url, api_key)| {
        Arc::new(EvolutionAdapter::new(executor.clone(), &base_url, api_key, timeout)) as Arc<dyn WhatsApp>
    });
    let d = &settings.providers.datamart;
    let datamart = endpoints.datamart.map(|(base_url, credentials, callback_url)| {
        let policy = FloatPolicy {
            low: d.low_float_threshold,
            large_order: d.large_order_threshold,
        };
        let timeout = Duration::from_secs(d.timeout_secs);
        Arc::new(DatamartAdapter::new(
            executor.clone(),
            &base_url,
            credentials,
            timeout,
            policy,
            callback_url,
        ))
    });
    if let Some(adapter) = &datamart {
        providers.insert(adapter.clone());
    }
    Ok(Upstreams {
        providers,
        simulators,
        smartcall,
        whatsapp,
        datamart,
    })
}

/// Sandbox mode: every upstream is a simulator, reached with sandbox credentials: those
/// of a shared `recarga sandbox` process at `sandbox.simulators_url`, or else our own,
/// served on loopback (whose handles tests hold).
#[cfg(feature = "sandbox")]
async fn simulated(settings: &Settings, simulators: &mut Simulators, gateway: SocketAddr) -> anyhow::Result<Endpoints> {
    use sandbox::standalone::{Sandbox, Urls};
    let base = match &settings.sandbox.simulators_url {
        Some(url) => {
            tracing::warn!(url, "SANDBOX MODE: the simulators are the shared sandbox process's");
            url.clone()
        }
        None => {
            let own = Sandbox::new(&settings.sandbox, settings.providers.latcom.enquire_by_dist_transid);
            let addr = sandbox::loopback::serve(own.router(), "sandbox").await?;
            *simulators = Simulators {
                latcom: Some(own.latcom),
                smartcall: Some(SmartcallSim {
                    state: own.smartcall,
                    api1: own.api1,
                    api2: own.api2,
                }),
                evolution: Some(own.evolution),
                datamart: Some(own.datamart),
            };
            format!("http://{addr}")
        }
    };
    let urls = Urls::under(&base);
    let sandbox_secret = || SecretString::from("sandbox");
    let creds = Credentials {
        username: "sandbox".into(),
        password: sandbox_secret(),
        dist_api: sandbox_secret(),
        user_uid: "0".into(),
    };
    let smartcall = (
        urls.smartcall_api1,
        urls.smartcall_api2,
        "sandbox".into(),
        sandbox_secret(),
        sandbox::smartcall::DEALER.to_string(),
    );
    let evolution = (urls.evolution, SecretString::from(sandbox::evolution::API_KEY));
    let credentials = datamart::Credentials {
        api_key: SecretString::from(sandbox::datamart::API_KEY),
        api_secret: SecretString::from(sandbox::datamart::API_SECRET),
    };
    // Webhooks to this instance unless configured (behind a proxy: the proxy).
    let callback = settings.providers.datamart.callback_url.clone().unwrap_or_else(|| {
        let port = gateway.port();
        format!("http://127.0.0.1:{port}/api/webhooks/datamart")
    });
    Ok(Endpoints {
        latcom: Some((urls.latcom, creds)),
        smartcall: Some(smartcall),
        evolution: Some(evolution),
        datamart: Some((urls.datamart, credentials, Some(callback))),
    })
}

/// A production build has no simulators: sandbox mode (no credentials configured, or
/// `mode = "sandbox"`) must stop here, never fall through to live upstreams.
#[cfg(not(feature = "sandbox"))]
async fn simulated(_: &Settings, _: &mut Simulators, _: SocketAddr) -> anyhow::Result<Endpoints> {
    anyhow::bail!("sandbox mode, but recarga was built without the sandbox feature; configure upstream credentials")
}

/// Live mode: the configured upstreams; one without credentials is disabled.
fn live(settings: &Settings) -> Endpoints {
    let l = &settings.providers.latcom;
    let latcom = if let (Some(u), Some(p), Some(k)) = (&l.username, &l.password, &l.dist_api) {
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

    let s = &settings.providers.smartcall;
    let smartcall = if let (Some(u), Some(p), Some(id)) = (&s.username, &s.password, &s.smartload_id) {
        Some((s.api1.clone(), s.api2.clone(), u.clone(), p.clone(), id.clone()))
    } else {
        tracing::warn!("Smartcall has no credentials: disabled (live mode never simulates)");
        None
    };

    let e = &settings.notifications.evolution;
    let evolution = if let (Some(url), Some(key)) = (&e.base_url, &e.api_key) {
        Some((url.clone(), key.clone()))
    } else {
        tracing::warn!("Evolution API not configured: WhatsApp notifications are stored but not sent");
        None
    };
    let d = &settings.providers.datamart;
    let datamart = if let (Some(api_key), Some(api_secret)) = (&d.api_key, &d.api_secret) {
        let credentials = datamart::Credentials {
            api_key: api_key.clone(),
            api_secret: api_secret.clone(),
        };
        Some((d.base_url.clone(), credentials, d.callback_url.clone()))
    } else {
        tracing::warn!("DataMart has no credentials: disabled (live mode never simulates)");
        None
    };
    Endpoints {
        latcom,
        smartcall,
        evolution,
        datamart,
    }
}
