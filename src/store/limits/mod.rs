//! Rate-limit cells shared by every instance, in Postgres or in Redis. GCRA (the generic
//! cell rate algorithm): a cell keeps the time at which its allowance would be whole
//! again (its TAT); one request moves it on by `interval`, and is allowed while that time
//! is at most `burst − 1` intervals ahead of now. Each store runs it in one round trip on
//! its own server's clock, so instances whose clocks differ still agree.

pub mod postgres;
pub mod redis;

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

    /// How far ahead of now a cell's TAT may be and still allow a request.
    fn tolerance(&self) -> Duration {
        self.interval * (self.burst - 1)
    }

    fn tolerance_secs(&self) -> f64 {
        self.tolerance().as_secs_f64()
    }
}

/// Where the shared cells are kept.
#[derive(Clone)]
pub enum Cells {
    Postgres(PgPool),
    Redis(redis::RedisCells),
}

#[derive(Debug, thiserror::Error)]
pub enum CellError {
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}

impl Cells {
    /// Spend one from `key`'s allowance: None when allowed, else how long until it would be.
    pub async fn spend(&self, key: &str, allowance: Allowance) -> Result<Option<Duration>, CellError> {
        Ok(match self {
            Self::Postgres(pool) => postgres::spend(pool, key, allowance).await?,
            Self::Redis(cells) => cells.spend(key, allowance).await?,
        })
    }

    /// How long until a spend from `key` would be allowed (None: now), spending nothing.
    pub async fn wait(&self, key: &str, allowance: Allowance) -> Result<Option<Duration>, CellError> {
        Ok(match self {
            Self::Postgres(pool) => postgres::wait(pool, key, allowance).await?,
            Self::Redis(cells) => cells.wait(key, allowance).await?,
        })
    }
}

/// A wait of at least a millisecond (a refusal never says "now").
fn positive(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.max(0.001))
}
