//! How much work is waiting, for `/metrics`: read every few seconds by the gauges job,
//! never by a scrape. Each count goes through a partial index that holds only the rows
//! it counts (non-final transactions, queued messages, undispatched events, pending
//! deliveries), so it costs what is waiting, not the size of the tables.

use sqlx::PgPool;

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Backlog {
    /// Non-final transactions (`processed_at IS NULL`: PENDING, PROCESSING, REVIEW).
    pub pending: i64,
    pub processing: i64,
    pub review: i64,
    /// Async top-ups not sent yet (the purchase queue).
    pub queued_purchases: i64,
    pub queued_notifications: i64,
    pub undispatched_events: i64,
    pub pending_deliveries: i64,
}

pub async fn read(pool: &PgPool) -> Result<Backlog, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.pending, o.processing, o.review,
                (SELECT count(*) FROM transactions WHERE status = 'PENDING' AND mode = 'async') AS queued_purchases,
                (SELECT count(*) FROM notification_messages WHERE status = 'queued') AS queued_notifications,
                (SELECT count(*) FROM events WHERE dispatched_at IS NULL) AS undispatched_events,
                (SELECT count(*) FROM deliveries WHERE status = 'pending') AS pending_deliveries
         FROM (SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending,
                      count(*) FILTER (WHERE status = 'PROCESSING') AS processing,
                      count(*) FILTER (WHERE status = 'REVIEW') AS review
               FROM transactions WHERE processed_at IS NULL) o",
    )
    .fetch_one(pool)
    .await
}
