//! The pages' templates (askama: compiled and type-checked with the binary, HTML-escaped
//! by default) and the plain strings they show. Formatting happens here, so templates
//! only place text.

use super::session::{User, Viewer};
use crate::service::volume::{Percentiles, VolumeSummary};
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
            customer_id: a.customer_id.clone(),
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

/// A range's outcomes, success rate and latency percentiles, as shown.
pub struct RatesView {
    pub first: String,
    pub last: String,
    pub delivered: i64,
    pub failed: i64,
    pub reversed: i64,
    pub open: i64,
    pub success_rate: String,
    pub failure_rate: String,
    pub p50: String,
    pub p95: String,
    pub p99: String,
    /// How many delivered top-ups the percentiles are over.
    pub timed: i64,
}

impl From<&VolumeSummary> for RatesView {
    fn from(v: &VolumeSummary) -> Self {
        let Percentiles { p50, p95, p99, of } = v.latency.clone();
        let ms = |p: Option<i64>| p.map_or_else(|| "-".to_string(), |ms| format!("≤ {ms} ms"));
        Self {
            first: v.first.to_string(),
            last: v.last.to_string(),
            delivered: v.delivered,
            failed: v.failed,
            reversed: v.reversed,
            open: v.open,
            success_rate: share(v.delivered, v.delivered + v.failed),
            failure_rate: share(v.failed, v.delivered + v.failed),
            p50: ms(p50),
            p95: ms(p95),
            p99: ms(p99),
            timed: of,
        }
    }
}

/// `part` of `whole` in percent to one decimal ("-" of nothing).
pub fn share(part: i64, whole: i64) -> String {
    match whole {
        0 => "-".into(),
        whole => format!(
            "{} %",
            (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole)).round_dp(1)
        ),
    }
}

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
    pub rates: RatesView,
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

/// An upstream as the ops overview shows it: the health checks' latest result, its
/// circuit, its float, and its recent attempts.
pub struct UpstreamLine {
    pub name: String,
    pub up: bool,
    pub circuit_open: bool,
    pub detail: String,
    pub float: String,
    pub float_low: bool,
    pub attempts: i64,
    pub failed: i64,
    pub unknown: i64,
    pub in_flight: i64,
    pub error_rate: String,
}

/// An exchange rate in use, with where it came from and how old it is.
pub struct FxLine {
    pub currency: String,
    pub rate: String,
    pub source: String,
    pub as_of: String,
    pub age: String,
    pub stale: bool,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
pub struct OverviewPage {
    pub nav: Nav,
    /// The reseller filter ("" for all).
    pub customer: String,
    pub ranges: Vec<Choice>,
    pub rates: RatesView,
    pub chart_svg: String,
    pub upstreams: Vec<UpstreamLine>,
    pub upstreams_checked: String,
    /// The attempts the error rates are over: the last this many minutes.
    pub recent_minutes: i64,
    pub fx: Vec<FxLine>,
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn a_share_is_in_percent_to_one_decimal() {
        assert_eq!(share(0, 0), "-");
        assert_eq!(share(2, 3), "66.7 %");
        assert_eq!(share(5, 5), "100 %");
    }
}
