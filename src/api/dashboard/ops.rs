//! Ops-only pages and actions: the REVIEW queue with its evidence and settle buttons,
//! credits, and the audit log. Each action goes through the ledger function the CLI uses
//! (`settle_review`, `customers::credit`), with the ops user's email as the audit actor.

use super::errors::DashboardError;
use super::pages::{encode, whose, PAGE};
use super::session::Viewer;
use super::views::{AuditPage, AuditRow, EvidenceRow, Nav, ReviewItem, ReviewPage, TxnRow};
use crate::api::paging::next_page;
use crate::api::search::{decode_cursor, encode_cursor};
use crate::api::AppState;
use crate::store::ledger::{ReviewVerdict, Settlement};
use crate::store::{customers, dashboard, transactions};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::Form;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only this reseller's.
    pub customer: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, DashboardError> {
    viewer.ops()?;
    let customer = whose(&viewer, q.customer.as_deref())?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| DashboardError::Invalid("a stale page link".into()))?),
        None => None,
    };
    let mut rows = transactions::review_queue(&state.pool, customer.as_deref(), after.as_ref(), PAGE + 1).await?;
    let next = next_page(&mut rows, PAGE).map(|last| {
        let only = customer
            .as_deref()
            .map(|c| format!("&customer={}", encode(c)))
            .unwrap_or_default();
        format!(
            "/dashboard/ops/review?cursor={}{only}",
            encode_cursor(last.created_at, &last.id)
        )
    });
    let evidence = transactions::evidence_by_transaction(&state.pool, &rows).await?;
    let items = rows
        .iter()
        .zip(evidence)
        .map(|(t, evidence)| ReviewItem {
            txn: TxnRow::from(t),
            evidence: evidence.iter().map(EvidenceRow::from).collect(),
        })
        .collect();
    Ok(Html(
        ReviewPage {
            nav: Nav::of(&viewer),
            customer: customer.unwrap_or_default(),
            items,
            next,
        }
        .render()?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct SettleForm {
    csrf: String,
    /// `success` (keep the debit) or `failed` (refund).
    outcome: String,
    /// Why: what the upstream confirmed. Required.
    note: String,
}

pub async fn settle(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<SettleForm>,
) -> Result<Redirect, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let verdict = ReviewVerdict::parse(&form.outcome)
        .ok_or_else(|| DashboardError::Invalid("the outcome is success or failed".into()))?;
    match transactions::settle_review(&state.pool, &id, verdict, form.note.trim(), actor).await? {
        Settlement::Settled => {}
        Settlement::NotFound => return Err(DashboardError::NotFound),
        Settlement::WrongStatus => return Err(DashboardError::Invalid(format!("transaction {id} is not in REVIEW"))),
        Settlement::NoteRequired => {
            return Err(DashboardError::Invalid(
                "a note saying what the upstream confirmed is required".into(),
            ))
        }
    }
    tracing::info!(txn = %id, actor, outcome = %form.outcome, "REVIEW settled from the dashboard");
    Ok(Redirect::to("/dashboard/ops/review"))
}

#[derive(Debug, Deserialize)]
pub struct CreditForm {
    csrf: String,
    customer: String,
    /// USD, in cents at most.
    usd: String,
    /// Why (a wire's reference, say). Required.
    note: String,
}

pub async fn credit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CreditForm>,
) -> Result<Redirect, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let usd = Decimal::from_str(form.usd.trim())
        .map_err(|_| DashboardError::Invalid("the amount is a number of USD, e.g. 25.00".into()))?;
    let note = form.note.trim();
    if note.is_empty() {
        return Err(DashboardError::Invalid("a note saying why is required".into()));
    }
    let balance = customers::credit(&state.pool, &form.customer, usd, Some(note), actor).await?;
    tracing::info!(customer = %form.customer, %usd, %balance, actor, "credited from the dashboard");
    state.notifications.confirm_credit(&form.customer, usd, balance).await;
    Ok(Redirect::to(&format!("/dashboard?customer={}", encode(&form.customer))))
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    pub customer: Option<String>,
    /// Notes older than this id.
    pub before: Option<i64>,
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, DashboardError> {
    viewer.ops()?;
    let customer = whose(&viewer, q.customer.as_deref())?;
    let mut rows = dashboard::audit_log(&state.pool, customer.as_deref(), q.before, PAGE + 1).await?;
    let next = next_page(&mut rows, PAGE).map(|last| {
        let only = customer
            .as_deref()
            .map(|c| format!("&customer={}", encode(c)))
            .unwrap_or_default();
        format!("/dashboard/ops/audit?before={}{only}", last.id)
    });
    Ok(Html(
        AuditPage {
            nav: Nav::of(&viewer),
            customer: customer.unwrap_or_default(),
            rows: rows.iter().map(AuditRow::from).collect(),
            next,
        }
        .render()?,
    ))
}
