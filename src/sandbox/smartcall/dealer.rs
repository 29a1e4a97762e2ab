//! The dealer (Smartload) account: whose id it is, and its balance.

use super::answers::{error_body, number};
use super::auth::check_bearer;
use super::state::SimState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub(super) fn not_our_dealer(state: &SimState, id: &str) -> Option<Response> {
    let registered = state.lock().dealer.as_deref().is_none_or(|d| d == id);
    (!registered).then(|| {
        error_body(
            StatusCode::FORBIDDEN,
            400,
            "The supplied Smartload ID is not registered to your account",
        )
    })
}

pub(super) async fn balance(State(state): State<SimState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    if let Some(response) = not_our_dealer(&state, &id) {
        return response.into_response();
    }
    let balance = state.lock().balance;
    Json(json!({"error": null, "responseCode": "SUCCESS", "balance": number(balance)})).into_response()
}
