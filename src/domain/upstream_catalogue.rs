//! Upstream product listings held for the whole deployment, not per process: where they
//! are kept is behind [`CatalogueStore`] (PostgreSQL in `store`, injected at start-up).
//!
//! One instance at a time fetches a listing (it holds the fetch lease), and only when
//! the stored one is older than the sync interval; every stored listing is a revision,
//! and each instance re-reads the listing only when the revision moved. So every
//! instance lists the same products within its reload interval, and N instances make
//! one fetch.

use async_trait::async_trait;
use std::time::Duration;
use thiserror::Error;

/// What the store holds for an upstream now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The newest revision stored (0: no listing yet).
    pub revision: i64,
    /// Its listing as the upstream sent it, when that revision is not the one the
    /// caller already has.
    pub listing: Option<String>,
    /// A fetch is due (no listing, or one older than the interval) and nobody is
    /// fetching.
    pub due: bool,
}

/// The fetch lease, taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The stored listing's ETag, for a conditional fetch (`None` without a listing).
    pub etag: Option<String>,
}

#[derive(Debug, Error)]
#[error("shared upstream catalogue unavailable: {0}")]
pub struct CatalogueStoreError(pub String);

#[async_trait]
pub trait CatalogueStore: Send + Sync + 'static {
    /// The newest revision, its listing unless it is `have`, and whether a fetch is due
    /// for a listing kept `max_age`.
    async fn stored(&self, upstream: &str, have: i64, max_age: Duration) -> Result<Stored, CatalogueStoreError>;
    /// Take the right to fetch, for `lease`, if a fetch is still due and nobody else
    /// holds that right. `None`: another instance is fetching, or has.
    async fn claim_fetch(
        &self,
        upstream: &str,
        max_age: Duration,
        lease: Duration,
    ) -> Result<Option<Claim>, CatalogueStoreError>;
    /// Store a fetched listing as the next revision, ending the lease: that revision.
    async fn publish(&self, upstream: &str, listing: &str, etag: Option<&str>) -> Result<i64, CatalogueStoreError>;
    /// The upstream confirmed the listing tagged `etag` (a 304): it counts as fetched
    /// now, and the lease ends. The revision stays, so nobody re-reads it.
    async fn confirm(&self, upstream: &str, etag: Option<&str>) -> Result<(), CatalogueStoreError>;
}
