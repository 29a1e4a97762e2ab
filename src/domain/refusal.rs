//! Why a purchase is refused with nothing moved: the business rules the debit checks.
//! Declared once; the store detects them, the service and the APIs report them.

use rust_decimal::Decimal;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The balance does not cover the charge (`required_usd`, priced at `rate` for
    /// `requested` in the product's currency).
    #[error("insufficient balance")]
    InsufficientBalance {
        balance: Decimal,
        required_usd: Decimal,
        rate: Decimal,
        requested: Decimal,
    },
    /// The number's daily limit (in local currency) would be exceeded.
    #[error("daily limit exceeded")]
    DailyLimit {
        used: Decimal,
        limit: Decimal,
        requested: Decimal,
    },
    #[error("reference already used for a different request")]
    ReferenceConflict,
    #[error("customer is not active")]
    CustomerInactive,
}
