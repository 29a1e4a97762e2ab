//! Reconciliation (seed 000): `GET /api/admin/reconcile/export` streams one CSV row per
//! transaction, `GET /api/admin/reconcile/summary` sums them per day and status.
//! Authenticated by `x-reconcile-key` alone: a reseller's key sees its own rows, an
//! ops key (`recarga reconcile-key create`) sees every reseller's.

pub mod auth;
pub mod csv;
pub mod errors;
pub mod handlers;

use super::AppState;
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/reconcile/export", get(handlers::export))
        .route("/api/admin/reconcile/summary", get(handlers::summary))
}
