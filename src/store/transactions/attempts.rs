//! Attempts: each send to an upstream is a row, committed (with PROCESSING) before the
//! send, marked with what came back.

use crate::domain::status::AttemptStatus;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub id: i64,
    pub transaction_id: String,
    pub attempt_no: i32,
    pub upstream: String,
    pub upstream_reference: String,
    pub upstream_product: String,
    pub amount_sent: Decimal,
    #[sqlx(try_from = "String")]
    pub status: AttemptStatus,
    pub created_at: DateTime<Utc>,
}

pub struct NewAttempt<'a> {
    pub transaction_id: &'a str,
    pub attempt_no: i32,
    pub upstream: &'a str,
    pub upstream_reference: &'a str,
    pub upstream_product: &'a str,
    pub amount_sent: Decimal,
}

/// Commit the attempt row and PROCESSING before anything is sent, in one statement.
/// The first attempt takes the transaction from PENDING, so only one worker can ever
/// send it; a failover attempt requires it still PROCESSING. `None`: someone else owns it.
pub async fn begin_attempt(pool: &PgPool, a: &NewAttempt<'_>) -> Result<Option<Attempt>, sqlx::Error> {
    Ok(begin_attempts(pool, std::slice::from_ref(a)).await?.pop().flatten())
}

/// `begin_attempt` for many (the queue's claimed purchases), in one statement; per
/// attempt, in order, the attempt or `None`.
pub async fn begin_attempts(
    db: impl sqlx::PgExecutor<'_>,
    batch: &[NewAttempt<'_>],
) -> Result<Vec<Option<Attempt>>, sqlx::Error> {
    let begun: Vec<Attempt> = sqlx::query_as(
        "WITH a AS (
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[])
                 AS a(transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent)),
         owned AS (
             UPDATE transactions t SET status = 'PROCESSING', upstream = a.upstream, updated_at = now()
             FROM a
             WHERE t.id = a.transaction_id
               AND t.status = CASE WHEN a.attempt_no = 1 THEN 'PENDING' ELSE 'PROCESSING' END
             RETURNING t.customer_id, a.*)
         INSERT INTO attempts (customer_id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product,
             amount_sent, status)
         SELECT customer_id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent,
             'SENT' FROM owned
         RETURNING id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, created_at",
    )
    .bind(batch.iter().map(|a| a.transaction_id).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.attempt_no).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream_reference).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream_product).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.amount_sent).collect::<Vec<_>>())
    .fetch_all(db)
    .await?;
    let mut by_key: std::collections::HashMap<(String, i32), Attempt> = begun
        .into_iter()
        .map(|a| ((a.transaction_id.clone(), a.attempt_no), a))
        .collect();
    Ok(batch
        .iter()
        .map(|a| by_key.remove(&(a.transaction_id.to_string(), a.attempt_no)))
        .collect())
}

pub async fn latest_attempt(pool: &PgPool, transaction_id: &str) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, created_at
         FROM attempts WHERE transaction_id = $1 ORDER BY attempt_no DESC LIMIT 1",
    )
    .bind(transaction_id)
    .fetch_optional(pool)
    .await
}

/// The attempt sent to `upstream` under `upstream_reference` (unique per upstream: the
/// reference derives from the transaction id; the key proves it per customer).
pub async fn attempt_by_reference(
    pool: &PgPool,
    upstream: &str,
    upstream_reference: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, created_at
         FROM attempts WHERE upstream = $1 AND upstream_reference = $2",
    )
    .bind(upstream)
    .bind(upstream_reference)
    .fetch_optional(pool)
    .await
}

/// Record what an attempt came back with (UNKNOWN, or FAILED before a failover).
pub async fn mark_attempt(
    pool: &PgPool,
    attempt_id: i64,
    status: AttemptStatus,
    code: Option<&str>,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE attempts SET status = $2, response_code = $3, message = $4, finished_at = now() WHERE id = $1")
        .bind(attempt_id)
        .bind(status.as_str())
        .bind(code)
        .bind(message)
        .execute(pool)
        .await?;
    Ok(())
}
