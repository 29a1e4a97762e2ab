//! The billing-notification API (seed 002, Telenexus-compatible): `Authorization:
//! Bearer <key>`, FastAPI-style errors `{"detail": …}`.

pub mod auth;
pub mod errors;
pub mod handlers;
pub mod types;

use super::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/billing/send-notification", post(handlers::send_notification))
        .route("/api/v1/instances/{id}", get(handlers::instance))
        .route("/api/v1/instances/{id}/messages", get(handlers::messages))
}
