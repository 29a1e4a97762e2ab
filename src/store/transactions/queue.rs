//! The async queue: PENDING async purchases are themselves the queue entries.

use super::{Transaction, TXN_COLUMNS};

/// The statement behind `lock_queued` (public so that a test can check its plan).
pub static LOCK_QUEUED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {TXN_COLUMNS} FROM transactions
         WHERE status = 'PENDING' AND mode = 'async'
         ORDER BY created_at LIMIT $1
         FOR UPDATE SKIP LOCKED"
    )
});

/// The queue: up to `limit` async purchases still PENDING, oldest first, locked in the
/// caller's database transaction, skipping those another worker holds. Nothing is
/// written; the caller begins their attempts before it commits, or rolls back and leaves
/// them queued.
pub async fn lock_queued(conn: &mut sqlx::PgConnection, limit: i64) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&LOCK_QUEUED).bind(limit).fetch_all(conn).await
}
