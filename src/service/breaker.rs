//! A circuit breaker per upstream: after `threshold` consecutive failures of the
//! upstream itself (it could not take the request, or gave no answer: a timeout, a 5xx)
//! it opens, and purchases skip it (failing over, or failing fast and refunded) instead
//! of each waiting for its timeout. After `open_for` one request is let through as a
//! probe (half-open): an answer closes it, a failure opens it again. A business decline
//! (a bad number, say) is the upstream working, and counts as an answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Circuit {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

pub struct Breakers {
    threshold: u32,
    open_for: Duration,
    circuits: Mutex<HashMap<String, Circuit>>,
}

impl Breakers {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            circuits: Mutex::default(),
        }
    }

    /// Whether a request may go to `upstream` now (closed, or the half-open probe).
    pub fn admit(&self, upstream: &str) -> bool {
        let mut circuits = self.circuits.lock().expect("breakers");
        let circuit = circuits.entry(upstream.to_string()).or_default();
        match circuit.open_until {
            None => true,
            Some(until) if Instant::now() < until || circuit.probing => false,
            Some(_) => {
                circuit.probing = true;
                tracing::info!(upstream, "circuit half-open: sending one probe");
                true
            }
        }
    }

    /// Whether `upstream` is being skipped (open, or half-open with its probe out).
    pub fn is_open(&self, upstream: &str) -> bool {
        let circuits = self.circuits.lock().expect("breakers");
        circuits.get(upstream).is_some_and(|c| c.open_until.is_some())
    }

    pub fn answered(&self, upstream: &str) {
        let mut circuits = self.circuits.lock().expect("breakers");
        let circuit = circuits.entry(upstream.to_string()).or_default();
        if circuit.open_until.is_some() {
            tracing::info!(upstream, "circuit closed: the upstream answers again");
        }
        *circuit = Circuit::default();
    }

    pub fn failed(&self, upstream: &str) {
        let mut circuits = self.circuits.lock().expect("breakers");
        let circuit = circuits.entry(upstream.to_string()).or_default();
        circuit.consecutive_failures += 1;
        if circuit.probing || circuit.consecutive_failures >= self.threshold {
            tracing::warn!(
                upstream,
                failures = circuit.consecutive_failures,
                open_for_secs = self.open_for.as_secs(),
                "circuit open: the upstream is skipped"
            );
            circuit.open_until = Some(Instant::now() + self.open_for);
            circuit.probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_once_when_half_open() {
        let b = Breakers::new(2, Duration::from_millis(50));
        b.failed("x");
        b.answered("x");
        b.failed("x");
        assert!(b.admit("x"), "an answer in between resets the count");
        b.failed("x");
        assert!(b.is_open("x") && !b.admit("x"));
        assert!(b.admit("y"), "per upstream");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.admit("x"), "the probe");
        assert!(!b.admit("x"), "one probe at a time");
        b.failed("x");
        assert!(!b.admit("x"), "a failed probe opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.admit("x"));
        b.answered("x");
        assert!(!b.is_open("x") && b.admit("x") && b.admit("x"));
    }
}
