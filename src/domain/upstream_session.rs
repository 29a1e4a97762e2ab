//! Upstream login sessions held for the whole deployment, not per process: where they
//! are kept is behind [`SessionStore`] (PostgreSQL in `store`, injected at start-up).
//!
//! Each published login is a generation. An instance logs in only while it holds the
//! login lease on the generation it saw (a compare-and-set), so a token refused with
//! generation g is replaced by one login, whichever instances saw the refusal.

use async_trait::async_trait;
use std::time::Duration;
use thiserror::Error;

/// A token as stored: sealed, so that the store never holds it readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub generation: i64,
    pub sealed: Vec<u8>,
    /// Time left before it is due for a fresh login; `None`: unknown expiry, used until
    /// the upstream refuses it.
    pub refresh_in: Option<Duration>,
}

/// What the store holds for an upstream now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The newest generation published (0: never logged in).
    pub generation: i64,
    /// Its token, unless there is none or it is due for a fresh login.
    pub token: Option<StoredToken>,
}

#[derive(Debug, Error)]
#[error("shared upstream session unavailable: {0}")]
pub struct SessionStoreError(pub String);

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn current(&self, upstream: &str) -> Result<Current, SessionStoreError>;
    /// Take the right to log in, for `lease`, if `generation` is still the newest and
    /// nobody else holds that right. `false`: another instance is logging in, or has.
    async fn claim_login(&self, upstream: &str, generation: i64, lease: Duration) -> Result<bool, SessionStoreError>;
    /// Publish a login as the generation after `claimed`, ending the lease. `None`: the
    /// generation moved meanwhile (the lease lapsed and another instance published).
    async fn publish(
        &self,
        upstream: &str,
        claimed: i64,
        sealed: &[u8],
        refresh_in: Option<Duration>,
    ) -> Result<Option<i64>, SessionStoreError>;
    /// Give the lease up after a failed login, so another instance may try at once.
    async fn release(&self, upstream: &str, claimed: i64) -> Result<(), SessionStoreError>;
}
