//! HTTP surfaces, one module per API dialect. Thin: authenticate, parse, call the
//! services, and map results to each dialect's own shapes in one place.

pub mod health;
pub mod json;
pub mod relier;

use crate::config::Settings;
use crate::providers::Providers;
use crate::service::purchase::PurchaseService;
use crate::service::rate_limit::RateLimits;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::get;
use axum::{Json, Router};
use relier::handlers::SecurityAddon;
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

pub const REQUEST_ID: &str = "x-request-id";
pub const SANDBOX_HEADER: &str = "x-recarga-sandbox";

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub purchases: Arc<PurchaseService>,
    pub providers: Providers,
    pub rate_limits: Arc<RateLimits>,
    pub settings: Arc<Settings>,
    pub sandbox: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "recarga", description = "Airtime and data top-up gateway"),
    paths(
        health::health,
        relier::handlers::balance,
        relier::handlers::topup,
        relier::handlers::topup_async,
        relier::handlers::transaction,
    ),
    components(schemas(relier::types::TopupBody)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.limits.max_body_bytes;
    let sandbox = state.sandbox;
    let request_id = HeaderName::from_static(REQUEST_ID);
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(relier::routes())
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    if sandbox {
        app = app.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(SANDBOX_HEADER),
            HeaderValue::from_static("true"),
        ));
    }
    app
}
