//! Wiring: database, catalog, upstreams (real or simulated), services, workers, HTTP.

use crate::api::login_guard::LoginGuard;
use crate::api::rate_limit::RateLimits;
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::domain::catalog::{Catalog, Product};
use crate::domain::clock::Clock;
use crate::domain::fx::RateSource;
use crate::jobs::catalog_sync::SmartcallSync;
use crate::providers::executor::Executor;
use crate::providers::smartcall::adapter::SmartcallAdapter;
use crate::providers::{latcom, smartcall};
use crate::service::breaker::Breakers;
use crate::service::catalog::CatalogHandle;
use crate::service::customer_cache::CustomerCache;
use crate::service::fx::FxService;
use crate::service::health::HealthMonitor;
use crate::service::purchase::{PurchaseConfig, PurchaseService};
use crate::service::tokens::TokenService;
use crate::store::customer_reads::CustomerReads;
use crate::store::group_commit::{DebitBatcher, SettleBatcher};
use crate::{jobs, store};
use anyhow::Context;
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod fx;
mod upstreams;

pub use upstreams::Simulators;
#[cfg(feature = "sandbox")]
pub use upstreams::SmartcallSim;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    workers: Vec<JoinHandle<()>>,
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub sandbox: bool,
    pub simulators: Simulators,
    pub purchases: Arc<PurchaseService>,
    smartcall: Option<Arc<SmartcallAdapter>>,
}

/// The upstream ids this binary has adapters for (routes in the catalog must use these).
pub const KNOWN_UPSTREAMS: &[&str] = &[latcom::ID, smartcall::ID];

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

/// Connect (creating the database if missing) and migrate. A database that cannot be
/// reached yet (still starting, or the network not up) is waited for, with backoff, for
/// `database.start_wait_secs`, each failure logged with its cause.
pub async fn database(settings: &Settings) -> anyhow::Result<PgPool> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(settings.database.start_wait_secs);
    let mut backoff = Duration::from_millis(250);
    loop {
        match connect_and_create(settings).await {
            Ok(pool) => {
                store::migrate(&pool).await.context("running migrations")?;
                return Ok(pool);
            }
            Err(e) if not_up_yet(&e) && tokio::time::Instant::now() + backoff < deadline => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64,
                    "the database cannot be reached yet; waiting for it");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("connecting to the database")),
        }
    }
}

async fn connect_and_create(settings: &Settings) -> Result<PgPool, sqlx::Error> {
    store::ensure_database(&settings.database_url).await?;
    store::connect(
        &settings.database_url,
        settings.database.max_connections,
        Duration::from_secs(settings.database.acquire_timeout_secs),
    )
    .await
}

/// Unreachable, or up but not accepting connections yet (57P03: starting up).
fn not_up_yet(e: &sqlx::Error) -> bool {
    store::is_unavailable(e) || matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57P03"))
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        settings.validate()?;
        let pool = database(&settings).await?;
        let catalog = load_catalog(&settings)?;
        let timezone: Tz = settings
            .business_timezone
            .parse()
            .map_err(|e| anyhow::anyhow!("business_timezone: {e}"))?;
        let sandbox = settings.is_sandbox();
        let signing_key = settings.distributor.signing_key(sandbox).map_err(anyhow::Error::msg)?;
        let executor = Executor::new();

        let upstreams = upstreams::start(&settings, sandbox, &executor).await?;
        let catalog = Arc::new(CatalogHandle::new(catalog));
        let smartcall_sync = upstreams
            .smartcall
            .clone()
            .map(|a| Arc::new(SmartcallSync::new(a, Arc::clone(&catalog))));
        if let Some(sync) = &smartcall_sync {
            if let Err(e) = sync.run_once().await {
                tracing::warn!(error = %e, "Smartcall catalog sync at start failed; configured products only");
            }
        }
        let source: Arc<dyn RateSource> = Arc::new(fx::rate_source(&settings, &executor, &clock)?);
        let mut currencies: Vec<String> = catalog.current().all().iter().map(|p| p.currency.clone()).collect();
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
        let instance_tag = store::instance_tag(&pool).await.context("taking an instance tag")?;
        let purchases = Arc::new(PurchaseService::new(
            pool.clone(),
            Arc::clone(&catalog),
            upstreams.providers.clone(),
            Arc::clone(&fx),
            Arc::clone(&clock),
            PurchaseConfig {
                debits: DebitBatcher::start(
                    pool.clone(),
                    settings.purchase.debit_shards,
                    settings.purchase.debit_batch_max,
                ),
                settlements: SettleBatcher::start(
                    pool.clone(),
                    settings.purchase.settle_shards,
                    settings.purchase.settle_batch_max,
                ),
                timezone,
                default_daily_limit: settings.limits.daily_limit_local,
                sync_deadline: Duration::from_secs(settings.purchase.sync_deadline_secs),
                review_after: chrono::Duration::hours(settings.purchase.review_after_hours),
                instance_tag,
                breakers: Breakers::new(
                    settings.purchase.breaker_failures,
                    Duration::from_secs(settings.purchase.breaker_open_secs),
                ),
            },
            Arc::clone(&queue),
        ));

        let p = &settings.purchase;
        let mut workers = vec![
            jobs::spawn_queue(
                Arc::clone(&purchases),
                queue,
                p.queue_workers,
                Duration::from_millis(p.queue_poll_interval_ms),
            ),
            jobs::spawn_resolver(
                Arc::clone(&purchases),
                Duration::from_secs(p.resolver_interval_secs),
                p.resolver_min_age_secs as i64,
            ),
            jobs::spawn_fx_refresh(Arc::clone(&fx), Duration::from_secs(settings.fx.refresh_interval_secs)),
        ];
        let health = Arc::new(HealthMonitor::new(pool.clone(), Arc::clone(&purchases)));
        // The first checks before serving, so health is known from the first request; an
        // upstream slow to answer is left to the background checks.
        health.check_database().await;
        if tokio::time::timeout(Duration::from_secs(5), health.check_upstreams())
            .await
            .is_err()
        {
            tracing::warn!("upstream health not known yet at start; checking in the background");
        }
        workers.extend(jobs::spawn_health(
            Arc::clone(&health),
            Duration::from_millis(settings.health.database_interval_ms),
            Duration::from_secs(settings.health.upstream_interval_secs),
        ));
        if let Some(sync) = smartcall_sync {
            let interval = Duration::from_secs(settings.providers.smartcall.catalog_sync_interval_secs);
            workers.push(sync.spawn(interval));
        }

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
            rate_limits,
            tokens,
            customers: Arc::new(CustomerCache::new(
                pool.clone(),
                Duration::from_millis(settings.limits.auth_cache_ttl_ms),
            )),
            customer_reads: Arc::new(CustomerReads::start(pool.clone(), settings.database.read_shards)),
            login_guard,
            settings: Arc::new(settings),
            sandbox,
            health,
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
            simulators: upstreams.simulators,
            purchases,
            smartcall: upstreams.smartcall,
        })
    }

    /// Serve until `shutdown` resolves; then stop the workers and give back the
    /// upstream session (Smartcall allows only so many live tokens).
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        for w in self.workers {
            w.abort();
        }
        if let Some(smartcall) = self.smartcall {
            smartcall.invalidate_token().await;
        }
        result
    }
}
