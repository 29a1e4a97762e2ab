//! The durable queue of async top-ups. A job only says "send this soon": the top-up's
//! durable state is its transaction, so claiming a job deletes it in the same statement
//! (no lease, no second commit). A crash after the claim leaves the transaction PENDING,
//! and the resolver sends every PENDING transaction it finds (taking it from PENDING by
//! a conditional update, so it is still sent at most once).

use super::transactions::Transaction;
use sqlx::PgPool;

/// Kind of the job `recarga_debit` queues for an async top-up.
pub const TOPUP: &str = "topup";

/// Take up to `limit` due top-up jobs, oldest first, skipping jobs another worker is
/// taking; their transactions that are still PENDING.
pub async fn claim_topups(pool: &PgPool, limit: i64) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH claimed AS (
             DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE kind = $2 AND run_at <= now()
                 ORDER BY run_at, id LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             RETURNING transaction_id)
         SELECT {} FROM transactions
         WHERE id IN (SELECT transaction_id FROM claimed) AND status = 'PENDING'
         ORDER BY created_at",
        super::transactions::TXN_COLUMNS
    ))
    .bind(limit)
    .bind(TOPUP)
    .fetch_all(pool)
    .await
}
