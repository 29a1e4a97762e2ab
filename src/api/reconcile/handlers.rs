//! Reconciliation endpoints.

use super::auth::ReconcileCaller;
use super::csv;
use super::errors::ReconcileError;
use crate::api::json::money;
use crate::api::AppState;
use crate::store::reconcile::{self, DaySummary};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::Instrument;

/// Rows are sent in chunks of about this size ...
const CHUNK_BYTES: usize = 64 * 1024;
/// ... at most this many ahead of the client: memory stays flat whatever the range.
const CHUNKS_AHEAD: usize = 4;

/// `?date_from=&date_to=`: business days (the configured time zone), both included.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// First day, YYYY-MM-DD.
    pub date_from: Option<String>,
    /// Last day, YYYY-MM-DD (included).
    pub date_to: Option<String>,
}

impl DateRange {
    /// [start of date_from, start of the day after date_to) in `tz`, as UTC instants.
    fn bounds(self, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), ReconcileError> {
        let mut errors = Vec::new();
        let mut day = |field: &'static str, v: Option<String>| match v
            .as_deref()
            .map(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d"))
        {
            Some(Ok(d)) => Some(d),
            _ => {
                errors.push((field, format!("{field} is required, as YYYY-MM-DD")));
                None
            }
        };
        let (from, to) = (day("date_from", self.date_from), day("date_to", self.date_to));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(ReconcileError::Validation(errors));
        };
        if to < from {
            return Err(ReconcileError::Validation(vec![(
                "date_to",
                "date_to must not be before date_from".into(),
            )]));
        }
        let start = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
                .earliest()
                .map(|t| t.to_utc())
                .ok_or_else(|| ReconcileError::Validation(vec![("date_from", "no such day here".into())]))
        };
        let after_last = to
            .succ_opt()
            .ok_or_else(|| ReconcileError::Validation(vec![("date_to", "date_to is out of range".into())]))?;
        Ok((start(from)?, start(after_last)?))
    }
}

fn timezone(state: &AppState) -> Result<Tz, ReconcileError> {
    state
        .settings
        .business_timezone
        .parse()
        .map_err(|e| ReconcileError::Internal(format!("business_timezone: {e}")))
}

fn range(
    state: &AppState,
    query: Result<Query<DateRange>, QueryRejection>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ReconcileError> {
    let Query(range) = query.map_err(|e| ReconcileError::Validation(vec![("query", e.body_text())]))?;
    range.bounds(timezone(state)?)
}

#[utoipa::path(get, path = "/api/admin/reconcile/export", tag = "reconcile", operation_id = "reconcile_export",
    params(DateRange, ("x-reconcile-key" = String, Header, description = "Your reconcile key (an ops key sees every reseller)")),
    responses(
        (status = 200, description = "text/csv, one row per transaction created in the range, oldest first", body = String, content_type = "text/csv"),
        (status = 400, description = "Validation failed"), (status = 401, description = "Invalid reconcile key"),
        (status = 503, description = "Service temporarily unavailable")))]
pub async fn export(
    State(state): State<AppState>,
    ReconcileCaller(scope): ReconcileCaller,
    query: Result<Query<DateRange>, QueryRejection>,
) -> Result<Response, ReconcileError> {
    let (from, to) = range(&state, query)?;
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    tx.send(Ok(Bytes::from_static(csv::HEADER.as_bytes())))
        .await
        .map_err(|_| ReconcileError::Internal("export channel closed".into()))?;
    let pool = state.pool.clone();
    let span = tracing::info_span!("reconcile_export", scope = ?scope, %from, %to);
    tokio::spawn(
        async move {
            match reconcile::export(&pool, &scope, from, to, CHUNK_BYTES, &tx, csv::write_row).await {
                Ok(rows) => tracing::info!(rows, "reconcile export sent"),
                Err(e) => {
                    // The status line is gone already: end the body with an error, so
                    // the client sees a failed download, never a short file.
                    tracing::error!(error = %e, "reconcile export failed mid-stream");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                }
            }
        }
        .instrument(span),
    );
    let chunks = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reconciliation.csv\"",
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[derive(Serialize)]
struct SummaryRow {
    day: NaiveDate,
    status: String,
    currency: String,
    transactions: i64,
    #[serde(serialize_with = "money")]
    amount_local: Decimal,
    #[serde(serialize_with = "money")]
    cost_usd: Decimal,
    #[serde(serialize_with = "money")]
    commission_usd: Decimal,
    #[serde(serialize_with = "money")]
    charged_usd: Decimal,
}

impl From<DaySummary> for SummaryRow {
    fn from(d: DaySummary) -> Self {
        Self {
            day: d.day,
            status: d.status,
            currency: d.currency,
            transactions: d.transactions,
            amount_local: d.amount_local,
            cost_usd: d.cost_usd,
            commission_usd: d.commission_usd,
            charged_usd: d.charged_usd,
        }
    }
}

#[utoipa::path(get, path = "/api/admin/reconcile/summary", tag = "reconcile", operation_id = "reconcile_summary",
    params(DateRange, ("x-reconcile-key" = String, Header, description = "Your reconcile key (an ops key sees every reseller)")),
    responses(
        (status = 200, description = "Totals per business day, status and currency: {success, days: [{day, status, currency, transactions, amount_local, cost_usd, commission_usd, charged_usd}]}", body = Object),
        (status = 400, description = "Validation failed"), (status = 401, description = "Invalid reconcile key"),
        (status = 503, description = "Service temporarily unavailable")))]
pub async fn summary(
    State(state): State<AppState>,
    ReconcileCaller(scope): ReconcileCaller,
    query: Result<Query<DateRange>, QueryRejection>,
) -> Result<Response, ReconcileError> {
    let (from, to) = range(&state, query)?;
    let days = reconcile::daily_summary(&state.pool, &scope, from, to, &state.settings.business_timezone).await?;
    let days: Vec<SummaryRow> = days.into_iter().map(SummaryRow::from).collect();
    Ok(Json(serde_json::json!({"success": true, "days": days})).into_response())
}
