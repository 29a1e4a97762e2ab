//! Request rate limits (governor), per customer, with per-customer overrides.

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

/// A customer's bucket, with the quota it was made for.
type Bucket = (u32, Arc<DefaultDirectRateLimiter>);

pub struct RateLimits {
    topup_per_minute: u32,
    api_per_15_minutes: u32,
    limiters: Mutex<HashMap<(LimitKind, String), Bucket>>,
}

impl RateLimits {
    pub fn new(topup_per_minute: u32, api_per_15_minutes: u32) -> Self {
        Self {
            topup_per_minute,
            api_per_15_minutes,
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// Ok, or how long to wait. `override_per_period` is the customer's own setting.
    pub fn check(&self, kind: LimitKind, customer: &str, override_per_period: Option<i32>) -> Result<(), Duration> {
        let (default, period) = match kind {
            LimitKind::Topup => (self.topup_per_minute, Duration::from_secs(60)),
            LimitKind::Api => (self.api_per_15_minutes, Duration::from_secs(15 * 60)),
        };
        let per_period = override_per_period
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default);
        let Some(n) = NonZeroU32::new(per_period) else {
            return Err(period);
        };
        let limiter = {
            let mut map = self.limiters.lock().expect("rate limiters");
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
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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

    #[test]
    fn allows_burst_then_refuses_with_a_wait() {
        let limits = RateLimits::new(3, 300);
        for _ in 0..3 {
            assert!(limits.check(LimitKind::Topup, "A", None).is_ok());
        }
        let wait = limits.check(LimitKind::Topup, "A", None).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        // Customers do not share buckets; overrides apply.
        assert!(limits.check(LimitKind::Topup, "B", None).is_ok());
        assert!(limits.check(LimitKind::Topup, "C", Some(0)).is_err());
    }
}
