//! `x-reconcile-key`: the SHA-256 of the presented key finds its owner (a reseller's
//! key, or an ops key). The hash is looked up through a unique index: an attacker who
//! does not know a key learns nothing from timing, since the digest of a guess shares
//! no structure with the digest of the real key.

use super::errors::ReconcileError;
use crate::api::AppState;
use crate::domain::keys;
use crate::store::reconcile::{self, Scope};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub const RECONCILE_KEY: &str = "x-reconcile-key";

/// Who is reading, and so which rows.
pub struct ReconcileCaller(pub Scope);

impl FromRequestParts<AppState> for ReconcileCaller {
    type Rejection = ReconcileError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(RECONCILE_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .ok_or(ReconcileError::Unauthorized)?;
        let hash = keys::hash(key);
        if let Some(customer) = reconcile::customer_by_key_hash(&state.pool, &hash).await? {
            tracing::Span::current().record("customer", customer.as_str());
            return Ok(Self(Scope::Customer(customer)));
        }
        if reconcile::ops_key_exists(&state.pool, &hash).await? {
            return Ok(Self(Scope::All));
        }
        Err(ReconcileError::Unauthorized)
    }
}
