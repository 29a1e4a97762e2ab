//! Admin endpoints.

use super::auth::Ops;
use super::errors::{AdminError, AdminErrorBody};
use crate::api::json::{money, parse_body, JsonBody};
use crate::api::AppState;
use crate::domain::money::DecimalNumber;
use crate::domain::status::TxnStatus;
use crate::store::ledger::{ReviewVerdict, Settlement};
use crate::store::transactions;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReverseBody {
    /// The upstream's evidence of the reversal (its reference, message, date): kept in
    /// the audit log.
    pub evidence: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reversed {
    pub success: bool,
    pub transaction_id: String,
    pub customer_id: String,
    pub status: TxnStatus,
    /// Given back to the reseller's balance (the whole charge, commission included).
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub refunded_usd: Decimal,
}

#[utoipa::path(post, path = "/api/admin/transactions/{id}/reverse", operation_id = "admin_reverse_transaction", tag = "admin", request_body = ReverseBody,
    params(("id" = String, Path, description = "Transaction id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "SUCCESS → REVERSED: the reseller refunded through the ledger, the daily limit released", body = Reversed),
        (status = 400, description = "Evidence missing or body invalid", body = AdminErrorBody), (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such transaction", body = AdminErrorBody), (status = 409, description = "Not a SUCCESS transaction (already reversed, failed or open)", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn reverse(
    State(state): State<AppState>,
    Ops(actor): Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, AdminError> {
    let body: ReverseBody = parse_body(body)?;
    match transactions::reverse(&state.pool, &id, &body.evidence, &actor).await? {
        Settlement::Settled => {}
        Settlement::NotFound => return Err(AdminError::NotFound("transaction")),
        Settlement::WrongStatus => {
            return Err(AdminError::Conflict(format!(
                "transaction {id} is not SUCCESS: only a delivered top-up can be reversed"
            )))
        }
        Settlement::NoteRequired => {
            return Err(AdminError::Invalid(
                "evidence must say what the upstream reported".into(),
            ))
        }
    }
    let t = transactions::get(&state.pool, &id)
        .await?
        .ok_or(AdminError::NotFound("transaction"))?;
    tracing::info!(txn = %t.id, customer = %t.customer_id, actor, "transaction reversed");
    Ok(Json(Reversed {
        success: true,
        transaction_id: t.id,
        customer_id: t.customer_id,
        status: t.status,
        refunded_usd: t.charged_usd,
    })
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleBody {
    /// What the upstream confirmed: `success` (the charge stands) or `failed` (refunded
    /// through the ledger, the daily limit released).
    pub outcome: String,
    /// What the upstream said, and where (kept in the audit log).
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Settled {
    pub success: bool,
    pub transaction_id: String,
    pub customer_id: String,
    pub status: TxnStatus,
}

#[utoipa::path(post, path = "/api/admin/transactions/{id}/settle", operation_id = "admin_settle_review", tag = "admin", request_body = SettleBody,
    params(("id" = String, Path, description = "Transaction id")), security(("ops_bearer" = [])),
    responses(
        (status = 200, description = "REVIEW → SUCCESS, or → FAILED and refunded once; audited under the token's name", body = Settled),
        (status = 400, description = "Outcome not success or failed, note missing, or body invalid", body = AdminErrorBody),
        (status = 401, description = "Missing, unknown or revoked ops token", body = AdminErrorBody),
        (status = 404, description = "No such transaction", body = AdminErrorBody),
        (status = 409, description = "Not in REVIEW (already settled, or still being resolved)", body = AdminErrorBody),
        (status = 415, description = "Body not declared as JSON", body = AdminErrorBody),
        (status = 503, description = "Database unavailable; nothing changed", body = AdminErrorBody)))]
pub async fn settle(
    State(state): State<AppState>,
    ops: Ops,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, AdminError> {
    let body: SettleBody = parse_body(body)?;
    let verdict = ReviewVerdict::parse(&body.outcome)
        .ok_or_else(|| AdminError::Invalid("outcome must be success or failed".into()))?;
    let actor = ops.actor();
    match transactions::settle_review(&state.pool, &id, verdict, body.note.trim(), &actor).await? {
        Settlement::Settled => {}
        Settlement::NotFound => return Err(AdminError::NotFound("transaction")),
        Settlement::WrongStatus => return Err(AdminError::Conflict(format!("transaction {id} is not in REVIEW"))),
        Settlement::NoteRequired => {
            return Err(AdminError::Invalid(
                "a note saying what the upstream confirmed is required".into(),
            ))
        }
    }
    let t = transactions::get(&state.pool, &id)
        .await?
        .ok_or(AdminError::NotFound("transaction"))?;
    tracing::info!(txn = %t.id, customer = %t.customer_id, actor, outcome = %body.outcome, "REVIEW settled");
    Ok(Json(Settled {
        success: true,
        transaction_id: t.id,
        customer_id: t.customer_id,
        status: t.status,
    })
    .into_response())
}
