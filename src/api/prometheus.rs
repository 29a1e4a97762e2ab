//! `GET /metrics` in the Prometheus text format, and the middleware that counts and
//! times every request by its route template (never the raw path, which may hold a
//! phone number or a transaction id). docs/decisions.md says why it is served here.

use super::AppState;
use crate::telemetry::series;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics::SharedString;
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// Counted and timed around the handler (so every status, 404s and timeouts included).
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route template, shared by the two series (one allocation per request).
    let route: SharedString = match request.extensions().get::<MatchedPath>() {
        Some(path) => Arc::<str>::from(path.as_str()).into(),
        None => series::UNMATCHED_ROUTE.into(),
    };
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(series::HTTP_REQUESTS, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(series::HTTP_DURATION, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

#[utoipa::path(get, path = "/metrics", tag = "ops", operation_id = "metrics",
    description = "Prometheus text exposition format (docs/operations.md lists the series). \
                   Needs `Authorization: Bearer <metrics.bearer_token>` when that is configured.",
    security((), ("metrics_bearer" = [])),
    responses((status = 200, description = "The metrics, as Prometheus text", content_type = "text/plain", body = String),
              (status = 401, description = "A metrics bearer token is configured and was not sent", body = crate::api::admin::errors::AdminErrorBody)))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.settings.metrics.bearer_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as hashes: constant time whatever the lengths.
        let matches: bool = Sha256::digest(sent.as_bytes())
            .ct_eq(&Sha256::digest(token.expose_secret().as_bytes()))
            .into();
        if !matches {
            let body = Json(json!({"success": false, "error": "missing or wrong metrics bearer token"}));
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
    }
    let text = series::recorder().map(|r| r.render()).unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}
