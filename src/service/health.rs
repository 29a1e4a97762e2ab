//! What the health endpoints answer, kept by background checks (`jobs::spawn_health`)
//! so that no request ever waits on the database or an upstream: `/health` is
//! unauthenticated, and an upstream that is down answers only after its timeout.

use crate::domain::provider::ProviderHealth;
use crate::service::purchase::PurchaseService;
use crate::store;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::sync::{Arc, RwLock};

/// The latest results of the checks; `None` until a check has run.
#[derive(Clone, Default)]
pub struct HealthSnapshot {
    pub database: Option<Checked<bool>>,
    pub upstreams: Option<Checked<Vec<ProviderHealth>>>,
    /// Upstreams purchases are skipping now (their circuit breaker is open).
    pub circuits_open: Vec<String>,
}

#[derive(Clone)]
pub struct Checked<T> {
    pub value: T,
    pub at: DateTime<Utc>,
}

impl HealthSnapshot {
    pub fn database_ok(&self) -> bool {
        self.database.as_ref().is_some_and(|d| d.value)
    }

    /// The upstreams that answered their last check and whose circuit is not open.
    pub fn usable_upstreams(&self) -> Vec<&str> {
        self.upstreams
            .iter()
            .flat_map(|u| u.value.iter())
            .filter(|u| u.up && !self.circuits_open.contains(&u.upstream))
            .map(|u| u.upstream.as_str())
            .collect()
    }

    /// Ready to serve purchases: the database reachable and an upstream usable; else why not.
    pub fn not_ready_because(&self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        match &self.database {
            None => reasons.push("database not checked yet"),
            Some(d) if !d.value => reasons.push("database unreachable"),
            Some(_) => {}
        }
        match &self.upstreams {
            None => reasons.push("upstreams not checked yet"),
            Some(_) if self.usable_upstreams().is_empty() => reasons.push("no upstream usable"),
            Some(_) => {}
        }
        reasons
    }
}

pub struct HealthMonitor {
    pool: PgPool,
    purchases: Arc<PurchaseService>,
    snapshot: RwLock<HealthSnapshot>,
}

impl HealthMonitor {
    pub fn new(pool: PgPool, purchases: Arc<PurchaseService>) -> Self {
        Self {
            pool,
            purchases,
            snapshot: RwLock::default(),
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let mut snapshot = self.snapshot.read().expect("health snapshot lock").clone();
        snapshot.circuits_open = snapshot
            .upstreams
            .iter()
            .flat_map(|u| u.value.iter())
            .filter(|u| self.purchases.circuit_open(&u.upstream))
            .map(|u| u.upstream.clone())
            .collect();
        snapshot
    }

    pub async fn check_database(&self) {
        let ok = store::ping(&self.pool).await;
        if let Err(e) = &ok {
            tracing::warn!(error = %e, "health check: database unreachable");
        }
        self.snapshot.write().expect("health snapshot lock").database = Some(Checked {
            value: ok.is_ok(),
            at: Utc::now(),
        });
    }

    pub async fn check_upstreams(&self) {
        let upstreams = self.purchases.upstream_health().await;
        for down in upstreams.iter().filter(|u| !u.up) {
            tracing::warn!(upstream = %down.upstream, detail = ?down.detail, "health check: upstream down");
        }
        self.snapshot.write().expect("health snapshot lock").upstreams = Some(Checked {
            value: upstreams,
            at: Utc::now(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(id: &str, up: bool) -> ProviderHealth {
        ProviderHealth {
            upstream: id.into(),
            up,
            detail: None,
            float: None,
            float_low: false,
        }
    }

    fn checked<T>(value: T) -> Option<Checked<T>> {
        Some(Checked { value, at: Utc::now() })
    }

    #[test]
    fn ready_needs_the_database_and_one_usable_upstream() {
        assert_eq!(
            HealthSnapshot::default().not_ready_because(),
            ["database not checked yet", "upstreams not checked yet"]
        );
        let mut s = HealthSnapshot {
            database: checked(true),
            upstreams: checked(vec![upstream("latcom", false), upstream("smartcall", true)]),
            circuits_open: vec![],
        };
        assert!(s.not_ready_because().is_empty());
        assert_eq!(s.usable_upstreams(), ["smartcall"]);
        s.circuits_open = vec!["smartcall".into()];
        assert_eq!(s.not_ready_because(), ["no upstream usable"]);
        s.circuits_open.clear();
        s.upstreams = checked(vec![upstream("latcom", false), upstream("smartcall", false)]);
        assert_eq!(s.not_ready_because(), ["no upstream usable"]);
        s.database = checked(false);
        assert_eq!(s.not_ready_because(), ["database unreachable", "no upstream usable"]);
    }
}
