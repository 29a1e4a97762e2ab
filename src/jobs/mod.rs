//! Background workers: the async top-up queue, the resolver, FX refresh, the
//! upstream catalogue sync and the health checks.

pub mod catalog_sync;
pub mod resolver;

use crate::service::fx::FxService;
use crate::service::health::HealthMonitor;
use crate::service::purchase::PurchaseService;
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
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(workers));
        loop {
            let free = permits.available_permits().max(1) as i64;
            let ready = match service.claim_queued(free.min(256)).await {
                Ok(ready) => ready,
                Err(e) => {
                    tracing::warn!(error = %e, "queue claim failed");
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            if ready.is_empty() {
                let _ = tokio::time::timeout(poll, notify.notified()).await;
                continue;
            }
            for (txn, attempt) in ready {
                let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore open");
                let service = Arc::clone(&service);
                // Every line the send logs, the upstream adapter's included, names the transaction.
                let span = tracing::info_span!("queued_purchase", txn = %txn.id);
                tokio::spawn(
                    async move {
                        let _permit = permit;
                        if let Err(e) = service.send_queued(&txn, attempt).await {
                            tracing::warn!(error = %e, "queued top-up left for the resolver");
                        }
                    }
                    .instrument(span),
                );
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

pub fn spawn_fx_refresh(fx: Arc<FxService>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            fx.refresh().await;
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
