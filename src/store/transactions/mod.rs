//! Purchases in the ledger: the transaction rows and their reads, with the debit,
//! the attempts, the async queue and the settlements each in a file of its own.

mod attempts;
mod debit;
mod queue;
mod search;
mod settle;

pub use attempts::*;
pub use debit::*;
pub use queue::*;
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

/// Non-final transactions not touched for `min_age_secs`, oldest first.
pub async fn open_older_than(pool: &PgPool, min_age_secs: i64, limit: i64) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions
         WHERE processed_at IS NULL AND status IN ('PENDING', 'PROCESSING')
           AND updated_at < now() - make_interval(secs => $1)
         ORDER BY updated_at LIMIT $2"
    ))
    .bind(min_age_secs as f64)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Push `updated_at` so the resolver's next sweep leaves this one alone for a while.
pub async fn touch(pool: &PgPool, transaction_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE transactions SET updated_at = now() WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')")
        .bind(transaction_id)
        .execute(pool)
        .await?;
    Ok(())
}
