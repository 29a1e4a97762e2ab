//! Reads behind /dashboard that no API serves: recent attempts, the audit log, the list
//! of resellers. Each one reads through an index and a bounded range or page.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, QueryBuilder};

/// Attempts of one upstream in one status, recently.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentAttempts {
    pub upstream: String,
    /// SENT (no answer yet), SUCCESS, FAILED or UNKNOWN.
    pub status: String,
    pub count: i64,
}

/// Attempts made since `since`, per upstream and status, out of the newest `cap`
/// attempts: a walk back along the primary key (ids grow with time), bounded, as
/// `attempts` has no index on its time.
pub async fn recent_attempts(
    pool: &PgPool,
    since: DateTime<Utc>,
    cap: i64,
) -> Result<Vec<RecentAttempts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT upstream, status, count(*) AS count
         FROM (SELECT upstream, status, created_at FROM attempts ORDER BY id DESC LIMIT $2) a
         WHERE created_at >= $1 GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(since)
    .bind(cap)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditNote {
    pub id: i64,
    pub customer_id: String,
    pub transaction_id: Option<String>,
    pub action: String,
    pub note: Option<String>,
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// At most `limit` audit notes (of one reseller, or all), newest first, older than
/// `before`: keyset on the primary key (customer_id, id), or on `audit_notes_id` for the
/// whole log (migration 0029).
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
