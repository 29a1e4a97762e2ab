//! Open Exchange Rates (`/latest.json`): units of each currency per USD, blended from
//! several market sources and refreshed hourly. It covers currencies no central bank
//! publishes through an API, GHS among them. The App ID travels as the `app_id` query
//! parameter (the provider's documented authentication), so the executor's log lines
//! and errors never carry request URLs.

use crate::domain::fx::{Rate, RateSource, RateSourceError};
use crate::providers::executor::Executor;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

pub struct OpenExchangeRates {
    executor: Executor,
    base_url: String,
    app_id: SecretString,
}

#[derive(Deserialize)]
struct Latest {
    /// Seconds since the epoch of the rates' publication.
    timestamp: i64,
    base: String,
    /// Kept as JSON numbers (arbitrary precision) so that no rate passes through f64.
    rates: BTreeMap<String, serde_json::Number>,
}

impl OpenExchangeRates {
    pub fn new(executor: Executor, base_url: &str, app_id: SecretString) -> Self {
        Self {
            executor,
            base_url: base_url.trim_end_matches('/').into(),
            app_id,
        }
    }
}

/// Read one currency's rate out of a `latest.json` answer.
pub fn parse(body: &[u8], currency: &str) -> Result<Rate, RateSourceError> {
    let bad = |m: String| RateSourceError::BadResponse(m);
    let latest: Latest = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    // A base other than USD would turn every price upside down; only a paid plan can
    // change it, and then only by our own request.
    if latest.base != "USD" {
        return Err(bad(format!("rates are per {}, not per USD", latest.base)));
    }
    let number = latest
        .rates
        .get(currency)
        .ok_or_else(|| RateSourceError::Unsupported(currency.into()))?;
    let rate = Decimal::from_str(&number.to_string())
        .or_else(|_| Decimal::from_scientific(&number.to_string()))
        .map_err(|_| bad(format!("not a rate: {number}")))?;
    if rate <= Decimal::ZERO {
        return Err(bad(format!("non-positive rate {rate}")));
    }
    let as_of = DateTime::<Utc>::from_timestamp(latest.timestamp, 0)
        .ok_or_else(|| bad(format!("not a timestamp: {}", latest.timestamp)))?;
    Ok(Rate {
        currency: currency.into(),
        rate,
        as_of,
        source: "openexchangerates".into(),
    })
}

#[async_trait]
impl RateSource for OpenExchangeRates {
    fn name(&self) -> &'static str {
        "openexchangerates"
    }

    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError> {
        let request = self
            .executor
            .client()
            .get(format!("{}/latest.json", self.base_url))
            .query(&[("app_id", self.app_id.expose_secret()), ("symbols", currency)]);
        let response = self
            .executor
            .call("openexchangerates", "latest", request, Duration::from_secs(15))
            .await
            .map_err(|e| RateSourceError::Unreachable(e.to_string()))?;
        if response.status != 200 {
            return Err(RateSourceError::Unreachable(format!("HTTP {}", response.status)));
        }
        parse(&response.body, currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// A response recorded from the live API on 2018-03-22 (asked without `symbols`),
    /// its rate table trimmed to a few currencies; every value is as recorded.
    const RECORDED: &str = include_str!("../../../tests/fixtures/openexchangerates_latest.json");

    #[test]
    fn reads_each_currency_exactly_and_its_publication_time() {
        let ghs = parse(RECORDED.as_bytes(), "GHS").unwrap();
        assert_eq!(ghs.rate, dec!(4.4204));
        assert_eq!(ghs.as_of.to_rfc3339(), "2018-03-22T18:00:00+00:00");
        assert_eq!(parse(RECORDED.as_bytes(), "MXN").unwrap().rate, dec!(18.498995));
        assert_eq!(parse(RECORDED.as_bytes(), "ZAR").unwrap().rate, dec!(11.790755));
    }

    #[test]
    fn refuses_a_missing_currency_another_base_and_garbage() {
        assert!(matches!(
            parse(RECORDED.as_bytes(), "XYZ"),
            Err(RateSourceError::Unsupported(_))
        ));
        let eur = RECORDED.replace(r#""base": "USD""#, r#""base": "EUR""#);
        assert!(parse(eur.as_bytes(), "GHS").is_err());
        let zero = RECORDED.replace(r#""GHS": 4.4204"#, r#""GHS": 0"#);
        assert!(parse(zero.as_bytes(), "GHS").is_err());
        // The provider's error body (e.g. an invalid App ID) is not a rate.
        let error = br#"{"error": true, "status": 401, "message": "invalid_app_id", "description": "Invalid App ID provided."}"#;
        assert!(parse(error, "GHS").is_err());
    }
}
