//! Upstream product listings in PostgreSQL, shared by every instance: the
//! [`CatalogueStore`] that start-up gives the catalogue sync. Times are the database's,
//! so instances with drifting clocks agree on leases and on when a fetch is due.

use crate::domain::upstream_catalogue::{CatalogueStore, CatalogueStoreError, Claim, Stored};
use async_trait::async_trait;
use sqlx::PgPool;
use std::time::Duration;

pub struct PgCatalogues {
    pool: PgPool,
}

impl PgCatalogues {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: sqlx::Error) -> CatalogueStoreError {
    CatalogueStoreError(e.to_string())
}

/// A fetch is due: no listing, or one older than `max_age` ($2, seconds).
const DUE: &str = "(c.fetched_at IS NULL OR c.fetched_at <= now() - make_interval(secs => $2))";
/// Nobody holds the fetch lease.
const FREE: &str = "(c.fetch_until IS NULL OR c.fetch_until <= now())";

#[async_trait]
impl CatalogueStore for PgCatalogues {
    async fn stored(&self, upstream: &str, have: i64, max_age: Duration) -> Result<Stored, CatalogueStoreError> {
        // Read by every instance each reload: the listing only travels when it changed.
        let row: Option<(i64, Option<String>, bool)> = sqlx::query_as(&format!(
            "SELECT c.revision, CASE WHEN c.revision <> $3 THEN c.listing::text END, {DUE} AND {FREE}
             FROM upstream_catalogues c WHERE c.upstream = $1"
        ))
        .bind(upstream)
        .bind(max_age.as_secs_f64())
        .bind(have)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(match row {
            Some((revision, listing, due)) => Stored { revision, listing, due },
            None => Stored {
                revision: 0,
                listing: None,
                due: true,
            },
        })
    }

    async fn claim_fetch(
        &self,
        upstream: &str,
        max_age: Duration,
        lease: Duration,
    ) -> Result<Option<Claim>, CatalogueStoreError> {
        // The first fetch of an upstream inserts its row, already claimed.
        let etag: Option<Option<String>> = sqlx::query_scalar(&format!(
            "INSERT INTO upstream_catalogues AS c (upstream, fetch_until)
             VALUES ($1, now() + make_interval(secs => $3))
             ON CONFLICT (upstream) DO UPDATE SET fetch_until = EXCLUDED.fetch_until
             WHERE {DUE} AND {FREE}
             RETURNING CASE WHEN c.listing IS NOT NULL THEN c.etag END"
        ))
        .bind(upstream)
        .bind(max_age.as_secs_f64())
        .bind(lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(etag.map(|etag| Claim { etag }))
    }

    async fn publish(&self, upstream: &str, listing: &str, etag: Option<&str>) -> Result<i64, CatalogueStoreError> {
        // Whoever fetched last wins, even past its lease: its listing is as fresh as any.
        sqlx::query_scalar(
            "UPDATE upstream_catalogues
             SET revision = revision + 1, listing = $2::jsonb, etag = $3, fetched_at = now(),
                 fetch_until = NULL
             WHERE upstream = $1
             RETURNING revision",
        )
        .bind(upstream)
        .bind(listing)
        .bind(etag)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn confirm(&self, upstream: &str, etag: Option<&str>) -> Result<(), CatalogueStoreError> {
        // A listing published meanwhile was fetched more recently still: leave it be.
        sqlx::query(
            "UPDATE upstream_catalogues SET fetched_at = now(), fetch_until = NULL
             WHERE upstream = $1 AND etag IS NOT DISTINCT FROM $2",
        )
        .bind(upstream)
        .bind(etag)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
