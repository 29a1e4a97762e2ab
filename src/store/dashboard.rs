//! Reads behind /dashboard that no API serves: daily volumes, the audit log, the list
//! of resellers. Each one reads through an index and a bounded range or page.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, QueryBuilder};

/// Delivered top-ups of one UTC day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayVolume {
    pub day: NaiveDate,
    pub count: i64,
    /// Face value of the day's MXN top-ups.
    pub mxn: Decimal,
    /// Charged to the reseller.
    pub usd: Decimal,
}

/// SUCCESS volume per UTC day in [from, to) for one reseller, through
/// `transactions_customer_created` (a range of one customer's rows).
pub async fn daily_volume(
    pool: &PgPool,
    customer_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DayVolume>, sqlx::Error> {
    sqlx::query_as(
        "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS count,
                COALESCE(sum(amount_local) FILTER (WHERE currency = 'MXN'), 0) AS mxn,
                COALESCE(sum(charged_usd), 0) AS usd
         FROM transactions
         WHERE customer_id = $1 AND created_at >= $2 AND created_at < $3 AND status = 'SUCCESS'
         GROUP BY 1 ORDER BY 1",
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// FAILED top-ups of one reseller in [from, to), through `transactions_customer_status`
/// (failures only, so a small range of a small index).
pub async fn failed_count(
    pool: &PgPool,
    customer_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM transactions
         WHERE customer_id = $1 AND status = 'FAILED' AND created_at >= $2 AND created_at < $3",
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditNote {
    pub id: i64,
    pub customer_id: Option<String>,
    pub transaction_id: Option<String>,
    pub action: String,
    pub note: Option<String>,
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// At most `limit` audit notes (of one reseller, or all), newest first, older than
/// `before`: keyset on the primary key, or on `audit_notes_customer` (migration 0021).
pub async fn audit_log(
    pool: &PgPool,
    customer_id: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditNote>, sqlx::Error> {
    let mut q = QueryBuilder::new(
        "SELECT id, customer_id, transaction_id, action, note, actor, created_at FROM audit_notes WHERE true",
    );
    if let Some(c) = customer_id {
        q.push(" AND customer_id = ").push_bind(c);
    }
    if let Some(id) = before {
        q.push(" AND id < ").push_bind(id);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub balance_usd: Decimal,
}

/// At most `limit` resellers by id, after `after` (keyset on the primary key).
pub async fn resellers(pool: &PgPool, after: Option<&str>, limit: i64) -> Result<Vec<ResellerRow>, sqlx::Error> {
    let mut q = QueryBuilder::new("SELECT id, name, status, balance_usd FROM customers");
    if let Some(id) = after {
        q.push(" WHERE id > ").push_bind(id);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}
