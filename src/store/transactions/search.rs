//! A reseller's transactions, newest first, a page at a time: keyset pagination on
//! (created_at, id) through `transactions_customer_created` (migration 0012), so a page
//! costs the same on the first day and after a million rows.

use super::{Transaction, TXN_COLUMNS};
use crate::domain::status::TxnStatus;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

/// What to look for; every field narrows the search.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub reference: Option<String>,
    pub phone: Option<String>,
    pub status: Option<TxnStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

/// Where a page ended: the next page starts strictly after (older than) this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

/// The statement for one page (public so that a test can check its plan).
pub fn search_query<'a>(
    customer_id: &'a str,
    filter: &'a SearchFilter,
    after: Option<&'a Position>,
    limit: i64,
) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::new(format!("SELECT {TXN_COLUMNS} FROM transactions WHERE customer_id = "));
    q.push_bind(customer_id);
    if let Some(p) = after {
        q.push(" AND (created_at, id) < (")
            .push_bind(p.created_at)
            .push(", ")
            .push_bind(p.id.as_str())
            .push(")");
    }
    if let Some(r) = &filter.reference {
        q.push(" AND reference = ").push_bind(r.as_str());
    }
    if let Some(phone) = &filter.phone {
        q.push(" AND phone = ").push_bind(phone.as_str());
    }
    if let Some(s) = filter.status {
        q.push(" AND status = ").push_bind(s.as_str());
        // Implied for the open statuses (`processed_at` is set by every move to a final
        // one): lets the planner read the few open rows through their partial indexes
        // instead of walking every row of the reseller (migration 0021).
        if matches!(s, TxnStatus::Pending | TxnStatus::Processing | TxnStatus::Review) {
            q.push(" AND processed_at IS NULL");
        }
    }
    if let Some(from) = filter.from {
        q.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        q.push(" AND created_at < ").push_bind(to);
    }
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit);
    q
}

/// At most `limit` of the customer's transactions matching `filter`, newest first,
/// starting after `after`.
pub async fn search(
    pool: &PgPool,
    customer_id: &str,
    filter: &SearchFilter,
    after: Option<&Position>,
    limit: i64,
) -> Result<Vec<Transaction>, sqlx::Error> {
    search_query(customer_id, filter, after, limit)
        .build_query_as()
        .fetch_all(pool)
        .await
}
