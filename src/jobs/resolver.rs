//! The resolver's sweep: every non-final transaction (also after a crash) is moved on —
//! PENDING ones are sent, PROCESSING ones are enquired — by the purchase service. Each
//! sweep claims what it works on, so of several instances one asks about each.

use crate::service::purchase::{PurchaseError, PurchaseService};
use futures::StreamExt;
use std::sync::Arc;

/// One sweep over open transactions untouched for `min_age_secs`; how many were looked at.
pub async fn sweep(service: &Arc<PurchaseService>, min_age_secs: i64) -> Result<usize, PurchaseError> {
    let (claim, open) = service.claim_open(min_age_secs, 500).await?;
    let n = open.len();
    futures::stream::iter(open)
        .for_each_concurrent(32, |txn| async move {
            if let Err(e) = service.process(&txn.id).await {
                tracing::warn!(txn = %txn.id, error = %e, "resolver could not move transaction on");
            }
        })
        .await;
    service.release(claim).await?;
    Ok(n)
}
