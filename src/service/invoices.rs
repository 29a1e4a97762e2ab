//! Issuing monthly invoices: for the previous month (business time zone) by the
//! scheduled job, or for a given month by ops. Each reseller's invoice is written in
//! one transaction and never changes; issuing twice writes nothing the second time.
//! An issued invoice is announced to its reseller on WhatsApp where one is configured.

use crate::domain::clock::Clock;
use crate::domain::invoice;
use crate::service::notifications::{NotificationService, ResellerNotice};
use crate::store::invoices::{self, Period};
use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::PgPool;
use std::sync::Arc;

pub struct InvoiceService {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    timezone: Tz,
    /// Where an issued invoice is announced to its reseller (WhatsApp), if anywhere.
    notices: Option<Arc<NotificationService>>,
}

impl InvoiceService {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, timezone: Tz) -> Self {
        Self {
            pool,
            clock,
            timezone,
            notices: None,
        }
    }

    /// Announce every invoice issued from now on to its reseller's WhatsApp contact.
    pub fn with_notices(mut self, notices: Arc<NotificationService>) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Invoice the month before today's (business time zone); the numbers issued now.
    pub async fn issue_previous_month(&self) -> Result<Vec<String>, sqlx::Error> {
        self.issue_month(invoice::previous_month(self.clock.now(), self.timezone))
            .await
    }

    /// Invoice the month that starts on `first_day` for every reseller with top-ups
    /// settled in it and no invoice for it yet.
    pub async fn issue_month(&self, first_day: NaiveDate) -> Result<Vec<String>, sqlx::Error> {
        let next = invoice::next_month(first_day);
        let period = Period {
            first_day,
            last_day: next.pred_opt().expect("a month has a last day"),
            from: invoice::start_of(first_day, self.timezone),
            to: invoice::start_of(next, self.timezone),
        };
        let mut issued = Vec::new();
        for customer in invoices::uninvoiced_customers(&self.pool, &period).await? {
            let number = invoice::number(first_day, &customer);
            if invoices::issue(&self.pool, &number, &customer, &period).await? {
                tracing::info!(invoice = %number, customer = %customer, "invoice issued");
                self.announce(&customer, &number).await;
                issued.push(number);
            }
        }
        Ok(issued)
    }

    /// The issued invoice, to its reseller's WhatsApp; a failure to announce it is
    /// logged, and the invoice stands.
    async fn announce(&self, customer: &str, number: &str) {
        let Some(notices) = &self.notices else {
            return;
        };
        let invoice = match invoices::get(&self.pool, customer, number).await {
            Ok(Some(invoice)) => invoice,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(invoice = number, error = %e, "issued invoice not announced");
                return;
            }
        };
        let notice = ResellerNotice::Invoice {
            number: invoice.number,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            total_usd: invoice.total_usd,
            due_date: None,
        };
        if let Err(e) = notices.notify_reseller(customer, notice).await {
            tracing::warn!(invoice = number, error = %e, "issued invoice not announced");
        }
    }
}
