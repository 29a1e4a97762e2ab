//! Group concurrent debits into shared database transactions.
//!
//! A debit holds its customer's balance row from the UPDATE until COMMIT, and a commit
//! waits for the WAL flush; so one busy reseller would serialise on fsyncs. Here the
//! debits for one shard of customers queue up and run together in one transaction,
//! one flush for the lot. No money rule is relaxed: each debit is still checked and
//! written by `recarga_debit`, and its refusal writes nothing. Shards partition the
//! customers, so two batches never wait on each other's rows; a second gateway instance
//! is kept exact by the database, as without batching.

use crate::store::transactions::{self as txns, Created, NewPurchase};
use crate::store::StoreError;
use sqlx::PgPool;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use tokio::sync::{mpsc, oneshot};

struct Job {
    purchase: NewPurchase,
    reply: oneshot::Sender<Result<Created, StoreError>>,
}

pub struct DebitBatcher {
    shards: Vec<mpsc::Sender<Job>>,
}

impl DebitBatcher {
    /// Start `shards` workers, each running up to `max_batch` debits per transaction.
    pub fn start(pool: PgPool, shards: usize, max_batch: usize) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(4096);
                tokio::spawn(run(pool.clone(), rx, max_batch.max(1)));
                tx
            })
            .collect();
        Self { shards }
    }

    pub async fn debit(&self, purchase: NewPurchase) -> Result<Created, StoreError> {
        let mut hasher = DefaultHasher::new();
        purchase.customer_id.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() % self.shards.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Db(sqlx::Error::PoolClosed);
        shard.send(Job { purchase, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(pool: PgPool, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    while let Some(first) = jobs.recv().await {
        // Whatever queued up while the previous batch ran goes in this one; an idle
        // shard runs a lone debit at once, adding no latency.
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (purchases, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|j| (j.purchase, j.reply)).unzip();
        match txns::create_purchases(&pool, &purchases).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the batch was committed: take each alone, so that whatever
                // failed cannot hold back the others.
                tracing::warn!(error = %e, size = purchases.len(), "debit batch failed; retrying one by one");
                for (reply, purchase) in replies.into_iter().zip(&purchases) {
                    let _ = reply.send(txns::create_purchase(&pool, purchase).await);
                }
            }
        }
    }
}
