//! Group commits for the ledger's two hot writes: purchase debits and successful
//! settlements (see `batcher.rs`).
//!
//! A debit holds its customer's balance row from the UPDATE until COMMIT, and a commit
//! waits for the WAL flush; so one busy reseller would serialise on fsyncs. Batched, the
//! debits for one shard of customers run in one statement, one flush for the lot. No
//! money rule is relaxed: each debit is still checked and written by `recarga_debit`,
//! and its refusal writes nothing. Shards partition the customers, so two batches never
//! wait on each other's rows; a second gateway instance is kept exact by the database,
//! as without batching. Settlements are sharded by transaction, for the same reason.

use crate::store::batcher::{Batcher, Stopped};
use crate::store::transactions::{self as txns, Created, Debited, NewPurchase, Success, Transaction};
use crate::store::StoreError;
use sqlx::PgPool;

pub struct DebitBatcher {
    batcher: Batcher<NewPurchase, Result<(NewPurchase, Debited), StoreError>>,
    pool: PgPool,
}

impl DebitBatcher {
    pub fn start(pool: PgPool, shards: usize, max_batch: usize) -> Self {
        let batcher = Batcher::start(
            pool.clone(),
            shards,
            max_batch,
            "debit",
            |pool, purchases: Vec<NewPurchase>| async move {
                match txns::debit_purchases(&pool, &purchases).await {
                    Ok(debited) => Ok(purchases.into_iter().zip(debited).map(Ok).collect()),
                    Err(e) => Err((purchases, e)),
                }
            },
            |pool, purchase: NewPurchase| async move {
                let mut debited = txns::debit_purchases(&pool, std::slice::from_ref(&purchase)).await?;
                let one = debited
                    .pop()
                    .ok_or_else(|| StoreError::Inconsistent("a debit without an answer".into()))?;
                Ok((purchase, one))
            },
        );
        Self { batcher, pool }
    }

    /// The answer is read outside the batch (a repeated reference reads the original),
    /// so that no batch waits on another's follow-up queries.
    pub async fn debit(&self, purchase: NewPurchase) -> Result<Created, StoreError> {
        let key = purchase.customer_id.clone();
        let (purchase, debited) = self.batcher.submit(&key, purchase).await.map_err(stopped)??;
        txns::interpret(&self.pool, &purchase, debited).await
    }
}

pub struct SettleBatcher(Batcher<Success, Result<Option<Transaction>, sqlx::Error>>);

impl SettleBatcher {
    pub fn start(pool: PgPool, shards: usize, max_batch: usize) -> Self {
        Self(Batcher::start(
            pool,
            shards,
            max_batch,
            "settlement",
            |pool, settlements: Vec<Success>| async move {
                match txns::settle_successes(&pool, &settlements).await {
                    Ok(settled) => Ok(settled.into_iter().map(Ok).collect()),
                    Err(e) => Err((settlements, e)),
                }
            },
            |pool, success: Success| async move {
                let settled = txns::settle_successes(&pool, std::slice::from_ref(&success)).await;
                settled.map(|mut s| s.pop().flatten())
            },
        ))
    }

    /// PROCESSING → SUCCESS; the settled row, or None if it was settled already.
    pub async fn settle(&self, success: Success) -> Result<Option<Transaction>, StoreError> {
        let key = success.transaction_id.clone();
        Ok(self.0.submit(&key, success).await.map_err(stopped)??)
    }
}

fn stopped(_: Stopped) -> StoreError {
    StoreError::Stopped
}
