//! The WhatsApp sender: queued notifications, at most `workers` at a time. Woken at
//! once for messages queued in this process, and by polling for those queued elsewhere
//! (the CLI, another instance) or due for a retry.

use crate::service::notifications::NotificationService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

pub fn spawn_sender(
    service: Arc<NotificationService>,
    wake: Arc<Notify>,
    workers: usize,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(workers.max(1)));
        loop {
            let free = permits.available_permits().max(1) as i64;
            let due = match service.claim_due(free).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "notification claim failed");
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            if due.is_empty() {
                let _ = tokio::time::timeout(poll, wake.notified()).await;
                continue;
            }
            for message in due {
                let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore open");
                let service = Arc::clone(&service);
                tokio::spawn(async move {
                    let _permit = permit;
                    // An error here leaves the message queued; its claim runs out and it is retried.
                    let _ = service.deliver(&message).await;
                });
            }
        }
    })
}
