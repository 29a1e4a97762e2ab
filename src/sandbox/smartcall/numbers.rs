//! Phone numbers: which ones Smartcall takes, and the network a number is on
//! (`/utilities/simnetwork`).

use super::auth::check_bearer;
use super::state::SimState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub(super) fn valid_msisdn(m: &str) -> bool {
    m.len() == 11 && m.starts_with("27") && m.bytes().all(|b| b.is_ascii_digit())
}

/// Original network by number range (simulator only: numbers are portable, which is
/// why the real endpoint exists).
pub(super) fn network_by_range(msisdn: &str) -> Option<&'static str> {
    if !valid_msisdn(msisdn) {
        return None;
    }
    match &msisdn[2..4] {
        "60" | "71" | "72" | "76" | "79" | "82" => Some("Vodacom"),
        "63" | "73" | "78" | "83" => Some("MTN"),
        "61" | "74" | "84" => Some("Cell C"),
        "81" => Some("Telkom Mobile"),
        _ => None,
    }
}

pub(super) async fn sim_network(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(msisdn): Path<String>,
) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    let query_date = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let known = state.lock().sim_networks.get(&msisdn).cloned();
    let found = known.or_else(|| network_by_range(&msisdn).map(|n| (n.to_string(), false)));
    match found {
        Some((network, ported)) => Json(json!({
            "msisdn": msisdn, "queryDate": query_date, "ported": ported, "network": network, "error": null,
        }))
        .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "msisdn": msisdn, "queryDate": query_date, "ported": null, "network": null,
                "error": {"code": 6, "message": "Invalid recharge Cell No provided"},
            })),
        )
            .into_response(),
    }
}
