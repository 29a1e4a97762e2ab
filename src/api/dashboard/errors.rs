//! Every /dashboard error, with its status and page, in one place. The dashboard speaks
//! HTML to a browser, so its errors are short HTML pages (not the APIs' JSON), and a
//! missing or dead session is a redirect to the login page.

use crate::api::rate_limit::Limited;
use crate::service::resellers::ResellerError;
use crate::store::limits::CellError;
use crate::store::{is_unavailable, StoreError};
use askama::Template;
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No session, or a revoked or expired one: log in (again).
    #[error("not logged in")]
    LoginRequired,
    #[error("wrong credentials")]
    BadCredentials,
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    /// A form without this session's CSRF token, or with another.
    #[error("the form is stale or forged: reload the page and try again")]
    Csrf,
    /// Not for this kind of user (a reseller on an ops page, or on another's data).
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// The action does not fit the account as it is (an id taken, a balance too low).
    #[error("{0}")]
    Conflict(String),
    #[error("database unavailable; nothing changed")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl From<Limited> for DashboardError {
    fn from(l: Limited) -> Self {
        match l {
            Limited::Wait(wait) => Self::TooManyAttempts(wait),
            Limited::Store(CellError::Postgres(e)) => e.into(),
            Limited::Store(e @ CellError::Redis(_)) => {
                tracing::warn!(error = %e, "login throttle unavailable");
                Self::Unavailable
            }
        }
    }
}

impl From<sqlx::Error> for DashboardError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<StoreError> for DashboardError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            StoreError::CustomerNotFound => Self::NotFound,
            StoreError::InvalidAmount => {
                Self::Invalid("the amount must be whole cents, not zero (and positive for a credit)".into())
            }
            StoreError::NoteRequired => Self::Invalid("a note saying why is required".into()),
            StoreError::BelowZero { .. } => Self::Conflict(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ResellerError> for DashboardError {
    fn from(e: ResellerError) -> Self {
        match e {
            ResellerError::Invalid(m) => Self::Invalid(m),
            ResellerError::NotFound => Self::NotFound,
            ResellerError::Exists(_) => Self::Conflict(e.to_string()),
            ResellerError::Store(e) => e.into(),
        }
    }
}

impl From<askama::Error> for DashboardError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("rendering a page: {e}"))
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::LoginRequired => return (StatusCode::SEE_OTHER, [(LOCATION, "/dashboard/login")]).into_response(),
            Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Csrf | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(cause) => {
                tracing::error!(cause = %cause, "dashboard error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = self.to_string();
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        }
        .render()
        .unwrap_or_else(|_| message.clone());
        let mut response = (status, Html(page)).into_response();
        if let Self::TooManyAttempts(wait) = self {
            response.headers_mut().insert(RETRY_AFTER, wait.as_secs().max(1).into());
        }
        response
    }
}
