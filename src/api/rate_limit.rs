//! Request rate limits per customer, with per-customer overrides: in Postgres (the
//! default) or Redis, shared by every instance, or in this process (governor) for a
//! single instance.

use crate::store::limits::{Allowance, CellError, Cells};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Top-up requests: N per minute.
    Topup,
    /// Other API routes: N per 15 minutes.
    Api,
}

/// Why a request may not go on.
pub enum Limited {
    /// Over the limit: try again after this long.
    Wait(Duration),
    /// The shared limits could not be read: nothing is let through unmetered.
    Store(CellError),
}

/// A customer's in-process bucket, with the quota it was made for.
type Bucket = (u32, Arc<DefaultDirectRateLimiter>);

/// Where the allowances are kept.
pub enum LimitStore {
    Shared(Cells),
    /// One instance only: several would each allow the whole limit.
    InProcess(Mutex<HashMap<(LimitKind, String), Bucket>>),
}

impl LimitStore {
    pub fn in_process() -> Self {
        Self::InProcess(Mutex::new(HashMap::new()))
    }
}

pub struct RateLimits {
    topup_per_minute: u32,
    api_per_15_minutes: u32,
    store: LimitStore,
}

impl RateLimits {
    pub fn new(topup_per_minute: u32, api_per_15_minutes: u32, store: LimitStore) -> Self {
        Self {
            topup_per_minute,
            api_per_15_minutes,
            store,
        }
    }

    /// Ok, or why not. `override_per_period` is the customer's own setting.
    pub async fn check(
        &self,
        kind: LimitKind,
        customer: &str,
        override_per_period: Option<i32>,
    ) -> Result<(), Limited> {
        let (default, period, name) = match kind {
            LimitKind::Topup => (self.topup_per_minute, Duration::from_secs(60), "topup"),
            LimitKind::Api => (self.api_per_15_minutes, Duration::from_secs(15 * 60), "api"),
        };
        let per_period = override_per_period
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default);
        let Some(n) = NonZeroU32::new(per_period) else {
            return Err(Limited::Wait(period));
        };
        match &self.store {
            LimitStore::Shared(cells) => {
                let key = format!("{name}:{customer}");
                match cells.spend(&key, Allowance::per(n.get(), period)).await {
                    Ok(None) => Ok(()),
                    Ok(Some(wait)) => Err(Limited::Wait(wait)),
                    Err(e) => Err(Limited::Store(e)),
                }
            }
            LimitStore::InProcess(buckets) => {
                let limiter = {
                    let mut map = buckets.lock().expect("rate limiters");
                    let entry = map
                        .entry((kind, customer.to_string()))
                        .or_insert_with(|| (n.get(), limiter(n, period)));
                    // A changed override takes effect with a fresh bucket.
                    if entry.0 != n.get() {
                        *entry = (n.get(), limiter(n, period));
                    }
                    entry.1.clone()
                };
                limiter
                    .check()
                    .map_err(|not_until| Limited::Wait(not_until.wait_time_from(DefaultClock::default().now())))
            }
        }
    }
}

fn limiter(n: NonZeroU32, period: Duration) -> Arc<DefaultDirectRateLimiter> {
    let quota = Quota::with_period(period / n.get())
        .expect("non-zero period")
        .allow_burst(n);
    Arc::new(RateLimiter::direct(quota))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_allows_burst_then_refuses_with_a_wait() {
        let limits = RateLimits::new(3, 300, LimitStore::in_process());
        for _ in 0..3 {
            assert!(limits.check(LimitKind::Topup, "A", None).await.is_ok());
        }
        let Err(Limited::Wait(wait)) = limits.check(LimitKind::Topup, "A", None).await else {
            panic!("the fourth is refused");
        };
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        // Customers do not share buckets; overrides apply.
        assert!(limits.check(LimitKind::Topup, "B", None).await.is_ok());
        assert!(limits.check(LimitKind::Topup, "C", Some(0)).await.is_err());
    }
}
