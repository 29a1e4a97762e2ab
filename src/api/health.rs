//! Health, answered from the background checks' latest results (never a live database
//! or upstream call per request): `/health` (the detail), `/health/live` (the process
//! answers) and `/health/ready` (database reachable and an upstream usable).

use super::json::{number, timestamp};
use super::AppState;
use crate::domain::provider::ProviderHealth;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/health", tag = "ops", operation_id = "health",
    responses((status = 200, description = "Database reachable (status ok, or degraded: an upstream down, its float low, or a rate stale)", body = serde_json::Value),
              (status = 503, description = "Database unreachable", body = serde_json::Value)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let snapshot = state.health.snapshot();
    let database_ok = snapshot.database_ok();
    let upstreams: Vec<ProviderHealth> = snapshot.upstreams.iter().flat_map(|u| u.value.clone()).collect();
    let fx: Vec<_> = state
        .purchases
        .fx()
        .snapshot()
        .into_iter()
        .map(|(r, fresh)| {
            json!({"currency": r.currency, "rate": number(r.rate), "as_of": timestamp(r.as_of), "source": r.source, "fresh": fresh})
        })
        .collect();
    let healthy = snapshot.not_ready_because().is_empty()
        && snapshot.circuits_open.is_empty()
        && upstreams.iter().all(|u| u.up && !u.float_low)
        && fx.iter().all(|r| r["fresh"] == true);
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "sandbox": state.sandbox,
        "database": if database_ok { "ok" } else { "unreachable" },
        "upstreams": upstreams,
        "upstreams_checked_at": snapshot.upstreams.as_ref().map(|u| timestamp(u.at)),
        "circuits_open": snapshot.circuits_open,
        "fx": fx,
        "timestamp": timestamp(chrono::Utc::now()),
    });
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`: the process answers.
    pub status: &'static str,
}

#[utoipa::path(get, path = "/health/live", tag = "ops", operation_id = "health_live",
    responses((status = 200, description = "The process is up", body = Liveness)))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The database answered its last check.
    pub database: bool,
    /// The upstreams that answered their last check.
    pub usable_upstreams: Vec<String>,
    /// Why not ready (empty when ready).
    pub reasons: Vec<&'static str>,
}

#[utoipa::path(get, path = "/health/ready", tag = "ops", operation_id = "health_ready",
    responses((status = 200, description = "Database reachable and at least one upstream usable", body = Readiness),
              (status = 503, description = "Not ready; `reasons` says why", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let snapshot = state.health.snapshot();
    let reasons = snapshot.not_ready_because();
    let status = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if reasons.is_empty() { "ready" } else { "not_ready" },
        database: snapshot.database_ok(),
        usable_upstreams: snapshot.usable_upstreams().into_iter().map(str::to_owned).collect(),
        reasons,
    };
    (status, Json(body)).into_response()
}
