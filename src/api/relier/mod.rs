//! The Relier reseller API (seed 000): `x-api-key` + `x-customer-id`.

pub mod auth;
pub mod deliveries;
pub mod errors;
pub mod handlers;
pub mod invoices;
pub mod types;

use super::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/balance", get(handlers::balance))
        .route("/api/enviadespensa/topup", post(handlers::topup))
        .route("/api/enviadespensa/topup-async", post(handlers::topup_async))
        .route("/api/transaction/{id}", get(handlers::transaction))
        .route("/api/quote", post(handlers::quote))
        .route("/api/products", get(handlers::products))
        .route("/api/lookup/{phone}", get(handlers::lookup))
        .route("/api/transactions", get(handlers::search))
        .route("/api/invoices", get(invoices::list))
        .route("/api/invoices/{number}", get(invoices::get))
        .route("/api/webhooks/deliveries", get(deliveries::log))
        .route("/api/webhooks/deliveries/{id}/resend", post(deliveries::resend))
}
