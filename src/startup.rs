//! Wiring: database, catalog, upstreams (real or simulated), services, workers, HTTP.

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::domain::catalog::{Catalog, Product};
use crate::domain::clock::Clock;
use crate::domain::fx::RateSource;
use crate::providers::executor::Executor;
use crate::providers::fx::{banxico::Banxico, fixed::FixedRates};
use crate::providers::latcom::{self, adapter::Credentials, adapter::LatcomAdapter, simulator::SimState};
use crate::providers::{Providers, KNOWN_UPSTREAMS};
use crate::service::fx::FxService;
use crate::service::login_guard::LoginGuard;
use crate::service::purchase::{PurchaseConfig, PurchaseService};
use crate::service::rate_limit::RateLimits;
use crate::service::tokens::TokenService;
use crate::{jobs, store};
use anyhow::{bail, Context};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde::Deserialize;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Handles to the simulators started in sandbox mode (tests inject faults through them).
#[derive(Clone, Default)]
pub struct Simulators {
    pub latcom: Option<SimState>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    workers: Vec<JoinHandle<()>>,
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub sandbox: bool,
    pub simulators: Simulators,
    pub purchases: Arc<PurchaseService>,
}

#[derive(Deserialize)]
struct CatalogFile {
    products: Vec<Product>,
}

pub fn load_catalog(settings: &Settings) -> anyhow::Result<Catalog> {
    let text = std::fs::read_to_string(&settings.catalog_file)
        .with_context(|| format!("reading catalog {}", settings.catalog_file.display()))?;
    let file: CatalogFile =
        toml_from_str(&text).with_context(|| format!("parsing {}", settings.catalog_file.display()))?;
    Ok(Catalog::new(file.products, KNOWN_UPSTREAMS)?)
}

fn toml_from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Box<figment::Error>> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text)).extract().map_err(Box::new)
}

/// Connect (creating the database if missing) and migrate.
pub async fn database(settings: &Settings) -> anyhow::Result<PgPool> {
    store::ensure_database(&settings.database_url)
        .await
        .context("creating the database")?;
    let pool = store::connect(
        &settings.database_url,
        settings.database.max_connections,
        Duration::from_secs(settings.database.acquire_timeout_secs),
    )
    .await
    .context("connecting to the database")?;
    store::migrate(&pool).await.context("running migrations")?;
    Ok(pool)
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let pool = database(&settings).await?;
        let catalog = Arc::new(load_catalog(&settings)?);
        let timezone: Tz = settings
            .business_timezone
            .parse()
            .map_err(|e| anyhow::anyhow!("business_timezone: {e}"))?;
        let sandbox = settings.is_sandbox();
        let signing_key = settings.distributor.signing_key(sandbox).map_err(anyhow::Error::msg)?;
        let executor = Executor::new();

        let mut providers = Providers::default();
        let mut simulators = Simulators::default();
        let latcom_settings = &settings.providers.latcom;
        let latcom_endpoint = if sandbox {
            let (addr, state) = latcom::simulator::spawn(Duration::from_millis(settings.sandbox.latency_ms)).await?;
            simulators.latcom = Some(state);
            let creds = Credentials {
                username: "sandbox".into(),
                password: SecretString::from("sandbox"),
                dist_api: SecretString::from("sandbox"),
                user_uid: "0".into(),
            };
            Some((format!("http://{addr}"), creds))
        } else if let (Some(u), Some(p), Some(k)) = (
            &latcom_settings.username,
            &latcom_settings.password,
            &latcom_settings.dist_api,
        ) {
            let creds = Credentials {
                username: u.clone(),
                password: p.clone(),
                dist_api: k.clone(),
                user_uid: latcom_settings.user_uid.clone().unwrap_or_default(),
            };
            Some((latcom_settings.base_url.clone(), creds))
        } else {
            tracing::warn!("LATCOM has no credentials: disabled (live mode never simulates)");
            None
        };
        if let Some((base_url, creds)) = latcom_endpoint {
            providers.insert(Arc::new(LatcomAdapter::new(
                executor.clone(),
                &base_url,
                creds,
                Duration::from_secs(latcom_settings.token_refresh_secs),
                Duration::from_secs(latcom_settings.timeout_secs),
            )));
        }

        let source: Arc<dyn RateSource> = match settings.fx.source.as_str() {
            "fixed" => Arc::new(FixedRates::new(settings.fx.fixed_rates.clone(), Arc::clone(&clock))),
            "banxico" => {
                let Some(token) = settings.fx.banxico.token.clone() else {
                    bail!("fx.source = \"banxico\" needs fx.banxico.token");
                };
                Arc::new(Banxico::new(
                    executor.clone(),
                    &settings.fx.banxico.base_url,
                    &settings.fx.banxico.series,
                    token,
                ))
            }
            other => bail!("unknown fx.source {other:?} (use \"fixed\" or \"banxico\")"),
        };
        let mut currencies: Vec<String> = catalog.all().iter().map(|p| p.currency.clone()).collect();
        currencies.sort();
        currencies.dedup();
        let fx = Arc::new(FxService::new(
            pool.clone(),
            source,
            Arc::clone(&clock),
            chrono::Duration::hours(settings.fx.max_age_hours),
            currencies,
        ));
        fx.load_persisted().await?;
        fx.refresh().await;

        let queue = Arc::new(Notify::new());
        let purchases = Arc::new(PurchaseService::new(
            pool.clone(),
            Arc::clone(&catalog),
            providers.clone(),
            Arc::clone(&fx),
            Arc::clone(&clock),
            PurchaseConfig {
                timezone,
                default_daily_limit: settings.limits.daily_limit_local,
                sync_deadline: Duration::from_secs(settings.purchase.sync_deadline_secs),
                review_after: chrono::Duration::hours(settings.purchase.review_after_hours),
            },
            Arc::clone(&queue),
        ));

        let p = &settings.purchase;
        let workers = vec![
            jobs::spawn_queue(
                pool.clone(),
                Arc::clone(&purchases),
                queue,
                p.queue_workers,
                Duration::from_millis(p.queue_poll_interval_ms),
            ),
            jobs::spawn_resolver(
                pool.clone(),
                Arc::clone(&purchases),
                Duration::from_secs(p.resolver_interval_secs),
                p.resolver_min_age_secs as i64,
            ),
            jobs::spawn_fx_refresh(Arc::clone(&fx), Duration::from_secs(settings.fx.refresh_interval_secs)),
        ];

        let rate_limits = Arc::new(RateLimits::new(
            settings.limits.topup_requests_per_minute,
            settings.limits.api_requests_per_15_minutes,
        ));
        let d = &settings.distributor;
        let tokens = Arc::new(TokenService::new(
            pool.clone(),
            &signing_key,
            d.access_token_ttl_secs,
            d.refresh_token_ttl_secs,
        ));
        let login_guard = Arc::new(LoginGuard::new(
            d.login_failures_per_customer,
            d.login_failures_per_address,
        ));
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let state = AppState {
            pool: pool.clone(),
            purchases: Arc::clone(&purchases),
            providers,
            rate_limits,
            tokens,
            login_guard,
            settings: Arc::new(settings),
            sandbox,
        };
        if sandbox {
            tracing::warn!("SANDBOX MODE: every upstream is simulated; no real top-ups are made");
        }
        tracing::info!(%addr, sandbox, "recarga listening");
        Ok(Self {
            listener,
            router: api::router(state),
            workers,
            addr,
            pool,
            sandbox,
            simulators,
            purchases,
        })
    }

    /// Serve until `shutdown` resolves; then stop the workers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        for w in self.workers {
            w.abort();
        }
        result
    }
}
