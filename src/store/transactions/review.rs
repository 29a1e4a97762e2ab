//! The REVIEW queue ops work through on /dashboard, oldest first, and the evidence shown
//! with each transaction: every attempt and what the upstream answered.

use super::search::Position;
use super::{Transaction, TXN_COLUMNS};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, QueryBuilder};

/// One send to an upstream and its answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptEvidence {
    pub attempt_no: i32,
    pub upstream: String,
    pub upstream_reference: String,
    pub amount_sent: Decimal,
    pub status: String,
    pub upstream_transaction_id: Option<String>,
    pub response_code: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// At most `limit` REVIEW transactions (of one reseller, or all), oldest first, after
/// `after`: keyset on the partial index `transactions_review` (migration 0021).
pub async fn review_queue(
    pool: &PgPool,
    customer_id: Option<&str>,
    after: Option<&Position>,
    limit: i64,
) -> Result<Vec<Transaction>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!(
        "SELECT {TXN_COLUMNS} FROM transactions WHERE status = 'REVIEW'"
    ));
    if let Some(c) = customer_id {
        q.push(" AND customer_id = ").push_bind(c);
    }
    if let Some(p) = after {
        q.push(" AND (created_at, id) > (")
            .push_bind(p.created_at)
            .push(", ")
            .push_bind(p.id.as_str())
            .push(")");
    }
    q.push(" ORDER BY created_at, id LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

/// Every attempt of a transaction, in order (through its unique (transaction_id, attempt_no)).
pub async fn evidence(pool: &PgPool, transaction_id: &str) -> Result<Vec<AttemptEvidence>, sqlx::Error> {
    sqlx::query_as(
        "SELECT attempt_no, upstream, upstream_reference, amount_sent, status, upstream_transaction_id,
                response_code, message, created_at, finished_at
         FROM attempts WHERE transaction_id = $1 ORDER BY attempt_no",
    )
    .bind(transaction_id)
    .fetch_all(pool)
    .await
}
