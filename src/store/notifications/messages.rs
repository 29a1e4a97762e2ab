//! The message log. Queued rows are the send queue: a sender claims a row by moving its
//! `next_attempt_at` a lease ahead (so a crashed sender's claim runs out and another
//! takes it), and settles it only while that claim (its attempt number) is current.
//! Every message and its de-duplication row belong to one customer (the instance's
//! account, or the reseller a notice of recarga's own goes to), and every statement
//! names it, so under Citus each runs on that customer's shard.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

pub struct NewMessage<'a> {
    /// The instance's account, or the reseller a notice of recarga's own goes to.
    pub customer_id: &'a str,
    pub instance_id: Uuid,
    pub phone_number: &'a str,
    pub customer_name: &'a str,
    pub message_type: &'a str,
    pub invoice_id: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub due_date: Option<NaiveDate>,
    pub body: &'a str,
    pub request_id: Option<&'a str>,
}

/// What storing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored and queued.
    Queued(Uuid),
    /// The same invoice and type went through this instance for this customer within
    /// the window (and did not fail): that message, nothing stored.
    Duplicate(Uuid),
}

/// Store a message and queue it, unless a message for the same (customer, instance,
/// invoice, type) was stored within `window_secs` and has not failed. The check and the insert
/// are one transaction on the de-duplication row, so concurrent requests store one.
pub async fn enqueue(pool: &PgPool, m: NewMessage<'_>, window_secs: i64) -> Result<Stored, sqlx::Error> {
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO notification_dedup (customer_id, instance_id, invoice_id, message_type, message_id)
         VALUES ($6, $1, $2, $3, $4)
         ON CONFLICT (customer_id, instance_id, invoice_id, message_type) DO UPDATE
             SET message_id = EXCLUDED.message_id, created_at = now()
             WHERE notification_dedup.created_at <= now() - $5::bigint * interval '1 second'
                OR EXISTS (SELECT 1 FROM notification_messages f
                           WHERE f.customer_id = notification_dedup.customer_id
                             AND f.id = notification_dedup.message_id AND f.status = 'failed')
         RETURNING message_id",
    )
    .bind(m.instance_id)
    .bind(m.invoice_id)
    .bind(m.message_type)
    .bind(id)
    .bind(window_secs)
    .bind(m.customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        let earlier: Uuid = sqlx::query_scalar(
            "SELECT message_id FROM notification_dedup
             WHERE customer_id = $4 AND instance_id = $1 AND invoice_id = $2 AND message_type = $3",
        )
        .bind(m.instance_id)
        .bind(m.invoice_id)
        .bind(m.message_type)
        .bind(m.customer_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        return Ok(Stored::Duplicate(earlier));
    }
    sqlx::query(
        "INSERT INTO notification_messages (id, instance_id, phone_number, customer_name, message_type, invoice_id,
             amount, currency, due_date, body, customer_id, request_id, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'queued')",
    )
    .bind(id)
    .bind(m.instance_id)
    .bind(m.phone_number)
    .bind(m.customer_name)
    .bind(m.message_type)
    .bind(m.invoice_id)
    .bind(m.amount)
    .bind(m.currency)
    .bind(m.due_date)
    .bind(m.body)
    .bind(m.customer_id)
    .bind(m.request_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Stored::Queued(id))
}

/// A queued message, claimed for one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub customer_id: String,
    pub id: Uuid,
    pub evolution_instance: String,
    pub phone_number: String,
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub request_id: Option<String>,
}

/// Claim up to `limit` queued messages that are due, each for `lease_secs`. The queue
/// spans customers: this is the one statement here not on one shard, and as Citus
/// locks rows (`FOR UPDATE SKIP LOCKED`) on one shard only, it then runs per shard.
pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE notification_messages m
         SET attempts = m.attempts + 1, next_attempt_at = now() + $2::bigint * interval '1 second'
         FROM notification_instances i
         WHERE i.id = m.instance_id AND (m.customer_id, m.id) IN (
             SELECT customer_id, id FROM notification_messages
             WHERE status = 'queued' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING m.customer_id, m.id, i.evolution_instance, m.phone_number, m.body, m.attempts, m.request_id",
    )
    .bind(limit)
    .bind(lease_secs)
    .fetch_all(pool)
    .await
}

/// WhatsApp took the message (and, with `delivered`, says the phone has it).
pub async fn mark_sent(
    pool: &PgPool,
    customer_id: &str,
    id: Uuid,
    attempt: i32,
    whatsapp_id: &str,
    delivered: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification_messages
         SET status = CASE WHEN $4 THEN 'delivered' ELSE 'sent' END, sent_at = now(),
             delivered_at = CASE WHEN $4 THEN now() END, evolution_message_id = NULLIF($3, ''), last_error = NULL
         WHERE customer_id = $5 AND id = $1 AND attempts = $2 AND status = 'queued'",
    )
    .bind(id)
    .bind(attempt)
    .bind(whatsapp_id)
    .bind(delivered)
    .bind(customer_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Given up on: a definite refusal, or out of attempts.
pub async fn mark_failed(
    pool: &PgPool,
    customer_id: &str,
    id: Uuid,
    attempt: i32,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification_messages SET status = 'failed', failed_at = now(), last_error = $3
         WHERE customer_id = $4 AND id = $1 AND attempts = $2 AND status = 'queued'",
    )
    .bind(id)
    .bind(attempt)
    .bind(error)
    .bind(customer_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Still queued: try again at `at`.
pub async fn retry_at(
    pool: &PgPool,
    customer_id: &str,
    id: Uuid,
    attempt: i32,
    at: DateTime<Utc>,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification_messages SET next_attempt_at = $3, last_error = $4
         WHERE customer_id = $5 AND id = $1 AND attempts = $2 AND status = 'queued'",
    )
    .bind(id)
    .bind(attempt)
    .bind(at)
    .bind(error)
    .bind(customer_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A message as the log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoggedMessage {
    pub id: Uuid,
    pub direction: String,
    pub phone_number: String,
    pub customer_name: String,
    pub message_type: String,
    pub invoice_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub due_date: Option<NaiveDate>,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// Which messages of an instance to show, newest first.
pub struct LogFilter<'a> {
    pub status: Option<&'a str>,
    pub direction: Option<&'a str>,
    pub limit: i64,
}

/// The messages `customer_id` sent through one of its instances.
pub async fn log(
    pool: &PgPool,
    customer_id: &str,
    instance_id: Uuid,
    filter: LogFilter<'_>,
) -> Result<Vec<LoggedMessage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, direction, phone_number, customer_name, message_type, invoice_id, amount, currency, due_date,
                body, status, attempts, last_error, created_at, sent_at, delivered_at, failed_at
         FROM notification_messages
         WHERE customer_id = $5 AND instance_id = $1
           AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR direction = $3)
         ORDER BY created_at DESC LIMIT $4",
    )
    .bind(instance_id)
    .bind(filter.status)
    .bind(filter.direction)
    .bind(filter.limit)
    .bind(customer_id)
    .fetch_all(pool)
    .await
}
