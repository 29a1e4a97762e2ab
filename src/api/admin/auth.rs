//! The ops bearer token.

use super::errors::AdminError;
use crate::api::AppState;
use crate::domain::keys;
use crate::store::ops_tokens;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// An authenticated ops caller, by its token's name.
pub struct Ops(pub String);

impl Ops {
    /// How the audit log names this caller's actions (`ops:<token name>`).
    pub fn actor(&self) -> String {
        format!("ops:{}", self.0)
    }
}

impl FromRequestParts<AppState> for Ops {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AdminError::Unauthorized)?;
        let name = ops_tokens::holder(&state.pool, &keys::hash(token))
            .await?
            .ok_or(AdminError::Unauthorized)?;
        let ops = Self(name);
        tracing::Span::current().record("customer", ops.actor());
        Ok(ops)
    }
}
