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
    pub transaction_id: String,
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

/// Every attempt of these transactions, by transaction and in order (through the
/// unique (transaction_id, attempt_no)): one statement for a whole page of them.
pub async fn evidence(pool: &PgPool, transaction_ids: &[&str]) -> Result<Vec<AttemptEvidence>, sqlx::Error> {
    sqlx::query_as(
        "SELECT transaction_id, attempt_no, upstream, upstream_reference, amount_sent, status,
                upstream_transaction_id, response_code, message, created_at, finished_at
         FROM attempts WHERE transaction_id = ANY($1) ORDER BY transaction_id, attempt_no",
    )
    .bind(transaction_ids)
    .fetch_all(pool)
    .await
}

/// `evidence` for a page of transactions, split back into each one's attempts, in the
/// page's order.
pub async fn evidence_by_transaction(
    pool: &PgPool,
    page: &[Transaction],
) -> Result<Vec<Vec<AttemptEvidence>>, sqlx::Error> {
    let ids: Vec<&str> = page.iter().map(|t| t.id.as_str()).collect();
    let mut evidence = evidence(pool, &ids).await?;
    Ok(page
        .iter()
        .map(|t| {
            let (mine, rest) = std::mem::take(&mut evidence)
                .into_iter()
                .partition(|a| a.transaction_id == t.id);
            evidence = rest;
            mine
        })
        .collect())
}
