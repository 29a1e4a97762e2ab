//! Running resellers' accounts from the page: ops open a reseller, adjust a balance,
//! suspend or reactivate, rotate keys and set commission and limits; a reseller rotates
//! their own keys. Every form carries the session's CSRF token and goes through the
//! service the admin API and the CLI use, audited under the ops user's email (or the
//! reseller's id, for their own keys).
//!
//! New keys are rendered once, in the answer to the POST that made them (never in a
//! URL, never stored: the page is `no-store`), and cannot be shown again.

use super::errors::DashboardError;
use super::login::CsrfForm;
use super::pages::encode;
use super::session::{removal, User, Viewer, SESSION_COOKIE};
use super::views::{KeysPage, Nav};
use crate::api::AppState;
use crate::service::resellers::{self, Keys, NewReseller};
use crate::store::customers::{self, TermsChange};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

/// Commission and limits as typed in a form. A blank commission or credit limit leaves
/// it as it is (no commission, no credit limit for a new reseller); a blank limit is the
/// configured default.
#[derive(Debug, Deserialize)]
pub struct TermsFields {
    commission_rate: String,
    credit_limit_usd: String,
    daily_limit_local: String,
    topup_rate_per_min: String,
    api_rate_per_15min: String,
}

impl TermsFields {
    fn change(&self) -> Result<TermsChange, DashboardError> {
        Ok(TermsChange {
            commission_rate: typed("commission", &self.commission_rate)?,
            credit_limit_usd: typed("credit limit", &self.credit_limit_usd)?,
            daily_limit_local: Some(typed("daily limit", &self.daily_limit_local)?),
            topup_rate_per_min: Some(typed("top-ups per minute", &self.topup_rate_per_min)?),
            api_rate_per_15min: Some(typed("API requests per 15 minutes", &self.api_rate_per_15min)?),
        })
    }
}

/// A form field's value; None when left blank.
fn typed<T: FromStr>(label: &str, value: &str) -> Result<Option<T>, DashboardError> {
    match value.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| DashboardError::Invalid(format!("the {label} is not a number: {v}"))),
    }
}

fn account_page(customer: &str) -> Redirect {
    Redirect::to(&format!("/dashboard?customer={}", encode(customer)))
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    customer_id: String,
    name: String,
    opening_balance_usd: String,
    #[serde(flatten)]
    terms: TermsFields,
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CreateForm>,
) -> Result<Html<String>, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let new = NewReseller {
        id: form.customer_id.trim().to_string(),
        name: form.name,
        opening_balance_usd: typed("opening balance", &form.opening_balance_usd)?.unwrap_or_default(),
        terms: form.terms.change()?,
    };
    let opened = resellers::create(&state.pool, new, actor).await?;
    keys_page(
        Some(Nav::of(&viewer)),
        &opened.customer.id,
        opened.keys,
        Some(opened.reconcile_key),
    )
}

#[derive(Debug, Deserialize)]
pub struct AdjustForm {
    csrf: String,
    customer: String,
    /// USD, either sign, in cents at most.
    usd: String,
    /// Why. Required.
    note: String,
}

pub async fn adjust(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AdjustForm>,
) -> Result<Redirect, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let usd: Decimal = typed("amount", &form.usd)?
        .ok_or_else(|| DashboardError::Invalid("the amount is a number of USD, e.g. -5.00".into()))?;
    let note = resellers::required(&form.note)?;
    let balance = customers::adjust(&state.pool, &form.customer, usd, note, actor).await?;
    tracing::info!(customer = %form.customer, %usd, %balance, actor, "adjusted from the dashboard");
    Ok(account_page(&form.customer))
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    csrf: String,
    customer: String,
    /// Why. Required.
    note: String,
}

pub async fn suspend(state: State<AppState>, viewer: Viewer, form: Form<NoteForm>) -> Result<Redirect, DashboardError> {
    set_active(state, viewer, form, false).await
}

pub async fn activate(
    state: State<AppState>,
    viewer: Viewer,
    form: Form<NoteForm>,
) -> Result<Redirect, DashboardError> {
    set_active(state, viewer, form, true).await
}

async fn set_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NoteForm>,
    active: bool,
) -> Result<Redirect, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    resellers::set_active(&state.pool, &state.customers, &form.customer, active, &form.note, actor).await?;
    Ok(account_page(&form.customer))
}

pub async fn rotate_keys(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NoteForm>,
) -> Result<Html<String>, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let keys = resellers::rotate_keys(&state.pool, &state.customers, &form.customer, &form.note, actor).await?;
    keys_page(Some(Nav::of(&viewer)), &form.customer, keys, None)
}

#[derive(Debug, Deserialize)]
pub struct TermsForm {
    csrf: String,
    customer: String,
    /// Why. Required.
    note: String,
    #[serde(flatten)]
    terms: TermsFields,
}

pub async fn set_terms(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TermsForm>,
) -> Result<Redirect, DashboardError> {
    let actor = viewer.ops()?;
    viewer.check_csrf(&form.csrf)?;
    let change = form.terms.change()?;
    resellers::set_terms(
        &state.pool,
        &state.customers,
        &form.customer,
        &change,
        &form.note,
        actor,
    )
    .await?;
    Ok(account_page(&form.customer))
}

/// A reseller replaces their own keys. Every session they had ends, this one too (the
/// store revokes them with the old keys): a session opened with a key that may have
/// leaked must not outlive it, and logging in again proves the new key was kept.
pub async fn rotate_own_keys(
    State(state): State<AppState>,
    viewer: Viewer,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, DashboardError> {
    let User::Reseller { customer_id } = &viewer.user else {
        return Err(DashboardError::Forbidden);
    };
    viewer.check_csrf(&form.csrf)?;
    let note = "rotated by the reseller from the dashboard";
    let actor = format!("reseller:{customer_id}");
    let keys = resellers::rotate_keys(&state.pool, &state.customers, customer_id, note, &actor).await?;
    let page = keys_page(None, customer_id, keys, None)?;
    Ok((jar.remove(removal(&state, SESSION_COOKIE)), page).into_response())
}

fn keys_page(
    nav: Option<Nav>,
    customer_id: &str,
    keys: Keys,
    reconcile_key: Option<String>,
) -> Result<Html<String>, DashboardError> {
    Ok(Html(
        KeysPage {
            nav,
            customer_id: customer_id.to_string(),
            api_key: keys.api_key,
            secret_key: keys.secret_key,
            reconcile_key,
        }
        .render()?,
    ))
}
