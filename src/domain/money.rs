//! Exact money arithmetic. USD cost rounding is half-up to the cent (never banker's).

use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// Round half-up (away from zero) to `dp` decimal places.
pub fn round_half_up(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// What a purchase of `face` local currency costs a reseller in USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// face / rate, rounded to the cent.
    pub cost_usd: Decimal,
    /// charged - cost: the commission recorded as its own ledger entry.
    pub commission_usd: Decimal,
    /// round(face / rate × (1 + commission_rate)): what leaves the balance.
    pub charged_usd: Decimal,
}

/// Price a face value. `rate` is local units per USD; `commission_rate` a fraction (0.02 = 2 %).
pub fn price(face: Decimal, rate: Decimal, commission_rate: Decimal) -> Price {
    let exact = face / rate;
    let cost_usd = round_half_up(exact, 2);
    let charged_usd = round_half_up(exact * (Decimal::ONE + commission_rate), 2);
    Price {
        cost_usd,
        commission_usd: charged_usd - cost_usd,
        charged_usd,
    }
}

/// A JSON number read exactly (serde_json keeps its digits), as a decimal; `None` for
/// one that a decimal cannot hold.
pub fn from_json_number(n: &serde_json::Number) -> Option<Decimal> {
    let text = n.to_string();
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text).ok()
    } else {
        Decimal::from_str_exact(&text).ok()
    }
}

/// Whether `value` has at most `dp` decimal places (trailing zeros ignored).
/// Money as a JSON number written from the decimal's digits (never via f64), without
/// trailing zeros, as the seeds show it (200, 197.06, 17.0068).
pub fn json_number(value: Decimal) -> serde_json::Number {
    serde_json::Number::from_str(&value.normalize().to_string()).expect("a decimal is a JSON number")
}

pub fn has_at_most_dp(value: Decimal, dp: u32) -> bool {
    value.normalize().scale() <= dp
}

/// Money and rates in the API description: a JSON number written from an exact decimal
/// (never through a binary float, so not `format: double`). `value_type = DecimalNumber`.
pub struct DecimalNumber;

impl utoipa::PartialSchema for DecimalNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(
                "An exact decimal number, written with its digits (e.g. 197.06, 17.0068); \
                 amounts of money have at most two decimals.",
            ))
            .examples([serde_json::json!(197.06)])
            .into()
    }
}

impl utoipa::ToSchema for DecimalNumber {}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn seed_example_reproduces() {
        let p = price(dec!(50), dec!(17.0068), Decimal::ZERO);
        assert_eq!(p.charged_usd, dec!(2.94));
        assert_eq!(p.commission_usd, Decimal::ZERO);
        assert_eq!(dec!(200) - p.charged_usd, dec!(197.06));
    }

    #[test]
    fn midpoint_rounds_up_not_to_even() {
        // 10.10 / 20 = 0.505 exactly: half-up gives 0.51, banker's would give 0.50.
        assert_eq!(price(dec!(10.10), dec!(20.0000), Decimal::ZERO).charged_usd, dec!(0.51));
        assert_eq!(round_half_up(dec!(0.125), 2), dec!(0.13));
    }

    #[test]
    fn commission_is_charged_minus_rounded_cost() {
        let p = price(dec!(50), dec!(17.0068), dec!(0.02));
        // 2.940006... × 1.02 = 2.99880... → 3.00
        assert_eq!(p.cost_usd, dec!(2.94));
        assert_eq!(p.charged_usd, dec!(3.00));
        assert_eq!(p.commission_usd, dec!(0.06));
    }

    #[test]
    fn decimal_places_check_ignores_trailing_zeros() {
        assert!(has_at_most_dp(dec!(10.50), 2));
        assert!(has_at_most_dp(dec!(10.500), 2));
        assert!(!has_at_most_dp(dec!(10.505), 2));
    }
}
