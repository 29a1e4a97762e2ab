//! The gauges of `/metrics`, set by a periodic job (`jobs::spawn_gauges`) so that a
//! scrape only renders what is already known: queue depths and open transactions from
//! one cheap statement, upstream floats from the health checks' latest results, rate
//! ages from the FX cache, and the pool from its own counters.

use crate::domain::clock::Clock;
use crate::service::fx::FxService;
use crate::service::health::HealthMonitor;
use crate::store;
use crate::telemetry::series;
use metrics::gauge;
use rust_decimal::prelude::ToPrimitive;
use sqlx::PgPool;
use std::sync::Arc;

pub struct Gauges {
    pool: PgPool,
    health: Arc<HealthMonitor>,
    fx: Arc<FxService>,
    clock: Arc<dyn Clock>,
}

impl Gauges {
    pub fn new(pool: PgPool, health: Arc<HealthMonitor>, fx: Arc<FxService>, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            health,
            fx,
            clock,
        }
    }

    pub async fn refresh(&self) {
        match store::backlog::read(&self.pool).await {
            Ok(b) => {
                for (status, count) in [
                    ("PENDING", b.pending),
                    ("PROCESSING", b.processing),
                    ("REVIEW", b.review),
                ] {
                    gauge!(series::TRANSACTIONS_OPEN, "status" => status).set(count as f64);
                }
                for (queue, depth) in [
                    ("purchases", b.queued_purchases),
                    ("notifications", b.queued_notifications),
                    ("webhook_events", b.undispatched_events),
                    ("webhook_deliveries", b.pending_deliveries),
                ] {
                    gauge!(series::QUEUE_DEPTH, "queue" => queue).set(depth as f64);
                }
            }
            // The last values stay; the database's own health shows in /health.
            Err(e) => tracing::warn!(error = %e, "metrics: backlog not read"),
        }
        gauge!(series::DB_POOL_SIZE).set(self.pool.size() as f64);
        gauge!(series::DB_POOL_IDLE).set(self.pool.num_idle() as f64);
        gauge!(series::DB_POOL_MAX).set(self.pool.options().get_max_connections() as f64);

        let snapshot = self.health.snapshot();
        for upstream in snapshot.upstreams.iter().flat_map(|u| u.value.iter()) {
            let id = upstream.upstream.clone();
            gauge!(series::UPSTREAM_UP, "upstream" => id.clone()).set(if upstream.up { 1.0 } else { 0.0 });
            if let Some(float) = upstream.float.and_then(|f| f.to_f64()) {
                gauge!(series::UPSTREAM_FLOAT, "upstream" => id.clone()).set(float);
                gauge!(series::UPSTREAM_FLOAT_LOW, "upstream" => id).set(if upstream.float_low { 1.0 } else { 0.0 });
            }
        }

        let now = self.clock.now();
        for (rate, _) in self.fx.snapshot() {
            let age = (now - rate.as_of).num_milliseconds() as f64 / 1000.0;
            gauge!(series::FX_RATE_AGE, "currency" => rate.currency).set(age);
        }

        // The exporter's own housekeeping (histogram windows), off the scrape path too.
        if let Some(recorder) = series::recorder() {
            recorder.run_upkeep();
        }
    }
}
