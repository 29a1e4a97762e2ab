//! The pages everyone sees: an account (balance, chart, transaction history) and a
//! transaction. A reseller sees only their own: naming another reseller is refused, and
//! another's transaction is not found. Ops see any reseller's, and the list of them.

use super::chart;
use super::errors::DashboardError;
use super::session::{User, Viewer};
use super::views::{
    amount, AccountPage, Choice, EvidenceRow, Filters, Nav, RatesView, ResellerLine, ResellersPage, TermsView,
    TransactionPage, TxnRow, RANGES, STATUSES,
};
use crate::api::paging::next_page;
use crate::api::search::SearchQuery;
use crate::api::AppState;
use crate::store::customers::Customer;
use crate::store::{dashboard, transactions};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;

/// Rows per page of every list.
pub const PAGE: i64 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    /// Ops: whose account. A reseller may name only themselves.
    pub customer: Option<String>,
    /// A transaction id, exactly.
    pub id: Option<String>,
    pub phone: Option<String>,
    pub reference: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// The chart's and rates' range in business days: 7, 30 or 90.
    pub days: Option<String>,
    /// Ops' list of resellers: the page after this id.
    pub after: Option<String>,
}

/// The reseller whose data the viewer asked for, if they may see it. None: an ops user
/// who named nobody.
pub fn whose(viewer: &Viewer, asked: Option<&str>) -> Result<Option<String>, DashboardError> {
    let asked = asked.map(str::trim).filter(|c| !c.is_empty());
    match &viewer.user {
        User::Reseller { customer_id } => match asked {
            Some(other) if other != customer_id => Err(DashboardError::Forbidden),
            _ => Ok(Some(customer_id.clone())),
        },
        User::Ops { .. } => Ok(asked.map(str::to_string)),
    }
}

pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AccountQuery>,
) -> Result<Html<String>, DashboardError> {
    match whose(&viewer, q.customer.as_deref())? {
        Some(customer_id) => account(&state, &viewer, &customer_id, q).await,
        None => resellers(&state, &viewer, q.after.as_deref()).await,
    }
}

async fn resellers(state: &AppState, viewer: &Viewer, after: Option<&str>) -> Result<Html<String>, DashboardError> {
    let mut rows = dashboard::resellers(&state.pool, after, PAGE + 1).await?;
    let next = next_page(&mut rows, PAGE).map(|last| format!("/dashboard?after={}", encode(&last.id)));
    Ok(Html(
        ResellersPage {
            nav: Nav::of(viewer),
            rows: rows.iter().map(ResellerLine::from).collect(),
            next,
        }
        .render()?,
    ))
}

async fn account(
    state: &AppState,
    viewer: &Viewer,
    customer_id: &str,
    q: AccountQuery,
) -> Result<Html<String>, DashboardError> {
    let customer = state
        .customer_reads
        .get(customer_id)
        .await?
        .ok_or(DashboardError::NotFound)?;
    let days = range_days(q.days.as_deref())?;
    let summary = state.volume.summary(Some(customer_id), days).await?;

    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_string();
    let filters = Filters {
        id: text(&q.id),
        phone: text(&q.phone),
        reference: text(&q.reference),
        from: text(&q.from),
        to: text(&q.to),
    };
    let status = text(&q.status);
    let (rows, next) = if filters.id.is_empty() {
        let search = SearchQuery {
            reference: q.reference.clone(),
            phone: q.phone.clone(),
            status: q.status.clone().filter(|s| !s.trim().is_empty()),
            from: q.from.clone().filter(|s| !s.trim().is_empty()),
            to: q.to.clone().filter(|s| !s.trim().is_empty()),
            cursor: q.cursor.clone().filter(|s| !s.trim().is_empty()),
            limit: Some(PAGE),
        }
        .validate()
        .map_err(|errors| DashboardError::Invalid(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; ")))?;
        let (rows, cursor) = search.run(&state.pool, customer_id).await?;
        let next = cursor.map(|c| {
            let mut url = next_url(&q);
            url.append_pair("cursor", &c);
            format!("/dashboard?{}", url.finish())
        });
        (rows, next)
    } else {
        let found = transactions::get_for_customer(&state.pool, customer_id, &filters.id).await?;
        (found.into_iter().collect(), None)
    };

    Ok(Html(
        AccountPage {
            nav: Nav::of(viewer),
            customer_id: customer.id.clone(),
            name: customer.name.clone(),
            account_status: customer.status.clone(),
            available: amount(customer.balance_usd),
            held: amount(customer.held_usd),
            credit_limit: amount(customer.credit_limit_usd),
            chart_svg: chart::render(&summary.delivered_by_day, summary.first, summary.last),
            rates: RatesView::from(&summary),
            ranges: Choice::list(RANGES, &days.to_string()),
            statuses: Choice::list(STATUSES, &status.to_ascii_uppercase()),
            filters,
            rows: rows.iter().map(TxnRow::from).collect(),
            next,
            terms: terms(state, &customer),
        }
        .render()?,
    ))
}

fn terms(state: &AppState, c: &Customer) -> TermsView {
    let limits = &state.settings.limits;
    let or_blank = |v: Option<String>| v.unwrap_or_default();
    TermsView {
        commission_rate: c.commission_rate.normalize().to_string(),
        credit_limit_usd: amount(c.credit_limit_usd),
        daily_limit_local: or_blank(c.daily_limit_local.map(amount)),
        topup_rate_per_min: or_blank(c.topup_rate_per_min.map(|n| n.to_string())),
        api_rate_per_15min: or_blank(c.api_rate_per_15min.map(|n| n.to_string())),
        default_daily_limit_local: amount(limits.daily_limit_local),
        default_topup_rate_per_min: limits.topup_requests_per_minute,
        default_api_rate_per_15min: limits.api_requests_per_15_minutes,
    }
}

/// The range of days a page covers: 7, 30 (by default) or 90.
pub fn range_days(asked: Option<&str>) -> Result<i64, DashboardError> {
    match asked.map(str::trim).filter(|d| !d.is_empty()).unwrap_or("30") {
        "7" => Ok(7),
        "30" => Ok(30),
        "90" => Ok(90),
        _ => Err(DashboardError::Invalid("the range is 7, 30 or 90 days".into())),
    }
}

/// This page's query without its cursor: the next page's, once the new cursor is added.
fn next_url(q: &AccountQuery) -> url::form_urlencoded::Serializer<'static, String> {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("customer", &q.customer),
        ("phone", &q.phone),
        ("reference", &q.reference),
        ("status", &q.status),
        ("from", &q.from),
        ("to", &q.to),
        ("days", &q.days),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            url.append_pair(key, v);
        }
    }
    url
}

pub fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// One transaction; with its attempts and the upstreams' answers for ops.
pub async fn transaction(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, DashboardError> {
    let (txn, evidence) = match &viewer.user {
        User::Reseller { customer_id } => (
            transactions::get_for_customer(&state.pool, customer_id, &id).await?,
            Vec::new(),
        ),
        User::Ops { .. } => (
            transactions::get(&state.pool, &id).await?,
            transactions::evidence(&state.pool, &[&id]).await?,
        ),
    };
    let txn = txn.ok_or(DashboardError::NotFound)?;
    Ok(Html(
        TransactionPage {
            nav: Nav::of(&viewer),
            txn: TxnRow::from(&txn),
            evidence: evidence.iter().map(EvidenceRow::from).collect(),
        }
        .render()?,
    ))
}
