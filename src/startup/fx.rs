//! The exchange-rate source per currency: `fx.source` by default, overridden per
//! currency by `fx.source_by_currency`.

use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::domain::fx::{Rate, RateSource, RateSourceError};
use crate::providers::executor::Executor;
use crate::providers::fx::{banxico::Banxico, fixed::FixedRates, openexchangerates::OpenExchangeRates};
use anyhow::bail;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Dispatches each currency to its configured source.
pub struct PerCurrency {
    default: Arc<dyn RateSource>,
    by_currency: BTreeMap<String, Arc<dyn RateSource>>,
}

#[async_trait]
impl RateSource for PerCurrency {
    fn name(&self) -> &'static str {
        "per-currency"
    }

    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError> {
        self.by_currency
            .get(currency)
            .unwrap_or(&self.default)
            .fetch(currency)
            .await
    }
}

pub fn rate_source(settings: &Settings, executor: &Executor, clock: &Arc<dyn Clock>) -> anyhow::Result<PerCurrency> {
    let named = |name: &str| -> anyhow::Result<Arc<dyn RateSource>> {
        Ok(match name {
            "fixed" => Arc::new(FixedRates::new(settings.fx.fixed_rates.clone(), Arc::clone(clock))),
            "banxico" => {
                let Some(token) = settings.fx.banxico.token.clone() else {
                    bail!("the banxico rate source needs fx.banxico.token");
                };
                let b = &settings.fx.banxico;
                Arc::new(Banxico::new(executor.clone(), &b.base_url, &b.series, token))
            }
            "openexchangerates" => {
                let o = &settings.fx.openexchangerates;
                let Some(app_id) = o.app_id.clone() else {
                    bail!("the openexchangerates rate source needs fx.openexchangerates.app_id");
                };
                Arc::new(OpenExchangeRates::new(executor.clone(), &o.base_url, app_id))
            }
            other => bail!("unknown rate source {other:?} (use \"fixed\", \"banxico\" or \"openexchangerates\")"),
        })
    };
    let mut by_currency = BTreeMap::new();
    for (currency, name) in &settings.fx.source_by_currency {
        by_currency.insert(currency.clone(), named(name)?);
    }
    Ok(PerCurrency {
        default: named(&settings.fx.source)?,
        by_currency,
    })
}
