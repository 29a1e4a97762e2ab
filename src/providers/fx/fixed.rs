//! A fixed table of rates: the sandbox default (17.0068 MXN per USD, as in seed 000).

use crate::domain::clock::Clock;
use crate::domain::fx::{Rate, RateSource, RateSourceError};
use async_trait::async_trait;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct FixedRates {
    rates: BTreeMap<String, Decimal>,
    clock: Arc<dyn Clock>,
}

impl FixedRates {
    pub fn new(rates: BTreeMap<String, Decimal>, clock: Arc<dyn Clock>) -> Self {
        Self { rates, clock }
    }
}

#[async_trait]
impl RateSource for FixedRates {
    fn name(&self) -> &'static str {
        "fixed"
    }

    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError> {
        let rate = self
            .rates
            .get(currency)
            .ok_or_else(|| RateSourceError::Unsupported(currency.into()))?;
        Ok(Rate {
            currency: currency.into(),
            rate: *rate,
            as_of: self.clock.now(),
            source: self.name().into(),
        })
    }
}
