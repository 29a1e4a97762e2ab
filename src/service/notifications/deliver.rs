//! Handing queued messages to WhatsApp: one attempt per claim; a passing error queues
//! the message again after a growing wait, a definite one (or the last attempt) marks
//! it failed. A message is settled only under the claim it was sent with, so a sender
//! whose lease ran out cannot overwrite a newer attempt's result.

use super::{NotificationService, NotifyError};
use crate::store::notifications::messages::{self, Claimed};
use chrono::Utc;
use std::time::Duration;

impl NotificationService {
    /// Claim up to `limit` messages that are due.
    pub async fn claim_due(&self, limit: i64) -> Result<Vec<Claimed>, NotifyError> {
        Ok(messages::claim_due(&self.pool, limit, self.config.lease_secs).await?)
    }

    /// One attempt at a claimed message.
    #[tracing::instrument(skip_all, fields(message = %m.id, attempt = m.attempts,
        request_id = m.request_id.as_deref().unwrap_or("-")), err)]
    pub async fn deliver(&self, m: &Claimed) -> Result<(), NotifyError> {
        let whatsapp = self.whatsapp.as_ref().ok_or(NotifyError::NotConfigured)?;
        match whatsapp
            .send_text(&m.evolution_instance, &m.phone_number, &m.body)
            .await
        {
            Ok(accepted) => {
                messages::mark_sent(
                    &self.pool,
                    &m.customer_id,
                    m.id,
                    m.attempts,
                    &accepted.message_id,
                    accepted.delivered,
                )
                .await?;
                tracing::info!(whatsapp_id = %accepted.message_id, "notification sent");
            }
            Err(e) if e.is_retryable() && m.attempts < self.config.max_attempts => {
                let wait = self.backoff(m.attempts);
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                messages::retry_at(&self.pool, &m.customer_id, m.id, m.attempts, at, &e.to_string()).await?;
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "notification not sent; will retry");
            }
            Err(e) => {
                messages::mark_failed(&self.pool, &m.customer_id, m.id, m.attempts, &e.to_string()).await?;
                tracing::warn!(error = %e, "notification failed");
            }
        }
        Ok(())
    }

    /// The wait after attempt `n` (1-based): base × 2^(n−1), at most `retry_max`.
    fn backoff(&self, attempt: i32) -> Duration {
        let doublings = attempt.clamp(1, 20) as u32 - 1;
        self.config
            .retry_base
            .saturating_mul(1 << doublings)
            .min(self.config.retry_max)
    }
}
