//! Rate-limit cells in Redis, for deployments that keep Postgres for money only. One
//! Lua script per request runs GCRA atomically on the Redis server's clock; each cell
//! expires when its allowance is whole again, so nothing needs sweeping.

use super::{positive, Allowance};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use std::sync::Arc;
use std::time::Duration;

/// KEYS[1]: the cell. ARGV: interval and tolerance in microseconds, and 1 to spend.
/// Returns -1 when allowed (spent if asked), else the wait in microseconds. Times are
/// whole microseconds since the epoch, exact in Lua's doubles (below 2^53), and are
/// stored with `%.0f` because Lua's own number-to-string keeps only 14 digits.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat > now + tolerance then return tat - tolerance - now end
if ARGV[3] == '1' then
  local next_tat = tat + interval
  local whole_in_ms = math.max(1, math.ceil((next_tat - now) / 1000))
  redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', whole_in_ms)
end
return -1
";

/// A Redis command that takes longer than this fails the request (503), as a database
/// out of reach does: nothing is let through unmetered.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct RedisCells {
    conn: ConnectionManager,
    script: Arc<Script>,
    prefix: Arc<str>,
}

impl RedisCells {
    /// Connect (reconnecting by itself afterwards); fails if Redis cannot be reached now.
    /// Every key starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(RESPONSE_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        Ok(Self {
            conn: ConnectionManager::new_with_config(client, config).await?,
            script: Arc::new(Script::new(GCRA)),
            prefix: prefix.into(),
        })
    }

    pub async fn spend(&self, key: &str, allowance: Allowance) -> Result<Option<Duration>, RedisError> {
        self.run(key, allowance, true).await
    }

    pub async fn wait(&self, key: &str, allowance: Allowance) -> Result<Option<Duration>, RedisError> {
        self.run(key, allowance, false).await
    }

    async fn run(&self, key: &str, allowance: Allowance, spend: bool) -> Result<Option<Duration>, RedisError> {
        let mut conn = self.conn.clone();
        let wait_us: i64 = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(allowance.interval.as_micros() as u64)
            .arg(allowance.tolerance().as_micros() as u64)
            .arg(u8::from(spend))
            .invoke_async(&mut conn)
            .await?;
        Ok((wait_us >= 0).then(|| positive(wait_us as f64 / 1e6)))
    }
}
