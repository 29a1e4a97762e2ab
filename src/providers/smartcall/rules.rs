//! The one ordered table that turns a synchronous Smartcall recharge answer into an
//! [`Outcome`] (DESIGN.md "Smartcall codes"): the retry and failover policy as data.

use super::wire::RechargeResponse;
use crate::domain::provider::Outcome;

impl RechargeResponse {
    /// Apply [`RECHARGE_RULES`].
    pub fn verdict(&self) -> Verdict {
        let code = self.error_code();
        let rule = rule_for(self.status_code, code, self.has_error());
        let upstream_id = self.recharge.as_ref().and_then(|r| r.order_reference_id.clone());
        let text = self.error_text();
        let code_text = code.or(self.status_code).map(|c| c.to_string());
        let outcome = match rule.class {
            Class::Success => Outcome::Success {
                upstream_id,
                message: self.status_message.clone(),
            },
            Class::Failed { retryable } => Outcome::Failed {
                retryable,
                code: code_text,
                message: rule
                    .message
                    .map(str::to_string)
                    .or(text)
                    .unwrap_or_else(|| format!("Smartcall: {}", rule.why)),
            },
            Class::Pending => Outcome::Pending { upstream_id },
            Class::Unknown => Outcome::Unknown {
                reason: match text {
                    Some(t) => format!("Smartcall: {}: {t}", rule.why),
                    None => format!("Smartcall: {}", rule.why),
                },
            },
        };
        Verdict {
            outcome,
            float_alarm: rule.float_alarm,
        }
    }
}

/// What the adapter does with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Our float with Smartcall is exhausted (error 15): page someone.
    pub float_alarm: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    Failed {
        retryable: bool,
    },
    /// Accepted and with the network; the enquiry will settle it.
    Pending,
    /// A request with this reference may have been delivered; the enquiry will tell.
    Unknown,
}

/// A column of the table. For statusCode, `Present` means any statusCode; for the error
/// column it means an error object (or top-level code) is there, with or without a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Any,
    Absent,
    Present,
    Is(i64),
}

impl Match {
    fn matches(self, value: Option<i64>, present: bool) -> bool {
        match self {
            Match::Any => true,
            Match::Absent => !present,
            Match::Present => present,
            Match::Is(n) => value == Some(n),
        }
    }
}

/// One row of the table: (statusCode, error code) → what it means for money.
#[derive(Debug)]
pub struct Rule {
    pub status: Match,
    pub code: Match,
    pub class: Class,
    /// Replaces Smartcall's text where the reseller should see ours.
    pub message: Option<&'static str>,
    pub float_alarm: bool,
    pub why: &'static str,
}

const fn rule(status: Match, code: Match, class: Class, why: &'static str) -> Rule {
    Rule {
        status,
        code,
        class,
        message: None,
        float_alarm: false,
        why,
    }
}

use Class::{Failed, Pending, Success, Unknown};
use Match::{Absent, Any, Is, Present};

/// DESIGN.md "Smartcall codes", first match wins, the not-yet-known class first so that
/// no later row can turn "maybe delivered" into a refund.
pub const RECHARGE_RULES: &[Rule] = &[
    // Seed Table 3 calls 1001 a failure; we do not: a request with our reference exists,
    // so whatever it did is what happened (DESIGN.md overrides the seed here).
    rule(
        Any,
        Is(1001),
        Unknown,
        "duplicate clientReference: the original request exists",
    ),
    rule(Any, Is(1002), Pending, "recharge still being processed"),
    rule(Any, Is(1004), Unknown, "recharge response timed out"),
    rule(Any, Is(1006), Unknown, "recharge timed out"),
    rule(Is(3), Any, Pending, "network pending"),
    Rule {
        message: Some("provider temporarily unavailable"),
        float_alarm: true,
        ..rule(
            Any,
            Is(15),
            Failed { retryable: true },
            "insufficient funds in our Smartload wallet",
        )
    },
    Rule {
        message: Some(
            "a top-up of the same amount to this number was made in the last 5 minutes; \
             Smartcall refuses repeats within 5 minutes",
        ),
        ..rule(
            Any,
            Is(16),
            Failed { retryable: false },
            "same number and amount within 5 minutes",
        )
    },
    rule(Is(0), Absent, Success, "recharged"),
    // Retrying a system error is allowed by the seed, but only with a new reference and
    // it would hit the 5-minute same-number-and-amount rule: not automatic.
    rule(Is(1), Any, Failed { retryable: false }, "system error, recharge failed"),
    rule(
        Is(2),
        Any,
        Failed { retryable: false },
        "business error, recharge refused",
    ),
    // No statusCode but an error code: Table 3 lists every remaining code as a failure.
    rule(Absent, Present, Failed { retryable: false }, "recharge refused"),
    // statusCode 0 with an error, an unheard-of statusCode, or an empty body.
    rule(Any, Any, Unknown, "answer is neither success nor failure"),
];

/// The first matching rule; `has_error` is true when an error object or a top-level
/// code came back (an error without a code still rules out success).
pub fn rule_for(status: Option<i64>, code: Option<i64>, has_error: bool) -> &'static Rule {
    RECHARGE_RULES
        .iter()
        .find(|r| r.status.matches(status, status.is_some()) && r.code.matches(code, has_error))
        .expect("the last rule matches everything")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::smartcall::wire::balance_in_message;
    use rust_decimal_macros::dec;

    fn verdict(body: &str) -> Verdict {
        serde_json::from_str::<RechargeResponse>(body).unwrap().verdict()
    }

    #[test]
    fn table_success_and_definite_failures() {
        let ok = verdict(
            r#"{"error":null,"statusCode":0,"statusMessage":"Recharge completed","recharge":
                {"balance":99574.75,"orderReferenceId":130078272}}"#,
        );
        assert_eq!(
            ok.outcome,
            Outcome::Success {
                upstream_id: Some("130078272".into()),
                message: Some("Recharge completed".into())
            }
        );
        for (status, code) in [(1, 2), (2, 1003), (2, 9)] {
            let v = verdict(&format!(
                r#"{{"statusCode":{status},"error":{{"code":{code},"message":"m"}}}}"#
            ));
            assert!(
                matches!(v.outcome, Outcome::Failed { retryable: false, .. }),
                "{status}/{code}"
            );
        }
        // The recorded v1 convention: top-level code, no statusCode.
        let v = verdict(r#"{"code":6,"message":"Invalid recharge Cell No provided"}"#);
        assert_eq!(
            v.outcome,
            Outcome::Failed {
                retryable: false,
                code: Some("6".into()),
                message: "Invalid recharge Cell No provided".into()
            }
        );
    }

    #[test]
    fn table_insufficient_funds_and_five_minute_rule() {
        let v = verdict(
            r#"{"statusCode":2,"error":{"code":15,"message":"Insufficient funds in the SmartLoad wallet - Current balance: R12.50"}}"#,
        );
        assert!(v.float_alarm);
        assert_eq!(
            v.outcome,
            Outcome::Failed {
                retryable: true,
                code: Some("15".into()),
                message: "provider temporarily unavailable".into()
            }
        );
        let v = verdict(
            r#"{"code":16,"message":"A trx with the same Cell no + amount was done in the last 5 minutes. Please retry in 5 min if valid."}"#,
        );
        assert!(
            matches!(v.outcome, Outcome::Failed { retryable: false, ref message, .. } if message.contains("5 minutes"))
        );
        assert_eq!(
            balance_in_message("Insufficient funds in the SmartLoad wallet - Current balance: R1,012.50."),
            Some(dec!(1012.50))
        );
    }

    #[test]
    fn table_pending_class_comes_first() {
        // A duplicate reference is never a refund, whatever the statusCode says.
        for body in [
            r#"{"statusCode":2,"error":{"code":1001,"message":"Duplicate recharge"}}"#,
            r#"{"statusCode":1,"error":{"code":1004,"message":"timed out"}}"#,
            r#"{"statusCode":1,"error":{"code":1006,"message":"timeout"}}"#,
            r#"{"statusCode":0,"error":{"code":2,"message":"contradiction"}}"#,
            r#"{"statusCode":7}"#,
            r#"{}"#,
        ] {
            let v = verdict(body);
            assert!(matches!(v.outcome, Outcome::Unknown { .. }), "{body}: {v:?}");
        }
        for body in [
            r#"{"statusCode":3,"error":{"code":1002,"message":"pending"}}"#,
            r#"{"statusCode":3,"statusMessage":"busy processing"}"#,
            r#"{"statusCode":2,"error":{"code":1002,"message":"still processing"}}"#,
        ] {
            assert!(matches!(verdict(body).outcome, Outcome::Pending { .. }), "{body}");
        }
    }
}
