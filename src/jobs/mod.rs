//! Background workers: the async top-up queue, the resolver, FX refresh, the upstream
//! catalogue sync, the health checks, the metrics gauges, the per-day volume rollup, the WhatsApp notification
//! sender, and the money-out workers (events, webhook and callback deliveries, invoices).

pub mod catalog_sync;
pub mod invoices;
pub mod notifications;
pub mod resolver;
pub mod webhooks;

use crate::service::fx::FxService;
use crate::service::gauges::Gauges;
use crate::service::health::HealthMonitor;
use crate::service::purchase::PurchaseService;
use crate::service::volume::VolumeService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Send queued async top-ups, at most `workers` at a time. Woken at once by `notify`
/// for work queued here, and by polling for work queued elsewhere. A top-up that fails
/// here (a database error, say) stays PENDING for the resolver.
pub fn spawn_queue(
    service: Arc<PurchaseService>,
    notify: Arc<Notify>,
    workers: usize,
    poll: Duration,
) -> JoinHandle<()> {
    let claimer = Arc::clone(&service);
    spawn_claim_loop(
        "queue",
        workers,
        notify,
        poll,
        move |free| {
            let service = Arc::clone(&claimer);
            async move { service.claim_queued(free.min(256)).await }
        },
        move |(txn, attempt)| {
            let service = Arc::clone(&service);
            // Every line the send logs, the upstream adapter's included, names the
            // transaction, and the request that queued it when that was on this instance.
            let origin = service.take_origin(&txn.id);
            let span =
                tracing::info_span!(parent: origin.as_ref().and_then(|o| o.id()), "queued_purchase", txn = %txn.id);
            async move {
                if let Err(e) = service.send_queued(&txn, attempt).await {
                    tracing::warn!(error = %e, "queued top-up left for the resolver");
                }
            }
            .instrument(span)
        },
    )
}

/// A queue worker: claim as many items as there are free workers (`claim`), run each
/// on its own task (`run`); with nothing claimed, wait for `notify` or `poll`.
pub(crate) fn spawn_claim_loop<T, E, C, CF, R, RF>(
    name: &'static str,
    workers: usize,
    notify: Arc<Notify>,
    poll: Duration,
    claim: C,
    run: R,
) -> JoinHandle<()>
where
    T: Send + 'static,
    E: std::fmt::Display + Send,
    C: Fn(i64) -> CF + Send + 'static,
    CF: std::future::Future<Output = Result<Vec<T>, E>> + Send,
    R: Fn(T) -> RF + Send + 'static,
    RF: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(workers.max(1)));
        loop {
            let free = permits.available_permits().max(1) as i64;
            let ready = match claim(free).await {
                Ok(ready) => ready,
                Err(e) => {
                    tracing::warn!(error = %e, "{name} claim failed");
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            if ready.is_empty() {
                let _ = tokio::time::timeout(poll, notify.notified()).await;
                continue;
            }
            for item in ready {
                let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore open");
                let work = run(item);
                tokio::spawn(async move {
                    let _permit = permit;
                    work.await;
                });
            }
        }
    })
}

/// Sweep open transactions: at once on start (recovering whatever a crash left), then
/// every `interval`.
pub fn spawn_resolver(service: Arc<PurchaseService>, interval: Duration, min_age_secs: i64) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match resolver::sweep(&service, min_age_secs).await {
                Ok(n) if n > 0 => tracing::info!(swept = n, "resolver sweep"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "resolver sweep failed"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// Every `reload`: fetch rates if due (one instance at a time), then price with the
/// newest in the database.
pub fn spawn_fx_refresh(fx: Arc<FxService>, reload: Duration, refresh: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(reload).await;
            fx.sync(refresh).await;
        }
    })
}

/// Refresh the gauges of `/metrics` every `every` (start-up sets them once first).
pub fn spawn_gauges(gauges: Arc<Gauges>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            gauges.refresh().await;
        }
    })
}

/// Roll up the closed business days for /dashboard every `every` (until the first run,
/// pages count every day live: slower, not different).
pub fn spawn_volume_rollup(volume: Arc<VolumeService>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match volume.roll_up_closed_days().await {
                Ok(n) if n > 0 => tracing::info!(days = n, "daily volume rolled up"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "daily volume roll-up failed; the pages count those days live"),
            }
        }
    })
}

/// Check the database every `database_every` and the upstreams every `upstreams_every`
/// (start-up ran the first checks), into the monitor the health endpoints read.
pub fn spawn_health(
    monitor: Arc<HealthMonitor>,
    database_every: Duration,
    upstreams_every: Duration,
) -> [JoinHandle<()>; 2] {
    let database = Arc::clone(&monitor);
    [
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(database_every).await;
                database.check_database().await;
            }
        }),
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(upstreams_every).await;
                monitor.check_upstreams().await;
            }
        }),
    ]
}
