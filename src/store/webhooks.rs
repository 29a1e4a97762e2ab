//! Webhook endpoints, purchase callbacks, events and their deliveries: the durable side
//! of notifying resellers. Events are written by triggers (migration 0016) in the same
//! transaction as the change they report; everything here reads or advances them.

use super::audit;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// A reseller's webhook endpoint, with the secret that signs its deliveries.
#[derive(Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub customer_id: String,
    /// None: the secret signs per-purchase callbacks only.
    pub url: Option<String>,
    pub secret: String,
}

/// Set (or replace) a reseller's endpoint and low-balance threshold, with an audit note
/// naming `actor`, in one transaction. False when the reseller does not exist.
pub async fn set_endpoint(
    pool: &PgPool,
    customer_id: &str,
    url: Option<&str>,
    secret: &str,
    low_balance_usd: Option<Decimal>,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query("UPDATE customers SET low_balance_usd = $2, updated_at = now() WHERE id = $1")
        .bind(customer_id)
        .bind(low_balance_usd)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !found {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_endpoints (customer_id, url, secret) VALUES ($1, $2, $3)
         ON CONFLICT (customer_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, updated_at = now()",
    )
    .bind(customer_id)
    .bind(url)
    .bind(secret)
    .execute(&mut *tx)
    .await?;
    let note = format!(
        "url {}, low balance {} (new signing secret)",
        url.unwrap_or("none: callbacks only"),
        low_balance_usd.map_or("off".into(), |t| format!("{t} USD"))
    );
    audit(&mut tx, customer_id, "webhook_set", &note, actor).await?;
    tx.commit().await?;
    Ok(true)
}

/// Stop sending webhooks to a reseller (its queued deliveries still go out), with an
/// audit note naming `actor`. False when it had no endpoint.
pub async fn remove_endpoint(pool: &PgPool, customer_id: &str, actor: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let removed = sqlx::query("DELETE FROM webhook_endpoints WHERE customer_id = $1")
        .bind(customer_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if removed {
        audit(
            &mut tx,
            customer_id,
            "webhook_removed",
            "webhooks and callbacks stopped",
            actor,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// A reseller's webhook settings as ops may read them (never the secret).
#[derive(sqlx::FromRow)]
pub struct Settings {
    pub url: Option<String>,
    pub low_balance_usd: Option<Decimal>,
    pub updated_at: DateTime<Utc>,
}

/// None when the reseller has no endpoint.
pub async fn settings(pool: &PgPool, customer_id: &str) -> Result<Option<Settings>, sqlx::Error> {
    sqlx::query_as(
        "SELECT w.url, c.low_balance_usd, w.updated_at FROM webhook_endpoints w
         JOIN customers c ON c.id = w.customer_id WHERE w.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

pub async fn endpoint(pool: &PgPool, customer_id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    sqlx::query_as("SELECT customer_id, url, secret FROM webhook_endpoints WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(pool)
        .await
}

/// Record a purchase's callback URL before its debit (see migration 0016), under the
/// customer the debit will name.
pub async fn add_callback(
    pool: &PgPool,
    customer_id: &str,
    transaction_id: &str,
    url: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO purchase_callbacks (customer_id, transaction_id, url) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(customer_id)
    .bind(transaction_id)
    .bind(url)
    .execute(pool)
    .await?;
    Ok(())
}

/// Something that happened to a reseller's money.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub customer_id: String,
    pub kind: String,
    pub transaction_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Claim up to `limit` undispatched events, oldest first, for `lease_secs` (another
/// dispatcher, on any instance, skips them until then). A sweep over every customer.
pub async fn claim_events(pool: &PgPool, limit: i64, lease_secs: i64) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE events e SET locked_until = now() + make_interval(secs => $2)
         WHERE (e.customer_id, e.id) IN (SELECT customer_id, id FROM events WHERE dispatched_at IS NULL
                                           AND (locked_until IS NULL OR locked_until < now())
                                         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING e.id, e.customer_id, e.kind, e.transaction_id, e.created_at",
    )
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

pub async fn mark_dispatched(pool: &PgPool, event: &Event) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE events SET dispatched_at = now(), locked_until = NULL WHERE customer_id = $1 AND id = $2")
        .bind(&event.customer_id)
        .bind(event.id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Queue the event's deliveries: to the reseller's webhook, if it has one, and to the
/// purchase's callback, if the event is about a purchase that gave one. Idempotent (a
/// target is queued once per event). How many were queued now.
pub async fn queue_deliveries(pool: &PgPool, event: &Event) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO deliveries (event_id, customer_id, target, url)
         SELECT $1, $2, 'webhook', w.url FROM webhook_endpoints w WHERE w.customer_id = $2 AND w.url IS NOT NULL
         UNION ALL
         SELECT $1, $2, 'callback', c.url FROM purchase_callbacks c
         WHERE c.transaction_id = $3 AND c.customer_id = $2 AND $4 LIKE 'transaction.%'
         ON CONFLICT (customer_id, event_id, target) DO NOTHING",
    )
    .bind(event.id)
    .bind(&event.customer_id)
    .bind(event.transaction_id.as_deref())
    .bind(&event.kind)
    .execute(pool)
    .await?
    .rows_affected())
}

/// One delivery, as the log shows it and the sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub customer_id: String,
    pub kind: String,
    pub transaction_id: Option<String>,
    pub target: String,
    pub url: String,
    pub body: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub event_created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.customer_id, e.kind, e.transaction_id, d.target, d.url, d.body,
     d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at,
     e.created_at AS event_created_at";

/// Claim up to `limit` deliveries that are due, for `lease_secs`. A sweep over every customer.
pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH c AS (
             UPDATE deliveries SET locked_until = now() + make_interval(secs => $2)
             WHERE (customer_id, id) IN (SELECT customer_id, id FROM deliveries
                                         WHERE status = 'pending' AND next_attempt_at <= now()
                                           AND (locked_until IS NULL OR locked_until < now())
                                         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING *)
         SELECT {DELIVERY_COLUMNS} FROM c d JOIN events e ON e.customer_id = d.customer_id AND e.id = d.event_id"
    ))
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

/// Fix the body a delivery sends, if none is fixed yet; the one that stands.
pub async fn fix_body(pool: &PgPool, delivery: &Delivery, body: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE deliveries SET body = COALESCE(body, $3) WHERE customer_id = $1 AND id = $2 RETURNING body",
    )
    .bind(&delivery.customer_id)
    .bind(delivery.id)
    .bind(body)
    .fetch_one(pool)
    .await
}

/// What one attempt came to.
pub enum AttemptResult<'a> {
    Delivered {
        status: i32,
    },
    /// Retry at `retry_at`, or give up (None): the delivery is then `failed`.
    Failed {
        status: Option<i32>,
        error: &'a str,
        retry_at: Option<DateTime<Utc>>,
    },
}

pub async fn record_attempt(pool: &PgPool, delivery: &Delivery, result: AttemptResult<'_>) -> Result<(), sqlx::Error> {
    match result {
        AttemptResult::Delivered { status } => sqlx::query(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $3,
                 last_error = NULL, delivered_at = now(), locked_until = NULL WHERE customer_id = $1 AND id = $2",
        )
        .bind(&delivery.customer_id)
        .bind(delivery.id)
        .bind(status),
        AttemptResult::Failed {
            status,
            error,
            retry_at,
        } => sqlx::query(
            "UPDATE deliveries SET status = CASE WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                 attempts = attempts + 1, last_status = $3, last_error = $4,
                 next_attempt_at = COALESCE($5, next_attempt_at), locked_until = NULL
             WHERE customer_id = $1 AND id = $2",
        )
        .bind(&delivery.customer_id)
        .bind(delivery.id)
        .bind(status)
        .bind(error)
        .bind(retry_at),
    }
    .execute(pool)
    .await?;
    Ok(())
}

/// A reseller's deliveries, newest first, a page at a time (before `before_id`).
pub async fn deliveries_for(
    pool: &PgPool,
    customer_id: &str,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.customer_id = d.customer_id AND e.id = d.event_id
         WHERE d.customer_id = $1 AND d.id < COALESCE($2, 9223372036854775807)
         ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(customer_id)
    .bind(before_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Send a reseller's delivery again (manual re-send): due now, whatever it came to,
/// with the same body. False if it is not this reseller's.
pub async fn resend(pool: &PgPool, customer_id: &str, delivery_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = now(), locked_until = NULL
         WHERE customer_id = $2 AND id = $1",
    )
    .bind(delivery_id)
    .bind(customer_id)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}
