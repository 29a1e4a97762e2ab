//! One bearer-token session per upstream that logs in (LATCOM, Smartcall): the token is
//! cached and shared by every call of the process, concurrent callers wait for one
//! login instead of each logging in, and a token the upstream refuses is replaced once.
//!
//! An upstream refuses a stale token before acting on the request (LATCOM's 401,
//! Smartcall's "Token validation failed"), so sending the same request again with a fresh
//! token cannot act on it twice.

use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// What a login gave.
pub struct Issued {
    pub token: SecretString,
    /// How long to use it before logging in again. `None` when the upstream's expiry is
    /// unknown (absent, or already past when it arrived): the token is then used until
    /// the upstream refuses it.
    pub refresh_in: Option<Duration>,
}

struct Held {
    token: SecretString,
    refresh_at: Option<Instant>,
}

pub struct Session {
    upstream: &'static str,
    /// Held across a login, so that concurrent callers share it.
    held: Mutex<Option<Held>>,
}

impl Session {
    pub fn new(upstream: &'static str) -> Self {
        Self {
            upstream,
            held: Mutex::new(None),
        }
    }

    /// The cached token, or a fresh one from `login` when there is none or it is due.
    pub async fn token<E, F>(&self, login: impl FnOnce() -> F) -> Result<SecretString, E>
    where
        F: Future<Output = Result<Issued, E>>,
    {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref() {
            if h.refresh_at.is_none_or(|at| Instant::now() < at) {
                return Ok(h.token.clone());
            }
        }
        let issued = login().await?;
        let token = issued.token.clone();
        *held = Some(Held {
            token: issued.token,
            refresh_at: issued.refresh_in.map(|d| Instant::now() + d),
        });
        Ok(token)
    }

    /// Drop the cached token only if it is still the one that was refused, so that a
    /// burst of refusals leads to one login, not one each.
    pub async fn forget(&self, refused: &SecretString) {
        let mut held = self.held.lock().await;
        if held
            .as_ref()
            .is_some_and(|h| h.token.expose_secret() == refused.expose_secret())
        {
            *held = None;
        }
    }

    /// Remove the cached token, to give it back to the upstream.
    pub async fn take(&self) -> Option<SecretString> {
        self.held.lock().await.take().map(|h| h.token)
    }

    /// `send` with the session's token; when `refused` says the upstream rejected the
    /// token, log in again and send once more. The second answer stands whatever it is.
    /// `Err` is a failed login: nothing was sent with it.
    pub async fn call<T, E, LF, SF>(
        &self,
        operation: &'static str,
        login: impl Fn() -> LF,
        send: impl Fn(SecretString) -> SF,
        refused: impl Fn(&T) -> bool,
    ) -> Result<T, E>
    where
        LF: Future<Output = Result<Issued, E>>,
        SF: Future<Output = T>,
    {
        let token = self.token(&login).await?;
        let answer = send(token.clone()).await;
        if !refused(&answer) {
            return Ok(answer);
        }
        tracing::info!(upstream = self.upstream, operation, "token refused; logging in again");
        self.forget(&token).await;
        let token = self.token(&login).await?;
        Ok(send(token).await)
    }
}
