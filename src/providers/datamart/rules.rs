//! DataMart's documented error codes (providers.md §2A), each mapped to what it means
//! for the money: one table, data rather than branches.

use crate::domain::provider::Outcome;

/// What an error code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The request was refused and nothing was bought; no other route would do better.
    Refused,
    /// Nothing was bought, and another route (or a later try) may deliver.
    RefusedRetryable,
    /// Our prepaid float with DataMart is too low: our alarm, not the reseller's
    /// problem; nothing was bought, the purchase is refunded.
    FloatExhausted,
    /// A request with this reference exists: look it up, never fail it.
    LookUp,
    /// DataMart may have acted on it: keep the funds held and enquire.
    Unknown,
}

/// Code → meaning. An undocumented code is `Unknown`: never read as a refusal.
pub const ERROR_RULES: &[(&str, Meaning)] = &[
    ("MISSING_CAPACITY", Meaning::Refused),
    ("MISSING_PRODUCT_NAME", Meaning::Refused),
    ("MISSING_BENEFICIARY", Meaning::Refused),
    ("INVALID_PHONE_NUMBER", Meaning::Refused),
    ("INVALID_CAPACITY_FORMAT", Meaning::Refused),
    // HEAD forwards the order synchronously and, when its provider fails, refunds the
    // wallet before answering: a definite failure.
    ("PROVIDER_ERROR", Meaning::Refused),
    // The product or capacity is not sold (now): another route may sell it.
    ("PRODUCT_NOT_FOUND", Meaning::RefusedRetryable),
    ("CAPACITY_NOT_AVAILABLE", Meaning::RefusedRetryable),
    ("PRICING_UNAVAILABLE", Meaning::RefusedRetryable),
    ("ENDPOINT_NOT_FOUND", Meaning::RefusedRetryable),
    ("INSUFFICIENT_BALANCE", Meaning::FloatExhausted),
    ("DUPLICATE_REFERENCE", Meaning::LookUp),
    ("PROCESSING_ERROR", Meaning::Unknown),
];

pub fn meaning(code: &str) -> Meaning {
    ERROR_RULES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(Meaning::Unknown, |(_, m)| *m)
}

/// What the reseller is told when DataMart cannot take orders from us (our float is out,
/// our credentials or rate are refused): not DataMart's words about our wallet.
pub const UNAVAILABLE: &str = "provider temporarily unavailable";

/// The outcome of an error answer to a purchase.
pub fn outcome(code: &str, message: &str) -> Outcome {
    let failed = |retryable: bool, message: &str| Outcome::Failed {
        retryable,
        code: Some(code.to_string()),
        message: message.to_string(),
    };
    match meaning(code) {
        Meaning::Refused => failed(false, message),
        Meaning::RefusedRetryable => failed(true, message),
        Meaning::FloatExhausted => failed(true, UNAVAILABLE),
        Meaning::LookUp => Outcome::Unknown {
            reason: format!("DataMart holds a request with this reference ({code}): looking it up"),
        },
        Meaning::Unknown => Outcome::Unknown {
            reason: format!("DataMart error {code}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_is_mapped_once() {
        let documented = [
            "MISSING_CAPACITY",
            "MISSING_PRODUCT_NAME",
            "MISSING_BENEFICIARY",
            "INVALID_PHONE_NUMBER",
            "INVALID_CAPACITY_FORMAT",
            "PRODUCT_NOT_FOUND",
            "CAPACITY_NOT_AVAILABLE",
            "PRICING_UNAVAILABLE",
            "INSUFFICIENT_BALANCE",
            "DUPLICATE_REFERENCE",
            "PROCESSING_ERROR",
            "ENDPOINT_NOT_FOUND",
            "PROVIDER_ERROR",
        ];
        for code in documented {
            assert_eq!(ERROR_RULES.iter().filter(|(c, _)| *c == code).count(), 1, "{code}");
        }
        assert_eq!(ERROR_RULES.len(), documented.len());
    }

    #[test]
    fn a_duplicate_is_looked_up_and_an_empty_float_is_ours() {
        assert!(matches!(outcome("DUPLICATE_REFERENCE", "dup"), Outcome::Unknown { .. }));
        assert_eq!(
            outcome("INSUFFICIENT_BALANCE", "Insufficient balance"),
            Outcome::Failed {
                retryable: true,
                code: Some("INSUFFICIENT_BALANCE".into()),
                message: UNAVAILABLE.into()
            }
        );
        assert!(matches!(outcome("SOMETHING_NEW", "?"), Outcome::Unknown { .. }));
        assert!(matches!(
            outcome("INVALID_PHONE_NUMBER", "Invalid MTN Ghana phone number"),
            Outcome::Failed { retryable: false, .. }
        ));
    }
}
