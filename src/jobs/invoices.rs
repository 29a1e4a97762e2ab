//! The monthly invoice run: checks every `interval` whether the previous month (business
//! time zone) is invoiced, and issues what is missing. Idempotent, so any number of
//! instances may run it; a month is invoiced within `interval` of its end.

use crate::service::invoices::InvoiceService;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub fn spawn(service: Arc<InvoiceService>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match service.issue_previous_month().await {
                Ok(issued) if !issued.is_empty() => tracing::info!(count = issued.len(), "invoices issued"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "invoice run failed"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}
