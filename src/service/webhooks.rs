//! Notifying resellers: events (recorded by the database with the change they report)
//! are handed to their consumers, and webhook and callback deliveries are sent, signed,
//! with retries and exponential backoff, until delivered or given up.
//!
//! **Consumers.** `EventConsumer` is the one place a new kind of notification plugs in
//! (WhatsApp, say): every event is handed to every consumer, at least once (a consumer
//! must tolerate a repeat), before it counts as dispatched.

use crate::domain::money::json_number as money;
use crate::domain::signature;
use crate::store::webhooks::{self as store, AttemptResult, Delivery, Event};
use crate::store::{customers, transactions};
use chrono::Utc;
use rand::Rng;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("database error")]
    Db(#[from] sqlx::Error),
    #[error("event consumer {consumer} failed: {message}")]
    Consumer { consumer: &'static str, message: String },
}

/// Something that acts on events. Must be idempotent: an event can be handed over twice
/// (a dispatcher that dies after consuming and before recording it).
#[async_trait::async_trait]
pub trait EventConsumer: Send + Sync {
    fn name(&self) -> &'static str;
    async fn consume(&self, event: &Event) -> Result<(), WebhookError>;
}

/// The webhook and callback consumer: queues the event's deliveries.
pub struct QueueDeliveries(pub PgPool);

#[async_trait::async_trait]
impl EventConsumer for QueueDeliveries {
    fn name(&self) -> &'static str {
        "deliveries"
    }

    async fn consume(&self, event: &Event) -> Result<(), WebhookError> {
        store::queue_deliveries(&self.0, event).await?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i32,
    /// The wait after the first failure; doubled after each (± 20 % jitter), up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub timeout: Duration,
    /// How long a claimed event or delivery is left to its claimer.
    pub lease: Duration,
}

impl DeliveryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doubled = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32));
        doubled
            .min(self.backoff_max)
            .mul_f64(rand::thread_rng().gen_range(0.8..1.2))
    }
}

pub struct WebhookService {
    pool: PgPool,
    client: reqwest::Client,
    policy: DeliveryPolicy,
    consumers: Vec<Arc<dyn EventConsumer>>,
}

impl WebhookService {
    pub fn new(pool: PgPool, policy: DeliveryPolicy) -> Self {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            // A receiver that redirects is misconfigured; never follow it elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with rustls");
        Self {
            consumers: vec![Arc::new(QueueDeliveries(pool.clone()))],
            pool,
            client,
            policy,
        }
    }

    /// Hand every event to `consumer` too (see the module docs).
    pub fn add_consumer(&mut self, consumer: Arc<dyn EventConsumer>) {
        self.consumers.push(consumer);
    }

    /// Dispatch up to `limit` events; how many.
    pub async fn dispatch(&self, limit: i64) -> Result<usize, WebhookError> {
        let events = store::claim_events(&self.pool, limit, self.policy.lease.as_secs() as i64).await?;
        for event in &events {
            for consumer in &self.consumers {
                // A failing consumer leaves the event undispatched: its lease runs out and
                // every consumer sees it again.
                consumer.consume(event).await.map_err(|e| {
                    tracing::warn!(event = event.id, consumer = consumer.name(), error = %e, "event consumer failed");
                    e
                })?;
            }
            store::mark_dispatched(&self.pool, event).await?;
        }
        Ok(events.len())
    }

    /// Claim the deliveries that are due (at most `limit`).
    pub async fn due(&self, limit: i64) -> Result<Vec<Delivery>, WebhookError> {
        Ok(store::claim_due(&self.pool, limit, self.policy.lease.as_secs() as i64).await?)
    }

    /// One attempt at one delivery, its result recorded.
    #[tracing::instrument(skip_all, fields(delivery = d.id, customer = %d.customer_id, txn = d.transaction_id.as_deref(), kind = %d.kind))]
    pub async fn attempt(&self, d: &Delivery) -> Result<(), WebhookError> {
        let body = match &d.body {
            Some(b) => b.clone(),
            None => store::fix_body(&self.pool, d, &self.payload(d).await?.to_string()).await?,
        };
        let Some(endpoint) = store::endpoint(&self.pool, &d.customer_id).await? else {
            let result = AttemptResult::Failed {
                status: None,
                error: "no signing secret: the reseller's webhook was removed",
                retry_at: None,
            };
            return Ok(store::record_attempt(&self.pool, d, result).await?);
        };
        let signature = signature::sign(&endpoint.secret, Utc::now().timestamp(), body.as_bytes());
        let sent = self
            .client
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signature::HEADER, signature)
            .header("recarga-event", &d.kind)
            .header("recarga-delivery", d.id.to_string())
            .body(body)
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!(status = r.status().as_u16(), "delivered");
                let status = i32::from(r.status().as_u16());
                return Ok(store::record_attempt(&self.pool, d, AttemptResult::Delivered { status }).await?);
            }
            Ok(r) => (Some(i32::from(r.status().as_u16())), format!("answered {}", r.status())),
            Err(e) => (None, format!("not delivered: {e}")),
        };
        let attempts = d.attempts + 1;
        let retry_at = (attempts < self.policy.max_attempts).then(|| {
            Utc::now() + chrono::Duration::from_std(self.policy.backoff(attempts)).unwrap_or(chrono::Duration::MAX)
        });
        tracing::warn!(attempts, error, give_up = retry_at.is_none(), "delivery failed");
        let result = AttemptResult::Failed {
            status,
            error: &error,
            retry_at,
        };
        Ok(store::record_attempt(&self.pool, d, result).await?)
    }

    /// The body of a delivery: the event and the state it is about, as of now.
    async fn payload(&self, d: &Delivery) -> Result<Value, WebhookError> {
        let data = match &d.transaction_id {
            Some(id) => match transactions::get_for_customer(&self.pool, &d.customer_id, id).await? {
                Some(t) => json!({"transaction": {
                    "id": t.id, "customer_id": t.customer_id, "reference": t.reference, "status": t.status,
                    "product_id": t.product_id, "phone": t.phone, "amount": money(t.amount_local),
                    "currency": t.currency, "amount_usd": money(t.charged_usd),
                    "exchange_rate": money(t.exchange_rate), "operator_transaction_id": t.operator_transaction_id,
                    "failure_reason": t.failure_reason, "created_at": t.created_at, "processed_at": t.processed_at,
                }}),
                None => json!({"transaction": {"id": id}}),
            },
            None => match customers::get(&self.pool, &d.customer_id).await? {
                Some(c) => json!({"customer_id": c.id, "balance_usd": money(c.balance_usd),
                                  "held_usd": money(c.held_usd), "low_balance_usd": c.low_balance_usd.map(money)}),
                None => json!({"customer_id": d.customer_id}),
            },
        };
        Ok(json!({"id": format!("evt_{}", d.event_id), "type": d.kind, "created_at": d.event_created_at, "data": data}))
    }
}
