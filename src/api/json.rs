//! JSON helpers shared by the dialects: exact money numbers and strict body parsing.

use axum::extract::rejection::BytesRejection;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serializer;

/// Money goes out as a JSON number written from the decimal's digits (never via f64),
/// without trailing zeros, as the seeds show it (200, 197.06, 17.0068).
pub fn money<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&number(*value), s)
}

pub use crate::domain::money::json_number as number;

/// A JSON number read exactly (serde_json keeps its digits), as a decimal.
pub fn decimal(n: &serde_json::Number) -> Option<Decimal> {
    crate::domain::money::from_json_number(n)
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Why a body could not be read.
pub enum BodyError {
    TooLarge,
    Invalid(String),
}

pub fn parse_body<T: DeserializeOwned>(bytes: Result<bytes::Bytes, BytesRejection>) -> Result<T, BodyError> {
    let bytes = bytes.map_err(|r| match r {
        BytesRejection::FailedToBufferBody(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            BodyError::TooLarge
        }
        other => BodyError::Invalid(other.body_text()),
    })?;
    if bytes.is_empty() {
        return Err(BodyError::Invalid("request body is empty; send a JSON object".into()));
    }
    serde_json::from_slice(&bytes).map_err(|e| BodyError::Invalid(format!("invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_exact_and_trimmed() {
        assert_eq!(serde_json::to_string(&number(dec!(197.060))).unwrap(), "197.06");
        assert_eq!(serde_json::to_string(&number(dec!(200.00))).unwrap(), "200");
        assert_eq!(serde_json::to_string(&number(dec!(17.0068))).unwrap(), "17.0068");
    }

    #[test]
    fn numbers_read_exactly() {
        let n: serde_json::Number = serde_json::from_str("10.005").unwrap();
        assert_eq!(decimal(&n), Some(dec!(10.005)));
        let n: serde_json::Number = serde_json::from_str("1e2").unwrap();
        assert_eq!(decimal(&n), Some(dec!(100)));
    }
}
