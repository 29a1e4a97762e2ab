//! Customer authentication data, cached for a short time: every API request needs it,
//! and it changes rarely. A change made through this instance (`forget`) takes effect
//! here at the next request; other instances see it within the TTL. Only found
//! customers are cached, so a newly created one is usable at once.

use crate::store::customers::{self, CustomerAuth};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct CustomerCache {
    pool: PgPool,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, CustomerAuth)>>,
}

impl CustomerCache {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self {
            pool,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<CustomerAuth>, sqlx::Error> {
        if let Some((at, auth)) = self.entries.lock().expect("customer cache").get(id) {
            if at.elapsed() < self.ttl {
                return Ok(Some(auth.clone()));
            }
        }
        let found = customers::auth(&self.pool, id).await?;
        if let Some(auth) = &found {
            let mut entries = self.entries.lock().expect("customer cache");
            if entries.len() > 100_000 {
                entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            }
            entries.insert(id.to_string(), (Instant::now(), auth.clone()));
        }
        Ok(found)
    }

    /// Drop what is cached of `id` after changing it, so this instance's next request
    /// reads the change.
    pub fn forget(&self, id: &str) {
        self.entries.lock().expect("customer cache").remove(id);
    }
}
