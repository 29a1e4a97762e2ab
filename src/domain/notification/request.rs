//! The body a billing system sends (seed 002, "Request Body"), checked field by field,
//! and the two formats a message needs: the number as WhatsApp takes it and the amount
//! as a person reads it.

use super::MessageType;
use crate::domain::money::from_json_number;
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// A valid send-notification request.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingRequest {
    /// Country code and subscriber digits only (see [`whatsapp_number`]).
    pub phone_number: String,
    pub customer_name: String,
    pub amount: Decimal,
    /// ISO 4217 code, upper case.
    pub currency: String,
    pub invoice_id: String,
    pub due_date: Option<NaiveDate>,
    pub message_type: MessageType,
}

const MAX_TEXT: usize = 200;

impl BillingRequest {
    /// Every problem with `body`, joined into one sentence for `{"detail": …}`.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let Some(fields) = body.as_object() else {
            return Err("request body must be a JSON object".into());
        };
        let mut problems = Vec::new();
        let mut text = |name: &str| match fields.get(name) {
            None | Some(Value::Null) => {
                problems.push(format!("{name} is required"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                problems.push(format!("{name} must not be empty"));
                None
            }
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT => {
                problems.push(format!("{name} must be at most {MAX_TEXT} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                problems.push(format!("{name} must be a string"));
                None
            }
        };
        let phone = text("phone_number");
        let customer_name = text("customer_name");
        let currency = text("currency");
        let invoice_id = text("invoice_id");
        let message_type = text("message_type");

        let phone_number = phone.and_then(|p| whatsapp_number(&p).map_err(|e| problems.push(e)).ok());
        let currency = currency.and_then(|c| {
            let upper = c.to_ascii_uppercase();
            if upper.len() == 3 && upper.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(upper)
            } else {
                problems.push("currency must be a three-letter ISO 4217 code, such as KES".into());
                None
            }
        });
        let message_type = message_type.and_then(|t| {
            MessageType::from_api(&t).or_else(|| {
                problems.push("message_type must be one of payment_reminder, invoice, overdue, confirmation".into());
                None
            })
        });
        let amount = match fields.get("amount") {
            None | Some(Value::Null) => {
                problems.push("amount is required".into());
                None
            }
            Some(Value::Number(n)) => match from_json_number(n) {
                Some(a) if a > Decimal::ZERO && a < Decimal::from(1_000_000_000_000i64) => Some(a),
                _ => {
                    problems.push("amount must be a number greater than zero".into());
                    None
                }
            },
            Some(_) => {
                problems.push("amount must be a number".into());
                None
            }
        };
        let due_date = match fields.get("due_date") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => iso_date(s).map(Some).ok_or(()),
            Some(_) => Err(()),
        }
        .map_err(|()| problems.push("due_date must be an ISO 8601 date, such as 2026-02-15".into()))
        .ok()
        .flatten();

        match (phone_number, customer_name, amount, currency, invoice_id, message_type) {
            (
                Some(phone_number),
                Some(customer_name),
                Some(amount),
                Some(currency),
                Some(invoice_id),
                Some(message_type),
            ) if problems.is_empty() => Ok(Self {
                phone_number,
                customer_name,
                amount,
                currency,
                invoice_id,
                due_date,
                message_type,
            }),
            _ => Err(problems.join("; ")),
        }
    }
}

/// `2026-02-15`, or the date of an ISO 8601 date-time (`2026-02-15T00:00:00Z`).
fn iso_date(s: &str) -> Option<NaiveDate> {
    let date = match s.split_once('T') {
        Some((date, _)) => date,
        None => s,
    };
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// A number as WhatsApp takes it: country code and subscriber digits, nothing else
/// (seed 002, "Phone Number Format"). Separators and a leading `+` are removed; a
/// Mexican mobile written with the old `1` after `52` loses it, as Evolution expects
/// (providers.md §4, `formatMXOrARNumber`).
pub fn whatsapp_number(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return Err("phone_number must be digits with the country code, such as 254712345678".into());
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(
            "phone_number must start with the country code and have 8 to 15 digits, such as 254712345678".into(),
        );
    }
    if digits.len() == 13 && digits.starts_with("521") {
        return Ok(format!("52{}", &digits[3..]));
    }
    Ok(digits)
}

/// Decimal places of a currency's minor unit (ISO 4217); 2 unless listed.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `KES 1,500.00`: the code, thousands grouped with commas, the currency's minor digits
/// (rounded half-up).
pub fn format_amount(amount: Decimal, currency: &str) -> String {
    let dp = minor_digits(currency);
    let rounded = amount.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", dp as usize, rounded.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    match fraction {
        Some(f) => format!("{currency} {sign}{grouped}.{f}"),
        None => format!("{currency} {sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn amounts_read_as_the_seed_shows_them() {
        assert_eq!(format_amount(dec!(1500), "KES"), "KES 1,500.00");
        assert_eq!(format_amount(dec!(100.005), "USD"), "USD 100.01");
        assert_eq!(format_amount(dec!(1234567.5), "MXN"), "MXN 1,234,567.50");
        assert_eq!(format_amount(dec!(999), "EUR"), "EUR 999.00");
        assert_eq!(format_amount(dec!(1500), "JPY"), "JPY 1,500");
        assert_eq!(format_amount(dec!(12.3456), "KWD"), "KWD 12.346");
    }

    #[test]
    fn numbers_keep_only_digits_and_mexican_mobiles_lose_the_1() {
        assert_eq!(whatsapp_number("254712345678").unwrap(), "254712345678");
        assert_eq!(whatsapp_number("+254 712-345-678").unwrap(), "254712345678");
        assert_eq!(whatsapp_number("5215512345678").unwrap(), "525512345678");
        assert_eq!(whatsapp_number("525512345678").unwrap(), "525512345678");
        assert!(whatsapp_number("0712345678").is_err(), "no country code");
        assert!(whatsapp_number("2547abc").is_err());
        assert!(whatsapp_number("1234567").is_err(), "too short");
    }

    #[test]
    fn the_seed_example_is_valid() {
        let r = BillingRequest::from_json(&json!({
            "phone_number": "254712345678", "customer_name": "John Doe", "amount": 1500.00,
            "currency": "KES", "invoice_id": "INV-001", "due_date": "2026-02-15",
            "message_type": "payment_reminder"
        }))
        .unwrap();
        assert_eq!(r.amount, dec!(1500.00));
        assert_eq!(r.due_date, NaiveDate::from_ymd_opt(2026, 2, 15));
        assert_eq!(r.message_type, MessageType::PaymentReminder);
    }

    #[test]
    fn every_problem_is_named() {
        let e = BillingRequest::from_json(&json!({"amount": "100", "currency": "KE", "message_type": "hello",
            "due_date": "15/02/2026"}))
        .unwrap_err();
        for part in [
            "phone_number is required",
            "customer_name is required",
            "invoice_id is required",
            "amount must be a number",
            "currency must be a three-letter",
            "message_type must be one of",
            "due_date must be an ISO 8601 date",
        ] {
            assert!(e.contains(part), "{e} lacks {part}");
        }
        assert!(BillingRequest::from_json(&json!([])).is_err());
        let low = json!({"phone_number": "254712345678", "customer_name": "A", "amount": 5, "currency": "USD",
            "invoice_id": "X", "message_type": "low_balance"});
        assert!(
            BillingRequest::from_json(&low).is_err(),
            "recarga's own type is not for the API"
        );
    }
}
