//! Settlement, exactly once: delivered (batched), failed with the debit's exact
//! entries refunded, the ops settlement of REVIEW, and the reversal of a delivery.

use super::{Attempt, Transaction, TXN_COLUMNS};
use crate::store::ledger::{ReviewVerdict, Settlement};
use sqlx::PgPool;

/// A delivered top-up, to be settled.
#[derive(Debug, Clone)]
pub struct Success {
    pub attempt_id: i64,
    pub transaction_id: String,
    pub upstream_id: Option<String>,
    pub message: Option<String>,
    pub response_time_ms: Option<i64>,
}

/// The statement behind `settle_successes` (public so that a test can check its plan).
pub static SETTLE_SUCCESSES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH s AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
                 AS s(attempt_id, transaction_id, upstream_id, message, response_time_ms)),
         t AS (
             UPDATE transactions x SET status = 'SUCCESS', operator_transaction_id = s.upstream_id,
                 response_time_ms = COALESCE(s.response_time_ms, x.response_time_ms),
                 processed_at = now(), updated_at = now()
             FROM s WHERE x.id = s.transaction_id AND x.status = 'PROCESSING'
             RETURNING x.*),
         a AS (
             UPDATE attempts y SET status = 'SUCCESS', upstream_transaction_id = s.upstream_id,
                 message = s.message, finished_at = now()
             FROM s JOIN t ON t.id = s.transaction_id WHERE y.id = s.attempt_id)
         SELECT {TXN_COLUMNS} FROM t"
    )
});

/// PROCESSING → SUCCESS for each, in one statement (one commit for the lot); per
/// settlement, the settled row, or None if it was settled already (by the resolver, say).
pub async fn settle_successes(pool: &PgPool, batch: &[Success]) -> Result<Vec<Option<Transaction>>, sqlx::Error> {
    let settled: Vec<Transaction> = sqlx::query_as(&SETTLE_SUCCESSES)
        .bind(batch.iter().map(|s| s.attempt_id).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.transaction_id.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.upstream_id.as_deref()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.message.as_deref()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.response_time_ms).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
    let mut by_id: std::collections::HashMap<String, Transaction> =
        settled.into_iter().map(|t| (t.id.clone(), t)).collect();
    // A transaction named twice in one batch is settled once: the first asker gets it.
    Ok(batch.iter().map(|s| by_id.remove(&s.transaction_id)).collect())
}

/// → FAILED with a refund that reverses the debit's exact entries and releases the
/// daily limit on the original business day (`recarga_settle_failure`). Exactly once:
/// false if already final.
pub async fn settle_failure(
    pool: &PgPool,
    transaction_id: &str,
    attempt: Option<(&Attempt, Option<&str>)>,
    reason: &str,
    response_time_ms: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let settled: Settlement = sqlx::query_scalar("SELECT recarga_settle_failure($1, $2, $3, $4, $5)")
        .bind(transaction_id)
        .bind(reason)
        .bind(response_time_ms)
        .bind(attempt.map(|(a, _)| a.id))
        .bind(attempt.and_then(|(_, code)| code))
        .fetch_one(pool)
        .await?;
    Ok(settled == Settlement::Settled)
}

/// Ops settlement of a REVIEW transaction (`recarga_settle_review`): a failure is
/// refunded as any other, a success keeps the debit; the audit note, naming `actor` (an
/// ops user, or "cli"), commits with it.
pub async fn settle_review(
    pool: &PgPool,
    transaction_id: &str,
    verdict: ReviewVerdict,
    note: &str,
    actor: &str,
) -> Result<Settlement, sqlx::Error> {
    sqlx::query_scalar("SELECT recarga_settle_review($1, $2, $3, $4)")
        .bind(transaction_id)
        .bind(verdict)
        .bind(note)
        .bind(actor)
        .fetch_one(pool)
        .await
}

/// An upstream reversed a delivered top-up (`recarga_reverse`): SUCCESS → REVERSED,
/// refunded like a failure, with the evidence and who recorded it in the audit note.
pub async fn reverse(
    pool: &PgPool,
    transaction_id: &str,
    evidence: &str,
    actor: &str,
) -> Result<Settlement, sqlx::Error> {
    sqlx::query_scalar("SELECT recarga_reverse($1, $2, $3)")
        .bind(transaction_id)
        .bind(evidence)
        .bind(actor)
        .fetch_one(pool)
        .await
}
