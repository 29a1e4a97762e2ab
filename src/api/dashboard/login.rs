//! /dashboard/login for both kinds of user, and logout. Resellers prove themselves with
//! their customer id and API key (the Relier check itself, `relier::auth::authenticate`);
//! ops users with their email and password (argon2). Failed logins spend from the login
//! guard, per (user, client address) and per address, as the distributor login does.

use super::errors::DashboardError;
use super::session::{self, User, Viewer, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::views::LoginPage;
use crate::api::distributor::auth::ClientAddr;
use crate::api::relier::auth::authenticate;
use crate::api::relier::errors::RelierError;
use crate::api::AppState;
use crate::domain::{keys, password};
use crate::store::ops_users;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::LazyLock;

/// Checked when the email is unknown, so that a wrong email costs as long as a wrong
/// password and the answer's timing does not tell which emails exist.
static UNKNOWN_USER_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash(&password::generate()).expect("hashing a random password"));

pub async fn page(State(state): State<AppState>, jar: CookieJar) -> Result<Response, DashboardError> {
    let token = keys::generate("");
    let html = LoginPage { csrf: &token }.render()?;
    let jar = jar.add(session::cookie(&state, LOGIN_CSRF_COOKIE, token));
    Ok((jar, Html(html)).into_response())
}

/// No `Debug`: it holds the API key or password as typed.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    /// `reseller` or `ops`.
    kind: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, DashboardError> {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !session::csrf_matches(&form.csrf, &expected) {
        return Err(DashboardError::Csrf);
    }
    let user = match form.kind.as_str() {
        "reseller" => reseller(&state, addr, form.customer_id.trim(), form.api_key.trim()).await?,
        "ops" => ops(&state, addr, form.email.trim(), &form.password).await?,
        _ => return Err(DashboardError::Invalid("kind is reseller or ops".into())),
    };
    let cookie = session::start(&state, &user).await?;
    tracing::info!(?user, "dashboard login");
    let jar = jar.remove(session::removal(&state, LOGIN_CSRF_COOKIE)).add(cookie);
    Ok((jar, Redirect::to("/dashboard")).into_response())
}

async fn reseller(state: &AppState, addr: IpAddr, customer_id: &str, api_key: &str) -> Result<User, DashboardError> {
    let guard_key = format!("dashboard:{customer_id}");
    state.login_guard.check(&guard_key, addr).await?;
    match authenticate(state, customer_id, api_key).await {
        Ok(c) => Ok(User::Reseller { customer_id: c.id }),
        Err(RelierError::Unauthorized) => {
            state.login_guard.record_failure(&guard_key, addr).await;
            Err(DashboardError::BadCredentials)
        }
        Err(RelierError::Suspended) => Err(DashboardError::Forbidden),
        Err(other) => Err(DashboardError::Internal(format!("reseller login: {other:?}"))),
    }
}

async fn ops(state: &AppState, addr: IpAddr, email: &str, presented: &str) -> Result<User, DashboardError> {
    let guard_key = format!("dashboard-ops:{}", email.to_lowercase());
    state.login_guard.check(&guard_key, addr).await?;
    let found = ops_users::credentials(&state.pool, email).await?;
    let stored = found.as_ref().map_or(UNKNOWN_USER_HASH.clone(), |(_, h)| h.clone());
    let presented = presented.to_string();
    // argon2 is deliberately slow: off the async workers.
    let valid = tokio::task::spawn_blocking(move || password::verify(&presented, &stored))
        .await
        .map_err(|e| DashboardError::Internal(format!("password check: {e}")))?;
    match found.filter(|_| valid) {
        Some((id, _)) => Ok(User::Ops {
            id,
            email: email.to_string(),
        }),
        None => {
            state.login_guard.record_failure(&guard_key, addr).await;
            Err(DashboardError::BadCredentials)
        }
    }
}

/// A form that carries nothing but the session's CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// Ends the session server-side (the cookie alone would not: it may have been copied).
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, DashboardError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.revoke(&state).await?;
    let jar = jar.remove(session::removal(&state, SESSION_COOKIE));
    Ok((jar, Redirect::to("/dashboard/login")).into_response())
}
