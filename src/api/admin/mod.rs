//! The admin API for ops scripts: `Authorization: Bearer <ops token>` (tokens are
//! created with `recarga ops-token create`). Every action is audited under the
//! token's name.

pub mod auth;
pub mod customers;
pub mod errors;
pub mod handlers;
pub mod reads;
pub mod resellers;
pub mod webhooks;

use super::AppState;
use axum::routing::{get, patch, post, put};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/transactions/{id}/reverse", post(handlers::reverse))
        .route("/api/admin/transactions/{id}/settle", post(handlers::settle))
        .route("/api/admin/customers", post(resellers::create).get(reads::customers))
        .route("/api/admin/review", get(reads::review))
        .route("/api/admin/audit", get(reads::audit))
        .route("/api/admin/customers/{id}", get(customers::get))
        .route("/api/admin/customers/{id}/terms", patch(resellers::set_terms))
        .route("/api/admin/customers/{id}/adjust", post(resellers::adjust))
        .route("/api/admin/customers/{id}/credit", post(customers::credit))
        .route("/api/admin/customers/{id}/suspend", post(customers::suspend))
        .route("/api/admin/customers/{id}/activate", post(customers::activate))
        .route("/api/admin/customers/{id}/keys/rotate", post(customers::rotate_keys))
        .route(
            "/api/admin/customers/{id}/webhook",
            put(webhooks::set).get(webhooks::get).delete(webhooks::remove),
        )
}
