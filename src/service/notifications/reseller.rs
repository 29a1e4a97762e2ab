//! recarga's own notices to a reseller, sent through recarga's instance to the
//! reseller's WhatsApp contact when one is set: a low balance, a credit (the seed's
//! `confirmation`) and an issued invoice (`invoice`).

use super::submit::Outgoing;
use super::{NotificationService, NotifyError};
use crate::domain::notification::request::format_amount;
use crate::domain::notification::MessageType;
use crate::service::webhooks::{EventConsumer, WebhookError};
use crate::store::customers;
use crate::store::notifications::messages::Stored;
use crate::store::notifications::{contacts, instances};
use crate::store::webhooks::Event;
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use uuid::Uuid;

const USD: &str = "USD";

#[derive(Debug, Clone, PartialEq)]
pub enum ResellerNotice {
    /// The balance fell below the reseller's alert level. Sent at most once per day
    /// (and de-duplication window).
    LowBalance {
        balance_usd: Decimal,
        threshold_usd: Decimal,
    },
    /// Funds were added; `reference` names the credit (it is the message's invoice id).
    Credit {
        amount_usd: Decimal,
        balance_usd: Decimal,
        reference: String,
    },
    /// An invoice was issued.
    Invoice {
        number: String,
        period_start: NaiveDate,
        period_end: NaiveDate,
        total_usd: Decimal,
        due_date: Option<NaiveDate>,
    },
}

impl ResellerNotice {
    /// The confirmation of a credit made now (its reference names the moment).
    pub fn credit(amount_usd: Decimal, balance_usd: Decimal) -> Self {
        Self::Credit {
            amount_usd,
            balance_usd,
            reference: format!("CREDIT-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f")),
        }
    }
}

impl NotificationService {
    /// After a credit has committed: queue its confirmation. The credit stands whatever
    /// happens here, so a failure is only logged.
    pub async fn confirm_credit(&self, customer_id: &str, amount_usd: Decimal, balance_usd: Decimal) {
        let notice = ResellerNotice::credit(amount_usd, balance_usd);
        if let Err(e) = self.notify_reseller(customer_id, notice).await {
            tracing::warn!(customer = customer_id, error = %e, "credit confirmation not queued");
        }
    }

    /// Queue `notice` for the reseller: the message id, or `None` when it is not sent
    /// (no contact set, or no instance of recarga's own). A repeat within the window
    /// answers the earlier message's id.
    #[tracing::instrument(skip_all, fields(customer = customer_id), err)]
    pub async fn notify_reseller(
        &self,
        customer_id: &str,
        notice: ResellerNotice,
    ) -> Result<Option<Uuid>, NotifyError> {
        let (name, contact) = contacts::get(&self.pool, customer_id)
            .await?
            .ok_or(NotifyError::CustomerNotFound)?;
        let Some(contact) = contact else {
            return Ok(None);
        };
        let Some(instance) = instances::own(&self.pool).await? else {
            tracing::warn!("no WhatsApp instance of recarga's own: reseller notice not sent");
            return Ok(None);
        };
        let mut o = Outgoing {
            customer_id,
            instance_id: instance.id,
            kind: MessageType::Confirmation,
            phone_number: &contact,
            customer_name: &name,
            invoice_id: "",
            amount: Decimal::ZERO,
            currency: USD,
            due_date: None,
            extra: Vec::new(),
            request_id: None,
        };
        let invoice_id = match &notice {
            ResellerNotice::LowBalance {
                balance_usd,
                threshold_usd,
            } => {
                o.kind = MessageType::LowBalance;
                o.amount = *balance_usd;
                o.extra = vec![
                    ("balance", Some(format_amount(*balance_usd, USD))),
                    ("threshold", Some(format_amount(*threshold_usd, USD))),
                ];
                format!("LOW-BALANCE-{}", Utc::now().format("%Y-%m-%d"))
            }
            ResellerNotice::Credit {
                amount_usd,
                balance_usd,
                reference,
            } => {
                o.amount = *amount_usd;
                o.extra = vec![("balance", Some(format_amount(*balance_usd, USD)))];
                reference.clone()
            }
            ResellerNotice::Invoice {
                number,
                period_start,
                period_end,
                total_usd,
                due_date,
            } => {
                o.kind = MessageType::Invoice;
                o.amount = *total_usd;
                o.due_date = *due_date;
                o.extra = vec![("period", Some(format!("{period_start} to {period_end}")))];
                number.clone()
            }
        };
        o.invoice_id = &invoice_id;
        Ok(Some(match self.queue(o).await? {
            Stored::Queued(id) | Stored::Duplicate(id) => id,
        }))
    }
}

/// The WhatsApp side of the reseller events (`service::webhooks`): a `balance.low`
/// event becomes a low-balance notice to the reseller's contact. Any other event is
/// for webhooks only. A repeat (events are handed over at least once) is absorbed by
/// the notices' de-duplication window.
pub struct LowBalanceNotices(pub Arc<NotificationService>);

#[async_trait::async_trait]
impl EventConsumer for LowBalanceNotices {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn consume(&self, event: &Event) -> Result<(), WebhookError> {
        if event.kind != "balance.low" {
            return Ok(());
        }
        let failed = |message: String| WebhookError::Consumer {
            consumer: "whatsapp",
            message,
        };
        let Some(customer) = customers::get(&self.0.pool, &event.customer_id).await? else {
            return Ok(());
        };
        let Some(threshold_usd) = customer.low_balance_usd else {
            return Ok(());
        };
        let notice = ResellerNotice::LowBalance {
            balance_usd: customer.balance_usd,
            threshold_usd,
        };
        self.0
            .notify_reseller(&customer.id, notice)
            .await
            .map(|_| ())
            .map_err(|e| failed(e.to_string()))
    }
}
