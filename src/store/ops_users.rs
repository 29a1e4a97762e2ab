//! Ops users of /dashboard: an email and an argon2 hash of the password.

use sqlx::PgPool;

/// Record a new ops user; None if the email (case-insensitive) is taken.
pub async fn create(pool: &PgPool, email: &str, password_hash: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO ops_users (email, password_hash) VALUES ($1, $2)
         ON CONFLICT ((lower(email))) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .fetch_optional(pool)
    .await
}

/// A live ops user's id and stored password hash, by email (case-insensitive).
pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, password_hash FROM ops_users WHERE lower(email) = lower($1) AND disabled_at IS NULL")
        .bind(email)
        .fetch_optional(pool)
        .await
}

/// A live ops user's email, by id.
pub async fn email(pool: &PgPool, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM ops_users WHERE id = $1 AND disabled_at IS NULL")
        .bind(id)
        .fetch_optional(pool)
        .await
}
