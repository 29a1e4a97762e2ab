//! Logging in and out with the seed's token rules: Basic credentials for a bearer token,
//! the live-token limit, expiry, and the token query and flush.

use super::answers::{auth_answer, now_ms};
use super::state::{ReportedExpiry, SimState};
use crate::providers::smartcall::wire::TOKEN_REJECTED;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.into(), pass.into()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A 401 with one of the recorded descriptions.
pub(super) struct Refused(&'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        auth_answer(StatusCode::UNAUTHORIZED, self.0, None)
    }
}

/// The bearer token, if it is live; otherwise the recorded 401 answer.
pub(super) fn check_bearer(state: &SimState, headers: &HeaderMap) -> Result<String, Refused> {
    let Some(token) = bearer(headers) else {
        return Err(Refused("Authorization denied. Invalid authorization header"));
    };
    let live = state.lock().tokens.get(token).is_some_and(|e| *e > Instant::now());
    if live {
        Ok(token.to_string())
    } else {
        state.rejected_tokens.fetch_add(1, Ordering::SeqCst);
        Err(Refused(TOKEN_REJECTED))
    }
}

fn credentials_ok(state: &SimState, headers: &HeaderMap) -> Result<(), &'static str> {
    let (user, pass) = basic(headers).ok_or("Authorization denied. Invalid authorization header")?;
    match state.lock().credentials.as_ref() {
        Some((u, _)) if *u != user => Err("Invalid username"),
        Some((_, p)) if *p != pass => Err("Invalid password"),
        None if user.is_empty() => Err("Invalid username"),
        None if pass.is_empty() => Err("Invalid password"),
        _ => Ok(()),
    }
}

pub(super) async fn login(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(description) = credentials_ok(&state, &headers) {
        return auth_answer(StatusCode::UNAUTHORIZED, description, None);
    }
    state.logins.fetch_add(1, Ordering::SeqCst);
    let mut inner = state.lock();
    inner.purge_expired_tokens();
    if inner.tokens.len() >= inner.token_limit {
        let description = format!(
            "Maximum concurrent session limit reached. Limit is {}",
            inner.token_limit
        );
        return auth_answer(StatusCode::TOO_MANY_REQUESTS, &description, None);
    }
    let token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    let ttl = inner.token_ttl;
    inner.tokens.insert(token.clone(), Instant::now() + ttl);
    let expires_at = match inner.reported_expiry {
        ReportedExpiry::True => Some(now_ms() + ttl.as_millis() as i64),
        ReportedExpiry::Past => Some(now_ms() - 3_600_000),
        ReportedExpiry::Missing => None,
    };
    auth_answer(StatusCode::OK, "Authentication successful", Some((&token, expires_at)))
}

pub(super) async fn logout(State(state): State<SimState>, headers: HeaderMap) -> Response {
    match check_bearer(&state, &headers) {
        Ok(token) => {
            state.lock().tokens.remove(&token);
            auth_answer(StatusCode::OK, "Token invalidation successful", None)
        }
        Err(refused) => refused.into_response(),
    }
}

fn basic_or_bearer(state: &SimState, headers: &HeaderMap) -> Result<(), Refused> {
    if basic(headers).is_some() {
        return credentials_ok(state, headers).map_err(Refused);
    }
    check_bearer(state, headers).map(|_| ())
}

pub(super) async fn token_query(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = basic_or_bearer(&state, &headers) {
        return response.into_response();
    }
    let mut inner = state.lock();
    inner.purge_expired_tokens();
    let available = inner.token_limit.saturating_sub(inner.tokens.len());
    Json(json!({ "availableTokens": available })).into_response()
}

pub(super) async fn token_flush(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = basic_or_bearer(&state, &headers) {
        return response.into_response();
    }
    let mut inner = state.lock();
    inner.tokens.clear();
    Json(json!({ "availableTokens": inner.token_limit })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::smartcall::{spawn, DEALER};
    use serde_json::Value;
    use std::time::Duration;

    #[tokio::test]
    async fn login_limit_delete_and_ping() {
        let (addr, sim) = spawn(Duration::ZERO).await.unwrap();
        let base = format!("http://{addr}/webservice");
        let client = reqwest::Client::new();
        let ping: Value = client
            .get(format!("{base}/test/ping"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ping["response"], "Pong");

        sim.set_credentials("u", "p");
        let login = |password: &'static str| {
            client
                .post(format!("{base}/auth"))
                .basic_auth("u", Some(password))
                .send()
        };
        let bad = login("x").await.unwrap();
        assert_eq!(bad.status(), 401);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(
            (body["responseDescription"].as_str(), body["accessToken"].is_null()),
            (Some("Invalid password"), true)
        );

        sim.set_token_limit(1);
        let ok: Value = login("p").await.unwrap().json().await.unwrap();
        let token = ok["accessToken"].as_str().unwrap().to_string();
        assert!(ok["expiresAt"].as_i64().unwrap() > now_ms());
        let full = login("p").await.unwrap();
        assert_eq!(full.status(), 429);
        let body: Value = full.json().await.unwrap();
        assert_eq!(
            body["responseDescription"],
            "Maximum concurrent session limit reached. Limit is 1"
        );

        let out = client
            .delete(format!("{base}/auth"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 200);
        assert_eq!(sim.live_tokens(), 0);
        let after = client
            .get(format!("{base}/smartload/balance/{DEALER}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 401);
        let body: Value = after.json().await.unwrap();
        assert_eq!(body["responseDescription"], TOKEN_REJECTED);
    }
}
