//! Rate-limit cells in Postgres (an UNLOGGED table): one statement per request, on the
//! database's clock, whatever the instance.

use super::{positive, Allowance};
use sqlx::PgPool;
use std::time::Duration;

/// Spend one from `key`'s allowance: None when allowed, else how long until it would be.
pub async fn spend(pool: &PgPool, key: &str, allowance: Allowance) -> Result<Option<Duration>, sqlx::Error> {
    // The refused branch reads the cell as this statement's snapshot has it; a cell made
    // by a concurrent first request may be invisible there, hence the fallback of one
    // interval.
    let wait: Option<f64> = sqlx::query_scalar(
        "WITH spent AS (
             INSERT INTO rate_limit_cells AS c (key, tat) VALUES ($1, now() + make_interval(secs => $2))
             ON CONFLICT (key) DO UPDATE SET tat = greatest(c.tat, now()) + make_interval(secs => $2)
             WHERE greatest(c.tat, now()) <= now() + make_interval(secs => $3)
             RETURNING 1)
         SELECT CASE WHEN EXISTS (SELECT 1 FROM spent) THEN NULL ELSE coalesce(
             (SELECT extract(epoch FROM tat - now())::float8 - $3 FROM rate_limit_cells WHERE key = $1), $2) END",
    )
    .bind(key)
    .bind(allowance.interval.as_secs_f64())
    .bind(allowance.tolerance_secs())
    .fetch_one(pool)
    .await?;
    Ok(wait.map(positive))
}

/// How long until a spend from `key` would be allowed (None: now), spending nothing.
pub async fn wait(pool: &PgPool, key: &str, allowance: Allowance) -> Result<Option<Duration>, sqlx::Error> {
    let wait: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM tat - now())::float8 - $2 FROM rate_limit_cells
         WHERE key = $1 AND tat > now() + make_interval(secs => $2)",
    )
    .bind(key)
    .bind(allowance.tolerance_secs())
    .fetch_optional(pool)
    .await?;
    Ok(wait.map(positive))
}

/// Forget cells whose allowance is whole again (they would behave as absent ones).
pub async fn forget_whole(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM rate_limit_cells WHERE tat < now()")
        .execute(pool)
        .await?
        .rows_affected())
}
