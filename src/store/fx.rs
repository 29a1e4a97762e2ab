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

/// Whether some currency's newest rate was fetched longer than `interval` ago (or never).
pub async fn fetch_due(pool: &PgPool, currencies: &[String], interval_secs: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM unnest($1::text[]) AS c(currency)
             WHERE NOT EXISTS (SELECT 1 FROM fx_rates r WHERE r.currency = c.currency
                                 AND r.fetched_at > now() - make_interval(secs => $2)))",
    )
    .bind(currencies)
    .bind(interval_secs as f64)
    .fetch_one(pool)
    .await
}

/// The right to fetch rates, held by one instance at a time: a session advisory lock
/// on a connection that is closed, not returned to the pool, when this is dropped. So
/// the lock ends with the value, whatever happened meanwhile (an error, a panic, the
/// instance dying), and never lingers on a pooled connection.
pub struct FetchLock {
    _session: sqlx::pool::PoolConnection<sqlx::Postgres>,
}

/// "fx fetch" in ASCII: any fixed key will do.
const FETCH_LOCK_KEY: i64 = 0x6678_2066_6574_6368;

pub async fn try_fetch_lock(pool: &PgPool) -> Result<Option<FetchLock>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(FETCH_LOCK_KEY)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    conn.close_on_drop();
    Ok(Some(FetchLock { _session: conn }))
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
