//! Purchases in the ledger: the transaction rows and their reads, with the debit,
//! the attempts, the async queue and the settlements each in a file of its own.

mod attempts;
mod debit;
mod queue;
mod review;
mod search;
mod settle;

pub use attempts::*;
pub use debit::*;
pub use queue::*;
pub use review::*;
pub use search::*;
pub use settle::*;

use crate::domain::status::TxnStatus;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transaction {
    pub id: String,
    pub customer_id: String,
    pub reference: Option<String>,
    pub channel: String,
    pub mode: String,
    pub product_id: String,
    pub phone: String,
    pub operator: Option<String>,
    pub amount_local: Decimal,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
    pub business_day: NaiveDate,
    #[sqlx(try_from = "String")]
    pub status: TxnStatus,
    pub upstream: Option<String>,
    pub operator_transaction_id: Option<String>,
    pub failure_reason: Option<String>,
    pub response_time_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

const TXN_COLUMNS: &str = "id, customer_id, reference, channel, mode, product_id, phone, operator, amount_local,
     currency, exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream,
     operator_transaction_id, failure_reason, response_time_ms, created_at, updated_at, processed_at";

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TXN_COLUMNS} FROM transactions WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A customer's own transaction; another customer's id is simply not found.
pub async fn get_for_customer(pool: &PgPool, customer_id: &str, id: &str) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id)
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

pub async fn by_reference(
    pool: &PgPool,
    customer_id: &str,
    reference: &str,
) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions WHERE customer_id = $1 AND reference = $2"
    ))
    .bind(customer_id)
    .bind(reference)
    .fetch_optional(pool)
    .await
}

/// A customer's own transaction by our id or, failing that, by the customer's reference.
pub async fn by_id_or_reference(
    pool: &PgPool,
    customer_id: &str,
    id_or_reference: &str,
) -> Result<Option<Transaction>, sqlx::Error> {
    match get_for_customer(pool, customer_id, id_or_reference).await? {
        Some(t) => Ok(Some(t)),
        None => by_reference(pool, customer_id, id_or_reference).await,
    }
}

/// Unresolved too long: hold the funds and hand it to ops.
pub async fn move_to_review(pool: &PgPool, transaction_id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE transactions SET status = 'REVIEW', failure_reason = $2, updated_at = now()
         WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')",
    )
    .bind(transaction_id)
    .bind(reason)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Claim up to `limit` open transactions untouched for `min_age_secs`, oldest first,
/// not deferred (see `defer_enquiry`) and that no live claim holds, for `lease_secs`
/// under `claim`: of several instances sweeping at once each gets different ones (SKIP
/// LOCKED), and a claim whose holder died lapses with its lease.
pub async fn claim_open(
    pool: &PgPool,
    claim: uuid::Uuid,
    min_age_secs: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH c AS (
             SELECT id FROM transactions
             WHERE processed_at IS NULL AND status IN ('PENDING', 'PROCESSING')
               AND updated_at < now() - make_interval(secs => $1)
               AND (next_enquiry_at IS NULL OR next_enquiry_at <= now())
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY updated_at LIMIT $2
             FOR UPDATE SKIP LOCKED),
         claimed AS (
             UPDATE transactions t SET claimed_by = $3, claimed_until = now() + make_interval(secs => $4)
             FROM c WHERE t.id = c.id
             RETURNING t.*)
         SELECT {TXN_COLUMNS} FROM claimed"
    ))
    .bind(min_age_secs as f64)
    .bind(limit)
    .bind(claim)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

/// Give back what `claim` still holds.
pub async fn release(pool: &PgPool, claim: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE transactions SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1")
        .bind(claim)
        .execute(pool)
        .await?;
    Ok(())
}

/// The upstream still holds it as pending: the next enquiry waits `base_secs` × 2 per
/// earlier such enquiry, at most `max_secs` (exponential backoff, kept in the row so
/// that every instance's resolver honours it).
pub async fn defer_enquiry(
    pool: &PgPool,
    transaction_id: &str,
    base_secs: f64,
    max_secs: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE transactions SET updated_at = now(), pending_enquiries = pending_enquiries + 1,
             next_enquiry_at = now() + make_interval(secs => least($2 * power(2, least(pending_enquiries, 20)), $3))
         WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')",
    )
    .bind(transaction_id)
    .bind(base_secs)
    .bind(max_secs)
    .execute(pool)
    .await?;
    Ok(())
}

/// Push `updated_at` so the resolver's next sweep leaves this one alone for a while.
pub async fn touch(pool: &PgPool, transaction_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE transactions SET updated_at = now() WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')")
        .bind(transaction_id)
        .execute(pool)
        .await?;
    Ok(())
}
