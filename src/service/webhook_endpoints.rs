//! Configuring a reseller's webhook endpoint (the CLI and the admin API both come here):
//! the URL checked as callbacks are, a fresh signing secret each time, an audit note.

use crate::domain::{callback, keys};
use crate::store::webhooks;
use rust_decimal::Decimal;
use sqlx::PgPool;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EndpointError {
    #[error("{0}")]
    Invalid(String),
    #[error("customer not found")]
    NoCustomer,
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

/// What was set, with the signing secret: shown once, to whoever set it.
pub struct Configured {
    pub url: Option<String>,
    pub low_balance_usd: Option<Decimal>,
    pub signing_secret: String,
}

/// Set (or replace) the endpoint. Without a URL the secret signs per-purchase callbacks
/// only; `low_balance_usd` turns on `balance.low`.
pub async fn configure(
    pool: &PgPool,
    customer_id: &str,
    url: Option<&str>,
    low_balance_usd: Option<Decimal>,
    sandbox: bool,
    actor: &str,
) -> Result<Configured, EndpointError> {
    let url = url
        .map(|u| callback::validate(u, sandbox))
        .transpose()
        .map_err(|m| EndpointError::Invalid(m.replace("callback_url", "url")))?;
    if low_balance_usd.is_some_and(|t| t <= Decimal::ZERO) {
        return Err(EndpointError::Invalid("low_balance_usd must be positive".into()));
    }
    let signing_secret = keys::generate("whsec_");
    if !webhooks::set_endpoint(
        pool,
        customer_id,
        url.as_deref(),
        &signing_secret,
        low_balance_usd,
        actor,
    )
    .await?
    {
        return Err(EndpointError::NoCustomer);
    }
    tracing::info!(customer = customer_id, actor, "webhook endpoint set");
    Ok(Configured {
        url,
        low_balance_usd,
        signing_secret,
    })
}
