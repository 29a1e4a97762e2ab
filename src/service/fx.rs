//! The FX service: the last good rate per currency (persisted, cached in memory),
//! refreshed by a job; purchases are refused when the rate is older than allowed.
//! Several instances price alike: they fetch into the database one at a time and each
//! prices with the newest rate there, re-read every few seconds.

use crate::domain::clock::Clock;
use crate::domain::fx::{Rate, RateSource};
use crate::store;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use thiserror::Error;

#[derive(Debug, Error, Clone)]
pub enum FxError {
    #[error("no exchange rate for {0} yet")]
    Unavailable(String),
    #[error("exchange rate for {currency} is stale (as of {as_of})")]
    Stale { currency: String, as_of: DateTime<Utc> },
}

pub struct FxService {
    pool: PgPool,
    source: Arc<dyn RateSource>,
    clock: Arc<dyn Clock>,
    max_age: Duration,
    currencies: Vec<String>,
    cache: RwLock<HashMap<String, Rate>>,
}

impl FxService {
    pub fn new(
        pool: PgPool,
        source: Arc<dyn RateSource>,
        clock: Arc<dyn Clock>,
        max_age: Duration,
        currencies: Vec<String>,
    ) -> Self {
        Self {
            pool,
            source,
            clock,
            max_age,
            currencies,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Load the last persisted rates, so a restart during a source outage still prices.
    pub async fn load_persisted(&self) -> Result<(), sqlx::Error> {
        for currency in &self.currencies {
            if let Some(rate) = store::fx::latest(&self.pool, currency).await? {
                self.remember(rate);
            }
        }
        Ok(())
    }

    /// The periodic step: when a rate is due (by the database's own record, which all
    /// instances share) and no other instance is fetching, fetch; then price with the
    /// newest rates in the database.
    pub async fn sync(&self, refresh_interval: std::time::Duration) {
        if let Err(e) = self.fetch_if_due(refresh_interval).await {
            tracing::warn!(error = %e, "exchange rate fetch check failed");
        }
        if let Err(e) = self.load_persisted().await {
            tracing::warn!(error = %e, "could not read the newest exchange rates; keeping those cached");
        }
    }

    async fn fetch_if_due(&self, refresh_interval: std::time::Duration) -> Result<(), sqlx::Error> {
        if !store::fx::fetch_due(&self.pool, &self.currencies, refresh_interval.as_secs() as i64).await? {
            return Ok(());
        }
        let Some(_lock) = store::fx::try_fetch_lock(&self.pool).await? else {
            return Ok(()); // another instance is fetching
        };
        self.refresh().await;
        Ok(()) // dropping the lock ends its session, and with it the lock
    }

    /// Fetch every currency; a failure keeps the last good rate and is logged.
    pub async fn refresh(&self) {
        for currency in &self.currencies {
            match self.source.fetch(currency).await {
                Ok(rate) => {
                    if let Err(e) = store::fx::insert(&self.pool, &rate).await {
                        tracing::warn!(error = %e, currency, "could not persist exchange rate");
                    }
                    tracing::info!(currency, rate = %rate.rate, source = rate.source, "exchange rate refreshed");
                    self.remember(rate);
                }
                Err(e) => {
                    tracing::warn!(error = %e, currency, source = self.source.name(), "exchange rate refresh failed; keeping last good rate")
                }
            }
        }
    }

    fn remember(&self, rate: Rate) {
        let mut cache = self.cache.write().expect("fx cache");
        let newer = cache.get(&rate.currency).is_none_or(|old| old.as_of <= rate.as_of);
        if newer {
            cache.insert(rate.currency.clone(), rate);
        }
    }

    /// The rate to price with now, or why there is none.
    pub fn current(&self, currency: &str) -> Result<Rate, FxError> {
        let cache = self.cache.read().expect("fx cache");
        let rate = cache
            .get(currency)
            .ok_or_else(|| FxError::Unavailable(currency.into()))?;
        if !rate.is_fresh(self.clock.now(), self.max_age) {
            return Err(FxError::Stale {
                currency: currency.into(),
                as_of: rate.as_of,
            });
        }
        Ok(rate.clone())
    }

    /// Every cached rate, for health output.
    pub fn snapshot(&self) -> Vec<(Rate, bool)> {
        let now = self.clock.now();
        let cache = self.cache.read().expect("fx cache");
        let mut rates: Vec<_> = cache
            .values()
            .map(|r| (r.clone(), r.is_fresh(now, self.max_age)))
            .collect();
        rates.sort_by(|a, b| a.0.currency.cmp(&b.0.currency));
        rates
    }
}
