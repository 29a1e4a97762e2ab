//! Monthly invoices: issued once (header, per-currency totals and lines in one
//! transaction), never changed after (migration 0012's triggers), read by their reseller.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invoice {
    pub number: String,
    pub customer_id: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub transactions: i32,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub total_usd: Decimal,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceTotal {
    pub currency: String,
    pub transactions: i32,
    pub amount_local: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub total_usd: Decimal,
    pub average_rate: Decimal,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceLine {
    pub transaction_id: String,
    pub reference: Option<String>,
    pub product_id: String,
    pub phone: String,
    pub amount_local: Decimal,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
    pub settled_at: DateTime<Utc>,
}

/// The period to invoice: [from, to) and the days it names.
pub struct Period {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Resellers with top-ups settled as SUCCESS in the period and no invoice for it yet.
pub async fn uninvoiced_customers(pool: &PgPool, period: &Period) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = on").execute(&mut *tx).await?;
    let ids = sqlx::query_scalar(
        "SELECT DISTINCT t.customer_id FROM transactions t
         WHERE t.status = 'SUCCESS' AND t.processed_at >= $1 AND t.processed_at < $2
           AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = t.customer_id AND i.period_start = $3)
         ORDER BY 1",
    )
    .bind(period.from)
    .bind(period.to)
    .bind(period.first_day)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Issue `number` for the customer's SUCCESS top-ups settled in the period: lines,
/// totals per currency and the header, in one transaction. False if it was issued
/// already (by another instance, say): nothing is written then.
pub async fn issue(pool: &PgPool, number: &str, customer_id: &str, period: &Period) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = on").execute(&mut *tx).await?;
    let issued = sqlx::query(
        "INSERT INTO invoices (number, customer_id, period_start, period_end, transactions, cost_usd,
             commission_usd, total_usd)
         SELECT $1, $2, $5, $6, count(*), sum(cost_usd), sum(commission_usd), sum(charged_usd)
         FROM transactions WHERE customer_id = $2 AND status = 'SUCCESS' AND processed_at >= $3 AND processed_at < $4
         HAVING count(*) > 0
         ON CONFLICT DO NOTHING",
    )
    .bind(number)
    .bind(customer_id)
    .bind(period.from)
    .bind(period.to)
    .bind(period.first_day)
    .bind(period.last_day)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !issued {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_number, customer_id, transaction_id, reference, product_id, phone,
             amount_local, currency, exchange_rate, cost_usd, commission_usd, charged_usd, settled_at)
         SELECT $1, customer_id, id, reference, product_id, phone, amount_local, currency, exchange_rate, cost_usd,
                commission_usd, charged_usd, processed_at
         FROM transactions WHERE customer_id = $2 AND status = 'SUCCESS' AND processed_at >= $3 AND processed_at < $4",
    )
    .bind(number)
    .bind(customer_id)
    .bind(period.from)
    .bind(period.to)
    .execute(&mut *tx)
    .await?;
    // The totals come from the lines just written, so they are their sum by construction.
    sqlx::query(
        "INSERT INTO invoice_totals (invoice_number, customer_id, currency, transactions, amount_local, cost_usd,
             commission_usd, total_usd, average_rate)
         SELECT $1, $2, currency, count(*), sum(amount_local), sum(cost_usd), sum(commission_usd), sum(charged_usd),
                round(sum(amount_local) / NULLIF(sum(cost_usd), 0), 6)
         FROM invoice_lines WHERE customer_id = $2 AND invoice_number = $1 GROUP BY currency",
    )
    .bind(number)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

const INVOICE_COLUMNS: &str =
    "number, customer_id, period_start, period_end, transactions, cost_usd, commission_usd, total_usd, issued_at";

/// A reseller's invoices, newest period first.
pub async fn list(pool: &PgPool, customer_id: &str) -> Result<Vec<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE customer_id = $1 ORDER BY period_start DESC"
    ))
    .bind(customer_id)
    .fetch_all(pool)
    .await
}

/// One of the reseller's invoices; another's is simply not found.
pub async fn get(pool: &PgPool, customer_id: &str, number: &str) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE customer_id = $2 AND number = $1"
    ))
    .bind(number)
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

pub async fn totals(pool: &PgPool, customer_id: &str, number: &str) -> Result<Vec<InvoiceTotal>, sqlx::Error> {
    sqlx::query_as(
        "SELECT currency, transactions, amount_local, cost_usd, commission_usd, total_usd, average_rate
         FROM invoice_totals WHERE customer_id = $1 AND invoice_number = $2 ORDER BY currency",
    )
    .bind(customer_id)
    .bind(number)
    .fetch_all(pool)
    .await
}

pub async fn lines(pool: &PgPool, customer_id: &str, number: &str) -> Result<Vec<InvoiceLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT transaction_id, reference, product_id, phone, amount_local, currency, exchange_rate, cost_usd,
                commission_usd, charged_usd, settled_at
         FROM invoice_lines WHERE customer_id = $1 AND invoice_number = $2 ORDER BY settled_at, transaction_id",
    )
    .bind(customer_id)
    .bind(number)
    .fetch_all(pool)
    .await
}
