//! Banco de México's FIX rate (SIE API series SF43718, MXN per USD). FIX is fixed
//! around noon Mexico City time on banking days and not published at weekends, which
//! is why the default maximum rate age is 96 h.

use crate::domain::fx::{Rate, RateSource, RateSourceError};
use crate::providers::executor::Executor;
use async_trait::async_trait;
use chrono::{NaiveDate, TimeZone};
use chrono_tz::America::Mexico_City;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::str::FromStr;
use std::time::Duration;

pub struct Banxico {
    executor: Executor,
    base_url: String,
    series: String,
    token: SecretString,
}

#[derive(Deserialize)]
struct Envelope {
    bmx: Bmx,
}
#[derive(Deserialize)]
struct Bmx {
    series: Vec<Series>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Series {
    id_serie: String,
    datos: Vec<Dato>,
}
#[derive(Deserialize)]
struct Dato {
    fecha: String,
    dato: String,
}

impl Banxico {
    pub fn new(executor: Executor, base_url: &str, series: &str, token: SecretString) -> Self {
        Self {
            executor,
            base_url: base_url.trim_end_matches('/').into(),
            series: series.into(),
            token,
        }
    }
}

/// Read the latest observation out of a SIE `datos/oportuno` answer.
pub fn parse(body: &[u8], series: &str) -> Result<Rate, RateSourceError> {
    let bad = |m: String| RateSourceError::BadResponse(m);
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let s = envelope
        .bmx
        .series
        .into_iter()
        .find(|s| s.id_serie == series)
        .ok_or_else(|| bad(format!("series {series} missing")))?;
    let last = s
        .datos
        .into_iter()
        .last()
        .ok_or_else(|| bad("no observations".into()))?;
    // "N/E" marks a day with no determination.
    let rate = Decimal::from_str(last.dato.trim()).map_err(|_| bad(format!("not a rate: {}", last.dato)))?;
    let day =
        NaiveDate::parse_from_str(&last.fecha, "%d/%m/%Y").map_err(|_| bad(format!("not a date: {}", last.fecha)))?;
    let noon = day.and_hms_opt(12, 0, 0).expect("valid time");
    let as_of = Mexico_City
        .from_local_datetime(&noon)
        .single()
        .ok_or_else(|| bad("ambiguous date".into()))?
        .with_timezone(&chrono::Utc);
    if rate <= Decimal::ZERO {
        return Err(bad(format!("non-positive rate {rate}")));
    }
    Ok(Rate {
        currency: "MXN".into(),
        rate,
        as_of,
        source: "banxico".into(),
    })
}

#[async_trait]
impl RateSource for Banxico {
    fn name(&self) -> &'static str {
        "banxico"
    }

    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError> {
        if currency != "MXN" {
            return Err(RateSourceError::Unsupported(currency.into()));
        }
        let url = format!("{}/series/{}/datos/oportuno", self.base_url, self.series);
        let request = self
            .executor
            .client()
            .get(url)
            .header("Bmx-Token", self.token.expose_secret());
        let response = self
            .executor
            .call("banxico", "fix", request, Duration::from_secs(15))
            .await
            .map_err(|e| RateSourceError::Unreachable(e.to_string()))?;
        if response.status != 200 {
            return Err(RateSourceError::Unreachable(format!("HTTP {}", response.status)));
        }
        parse(&response.body, &self.series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// Shape of a SIE `datos/oportuno` answer for the FIX series (Banxico SIE API docs).
    const SAMPLE: &str = r#"{"bmx":{"series":[{"idSerie":"SF43718",
        "titulo":"Tipo de cambio Pesos por dólar E.U.A. Tipo de cambio para solventar obligaciones denominadas en moneda extranjera Fecha de determinación (FIX)",
        "datos":[{"fecha":"20/11/2026","dato":"18.3215"}]}]}}"#;

    #[test]
    fn reads_fix_rate_and_date() {
        let rate = parse(SAMPLE.as_bytes(), "SF43718").unwrap();
        assert_eq!(rate.rate, dec!(18.3215));
        assert_eq!(rate.as_of.to_rfc3339(), "2026-11-20T18:00:00+00:00");
    }

    #[test]
    fn refuses_no_determination_and_wrong_series() {
        let ne = SAMPLE.replace("18.3215", "N/E");
        assert!(parse(ne.as_bytes(), "SF43718").is_err());
        assert!(parse(SAMPLE.as_bytes(), "SF60653").is_err());
        assert!(parse(b"<html>", "SF43718").is_err());
    }
}
