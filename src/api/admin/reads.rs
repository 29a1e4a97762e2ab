//! What ops scripts read: the resellers, the REVIEW queue with its evidence, and the
//! audit log. The same reads as /dashboard's ops pages, a page at a time by keyset
//! (`next_cursor` is the next page's `cursor`, absent on the last page).

use super::auth::Ops;
use super::errors::{AdminError, AdminErrorBody};
use crate::api::json::money;
use crate::api::paging::next_page;
use crate::api::search::{decode_cursor, encode_cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::api::AppState;
use crate::domain::money::DecimalNumber;
use crate::store::dashboard::{self, AuditNote, ResellerRow};
use crate::store::transactions::{self, AttemptEvidence, Transaction};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Only this reseller's (the REVIEW queue and the audit log; the reseller list
    /// ignores it).
    pub customer: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
}

impl PageQuery {
    fn parse(query: Result<Query<PageQuery>, QueryRejection>) -> Result<Self, AdminError> {
        let Query(q) = query.map_err(|e| AdminError::Invalid(e.body_text()))?;
        if q.limit.is_some_and(|n| !(1..=MAX_LIMIT).contains(&n)) {
            return Err(AdminError::Invalid(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        Ok(q)
    }

    fn limit(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty())
    }
}

fn stale_cursor() -> AdminError {
    AdminError::Invalid("cursor is not one this endpoint gave".into())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reseller {
    pub customer_id: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_usd: Decimal,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Resellers {
    pub success: bool,
    pub customers: Vec<Reseller>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/customers", operation_id = "admin_list_customers", tag = "admin",
    params(PageQuery), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Resellers by id, a page at a time (`customer` does not apply)", body = Resellers),
        (status = 400, description = "Bad limit, cursor or parameter", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 503, description = "Database unavailable", body = AdminErrorBody)))]
pub async fn customers(
    State(state): State<AppState>,
    _ops: Ops,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Resellers>, AdminError> {
    let q = PageQuery::parse(query)?;
    let mut rows = dashboard::resellers(&state.pool, q.cursor(), q.limit() + 1).await?;
    let next_cursor = next_page(&mut rows, q.limit()).map(|r| r.id.clone());
    Ok(Json(Resellers {
        success: true,
        customers: rows.into_iter().map(Reseller::from).collect(),
        next_cursor,
    }))
}

impl From<ResellerRow> for Reseller {
    fn from(r: ResellerRow) -> Self {
        Self {
            customer_id: r.id,
            name: r.name,
            status: r.status,
            balance_usd: r.balance_usd,
        }
    }
}

/// One send to an upstream and what it answered.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub attempt_no: i32,
    pub upstream: String,
    /// Our reference for this send (what an enquiry asks by).
    pub upstream_reference: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_sent: Decimal,
    /// SENT (no answer), SUCCESS, FAILED or UNKNOWN.
    pub status: String,
    pub upstream_transaction_id: Option<String>,
    pub response_code: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A transaction held in REVIEW (funds held), with every attempt as evidence.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InReview {
    pub transaction_id: String,
    pub customer_id: String,
    pub reference: Option<String>,
    pub phone: String,
    pub product_id: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_local: Decimal,
    pub currency: String,
    /// Held from the reseller's balance until it is settled.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub charged_usd: Decimal,
    /// Why it went to REVIEW.
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewQueue {
    pub success: bool,
    pub transactions: Vec<InReview>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/review", operation_id = "admin_review_queue", tag = "admin",
    params(PageQuery), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "Transactions in REVIEW, oldest first, each with its attempts; settle them with POST /api/admin/transactions/{id}/settle", body = ReviewQueue),
        (status = 400, description = "Bad limit, cursor or parameter", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 503, description = "Database unavailable", body = AdminErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    _ops: Ops,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<ReviewQueue>, AdminError> {
    let q = PageQuery::parse(query)?;
    let after = q
        .cursor()
        .map(|c| decode_cursor(c).ok_or_else(stale_cursor))
        .transpose()?;
    let mut rows =
        transactions::review_queue(&state.pool, q.customer.as_deref(), after.as_ref(), q.limit() + 1).await?;
    let next_cursor = next_page(&mut rows, q.limit()).map(|t| encode_cursor(t.created_at, &t.id));
    let evidence = transactions::evidence_by_transaction(&state.pool, &rows).await?;
    Ok(Json(ReviewQueue {
        success: true,
        transactions: rows
            .into_iter()
            .zip(evidence)
            .map(|(t, a)| InReview::new(t, a))
            .collect(),
        next_cursor,
    }))
}

impl InReview {
    fn new(t: Transaction, attempts: Vec<AttemptEvidence>) -> Self {
        Self {
            transaction_id: t.id,
            customer_id: t.customer_id,
            reference: t.reference,
            phone: t.phone,
            product_id: t.product_id,
            amount_local: t.amount_local,
            currency: t.currency,
            charged_usd: t.charged_usd,
            failure_reason: t.failure_reason,
            created_at: t.created_at,
            attempts: attempts.into_iter().map(Attempt::from).collect(),
        }
    }
}

impl From<AttemptEvidence> for Attempt {
    fn from(a: AttemptEvidence) -> Self {
        Self {
            attempt_no: a.attempt_no,
            upstream: a.upstream,
            upstream_reference: a.upstream_reference,
            amount_sent: a.amount_sent,
            status: a.status,
            upstream_transaction_id: a.upstream_transaction_id,
            response_code: a.response_code,
            message: a.message,
            created_at: a.created_at,
            finished_at: a.finished_at,
        }
    }
}

/// One ops action or ledger event worth a note: who, what, why.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub customer_id: String,
    pub transaction_id: Option<String>,
    pub action: String,
    pub note: Option<String>,
    /// `ops:<token name>` (this API), the ops user's email (/dashboard), `cli`, or
    /// `reseller:<id>`.
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    pub success: bool,
    pub notes: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/audit", operation_id = "admin_audit_log", tag = "admin",
    params(PageQuery), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "The audit log, newest first", body = AuditLog),
        (status = 400, description = "Bad limit, cursor or parameter", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 503, description = "Database unavailable", body = AdminErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    _ops: Ops,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AuditLog>, AdminError> {
    let q = PageQuery::parse(query)?;
    let before = q
        .cursor()
        .map(|c| c.parse::<i64>().map_err(|_| stale_cursor()))
        .transpose()?;
    let mut rows = dashboard::audit_log(&state.pool, q.customer.as_deref(), before, q.limit() + 1).await?;
    let next_cursor = next_page(&mut rows, q.limit()).map(|n| n.id.to_string());
    Ok(Json(AuditLog {
        success: true,
        notes: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    }))
}

impl From<AuditNote> for AuditEntry {
    fn from(n: AuditNote) -> Self {
        Self {
            id: n.id,
            customer_id: n.customer_id,
            transaction_id: n.transaction_id,
            action: n.action,
            note: n.note,
            actor: n.actor,
            created_at: n.created_at,
        }
    }
}
