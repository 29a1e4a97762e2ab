//! Outcomes chosen by the number, the same for every simulator (like DT One's test
//! numbers), so an integrator can drive each path of their own code without special
//! amounts. A number whose last four digits are `77OD` is a scenario number: `O` picks
//! the outcome, `D` the delay in seconds before the first answer (and, for pending
//! outcomes, before the order settles). Every other number keeps its simulator's own
//! behaviour. The README tables the digits.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `0`: delivered, answered at once (after the delay).
    Success,
    /// `1`: a definite failure; the purchase is refunded.
    Failure,
    /// `2`: accepted as pending; settles as delivered after the delay.
    PendingThenSuccess,
    /// `3`: accepted as pending; settles as failed after the delay.
    PendingThenFailure,
    /// `4`: delivered, but the answer is a server error (an unknown outcome);
    /// an enquiry finds it delivered.
    UnknownThenSuccess,
    /// `5`: no answer within any client's timeout (the simulator holds the request
    /// for `TIMEOUT_HOLD`); nothing is delivered, and an enquiry finds it failed.
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub scenario: Scenario,
    pub delay: Duration,
}

/// How long a `Timeout` number keeps the request open: past every upstream timeout
/// the gateway configures.
pub const TIMEOUT_HOLD: Duration = Duration::from_secs(120);

const MARKER: &str = "77";

/// The scenario a number asks for, if it is a scenario number (any formatting: only
/// its digits count).
pub fn for_number(number: &str) -> Option<Planned> {
    let digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).collect();
    let [.., m1, m2, outcome, delay] = digits[..] else {
        return None;
    };
    if [m1, m2] != MARKER.as_bytes() {
        return None;
    }
    let scenario = match outcome {
        b'0' => Scenario::Success,
        b'1' => Scenario::Failure,
        b'2' => Scenario::PendingThenSuccess,
        b'3' => Scenario::PendingThenFailure,
        b'4' => Scenario::UnknownThenSuccess,
        b'5' => Scenario::Timeout,
        _ => return None,
    };
    Some(Planned {
        scenario,
        delay: Duration::from_secs(u64::from(delay - b'0')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_four_digits_choose_outcome_and_delay() {
        let p = for_number("+27 82 123 7733").unwrap();
        assert_eq!(p.scenario, Scenario::PendingThenFailure);
        assert_eq!(p.delay, Duration::from_secs(3));
        assert_eq!(for_number("5512347700").unwrap().scenario, Scenario::Success);
        assert_eq!(for_number("0241237759").unwrap().scenario, Scenario::Timeout);
        assert_eq!(for_number("0241237759").unwrap().delay, Duration::from_secs(9));
    }

    #[test]
    fn other_numbers_are_not_scenarios() {
        assert_eq!(for_number("5500000001"), None);
        assert_eq!(for_number("5512347760"), None, "outcome digit 6 is not defined");
        assert_eq!(for_number("5512347810"), None);
        assert_eq!(for_number("771"), None);
    }
}
