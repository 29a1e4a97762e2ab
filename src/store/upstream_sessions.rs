//! Upstream login sessions in PostgreSQL, shared by every instance: the
//! [`SessionStore`] that start-up gives the adapters. Times are the database's, so
//! instances with drifting clocks agree on leases and refresh times.

use crate::domain::upstream_session::{Current, SessionStore, SessionStoreError, StoredToken};
use async_trait::async_trait;
use sqlx::PgPool;
use std::time::Duration;

pub struct PgSessions {
    pool: PgPool,
}

impl PgSessions {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: sqlx::Error) -> SessionStoreError {
    SessionStoreError(e.to_string())
}

#[async_trait]
impl SessionStore for PgSessions {
    async fn current(&self, upstream: &str) -> Result<Current, SessionStoreError> {
        type Row = (i64, Option<Vec<u8>>, Option<f64>, bool);
        let row: Option<Row> = sqlx::query_as(
            "SELECT generation, sealed_token,
                    EXTRACT(EPOCH FROM refresh_at - now())::float8,
                    refresh_at IS NOT NULL AND refresh_at <= now()
             FROM upstream_sessions WHERE upstream = $1",
        )
        .bind(upstream)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        let Some((generation, sealed, left_secs, due)) = row else {
            return Ok(Current {
                generation: 0,
                token: None,
            });
        };
        let token = sealed.filter(|_| !due).map(|sealed| StoredToken {
            generation,
            sealed,
            refresh_in: left_secs.map(|s| Duration::from_secs_f64(s.max(0.0))),
        });
        Ok(Current { generation, token })
    }

    async fn claim_login(&self, upstream: &str, generation: i64, lease: Duration) -> Result<bool, SessionStoreError> {
        // The first login of an upstream inserts its row, already claimed.
        let claimed = sqlx::query(
            "INSERT INTO upstream_sessions AS s (upstream, login_until)
             VALUES ($1, now() + make_interval(secs => $3))
             ON CONFLICT (upstream) DO UPDATE SET login_until = EXCLUDED.login_until
             WHERE s.generation = $2 AND (s.login_until IS NULL OR s.login_until <= now())",
        )
        .bind(upstream)
        .bind(generation)
        .bind(lease.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn publish(
        &self,
        upstream: &str,
        claimed: i64,
        sealed: &[u8],
        refresh_in: Option<Duration>,
    ) -> Result<Option<i64>, SessionStoreError> {
        sqlx::query_scalar(
            "UPDATE upstream_sessions
             SET generation = generation + 1, sealed_token = $3, login_until = NULL,
                 refresh_at = now() + make_interval(secs => $4)
             WHERE upstream = $1 AND generation = $2
             RETURNING generation",
        )
        .bind(upstream)
        .bind(claimed)
        .bind(sealed)
        .bind(refresh_in.map(|d| d.as_secs_f64()))
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn release(&self, upstream: &str, claimed: i64) -> Result<(), SessionStoreError> {
        sqlx::query("UPDATE upstream_sessions SET login_until = NULL WHERE upstream = $1 AND generation = $2")
            .bind(upstream)
            .bind(claimed)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
