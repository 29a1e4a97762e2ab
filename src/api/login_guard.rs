//! Failed distributor logins are limited per (customer, client address) and per client
//! address: each failure spends from an allowance; once one is spent, further attempts
//! from that address (successful ones included) are refused until it refills. Never per
//! customer alone: whoever knows a customer id could then keep its logins blocked. The
//! allowances live in Postgres or Redis, shared by every instance, or in this process
//! for a single instance.

use super::rate_limit::Limited;
use crate::store::limits::{Allowance, Cells};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);

pub struct LoginGuard {
    failures_per_customer: u32,
    failures_per_address: u32,
    store: GuardStore,
}

enum GuardStore {
    Shared(Cells),
    InProcess(Box<Buckets>),
}

struct Buckets {
    per_customer: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<String, Instant>>,
}

fn quota(per_15_minutes: u32) -> Quota {
    let n = NonZeroU32::new(per_15_minutes.max(1)).expect("non-zero");
    Quota::with_period(WINDOW / n.get())
        .expect("non-zero period")
        .allow_burst(n)
}

/// `n` failures pass; the next one is refused and blocks. As a GCRA allowance: one more
/// than `n` at once, so the cell refuses exactly when the in-process bucket would.
fn allowance(failures: u32) -> Allowance {
    let n = failures.max(1);
    Allowance {
        interval: WINDOW / n,
        burst: n + 1,
    }
}

impl LoginGuard {
    /// Shared by every instance through `cells`.
    pub fn shared(cells: Cells, failures_per_customer: u32, failures_per_address: u32) -> Self {
        Self {
            failures_per_customer,
            failures_per_address,
            store: GuardStore::Shared(cells),
        }
    }

    /// For a single instance.
    pub fn in_process(failures_per_customer: u32, failures_per_address: u32) -> Self {
        Self {
            failures_per_customer,
            failures_per_address,
            store: GuardStore::InProcess(Box::new(Buckets {
                per_customer: RateLimiter::keyed(quota(failures_per_customer)),
                per_address: RateLimiter::keyed(quota(failures_per_address)),
                blocked: Mutex::new(HashMap::new()),
            })),
        }
    }

    fn keys(&self, customer: &str, addr: IpAddr) -> [(String, Allowance); 2] {
        [
            (
                format!("login:c:{customer}@{addr}"),
                allowance(self.failures_per_customer),
            ),
            (format!("login:a:{addr}"), allowance(self.failures_per_address)),
        ]
    }

    /// Ok, or how long until this customer may try again from this address.
    pub async fn check(&self, customer: &str, addr: IpAddr) -> Result<(), Limited> {
        let wait = match &self.store {
            GuardStore::Shared(cells) => {
                let mut longest = None;
                for (key, allowance) in self.keys(customer, addr) {
                    let wait = cells.wait(&key, allowance).await.map_err(Limited::Store)?;
                    longest = longest.max(wait);
                }
                longest
            }
            GuardStore::InProcess(buckets) => {
                let now = Instant::now();
                let blocked = buckets.blocked.lock().expect("login guard");
                self.keys(customer, addr)
                    .iter()
                    .filter_map(|(k, _)| blocked.get(k))
                    .filter(|until| **until > now)
                    .map(|until| *until - now)
                    .max()
            }
        };
        wait.map_or(Ok(()), |w| Err(Limited::Wait(w)))
    }

    pub async fn record_failure(&self, customer: &str, addr: IpAddr) {
        match &self.store {
            GuardStore::Shared(cells) => {
                for (key, allowance) in self.keys(customer, addr) {
                    if let Err(e) = cells.spend(&key, allowance).await {
                        tracing::warn!(error = %e, "a failed login could not be counted");
                    }
                }
            }
            GuardStore::InProcess(buckets) => {
                let now = DefaultClock::default().now();
                let [(customer_key, _), (address_key, _)] = self.keys(customer, addr);
                let mut blocked = buckets.blocked.lock().expect("login guard");
                if let Err(not_until) = buckets.per_customer.check_key(&(customer.to_string(), addr)) {
                    blocked.insert(customer_key, Instant::now() + not_until.wait_time_from(now));
                }
                if let Err(not_until) = buckets.per_address.check_key(&addr) {
                    blocked.insert(address_key, Instant::now() + not_until.wait_time_from(now));
                }
                blocked.retain(|_, until| *until > Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_after_the_allowed_failures() {
        let guard = LoginGuard::in_process(3, 100);
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(guard.check("A", addr).await.is_ok());
            guard.record_failure("A", addr).await;
        }
        assert!(guard.check("A", addr).await.is_ok(), "three failures are allowed");
        guard.record_failure("A", addr).await;
        assert!(guard.check("A", addr).await.is_err());
        assert!(guard.check("B", addr).await.is_ok(), "other customers are unaffected");
        let elsewhere: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(
            guard.check("A", elsewhere).await.is_ok(),
            "the customer elsewhere is unaffected"
        );
    }
}
