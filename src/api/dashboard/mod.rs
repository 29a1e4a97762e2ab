//! /dashboard: the web page resellers and ops staff work in, rendered on the server
//! (askama templates under `templates/dashboard/`, a stylesheet from `assets/dashboard/`,
//! charts as inline SVG: nothing fetched from elsewhere). Logged in with a server-side
//! session (`session`); every form carries the session's CSRF token.
//!
//! Not in the OpenAPI document: these are HTML pages for a browser, not an API.

pub mod accounts;
pub mod chart;
pub mod errors;
pub mod login;
pub mod ops;
pub mod overview;
pub mod pages;
pub mod session;
pub mod views;

use super::AppState;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

const STYLESHEET: &str = include_str!("../../../assets/dashboard/dashboard.css");

/// The pages load nothing but our own stylesheet, run no script, and cannot be framed.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                      frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(pages::home))
        .route("/dashboard/login", get(login::page).post(login::login))
        .route("/dashboard/logout", post(login::logout))
        .route("/dashboard/transactions/{id}", get(pages::transaction))
        .route("/dashboard/ops/overview", get(overview::overview))
        .route("/dashboard/ops/review", get(ops::review))
        .route("/dashboard/ops/review/{id}/settle", post(ops::settle))
        .route("/dashboard/ops/credit", post(ops::credit))
        .route("/dashboard/ops/audit", get(ops::audit))
        .route("/dashboard/ops/resellers", post(accounts::create))
        .route("/dashboard/ops/adjust", post(accounts::adjust))
        .route("/dashboard/ops/suspend", post(accounts::suspend))
        .route("/dashboard/ops/activate", post(accounts::activate))
        .route("/dashboard/ops/keys/rotate", post(accounts::rotate_keys))
        .route("/dashboard/ops/terms", post(accounts::set_terms))
        .route("/dashboard/keys/rotate", post(accounts::rotate_own_keys))
        .route("/dashboard/assets/dashboard.css", get(stylesheet))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Pages show balances and session-bound tokens: never stored by a cache.
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}
