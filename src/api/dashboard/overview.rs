//! The ops overview: success rates, latency percentiles and volume over a range (every
//! reseller, or one), each upstream's health, circuit, float and recent error rate, and
//! the exchange rates with their source and age. Upstream health and rates are what the
//! background checks (`/health`, the `/metrics` gauges) already hold: read, not re-queried.

use super::chart;
use super::errors::DashboardError;
use super::pages::{range_days, whose};
use super::session::Viewer;
use super::views::{amount, share, time, Choice, FxLine, Nav, OverviewPage, RatesView, UpstreamLine, RANGES};
use crate::api::AppState;
use crate::store::dashboard::{self, RecentAttempts};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{Duration, Utc};
use serde::Deserialize;

/// The error rates are over this many minutes of attempts…
const RECENT_MINUTES: i64 = 15;
/// …or over the newest this many attempts, if fewer (the read stays bounded).
const RECENT_CAP: i64 = 20_000;

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    /// Only this reseller's rates and volume.
    pub customer: Option<String>,
    /// 7, 30 or 90 business days.
    pub days: Option<String>,
}

pub async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<OverviewQuery>,
) -> Result<Html<String>, DashboardError> {
    viewer.ops()?;
    let customer = whose(&viewer, q.customer.as_deref())?;
    if let Some(id) = &customer {
        state.customer_reads.get(id).await?.ok_or(DashboardError::NotFound)?;
    }
    let days = range_days(q.days.as_deref())?;
    let summary = state.volume.summary(customer.as_deref(), days).await?;
    let recent =
        dashboard::recent_attempts(&state.pool, Utc::now() - Duration::minutes(RECENT_MINUTES), RECENT_CAP).await?;

    let health = state.health.snapshot();
    let upstreams = health
        .upstreams
        .iter()
        .flat_map(|u| u.value.iter())
        .map(|u| {
            let of = |status: &str| -> i64 {
                recent
                    .iter()
                    .filter(|r: &&RecentAttempts| r.upstream == u.upstream && r.status == status)
                    .map(|r| r.count)
                    .sum()
            };
            let (failed, unknown, in_flight) = (of("FAILED"), of("UNKNOWN"), of("SENT"));
            let answered = of("SUCCESS") + failed + unknown;
            UpstreamLine {
                name: u.upstream.clone(),
                up: u.up,
                circuit_open: health.circuits_open.contains(&u.upstream),
                detail: u.detail.clone().unwrap_or_default(),
                float: u.float.map(amount).unwrap_or_else(|| "-".into()),
                float_low: u.float_low,
                attempts: answered + in_flight,
                failed,
                unknown,
                in_flight,
                error_rate: share(failed + unknown, answered),
            }
        })
        .collect();
    let now = Utc::now();
    let fx = state
        .purchases
        .fx()
        .snapshot()
        .into_iter()
        .map(|(rate, fresh)| {
            let age = now - rate.as_of;
            FxLine {
                currency: rate.currency,
                rate: rate.rate.normalize().to_string(),
                source: rate.source,
                as_of: time(rate.as_of),
                age: format!("{} h {} min", age.num_hours(), age.num_minutes() % 60),
                stale: !fresh,
            }
        })
        .collect();

    Ok(Html(
        OverviewPage {
            nav: Nav::of(&viewer),
            customer: customer.unwrap_or_default(),
            ranges: Choice::list(RANGES, &days.to_string()),
            rates: RatesView::from(&summary),
            chart_svg: chart::render(&summary.delivered_by_day, summary.first, summary.last),
            upstreams,
            upstreams_checked: health
                .upstreams
                .as_ref()
                .map(|u| time(u.at))
                .unwrap_or_else(|| "not yet".into()),
            recent_minutes: RECENT_MINUTES,
            fx,
        }
        .render()?,
    ))
}
