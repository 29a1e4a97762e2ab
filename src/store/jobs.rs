//! The durable queue. Claiming commits a lease (locked_until) so that no transaction
//! stays open while a job runs; a crashed worker's lease simply expires.

use sqlx::PgPool;

/// Kind of the job `recarga_debit` queues for an async top-up.
pub const TOPUP: &str = "topup";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub transaction_id: Option<String>,
    pub tries: i32,
}

pub async fn claim(pool: &PgPool, limit: i64, lease_secs: i64) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $2), tries = tries + 1
         WHERE id IN (
             SELECT id FROM jobs
             WHERE run_at <= now() AND (locked_until IS NULL OR locked_until < now())
             ORDER BY run_at, id LIMIT $1
             FOR UPDATE SKIP LOCKED)
         RETURNING id, kind, transaction_id, tries",
    )
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

pub async fn complete(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM jobs WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Put a job back to run later (e.g. after a transient database error).
pub async fn retry_later(pool: &PgPool, id: i64, delay_secs: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET run_at = now() + make_interval(secs => $2), locked_until = NULL WHERE id = $1")
        .bind(id)
        .bind(delay_secs as f64)
        .execute(pool)
        .await?;
    Ok(())
}
