//! Customer reads (balances) coalesced into shared queries.
//!
//! A read waits for the next query of its shard to *start*, never joins one already
//! running, so the answer still reflects every commit made before the request arrived:
//! as exact as a query of its own, across any number of gateway instances. Under load,
//! one query answers every read that queued while the previous one ran.

use crate::store::batcher::Batcher;
use crate::store::customers::{self, Customer};
use crate::store::StoreError;
use sqlx::PgPool;
use std::collections::HashMap;

/// Most reads one query answers.
const MAX_BATCH: usize = 512;

pub struct CustomerReads(Batcher<String, Result<Option<Customer>, sqlx::Error>>);

impl CustomerReads {
    pub fn start(pool: PgPool, shards: usize) -> Self {
        Self(Batcher::start(
            pool,
            shards,
            MAX_BATCH,
            "customer read",
            |pool, ids: Vec<String>| async move {
                match customers::get_many(&pool, &ids).await {
                    Ok(found) => {
                        // Many reads in a batch may name the same customer: each gets a copy.
                        let by_id: HashMap<String, Customer> = found.into_iter().map(|c| (c.id.clone(), c)).collect();
                        Ok(ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect())
                    }
                    Err(e) => Err((ids, e)),
                }
            },
            |pool, id: String| async move { customers::get(&pool, &id).await },
        ))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self
            .0
            .submit(id, id.to_string())
            .await
            .map_err(|_| StoreError::Stopped)??)
    }
}
