//! The LATCOM-compatible distributor API (seed 001): login → Bearer JWT, balance,
//! product purchase with `distributor_transaction_id` as the idempotency key.

pub mod auth;
pub mod bulk;
pub mod codes;
pub mod errors;
pub mod handlers;
pub mod types;

use super::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/distributor/login", post(handlers::login))
        .route("/api/distributor/refresh", post(handlers::refresh))
        .route("/api/distributor/logout", post(handlers::logout))
        .route("/api/distributor/get_balance", get(handlers::get_balance))
        .route("/api/distributor/product_purchase", post(handlers::product_purchase))
        .route(
            "/api/distributor/bulk_purchase",
            post(bulk::bulk_purchase).layer(DefaultBodyLimit::max(bulk::MAX_BODY_BYTES)),
        )
        .route("/api/distributor/products", get(handlers::products))
        .route("/api/distributor/quote", post(handlers::quote))
        .route("/api/distributor/lookup/{phone}", get(handlers::lookup))
        .route("/api/distributor/transactions", get(handlers::search))
        .route(
            "/api/distributor/transaction/{distributor_transaction_id}",
            get(handlers::transaction),
        )
}
