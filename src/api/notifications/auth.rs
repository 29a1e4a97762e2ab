//! `Authorization: Bearer <key>`: a notification API key, stored as SHA-256 and compared
//! in constant time. Missing, malformed, unknown and revoked keys look the same (401).

use super::errors::NotificationsError;
use crate::api::AppState;
use crate::domain::notification::Permission;
use crate::service::notifications::Caller;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

pub struct KeyHolder(pub Caller);

impl KeyHolder {
    /// 403 unless the key has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), NotificationsError> {
        if self.0.may(permission) {
            Ok(())
        } else {
            Err(NotificationsError::Forbidden(permission))
        }
    }
}

impl FromRequestParts<AppState> for KeyHolder {
    type Rejection = NotificationsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or(NotificationsError::Unauthorized)?;
        let (scheme, key) = header.split_once(' ').ok_or(NotificationsError::Unauthorized)?;
        let key = key.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.len() > 256 {
            return Err(NotificationsError::Unauthorized);
        }
        let caller = state
            .notifications
            .authenticate(key)
            .await?
            .ok_or(NotificationsError::Unauthorized)?;
        Ok(Self(caller))
    }
}
