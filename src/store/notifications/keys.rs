//! Notification API keys: named, with permissions, stored as SHA-256 only, revocable.

use super::is_missing_reference;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub account_id: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What authentication needs: the hash, never the key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyAuth {
    pub id: Uuid,
    pub account_id: String,
    pub permissions: Vec<String>,
    pub key_hash: Vec<u8>,
}

const KEY_COLUMNS: &str = "id, account_id, name, permissions, created_at, revoked_at";

pub async fn create(
    pool: &PgPool,
    account_id: &str,
    name: &str,
    key_hash: &[u8],
    permissions: &[&str],
) -> Result<ApiKey, StoreError> {
    let created = sqlx::query_as(&format!(
        "INSERT INTO notification_api_keys (id, account_id, name, key_hash, permissions)
         VALUES ($1, $2, $3, $4, $5) RETURNING {KEY_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(account_id)
    .bind(name)
    .bind(key_hash)
    .bind(permissions)
    .fetch_one(pool)
    .await;
    match created {
        Err(e) if is_missing_reference(&e) => Err(StoreError::CustomerNotFound),
        other => Ok(other?),
    }
}

/// The active (unrevoked) key with this hash. The caller has only the key, no account,
/// so under Citus this lookup runs on every shard (through the plain index on the hash).
pub async fn active_by_hash(pool: &PgPool, key_hash: &[u8]) -> Result<Option<KeyAuth>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, permissions, key_hash FROM notification_api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await
}

pub async fn list(pool: &PgPool, account_id: &str) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM notification_api_keys WHERE account_id = $1 ORDER BY created_at"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// Revoke one of the account's keys; `None` when it has no such key. Revoking twice
/// keeps the first time.
pub async fn revoke(pool: &PgPool, account_id: &str, id: Uuid) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE notification_api_keys SET revoked_at = COALESCE(revoked_at, now())
         WHERE id = $1 AND account_id = $2 RETURNING {KEY_COLUMNS}"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
}
