//! Ops bearer tokens for the admin API: only their SHA-256 is stored.

use sqlx::PgPool;

/// Record a new token under `name` (unique); false if the name is taken.
pub async fn create(pool: &PgPool, name: &str, token_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let inserted =
        sqlx::query("INSERT INTO ops_tokens (name, token_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(token_hash)
            .execute(pool)
            .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The name of the live token with this hash. The lookup is by the hash of a 256-bit
/// random token, so its timing says nothing usable about any token.
pub async fn holder(pool: &PgPool, token_hash: &[u8]) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM ops_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash)
        .fetch_optional(pool)
        .await
}

/// Revoke the token named `name`; false if there is no live one.
pub async fn revoke(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query("UPDATE ops_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(revoked.rows_affected() == 1)
}
