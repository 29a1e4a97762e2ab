//! One bearer-token session per upstream that logs in (LATCOM, Smartcall): the token is
//! cached and shared by every call of the process, concurrent callers wait for one
//! login instead of each logging in, and a token the upstream refuses is replaced once.
//!
//! A session may also be the whole deployment's (Smartcall, which counts live tokens per
//! account): the token then lives sealed in a [`SessionStore`], every login is a
//! generation, and only the instance holding the login lease on generation g replaces
//! it; the others wait for g + 1 and read it. So a refusal seen by every instance at
//! once still costs one login.
//!
//! An upstream refuses a stale token before acting on the request (LATCOM's 401,
//! Smartcall's "Token validation failed"), so sending the same request again with a fresh
//! token cannot act on it twice.

use crate::domain::upstream_session::SessionStore;
use crate::providers::sealing::SealingKey;
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How often an instance waiting for another's login looks for its result.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// What a login gave.
pub struct Issued {
    pub token: SecretString,
    /// How long to use it before logging in again. `None` when the upstream's expiry is
    /// unknown (absent, or already past when it arrived): the token is then used until
    /// the upstream refuses it.
    pub refresh_in: Option<Duration>,
}

/// A token and the generation of the login that issued it, which a refusal names.
#[derive(Clone)]
pub struct Token {
    pub secret: SecretString,
    generation: i64,
}

struct Held {
    token: Token,
    refresh_at: Option<Instant>,
}

impl Held {
    fn new(secret: SecretString, generation: i64, refresh_in: Option<Duration>) -> Self {
        Self {
            token: Token { secret, generation },
            refresh_at: refresh_in.map(|d| Instant::now() + d),
        }
    }
}

#[derive(Default)]
struct Cache {
    held: Option<Held>,
    /// The newest generation refused or due here: never taken up again.
    spent: i64,
}

/// Where a deployment-wide session is kept, and how.
struct Shared {
    store: Arc<dyn SessionStore>,
    key: SealingKey,
    /// How long one login may take before another instance may try.
    lease: Duration,
}

pub struct Session {
    upstream: &'static str,
    /// Held across a login, so that concurrent callers share it.
    cache: Mutex<Cache>,
    shared: Option<Shared>,
}

impl Session {
    /// A session of this process alone.
    pub fn new(upstream: &'static str) -> Self {
        Self {
            upstream,
            cache: Mutex::new(Cache::default()),
            shared: None,
        }
    }

    /// A session shared by every instance through `store`, the token sealed with `key`.
    pub fn shared(upstream: &'static str, store: Arc<dyn SessionStore>, key: SealingKey, lease: Duration) -> Self {
        Self {
            shared: Some(Shared { store, key, lease }),
            ..Self::new(upstream)
        }
    }

    /// The cached token, or a fresh one (from the store, or from `login`) when there is
    /// none or it is due.
    pub async fn token<F>(&self, login: impl Fn() -> F) -> Result<Token, String>
    where
        F: Future<Output = Result<Issued, String>>,
    {
        let mut cache = self.cache.lock().await;
        if let Some(h) = cache.held.take() {
            if h.refresh_at.is_none_or(|at| Instant::now() < at) {
                let token = h.token.clone();
                cache.held = Some(h);
                return Ok(token);
            }
            cache.spent = cache.spent.max(h.token.generation);
        }
        let held = match &self.shared {
            None => {
                let issued = login().await?;
                Held::new(issued.token, cache.spent + 1, issued.refresh_in)
            }
            Some(shared) => shared.token(self.upstream, cache.spent, login).await?,
        };
        let token = held.token.clone();
        cache.held = Some(held);
        Ok(token)
    }

    /// Never use the refused token's generation again, so that a burst of refusals
    /// leads to one login, not one each.
    pub async fn forget(&self, refused: &Token) {
        let mut cache = self.cache.lock().await;
        cache.spent = cache.spent.max(refused.generation);
        if cache
            .held
            .as_ref()
            .is_some_and(|h| h.token.generation <= refused.generation)
        {
            cache.held = None;
        }
    }

    /// Remove the cached token, to give it back to the upstream. A shared token is the
    /// deployment's, not this process's: it stays (the next start reuses it).
    pub async fn take(&self) -> Option<SecretString> {
        if self.shared.is_some() {
            return None;
        }
        self.cache.lock().await.held.take().map(|h| h.token.secret)
    }

    /// `send` with the session's token; when `refused` says the upstream rejected the
    /// token, log in again and send once more. The second answer stands whatever it is.
    /// `Err` is a failed login: nothing was sent with it.
    pub async fn call<T, LF, SF>(
        &self,
        operation: &'static str,
        login: impl Fn() -> LF,
        send: impl Fn(SecretString) -> SF,
        refused: impl Fn(&T) -> bool,
    ) -> Result<T, String>
    where
        LF: Future<Output = Result<Issued, String>>,
        SF: Future<Output = T>,
    {
        let token = self.token(&login).await?;
        let answer = send(token.secret.clone()).await;
        if !refused(&answer) {
            return Ok(answer);
        }
        tracing::info!(upstream = self.upstream, operation, "token refused; logging in again");
        self.forget(&token).await;
        let token = self.token(&login).await?;
        Ok(send(token.secret).await)
    }
}

impl Shared {
    /// A stored token newer than `spent`, or this instance's login published as the next
    /// generation, or, while another instance logs in, its result when it comes.
    async fn token<F>(&self, upstream: &'static str, spent: i64, login: impl Fn() -> F) -> Result<Held, String>
    where
        F: Future<Output = Result<Issued, String>>,
    {
        let store = |e: crate::domain::upstream_session::SessionStoreError| e.to_string();
        let give_up = Instant::now() + 2 * self.lease;
        loop {
            let current = self.store.current(upstream).await.map_err(store)?;
            if let Some(t) = current.token.filter(|t| t.generation > spent) {
                match self.key.open(&t.sealed) {
                    Some(secret) => return Ok(Held::new(secret, t.generation, t.refresh_in)),
                    None => tracing::warn!(
                        upstream,
                        "the shared token does not open with our credentials; replacing it"
                    ),
                }
            }
            let seen = current.generation;
            if self
                .store
                .claim_login(upstream, seen, self.lease)
                .await
                .map_err(store)?
            {
                let issued = match login().await {
                    Ok(issued) => issued,
                    Err(e) => {
                        if let Err(release) = self.store.release(upstream, seen).await {
                            tracing::warn!(upstream, error = %release, "could not give up the login lease");
                        }
                        return Err(e);
                    }
                };
                let sealed = self.key.seal(&issued.token);
                match self
                    .store
                    .publish(upstream, seen, &sealed, issued.refresh_in)
                    .await
                    .map_err(store)?
                {
                    Some(generation) => return Ok(Held::new(issued.token, generation, issued.refresh_in)),
                    None => tracing::warn!(upstream, "another instance published a login first; using its token"),
                }
            } else if Instant::now() >= give_up {
                return Err(format!("{upstream}: another instance's login has not finished"));
            } else {
                tokio::time::sleep(WAIT_POLL).await;
            }
        }
    }
}
