//! The pages' templates (askama: compiled and type-checked with the binary, HTML-escaped
//! by default) and the plain strings they show. Formatting happens here, so templates
//! only place text.

use super::session::{User, Viewer};
use crate::store::dashboard::{AuditNote, ResellerRow};
use crate::store::transactions::{AttemptEvidence, Transaction};
use askama::Template;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Money as shown: exactly two decimals (amounts are stored in cents).
pub fn amount(d: Decimal) -> String {
    format!("{:.2}", d)
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// What every page's header needs: who is logged in, and the logout form's token.
pub struct Nav {
    pub who: String,
    pub ops: bool,
    pub csrf: String,
}

impl Nav {
    pub fn of(viewer: &Viewer) -> Self {
        let (who, ops) = match &viewer.user {
            User::Reseller { customer_id } => (format!("reseller {customer_id}"), false),
            User::Ops { email, .. } => (format!("ops {email}"), true),
        };
        Self {
            who,
            ops,
            csrf: viewer.csrf_token.clone(),
        }
    }
}

/// An option of a <select>.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn list(values: &[(&str, &str)], current: &str) -> Vec<Self> {
        values
            .iter()
            .map(|(value, label)| Self {
                value: value.to_string(),
                label: label.to_string(),
                selected: *value == current,
            })
            .collect()
    }
}

pub struct TxnRow {
    pub id: String,
    pub customer_id: String,
    pub created: String,
    pub phone: String,
    pub reference: String,
    pub product: String,
    pub amount: String,
    pub charged: String,
    pub status: String,
    pub reason: String,
}

impl From<&Transaction> for TxnRow {
    fn from(t: &Transaction) -> Self {
        Self {
            id: t.id.clone(),
            customer_id: t.customer_id.clone(),
            created: time(t.created_at),
            phone: t.phone.clone(),
            reference: t.reference.clone().unwrap_or_default(),
            product: t.product_id.clone(),
            amount: format!("{} {}", amount(t.amount_local), t.currency),
            charged: amount(t.charged_usd),
            status: t.status.as_str().to_string(),
            reason: t.failure_reason.clone().unwrap_or_default(),
        }
    }
}

pub struct EvidenceRow {
    pub attempt_no: i32,
    pub upstream: String,
    pub upstream_reference: String,
    pub amount_sent: String,
    pub status: String,
    pub upstream_id: String,
    pub code: String,
    pub message: String,
    pub sent: String,
    pub finished: String,
}

impl From<&AttemptEvidence> for EvidenceRow {
    fn from(a: &AttemptEvidence) -> Self {
        Self {
            attempt_no: a.attempt_no,
            upstream: a.upstream.clone(),
            upstream_reference: a.upstream_reference.clone(),
            amount_sent: amount(a.amount_sent),
            status: a.status.clone(),
            upstream_id: a.upstream_transaction_id.clone().unwrap_or_default(),
            code: a.response_code.clone().unwrap_or_default(),
            message: a.message.clone().unwrap_or_default(),
            sent: time(a.created_at),
            finished: a.finished_at.map(time).unwrap_or_default(),
        }
    }
}

pub struct AuditRow {
    pub created: String,
    pub customer_id: String,
    pub transaction_id: String,
    pub action: String,
    pub note: String,
    pub actor: String,
}

impl From<&AuditNote> for AuditRow {
    fn from(a: &AuditNote) -> Self {
        Self {
            created: time(a.created_at),
            customer_id: a.customer_id.clone().unwrap_or_default(),
            transaction_id: a.transaction_id.clone().unwrap_or_default(),
            action: a.action.clone(),
            note: a.note.clone().unwrap_or_default(),
            actor: a.actor.clone().unwrap_or_default(),
        }
    }
}

pub struct ResellerLine {
    pub id: String,
    pub name: String,
    pub status: String,
    pub balance: String,
}

impl From<&ResellerRow> for ResellerLine {
    fn from(r: &ResellerRow) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            status: r.status.clone(),
            balance: amount(r.balance_usd),
        }
    }
}

/// The status filter's choices (what `TxnStatus::parse` takes).
pub const STATUSES: &[(&str, &str)] = &[
    ("", "any status"),
    ("PENDING", "PENDING"),
    ("PROCESSING", "PROCESSING"),
    ("SUCCESS", "SUCCESS"),
    ("FAILED", "FAILED"),
    ("REVIEW", "REVIEW"),
    ("REVERSED", "REVERSED"),
];

pub const RANGES: &[(&str, &str)] = &[("7", "7 days"), ("30", "30 days"), ("90", "90 days")];

#[derive(Template)]
#[template(path = "dashboard/login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
}

/// The filters as the user typed them, to show them back.
#[derive(Default)]
pub struct Filters {
    pub id: String,
    pub phone: String,
    pub reference: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "dashboard/account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub customer_id: String,
    pub name: String,
    pub account_status: String,
    pub available: String,
    pub held: String,
    pub credit_limit: String,
    pub chart_svg: String,
    /// Over the chart's range: delivered and failed top-ups, and the share delivered.
    pub delivered: i64,
    pub failed: i64,
    pub success_rate: String,
    pub ranges: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub filters: Filters,
    pub rows: Vec<TxnRow>,
    /// The next page's URL, if there is one.
    pub next: Option<String>,
    pub terms: TermsView,
}

impl AccountPage {
    /// What the access form does: suspend an active account, reactivate another.
    pub fn status_action(&self) -> &'static str {
        if self.account_status == "active" {
            "suspend"
        } else {
            "activate"
        }
    }
}

/// A reseller's commission and limits as the terms form shows them: a limit left blank
/// is the configured default, named beside it.
pub struct TermsView {
    pub commission_rate: String,
    pub credit_limit_usd: String,
    pub daily_limit_local: String,
    pub topup_rate_per_min: String,
    pub api_rate_per_15min: String,
    pub default_daily_limit_local: String,
    pub default_topup_rate_per_min: u32,
    pub default_api_rate_per_15min: u32,
}

/// New keys, shown on the answer to the form that made them and never again. `nav` is
/// None when the rotation ended the viewer's own session.
#[derive(Template)]
#[template(path = "dashboard/keys.html")]
pub struct KeysPage {
    pub nav: Option<Nav>,
    pub customer_id: String,
    pub api_key: String,
    pub secret_key: String,
    pub reconcile_key: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/resellers.html")]
pub struct ResellersPage {
    pub nav: Nav,
    pub rows: Vec<ResellerLine>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/transaction.html")]
pub struct TransactionPage {
    pub nav: Nav,
    pub txn: TxnRow,
    pub evidence: Vec<EvidenceRow>,
}

pub struct ReviewItem {
    pub txn: TxnRow,
    pub evidence: Vec<EvidenceRow>,
}

#[derive(Template)]
#[template(path = "dashboard/review.html")]
pub struct ReviewPage {
    pub nav: Nav,
    pub customer: String,
    pub items: Vec<ReviewItem>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub customer: String,
    pub rows: Vec<AuditRow>,
    pub next: Option<String>,
}
