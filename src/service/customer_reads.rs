//! Customer reads (balances) coalesced into shared queries.
//!
//! A read waits for the next query of its shard to *start*, never joins one already
//! running, so the answer still reflects every commit made before the request arrived:
//! as exact as a query of its own, across any number of gateway instances. Under load,
//! one query answers every read that queued while the previous one ran.

use crate::service::batcher::Batcher;
use crate::store::customers::{self, Customer};
use sqlx::PgPool;
use std::collections::HashMap;

/// Most reads one query answers.
const MAX_BATCH: usize = 512;

pub struct CustomerReads(Batcher<String, Result<Option<Customer>, sqlx::Error>>);

impl CustomerReads {
    pub fn start(pool: PgPool, shards: usize) -> Self {
        Self(Batcher::start(shards, MAX_BATCH, move |ids: Vec<String>| {
            let pool = pool.clone();
            async move {
                match customers::get_many(&pool, &ids).await {
                    Ok(found) => {
                        let by_id: HashMap<&str, &Customer> = found.iter().map(|c| (c.id.as_str(), c)).collect();
                        ids.iter()
                            .map(|id| Ok(by_id.get(id.as_str()).map(|c| (*c).clone())))
                            .collect()
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, size = ids.len(), "customer read batch failed; retrying one by one");
                        let mut results = Vec::with_capacity(ids.len());
                        for id in &ids {
                            results.push(customers::get(&pool, id).await);
                        }
                        results
                    }
                }
            }
        }))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Customer>, sqlx::Error> {
        self.0
            .submit(id, id.to_string())
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?
    }
}
