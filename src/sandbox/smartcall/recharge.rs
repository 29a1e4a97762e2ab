//! The synchronous recharge: faults and latency around it, then the business rules in
//! the order Smartcall checks them, and the record the enquiry reads later.

use super::answers::{html, now_ms, number, v2_error};
use super::auth::check_bearer;
use super::numbers::{network_by_range, valid_msisdn};
use super::products::{sim_products, SimProduct};
use super::state::{Fault, Inner, SimState, Status, Txn};
use super::{BUSINESS_FAILURE, NETWORK_DOWN, NETWORK_PENDING};
use crate::domain::money::round_half_up;
use crate::providers::smartcall::wire::RechargeRequest;
use crate::sandbox::scenario::{self, Planned, Scenario};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub(super) async fn recharge(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Result<Json<RechargeRequest>, JsonRejection>,
) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    let req = match body {
        Ok(Json(req)) => req,
        Err(e) => {
            return v2_error(
                StatusCode::BAD_REQUEST,
                2,
                1007,
                "Recharge parameter validation failure",
                &e.body_text(),
            )
        }
    };
    state.received.fetch_add(1, Ordering::SeqCst);
    // The work runs in its own task: like the real server, it carries on when the
    // caller hangs up.
    tokio::spawn(process(state, req))
        .await
        .unwrap_or_else(|_| html(StatusCode::INTERNAL_SERVER_ERROR))
}

async fn process(state: SimState, req: RechargeRequest) -> Response {
    let (fault, latency) = {
        let inner = state.lock();
        (inner.fault, inner.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::ServerErrorBeforeProcessing => return html(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::UnavailableBeforeProcessing => return html(StatusCode::SERVICE_UNAVAILABLE),
        _ => {}
    }
    let planned = scenario::for_number(&req.device_id);
    state.recharges.fetch_add(1, Ordering::SeqCst);
    let answer = {
        let mut inner = state.lock();
        match inner.calls_by_reference.peek_mut(&req.client_reference) {
            Some(calls) => *calls += 1,
            None => {
                inner.calls_by_reference.insert(req.client_reference.clone(), 1);
            }
        }
        decide(&state, &mut inner, &req, planned)
    };
    // Recorded first, answered after the scenario's delay (an enquiry meanwhile finds it).
    if let Some(planned) = planned {
        tokio::time::sleep(planned.answer_delay()).await;
        if planned.scenario == Scenario::UnknownThenSuccess {
            return html(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    match fault {
        Fault::HangAfterProcessing(d) => tokio::time::sleep(d).await,
        Fault::ServerErrorAfterProcessing => return html(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::GarbledAfterProcessing => return (StatusCode::OK, "Recharge completed").into_response(),
        _ => {}
    }
    answer
}

/// Seed §10g: with AirtimeNetworkAutoCorrect, a variable pinless airtime product is
/// switched to the airtime product of the network the number is on now.
fn auto_corrected(inner: &Inner, req: &RechargeRequest, products: &[SimProduct]) -> Option<i64> {
    if req.airtime_network_auto_correct != Some(true) {
        return None;
    }
    let asked = products.iter().find(|p| p.id == req.product_id)?;
    if asked.code.map(str::trim) != Some("A") || asked.fixed {
        return None;
    }
    let network = match inner.sim_networks.get(&req.device_id) {
        Some((network, _)) => network.clone(),
        None => network_by_range(&req.device_id)?.to_string(),
    };
    products
        .iter()
        .find(|p| p.network.eq_ignore_ascii_case(&network) && p.code.map(str::trim) == Some("A") && !p.fixed && !p.pin)
        .map(|p| p.id)
}

fn rechargeable(code: Option<&str>) -> bool {
    matches!(
        code.map(str::trim),
        Some("A" | "D" | "X" | "SD" | "WD" | "P" | "P3" | "P6" | "FD" | "ND" | "RH" | "M" | "L" | "FM" | "R" | "W")
    )
}

/// Record a recharge; its order reference.
fn record(
    state: &SimState,
    inner: &mut Inner,
    req: &RechargeRequest,
    status: Status,
    price: Decimal,
    cost: Decimal,
) -> u64 {
    let n = state.seq.fetch_add(1, Ordering::SeqCst);
    let order_ref = 130_078_272 + n;
    let product = sim_products(inner.catalog_revision)
        .into_iter()
        .find(|p| p.id == req.product_id)
        .map_or_else(|| format!("Product {}", req.product_id), |p| p.name);
    let pending_since = (status == Status::Pending).then(Instant::now);
    inner.txns.insert(
        req.client_reference.clone(),
        Txn {
            order_ref,
            status_id: status.id().into(),
            status_text: status.text().into(),
            msisdn: req.device_id.clone(),
            product,
            price,
            discount: if price.is_zero() {
                Decimal::ZERO
            } else {
                round_half_up((price - cost) / price * dec!(100), 2)
            },
            cost,
            date_ms: now_ms(),
            pending_since,
            settles: None,
        },
    );
    order_ref
}

/// The business rules of one recharge, in the order the checks are made; a scenario
/// number's outcome comes after the checks of the request itself.
fn decide(state: &SimState, inner: &mut Inner, req: &RechargeRequest, planned: Option<Planned>) -> Response {
    if let Some(original) = inner.txns.peek(&req.client_reference) {
        // Seed 1.2.15: the duplicate error carries the original transaction's details.
        let message = format!(
            "Duplicate recharge. Original transaction: reference {}, status {}",
            original.order_ref, original.status_id
        );
        return v2_error(StatusCode::BAD_REQUEST, 2, 1001, &message, "Duplicate recharge");
    }
    let reject = |inner: &mut Inner, http, status_code, code, message: &str| {
        record(state, inner, req, Status::Failed, Decimal::ZERO, Decimal::ZERO);
        v2_error(http, status_code, code, message, message)
    };
    if inner.dealer.as_deref().is_some_and(|d| d != req.smartload_id) || !valid_msisdn(&req.smartload_id) {
        return reject(inner, StatusCode::BAD_REQUEST, 2, 3, "Invalid owner Cell No provided");
    }
    if !valid_msisdn(&req.device_id) {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            6,
            "Invalid recharge Cell No provided",
        );
    }
    let products = sim_products(inner.catalog_revision);
    let product_id = auto_corrected(inner, req, &products).unwrap_or(req.product_id);
    let Some(product) = products
        .iter()
        .find(|p| p.id == product_id && rechargeable(p.code) && !p.pin)
    else {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            9,
            "Invalid Offering ID (product code)",
        );
    };
    // Fixed-price products are charged at their own value (recorded v1 behaviour).
    let price = if product.fixed { product.retail } else { req.amount };
    if !product.fixed && (price < product.min || price > product.max) {
        return reject(
            inner,
            StatusCode::BAD_REQUEST,
            2,
            1007,
            "Recharge parameter validation failure",
        );
    }
    let key = (req.device_id.clone(), price.normalize());
    let window = inner.duplicate_window;
    if inner.recent.peek(&key).is_some_and(|at| at.elapsed() < window) {
        let message =
            "A trx with the same Cell no + amount was done in the last 5 minutes. Please retry in 5 min if valid.";
        return reject(inner, StatusCode::BAD_REQUEST, 2, 16, message);
    }
    let cost = round_half_up(price * (dec!(100) - product.discount) / dec!(100), 4);
    if price == NETWORK_DOWN {
        // Seed §16.2: a mobile network outage is a 503 and the recharge fails.
        record(state, inner, req, Status::Failed, price, cost);
        return v2_error(
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            2,
            "General System Error, recharged failed",
            "Mobile network is down",
        );
    }
    if cost > inner.balance {
        let message = format!(
            "Insufficient funds in the SmartLoad wallet - Current balance: R{:.2}",
            inner.balance
        );
        return reject(inner, StatusCode::BAD_REQUEST, 2, 15, &message);
    }
    let fails = planned.is_some_and(|p| !p.delivers() && p.settles().is_none());
    if price == BUSINESS_FAILURE || fails {
        record(state, inner, req, Status::Failed, price, cost);
        return v2_error(
            StatusCode::BAD_REQUEST,
            2,
            1003,
            "Generic recharge failure",
            "12 Invalid Recharge",
        );
    }
    let scripted = inner.scripted.clone();
    let settles = planned.and_then(|p| p.settles());
    let status = match (&scripted, price == NETWORK_PENDING || settles.is_some()) {
        (Some(s), _) => s.record_as,
        (None, true) => Status::Pending,
        (None, false) => Status::Successful,
    };
    if matches!(status, Status::Successful | Status::Pending | Status::Requested) {
        inner.balance -= cost;
        inner.recent.insert(key, Instant::now());
    }
    let order_ref = record(state, inner, req, status, price, cost);
    if let (Some((after, delivered)), Some(txn)) = (settles, inner.txns.peek_mut(&req.client_reference)) {
        txn.settles = Some((after, if delivered { Status::Successful } else { Status::Failed }));
    }
    let recharge = json!({
        "balance": number(inner.balance), "orderReferenceId": order_ref, "ticketNumber": "", "boxNumber": "",
        "batchNumber": "", "voucherPin": "", "expiryDate": null,
        "retailPrice": format!("{price:.2}"), "dealerDiscount": product.discount.normalize().to_string(),
    });
    let (http, status_code, error, message) = match (&scripted, status) {
        (Some(s), _) => (
            StatusCode::from_u16(s.http).unwrap_or(StatusCode::OK),
            s.status_code,
            s.error_code
                .map(|c| json!({"code": c, "message": s.message, "statusMessage": s.message})),
            s.message.clone(),
        ),
        (None, Status::Pending) => (
            StatusCode::OK,
            Some(3),
            Some(
                json!({"code": 1002, "message": "Recharge still being processed", "statusMessage": "10 Delay in processing the recharge"}),
            ),
            "10 Delay in processing the recharge".to_string(),
        ),
        _ => (
            StatusCode::OK,
            Some(0),
            None,
            "00 Recharge completed successfully".to_string(),
        ),
    };
    let body = json!({
        "error": error, "responseCode": if status_code == Some(0) { "SUCCESS" } else { "APP_ERROR" },
        "statusCode": status_code, "statusMessage": message, "recharge": recharge,
    });
    (http, Json(body)).into_response()
}
