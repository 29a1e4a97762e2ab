//! JSON helpers shared by the dialects: exact money numbers and strict body parsing.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serializer;
use std::convert::Infallible;

/// Money goes out as a JSON number written from the decimal's digits (never via f64),
/// without trailing zeros, as the seeds show it (200, 197.06, 17.0068).
pub fn money<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&number(*value), s)
}

/// `money` for an optional amount (null when absent).
pub fn opt_money<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => money(d, s),
        None => s.serialize_none(),
    }
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
    /// Not declared as JSON (`Content-Type` missing or another type): refused unread.
    NotJson,
    Invalid(String),
}

/// A JSON endpoint's body, read only when it is declared as JSON. Extraction never
/// fails: the handler authenticates first, then maps the error to its dialect's shape.
pub struct JsonBody(Result<bytes::Bytes, BodyError>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_json(req.headers()) {
            return Ok(Self(Err(BodyError::NotJson)));
        }
        let bytes = bytes::Bytes::from_request(req, state).await;
        Ok(Self(bytes.map_err(|r| match r {
            BytesRejection::FailedToBufferBody(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                BodyError::TooLarge
            }
            other => BodyError::Invalid(other.body_text()),
        })))
    }
}

/// `application/json` or a `+json` type, any parameters (charset) allowed.
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn parse_body<T: DeserializeOwned>(body: JsonBody) -> Result<T, BodyError> {
    let bytes = body.0?;
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
    fn only_json_content_types_are_json() {
        let with = |v: &str| HeaderMap::from_iter([(CONTENT_TYPE, v.parse().unwrap())]);
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(declares_json(&with(ok)), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "text/json",
            "application/jsonx",
        ] {
            assert!(!declares_json(&with(refused)), "{refused}");
        }
        assert!(!declares_json(&HeaderMap::new()));
    }

    #[test]
    fn numbers_read_exactly() {
        let n: serde_json::Number = serde_json::from_str("10.005").unwrap();
        assert_eq!(decimal(&n), Some(dec!(10.005)));
        let n: serde_json::Number = serde_json::from_str("1e2").unwrap();
        assert_eq!(decimal(&n), Some(dec!(100)));
    }
}
