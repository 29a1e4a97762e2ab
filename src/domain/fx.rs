//! Exchange rates: where a rate comes from is behind [`RateSource`]; how old a rate
//! may be before purchases are refused is a rule here.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use thiserror::Error;

/// Units of `currency` per 1 USD, as published at `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub currency: String,
    pub rate: Decimal,
    pub as_of: DateTime<Utc>,
    pub source: String,
}

impl Rate {
    pub fn is_fresh(&self, now: DateTime<Utc>, max_age: Duration) -> bool {
        now - self.as_of <= max_age
    }
}

#[derive(Debug, Error)]
pub enum RateSourceError {
    #[error("rate source unreachable: {0}")]
    Unreachable(String),
    #[error("rate source answered something we cannot read: {0}")]
    BadResponse(String),
    #[error("rate source has no rate for {0}")]
    Unsupported(String),
}

#[async_trait]
pub trait RateSource: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError>;
}
