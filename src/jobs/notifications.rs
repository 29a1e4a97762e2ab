//! The WhatsApp sender: queued notifications, at most `workers` at a time. Woken at
//! once for messages queued in this process, and by polling for those queued elsewhere
//! (the CLI, another instance) or due for a retry.

use super::spawn_claim_loop;
use crate::service::notifications::NotificationService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub fn spawn_sender(
    service: Arc<NotificationService>,
    wake: Arc<Notify>,
    workers: usize,
    poll: Duration,
) -> JoinHandle<()> {
    let claimer = Arc::clone(&service);
    spawn_claim_loop(
        "notification",
        workers,
        wake,
        poll,
        move |free| {
            let service = Arc::clone(&claimer);
            async move { service.claim_due(free).await }
        },
        move |message| {
            let service = Arc::clone(&service);
            // An error (logged by `deliver`) leaves the message queued: its claim runs
            // out and it is tried again.
            async move {
                let _ = service.deliver(&message).await;
            }
        },
    )
}
