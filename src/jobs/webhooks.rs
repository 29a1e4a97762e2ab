//! The notification workers: the event dispatcher and the delivery sender. Both poll
//! their tables (claims are leased, so any number of instances may run them); a
//! restart loses nothing, since events and deliveries live in the database.

use crate::service::webhooks::WebhookService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

pub fn spawn_dispatcher(service: Arc<WebhookService>, poll: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match service.dispatch(256).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "event dispatch failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// Send due deliveries, at most `workers` at a time.
pub fn spawn_sender(service: Arc<WebhookService>, workers: usize, poll: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(workers));
        loop {
            let free = permits.available_permits() as i64;
            let due = if free == 0 {
                Ok(Vec::new())
            } else {
                service.due(free).await
            };
            let due = match due {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery claim failed");
                    Vec::new()
                }
            };
            if due.is_empty() {
                tokio::time::sleep(poll).await;
                continue;
            }
            for delivery in due {
                let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore open");
                let service = Arc::clone(&service);
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(e) = service.attempt(&delivery).await {
                        // Its lease runs out and it is claimed again.
                        tracing::warn!(delivery = delivery.id, error = %e, "delivery attempt not recorded");
                    }
                });
            }
        }
    })
}
