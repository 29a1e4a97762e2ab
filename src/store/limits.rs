//! Rate-limit cells in Postgres, so that every instance spends from the same allowance.
//! GCRA (the generic cell rate algorithm): a cell keeps the time at which its allowance
//! would be whole again (its TAT); one request moves it on by `interval`, and is allowed
//! while that time is at most `burst − 1` intervals ahead of now. One statement per
//! request, on the database's clock, whatever the instance.

use sqlx::PgPool;
use std::time::Duration;

/// A cell's allowance: `burst` requests at once, one more every `interval`.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub interval: Duration,
    pub burst: u32,
}

impl Allowance {
    /// `n` per `period`, all of them at once if need be.
    pub fn per(n: u32, period: Duration) -> Self {
        Self {
            interval: period / n.max(1),
            burst: n.max(1),
        }
    }

    fn tolerance_secs(&self) -> f64 {
        self.interval.as_secs_f64() * f64::from(self.burst - 1)
    }
}

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

/// A wait of at least a millisecond (a refusal never says "now").
fn positive(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.max(0.001))
}
