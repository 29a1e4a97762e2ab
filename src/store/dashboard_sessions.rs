//! /dashboard sessions, kept server-side so that logout (or ops) can revoke them. The
//! table holds the SHA-256 of the cookie's id, never the id itself.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A live session: who it is, and the CSRF token its forms must carry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub user_kind: String,
    pub subject: String,
    pub csrf_token: String,
}

pub async fn create(
    pool: &PgPool,
    id_hash: &[u8],
    user_kind: &str,
    subject: &str,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dashboard_sessions (id_hash, user_kind, subject, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(user_kind)
    .bind(subject)
    .bind(csrf_token)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The session with this id hash if it is neither revoked nor expired at `now`.
pub async fn live(pool: &PgPool, id_hash: &[u8], now: DateTime<Utc>) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_kind, subject, csrf_token FROM dashboard_sessions
         WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Drop sessions that ended (expired) over a day ago, so the table holds only recent
/// ones; revoked rows stay until then, for whoever looks into a logout.
pub async fn forget_expired(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at < $1 - interval '1 day'")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected())
}

pub async fn revoke(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE dashboard_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}
