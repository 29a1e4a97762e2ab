//! Wiring: database, catalog, upstreams (real or simulated), services, workers, HTTP.

use crate::api::login_guard::LoginGuard;
use crate::api::rate_limit::{LimitStore, RateLimits};
use crate::api::{self, AppState};
use crate::config::{LimitStoreKind, Settings};
use crate::domain::catalog::{Catalog, Product};
use crate::domain::clock::Clock;
use crate::domain::fx::RateSource;
use crate::jobs::catalog_sync::{CatalogSync, DatamartSync, SmartcallSync};
use crate::providers::executor::Executor;
use crate::providers::smartcall::adapter::SmartcallAdapter;
use crate::providers::{datamart, latcom, smartcall};
use crate::service::breaker::Breakers;
use crate::service::catalog::CatalogHandle;
use crate::service::customer_cache::CustomerCache;
use crate::service::fx::FxService;
use crate::service::gauges::Gauges;
use crate::service::health::HealthMonitor;
use crate::service::invoices::InvoiceService;
use crate::service::notifications::{LowBalanceNotices, NotificationConfig, NotificationService};
use crate::service::purchase::{PendingBackoff, PurchaseConfig, PurchaseService};
use crate::service::tokens::TokenService;
use crate::service::volume::VolumeService;
use crate::service::webhooks::{DeliveryPolicy, WebhookService};
use crate::store::customer_reads::CustomerReads;
use crate::store::group_commit::{DebitBatcher, SettleBatcher};
use crate::store::limits::redis::RedisCells;
use crate::store::limits::Cells;
use crate::{jobs, store};
use anyhow::Context;
use chrono_tz::Tz;
use secrecy::ExposeSecret;
use serde::Deserialize;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod fx;
pub mod sandbox;
mod serve;
mod upstreams;

pub use upstreams::Simulators;
#[cfg(feature = "sandbox")]
pub use upstreams::SmartcallSim;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    workers: Vec<JoinHandle<()>>,
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub sandbox: bool,
    pub simulators: Simulators,
    pub purchases: Arc<PurchaseService>,
    pub notifications: Arc<NotificationService>,
    smartcall: Option<Arc<SmartcallAdapter>>,
}

/// The upstream ids this binary has adapters for (routes in the catalog must use these).
pub const KNOWN_UPSTREAMS: &[&str] = &[latcom::ID, smartcall::ID, datamart::ID];

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

/// The notification service's settings, as the server and the CLI use them.
pub fn notification_config(settings: &Settings) -> NotificationConfig {
    let n = &settings.notifications;
    NotificationConfig {
        dedup_window_secs: n.dedup_window_secs,
        max_attempts: n.max_attempts,
        retry_base: Duration::from_millis(n.retry_base_ms),
        retry_max: Duration::from_millis(n.retry_max_ms),
        lease_secs: n.lease_secs,
        templates_dir: n.templates_dir.clone(),
    }
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        settings.validate()?;
        // Before anything records a metric (the recorder is the process's).
        crate::telemetry::series::recorder();
        let pool = database(&settings).await?;
        let catalog = load_catalog(&settings)?;
        let timezone: Tz = settings
            .business_timezone
            .parse()
            .map_err(|e| anyhow::anyhow!("business_timezone: {e}"))?;
        let sandbox = settings.is_sandbox();
        let signing_key = settings.distributor.signing_key(sandbox).map_err(anyhow::Error::msg)?;
        let executor = Executor::new();
        // Bound first: the sandbox's DataMart webhooks are addressed to it.
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;

        let sessions = Arc::new(store::upstream_sessions::PgSessions::new(pool.clone()));
        let upstreams = upstreams::start(&settings, sandbox, &executor, addr, sessions).await?;
        let catalog = Arc::new(CatalogHandle::new(catalog));
        let mut syncs: Vec<(Arc<dyn CatalogSync>, u64)> = Vec::new();
        if let Some(a) = upstreams.smartcall.clone() {
            let s = &settings.providers.smartcall;
            let shared = Arc::new(store::upstream_catalogues::PgCatalogues::new(pool.clone()));
            let max_age = Duration::from_secs(s.catalog_sync_interval_secs);
            let sync = SmartcallSync::new(a, Arc::clone(&catalog), shared, max_age);
            syncs.push((Arc::new(sync), s.catalog_reload_interval_secs));
        }
        if let Some(a) = upstreams.datamart.clone() {
            let every = settings.providers.datamart.catalog_sync_interval_secs;
            syncs.push((Arc::new(DatamartSync::new(a, Arc::clone(&catalog))), every));
        }
        for (sync, _) in &syncs {
            if let Err(e) = sync.run_once().await {
                let upstream = sync.upstream();
                tracing::warn!(upstream, error = %e, "catalog sync at start failed; configured products only");
            }
        }
        let source: Arc<dyn RateSource> = Arc::new(fx::rate_source(&settings, &executor, &clock)?);
        let mut currencies: Vec<String> = catalog.current().all().iter().map(|p| p.currency.clone()).collect();
        if upstreams.datamart.is_some() {
            // Its bundles arrive with the product list, which may sync only later.
            currencies.push("GHS".into());
        }
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
                review_after: chrono::Duration::milliseconds(
                    (settings.purchase.review_after_hours * 3_600_000.0) as i64,
                ),
                resolver_lease: Duration::from_secs(settings.purchase.resolver_lease_secs),
                pending_backoff: PendingBackoff {
                    first: Duration::from_secs(settings.purchase.resolver_min_age_secs),
                    max: Duration::from_secs(settings.purchase.pending_enquiry_max_backoff_secs),
                },
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
            jobs::spawn_fx_refresh(
                Arc::clone(&fx),
                Duration::from_secs(settings.fx.reload_interval_secs),
                Duration::from_secs(settings.fx.refresh_interval_secs),
            ),
        ];
        let wake = Arc::new(Notify::new());
        let notifications = Arc::new(NotificationService::new(
            pool.clone(),
            upstreams.whatsapp.clone(),
            notification_config(&settings),
            Arc::clone(&wake),
        ));
        if notifications.can_send() {
            let n = &settings.notifications;
            workers.push(jobs::notifications::spawn_sender(
                Arc::clone(&notifications),
                wake,
                n.workers,
                Duration::from_millis(n.poll_interval_ms),
            ));
        }
        let invoices = Arc::new(
            InvoiceService::new(pool.clone(), Arc::clone(&clock), timezone).with_notices(Arc::clone(&notifications)),
        );
        workers.push(jobs::invoices::spawn(
            invoices,
            Duration::from_secs(settings.invoices.check_interval_secs.max(1)),
        ));
        let w = &settings.webhooks;
        let mut webhooks = WebhookService::new(
            pool.clone(),
            DeliveryPolicy {
                max_attempts: w.max_attempts.max(1),
                backoff_base: Duration::from_millis(w.backoff_base_ms),
                backoff_max: Duration::from_secs(w.backoff_max_secs),
                timeout: Duration::from_secs(w.timeout_secs),
                lease: Duration::from_secs(w.timeout_secs + 30),
            },
        );
        // A low balance goes to the reseller's WhatsApp as well as to its webhook.
        webhooks.add_consumer(Arc::new(LowBalanceNotices(Arc::clone(&notifications))));
        let webhooks = Arc::new(webhooks);
        let poll = Duration::from_millis(w.poll_interval_ms);
        workers.push(jobs::webhooks::spawn_dispatcher(Arc::clone(&webhooks), poll));
        if w.delivery_workers > 0 {
            workers.push(jobs::webhooks::spawn_sender(webhooks, w.delivery_workers, poll));
        }
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
        let gauges = Arc::new(Gauges::new(
            pool.clone(),
            Arc::clone(&health),
            Arc::clone(&fx),
            Arc::clone(&clock),
        ));
        gauges.refresh().await;
        workers.push(jobs::spawn_gauges(
            gauges,
            Duration::from_secs(settings.metrics.refresh_interval_secs),
        ));
        let volume = Arc::new(VolumeService::new(pool.clone(), Arc::clone(&clock), timezone));
        workers.push(jobs::spawn_volume_rollup(
            Arc::clone(&volume),
            Duration::from_secs(settings.dashboard.rollup_interval_secs),
        ));
        if settings.metrics.bearer_token.is_none() && !sandbox {
            tracing::warn!("metrics.bearer_token is not set: /metrics is open to anyone who reaches the listener");
        }
        for (sync, every) in syncs {
            workers.push(jobs::catalog_sync::spawn(sync, Duration::from_secs(every)));
        }

        let cells = match settings.limits.store {
            LimitStoreKind::Postgres => {
                workers.push(tokio::spawn(forget_whole_limit_cells(pool.clone())));
                Some(Cells::Postgres(pool.clone()))
            }
            LimitStoreKind::Redis => {
                let url = settings
                    .limits
                    .redis_url
                    .as_ref()
                    .expect("checked by Settings::validate");
                let cells = RedisCells::connect(url.expose_secret(), &settings.limits.redis_key_prefix)
                    .await
                    .context("limits.store = \"redis\": Redis cannot be reached at limits.redis_url")?;
                Some(Cells::Redis(cells))
            }
            LimitStoreKind::Memory => None,
        };
        let rate_limits = Arc::new(RateLimits::new(
            settings.limits.topup_requests_per_minute,
            settings.limits.api_requests_per_15_minutes,
            cells.clone().map_or_else(LimitStore::in_process, LimitStore::Shared),
        ));
        let d = &settings.distributor;
        let tokens = Arc::new(TokenService::new(
            pool.clone(),
            &signing_key,
            d.access_token_ttl_secs,
            d.refresh_token_ttl_secs,
        ));
        let login_guard = Arc::new(match cells {
            Some(cells) => LoginGuard::shared(cells, d.login_failures_per_customer, d.login_failures_per_address),
            None => LoginGuard::in_process(d.login_failures_per_customer, d.login_failures_per_address),
        });
        let header_read_timeout = Duration::from_secs(settings.server.header_read_timeout_secs);
        let state = AppState {
            pool: pool.clone(),
            purchases: Arc::clone(&purchases),
            notifications: Arc::clone(&notifications),
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
            volume,
        };
        if sandbox {
            tracing::warn!("SANDBOX MODE: every upstream is simulated; no real top-ups are made");
        }
        tracing::info!(%addr, sandbox, "recarga listening");
        Ok(Self {
            listener,
            router: api::router(state),
            header_read_timeout,
            workers,
            addr,
            pool,
            sandbox,
            simulators: upstreams.simulators,
            purchases,
            notifications,
            smartcall: upstreams.smartcall,
        })
    }

    /// Serve until `shutdown` resolves; then stop the workers and give back an upstream
    /// session of this process alone (Smartcall allows only so many live tokens; its
    /// shared one stays for the other instances).
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = serve::serve(self.listener, self.router, self.header_read_timeout, shutdown).await;
        for w in self.workers {
            w.abort();
        }
        if let Some(smartcall) = self.smartcall {
            smartcall.invalidate_token().await;
        }
        result
    }
}

/// Shared rate-limit cells whose allowance is whole again are dropped every few minutes:
/// an absent cell behaves the same, and login cells keyed by address would pile up.
async fn forget_whole_limit_cells(pool: PgPool) {
    loop {
        tokio::time::sleep(Duration::from_secs(300)).await;
        if let Err(e) = store::limits::postgres::forget_whole(&pool).await {
            tracing::warn!(error = %e, "could not drop spent rate-limit cells");
        }
    }
}
