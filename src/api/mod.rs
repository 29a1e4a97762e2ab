//! HTTP surfaces, one module per API dialect. Thin: authenticate, parse, call the
//! services, and map results to each dialect's own shapes in one place.

pub mod admin;
pub mod dashboard;
pub mod distributor;
pub mod doc_errors;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod json;
pub mod login_guard;
pub mod notifications;
pub mod offers;
pub mod paging;
pub mod prometheus;
pub mod rate_limit;
pub mod reconcile;
pub mod relier;
pub mod responses;
pub mod search;
pub mod webhooks;

use crate::api::doc_errors::CommonErrors;
use crate::api::login_guard::LoginGuard;
use crate::api::rate_limit::RateLimits;
use crate::config::Settings;
use crate::service::customer_cache::CustomerCache;
use crate::service::health::HealthMonitor;
use crate::service::notifications::NotificationService;
use crate::service::purchase::PurchaseService;
use crate::service::tokens::TokenService;
use crate::service::volume::VolumeService;
use crate::store::customer_reads::CustomerReads;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::get;
use axum::{Json, Router};
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub const REQUEST_ID: &str = "x-request-id";
pub const SANDBOX_HEADER: &str = "x-recarga-sandbox";

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub purchases: Arc<PurchaseService>,
    pub notifications: Arc<NotificationService>,
    pub rate_limits: Arc<RateLimits>,
    pub tokens: Arc<TokenService>,
    pub customers: Arc<CustomerCache>,
    pub customer_reads: Arc<CustomerReads>,
    pub login_guard: Arc<LoginGuard>,
    pub settings: Arc<Settings>,
    pub sandbox: bool,
    pub health: Arc<HealthMonitor>,
    /// Volume, rates and latency percentiles for /dashboard (the per-day rollup).
    pub volume: Arc<VolumeService>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "recarga", description = "Airtime and data top-up gateway"),
    paths(
        health::health,
        health::live,
        health::ready,
        prometheus::metrics,
        relier::handlers::balance,
        relier::handlers::topup,
        relier::handlers::topup_async,
        relier::handlers::transaction,
        relier::handlers::quote,
        relier::handlers::products,
        relier::handlers::lookup,
        relier::handlers::search,
        relier::deliveries::log,
        relier::invoices::list,
        relier::invoices::get,
        relier::deliveries::resend,
        distributor::handlers::login,
        distributor::handlers::refresh,
        distributor::handlers::logout,
        distributor::handlers::get_balance,
        distributor::handlers::products,
        distributor::handlers::product_purchase,
        distributor::handlers::transaction,
        distributor::handlers::quote,
        distributor::handlers::lookup,
        admin::handlers::reverse,
        admin::handlers::settle,
        admin::customers::get,
        admin::customers::credit,
        admin::customers::suspend,
        admin::customers::activate,
        admin::customers::rotate_keys,
        admin::resellers::create,
        admin::resellers::set_terms,
        admin::resellers::adjust,
        admin::webhooks::set,
        admin::webhooks::get,
        admin::webhooks::remove,
        admin::reads::customers,
        admin::reads::review,
        admin::reads::audit,
        notifications::handlers::send_notification,
        notifications::handlers::messages,
        notifications::handlers::instance,
        distributor::bulk::bulk_purchase,
        webhooks::notification,
        distributor::handlers::search,
        reconcile::handlers::export,
        reconcile::handlers::summary,
    ),
    components(schemas(
        health::Liveness,
        health::Readiness,
        relier::types::TopupBody,
        distributor::types::LoginBody,
        distributor::types::RefreshBody,
        distributor::types::TokenPair,
        distributor::types::PurchaseBody,
        distributor::types::ProductQuoteBody,
        relier::types::QuoteBody,
        offers::ProductList,
        offers::QuoteView,
        offers::LookupView,
        offers::WouldSucceed,
        offers::WouldReplay,
        admin::handlers::ReverseBody,
        admin::handlers::Reversed,
        admin::handlers::SettleBody,
        admin::handlers::Settled,
        admin::customers::Account,
        admin::customers::CreditBody,
        admin::customers::Credited,
        admin::customers::StatusBody,
        admin::customers::StatusChanged,
        admin::customers::KeysRotated,
        admin::resellers::TermsBody,
        admin::resellers::CreateBody,
        admin::resellers::Created,
        admin::resellers::TermsChangeBody,
        admin::resellers::AdjustBody,
        admin::resellers::Adjusted,
        admin::webhooks::WebhookBody,
        admin::reads::Reseller,
        admin::reads::Resellers,
        admin::reads::Attempt,
        admin::reads::InReview,
        admin::reads::ReviewQueue,
        admin::reads::AuditEntry,
        admin::reads::AuditLog,
        admin::webhooks::WebhookSet,
        admin::webhooks::WebhookSettings,
        admin::webhooks::WebhookRemoved,
        notifications::types::SendNotificationBody,
        notifications::types::NotificationAccepted,
        notifications::types::Detail,
        notifications::types::MessageLog,
        notifications::types::MessageEntry,
        notifications::types::InstanceView,
        distributor::types::BulkBody,
        distributor::types::BulkItemResult,
        distributor::types::BulkResult,
        relier::errors::RelierErrorBody,
        distributor::errors::DistributorErrorBody,
        admin::errors::AdminErrorBody,
    )),
    modifiers(&SecurityAddon, &CommonErrors)
)]
pub struct ApiDoc;

/// The authentication schemes: Relier's two headers, the distributor's bearer JWT.
pub struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let header = |name: &str| SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(name)));
        components.add_security_scheme("api_key", header("x-api-key"));
        components.add_security_scheme("customer_id", header("x-customer-id"));
        components.add_security_scheme(
            "metrics_bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "ops_bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.limits.max_body_bytes;
    let sandbox = state.sandbox;
    let request_id = HeaderName::from_static(REQUEST_ID);
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(prometheus::metrics))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/docs", get(docs::page))
        .route("/docs/redoc.standalone.js", get(docs::script))
        .merge(relier::routes())
        .merge(distributor::routes())
        .merge(admin::routes())
        .merge(dashboard::routes())
        .merge(notifications::routes())
        .merge(webhooks::routes())
        .merge(reconcile::routes())
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .fallback(fallback::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fallback::request_timeout,
        ))
        // Per route (axum runs a router's layers after routing): the route template is known.
        .layer(axum::middleware::from_fn(prometheus::record))
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // One access-log line per request, at info (status and latency; in the request's span).
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                // A 5xx is often a decline answered as the seed asks (Relier's 500): a
                // warning; an internal error is logged as an error, with its cause, where it happens.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
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
