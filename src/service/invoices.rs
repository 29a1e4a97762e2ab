//! Issuing monthly invoices: for the previous month (business time zone) by the
//! scheduled job, or for a given month by ops. Each reseller's invoice is written in
//! one transaction and never changes; issuing twice writes nothing the second time.
//! A notice of a new invoice (WhatsApp, e-mail) belongs where `issue_month` logs it.

use crate::domain::clock::Clock;
use crate::domain::invoice;
use crate::store::invoices::{self, Period};
use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::PgPool;
use std::sync::Arc;

pub struct InvoiceService {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    timezone: Tz,
}

impl InvoiceService {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, timezone: Tz) -> Self {
        Self { pool, clock, timezone }
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
                issued.push(number);
            }
        }
        Ok(issued)
    }
}
