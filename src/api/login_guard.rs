//! Failed distributor logins are limited per (customer, client address) and per client
//! address: each failure spends from a governor bucket; an empty bucket blocks further
//! attempts from that address (successful ones included) until it refills. Never per
//! customer alone: whoever knows a customer id could then keep its logins blocked.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginGuard {
    per_customer: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<String, Instant>>,
}

fn quota(per_15_minutes: u32) -> Quota {
    let n = NonZeroU32::new(per_15_minutes.max(1)).expect("non-zero");
    Quota::with_period(Duration::from_secs(15 * 60) / n.get())
        .expect("non-zero period")
        .allow_burst(n)
}

impl LoginGuard {
    pub fn new(failures_per_customer: u32, failures_per_address: u32) -> Self {
        Self {
            per_customer: RateLimiter::keyed(quota(failures_per_customer)),
            per_address: RateLimiter::keyed(quota(failures_per_address)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Ok, or how long until this customer may try again from this address.
    pub fn check(&self, customer: &str, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let blocked = self.blocked.lock().expect("login guard");
        let wait = [format!("c:{customer}@{addr}"), format!("a:{addr}")]
            .iter()
            .filter_map(|k| blocked.get(k))
            .filter(|until| **until > now)
            .map(|until| *until - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, customer: &str, addr: IpAddr) {
        let now = DefaultClock::default().now();
        let mut blocked = self.blocked.lock().expect("login guard");
        if let Err(not_until) = self.per_customer.check_key(&(customer.to_string(), addr)) {
            blocked.insert(
                format!("c:{customer}@{addr}"),
                Instant::now() + not_until.wait_time_from(now),
            );
        }
        if let Err(not_until) = self.per_address.check_key(&addr) {
            blocked.insert(format!("a:{addr}"), Instant::now() + not_until.wait_time_from(now));
        }
        blocked.retain(|_, until| *until > Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_allowed_failures() {
        let guard = LoginGuard::new(3, 100);
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(guard.check("A", addr).is_ok());
            guard.record_failure("A", addr);
        }
        assert!(guard.check("A", addr).is_ok(), "three failures are allowed");
        guard.record_failure("A", addr);
        assert!(guard.check("A", addr).is_err());
        assert!(guard.check("B", addr).is_ok(), "other customers are unaffected");
        let elsewhere: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(
            guard.check("A", elsewhere).is_ok(),
            "the customer elsewhere is unaffected"
        );
    }
}
