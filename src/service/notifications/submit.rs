//! Storing a message: a billing system's request (after the instance's connection is
//! checked with Evolution), and the rendering and queueing every message shares.

use super::{templates, Caller, NotificationService, NotifyError};
use crate::domain::notification::request::{format_amount, BillingRequest};
use crate::domain::notification::template::render;
use crate::domain::notification::MessageType;
use crate::store::notifications::instances;
use crate::store::notifications::messages::{self, NewMessage, Stored};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A message to render and queue.
pub(super) struct Outgoing<'a> {
    /// Whose message it is: the instance's account, or the reseller notified.
    pub customer_id: &'a str,
    pub instance_id: Uuid,
    pub kind: MessageType,
    pub phone_number: &'a str,
    pub customer_name: &'a str,
    pub invoice_id: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub due_date: Option<NaiveDate>,
    /// Placeholders beyond the seed's four (`period`, `balance`, `threshold`).
    pub extra: Vec<(&'static str, Option<String>)>,
    pub request_id: Option<&'a str>,
}

impl NotificationService {
    /// A billing system's notification, through one of its account's instances, which
    /// must be connected. The message id (an earlier one's, for a duplicate within the
    /// window); the sender delivers it.
    #[tracing::instrument(skip_all, fields(account = %caller.account_id, instance = %instance_id, request_id = request_id.unwrap_or("-")), err)]
    pub async fn send_billing(
        &self,
        caller: &Caller,
        instance_id: Uuid,
        request: &BillingRequest,
        request_id: Option<&str>,
    ) -> Result<Uuid, NotifyError> {
        let instance = instances::of_account(&self.pool, instance_id, &caller.account_id)
            .await?
            .ok_or(NotifyError::InstanceNotFound)?;
        if !self.link(&instance).await?.is_open() {
            return Err(NotifyError::NotConnected);
        }
        let stored = self
            .queue(Outgoing {
                customer_id: &caller.account_id,
                instance_id: instance.id,
                kind: request.message_type,
                phone_number: &request.phone_number,
                customer_name: &request.customer_name,
                invoice_id: &request.invoice_id,
                amount: request.amount,
                currency: &request.currency,
                due_date: request.due_date,
                extra: Vec::new(),
                request_id,
            })
            .await?;
        Ok(match stored {
            Stored::Queued(id) => id,
            Stored::Duplicate(id) => {
                tracing::info!(message = %id, "same invoice and type within the window: not sent again");
                id
            }
        })
    }

    /// Render `o` with its instance's template, store it queued (unless a duplicate),
    /// and wake the sender.
    pub(super) async fn queue(&self, o: Outgoing<'_>) -> Result<Stored, NotifyError> {
        let template = templates::load(&self.config.templates_dir, o.instance_id, o.kind).await?;
        let mut values = vec![
            ("customer_name", Some(o.customer_name.to_string())),
            ("amount", Some(format_amount(o.amount, o.currency))),
            ("invoice_id", Some(o.invoice_id.to_string())),
            ("due_date", o.due_date.map(|d| d.format("%Y-%m-%d").to_string())),
        ];
        values.extend(o.extra);
        let body = render(&template, &values);
        let stored = messages::enqueue(
            &self.pool,
            NewMessage {
                customer_id: o.customer_id,
                instance_id: o.instance_id,
                phone_number: o.phone_number,
                customer_name: o.customer_name,
                message_type: o.kind.as_str(),
                invoice_id: o.invoice_id,
                amount: o.amount,
                currency: o.currency,
                due_date: o.due_date,
                body: &body,
                request_id: o.request_id,
            },
            self.config.dedup_window_secs,
        )
        .await?;
        if let Stored::Queued(id) = stored {
            tracing::info!(message = %id, kind = %o.kind, "notification queued");
            self.wake.notify_one();
        }
        Ok(stored)
    }
}
