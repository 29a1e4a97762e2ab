//! `GET /health`: database, upstreams and exchange rates.

use super::json::{number, timestamp};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "Healthy"), (status = 503, description = "Database unreachable")))]
pub async fn health(State(state): State<AppState>) -> Response {
    let database_ok = sqlx::query("SELECT 1").execute(&state.pool).await.is_ok();
    let upstreams = state.purchases.upstream_health().await;
    let fx: Vec<_> = state
        .purchases
        .fx()
        .snapshot()
        .into_iter()
        .map(|(r, fresh)| {
            json!({"currency": r.currency, "rate": number(r.rate), "as_of": timestamp(r.as_of), "source": r.source, "fresh": fresh})
        })
        .collect();
    let healthy =
        database_ok && upstreams.iter().all(|u| u.up && !u.float_low) && fx.iter().all(|r| r["fresh"] == true);
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "sandbox": state.sandbox,
        "database": if database_ok { "ok" } else { "unreachable" },
        "upstreams": upstreams,
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
