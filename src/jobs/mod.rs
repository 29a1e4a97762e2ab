//! Background workers: the async top-up queue, the resolver, and FX refresh.

use crate::service::fx::FxService;
use crate::service::purchase::PurchaseService;
use crate::service::resolver;
use crate::store::jobs;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

/// A claimed job may run this long before another worker may take it over.
const LEASE_SECS: i64 = 120;

/// Process queued async top-ups, at most `workers` at a time. Woken at once by
/// `notify` for work queued here, and by polling for work queued elsewhere.
pub fn spawn_queue(
    pool: PgPool,
    service: Arc<PurchaseService>,
    notify: Arc<Notify>,
    workers: usize,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(workers));
        loop {
            let free = permits.available_permits().max(1) as i64;
            let claimed = match jobs::claim(&pool, free.min(256), LEASE_SECS).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "queue claim failed");
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let _ = tokio::time::timeout(poll, notify.notified()).await;
                continue;
            }
            for job in claimed {
                let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore open");
                let (pool, service) = (pool.clone(), Arc::clone(&service));
                tokio::spawn(async move {
                    let _permit = permit;
                    run_job(&pool, &service, job).await;
                });
            }
        }
    })
}

async fn run_job(pool: &PgPool, service: &PurchaseService, job: jobs::Job) {
    let result = match (job.kind.as_str(), job.transaction_id.as_deref()) {
        (jobs::TOPUP, Some(txn)) => service.process(txn).await.map_err(|e| e.to_string()),
        (kind, _) => Err(format!("unknown job kind {kind}")),
    };
    let done = match result {
        Ok(()) => jobs::complete(pool, job.id).await,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "job failed; will retry");
            jobs::retry_later(pool, job.id, 5 * i64::from(job.tries.clamp(1, 60))).await
        }
    };
    if let Err(e) = done {
        tracing::warn!(job = job.id, error = %e, "could not record job result; its lease will expire");
    }
}

/// Sweep open transactions: at once on start (recovering whatever a crash left), then
/// every `interval`.
pub fn spawn_resolver(
    pool: PgPool,
    service: Arc<PurchaseService>,
    interval: Duration,
    min_age_secs: i64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match resolver::sweep(&service, &pool, min_age_secs).await {
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
