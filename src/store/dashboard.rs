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
    pub customer_id: Option<String>,
    pub transaction_id: Option<String>,
    pub action: String,
    pub note: Option<String>,
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A reseller's notes, and the ops-wide ones (no reseller: `ops_audit_notes`, migration
/// 0029), as one row type. One sequence numbers both, so their ids order them together.
const RESELLER_NOTES: &str =
    "SELECT id, customer_id, transaction_id, action, note, actor, created_at FROM audit_notes WHERE true";
const OPS_WIDE_NOTES: &str = "SELECT id, NULL, NULL, action, note, actor, created_at FROM ops_audit_notes WHERE true";

/// At most `limit` audit notes, newest first, older than `before` (keyset on id): one
/// reseller's (through the primary key, (customer_id, id)), or the whole log, the
/// resellers' notes (through `audit_notes_id`) merged with the ops-wide ones. Each side
/// is cut to a page before the merge, so under Citus every shard returns a page, not
/// its whole table.
pub async fn audit_log(
    pool: &PgPool,
    customer_id: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditNote>, sqlx::Error> {
    let sides: &[&str] = match customer_id {
        Some(_) => &[RESELLER_NOTES],
        None => &[RESELLER_NOTES, OPS_WIDE_NOTES],
    };
    let mut q = QueryBuilder::new("SELECT * FROM (");
    for (i, side) in sides.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push("(").push(side);
        // Only the resellers' side is read when one reseller is asked for.
        if let Some(c) = customer_id {
            q.push(" AND customer_id = ").push_bind(c);
        }
        if let Some(id) = before {
            q.push(" AND id < ").push_bind(id);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(limit).push(")");
    }
    q.push(") notes ORDER BY id DESC LIMIT ").push_bind(limit);
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
