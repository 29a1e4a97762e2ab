//! Persisted exchange rates: the last good rate survives restarts and source outages.

use crate::domain::fx::Rate;
use sqlx::PgPool;

pub async fn insert(pool: &PgPool, rate: &Rate) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO fx_rates (currency, rate, source, as_of) VALUES ($1, $2, $3, $4)")
        .bind(&rate.currency)
        .bind(rate.rate)
        .bind(&rate.source)
        .bind(rate.as_of)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn latest(pool: &PgPool, currency: &str) -> Result<Option<Rate>, sqlx::Error> {
    let row: Option<(String, rust_decimal::Decimal, chrono::DateTime<chrono::Utc>, String)> = sqlx::query_as(
        "SELECT currency, rate, as_of, source FROM fx_rates WHERE currency = $1 ORDER BY as_of DESC, id DESC LIMIT 1",
    )
    .bind(currency)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(currency, rate, as_of, source)| Rate {
        currency,
        rate,
        as_of,
        source,
    }))
}
