//! What an upstream has told us about an attempt before it settled: that it holds the
//! request, and under which id of its own.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The upstream said it holds the attempt's request (pending/accepted), perhaps with its
/// own id for it. The first acknowledgement's time is kept; a known id is never erased.
pub async fn acknowledge(pool: &PgPool, attempt_id: i64, upstream_id: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE attempts SET acknowledged_at = COALESCE(acknowledged_at, now()),
             upstream_transaction_id = COALESCE($2, upstream_transaction_id)
         WHERE id = $1",
    )
    .bind(attempt_id)
    .bind(upstream_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// What the upstream has told us of an attempt so far.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Acknowledgement {
    pub upstream_transaction_id: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

pub async fn acknowledgement(pool: &PgPool, attempt_id: i64) -> Result<Acknowledgement, sqlx::Error> {
    Ok(
        sqlx::query_as("SELECT upstream_transaction_id, acknowledged_at FROM attempts WHERE id = $1")
            .bind(attempt_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or_default(),
    )
}
