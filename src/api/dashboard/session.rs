//! /dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure when
//! `dashboard.secure_cookie`), looked up server-side by its SHA-256 on every request so
//! that a logout or an expiry ends it at once, on every instance. Each session has its
//! own CSRF token, which every form carries and every POST proves in constant time.

use super::errors::DashboardError;
use crate::api::AppState;
use crate::domain::keys;
use crate::store::{dashboard_sessions, ops_users};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{Duration, Utc};
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "recarga_session";
/// The login form's own CSRF token (double submit: cookie and hidden field must agree),
/// since there is no session yet to hold one.
pub const LOGIN_CSRF_COOKIE: &str = "recarga_login_csrf";
const COOKIE_PATH: &str = "/dashboard";

/// Who is looking at the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// A reseller: their own data only.
    Reseller { customer_id: String },
    /// An ops user: every reseller; named in the audit log by email.
    Ops { id: i64, email: String },
}

/// A live session, from the request's cookie.
pub struct Viewer {
    pub user: User,
    pub csrf_token: String,
    id_hash: Vec<u8>,
}

impl Viewer {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), DashboardError> {
        csrf_matches(presented, &self.csrf_token)
            .then_some(())
            .ok_or(DashboardError::Csrf)
    }

    /// The ops user's email, or Forbidden for a reseller.
    pub fn ops(&self) -> Result<&str, DashboardError> {
        match &self.user {
            User::Ops { email, .. } => Ok(email),
            User::Reseller { .. } => Err(DashboardError::Forbidden),
        }
    }

    pub async fn revoke(&self, state: &AppState) -> Result<(), DashboardError> {
        Ok(dashboard_sessions::revoke(&state.pool, &self.id_hash).await?)
    }
}

pub fn csrf_matches(presented: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let id = jar
            .get(SESSION_COOKIE)
            .map(Cookie::value)
            .ok_or(DashboardError::LoginRequired)?;
        let id_hash = keys::hash(id);
        let session = dashboard_sessions::live(&state.pool, &id_hash, Utc::now())
            .await?
            .ok_or(DashboardError::LoginRequired)?;
        let user = match session.user_kind.as_str() {
            "reseller" => {
                // A suspended reseller is refused here as by the Relier API (the same
                // short-lived cache of the customer's status).
                let active = state
                    .customers
                    .get(&session.subject)
                    .await?
                    .is_some_and(|c| c.status == "active");
                if !active {
                    return Err(DashboardError::LoginRequired);
                }
                User::Reseller {
                    customer_id: session.subject,
                }
            }
            _ => {
                let id: i64 = session
                    .subject
                    .parse()
                    .map_err(|_| DashboardError::Internal("an ops session names no ops user".into()))?;
                // A disabled ops user's sessions die with it.
                let email = ops_users::email(&state.pool, id)
                    .await?
                    .ok_or(DashboardError::LoginRequired)?;
                User::Ops { id, email }
            }
        };
        let who = match &user {
            User::Reseller { customer_id } => customer_id.clone(),
            User::Ops { email, .. } => format!("ops:{email}"),
        };
        tracing::Span::current().record("customer", who.as_str());
        Ok(Self {
            user,
            csrf_token: session.csrf_token,
            id_hash,
        })
    }
}

/// Start a session for `user`; the cookie to set.
pub async fn start(state: &AppState, user: &User) -> Result<Cookie<'static>, DashboardError> {
    let id = keys::generate("");
    let (kind, subject) = match user {
        User::Reseller { customer_id } => ("reseller", customer_id.clone()),
        User::Ops { id, .. } => ("ops", id.to_string()),
    };
    let ttl = state.settings.dashboard.session_ttl_secs;
    // Each login tidies up after the sessions long expired: no job needed for so few rows.
    dashboard_sessions::forget_expired(&state.pool, Utc::now()).await?;
    dashboard_sessions::create(
        &state.pool,
        &keys::hash(&id),
        kind,
        &subject,
        &keys::generate(""),
        Utc::now() + Duration::seconds(ttl),
    )
    .await?;
    Ok(cookie(state, SESSION_COOKIE, id))
}

/// A dashboard cookie: HttpOnly, SameSite=Strict, on /dashboard only, Secure when so
/// configured. It lives as long as the browser session; the server decides expiry.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.dashboard.secure_cookie)
        .build()
}

/// The cookie that removes `name` from the browser.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}
