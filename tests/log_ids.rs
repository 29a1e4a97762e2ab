//! Every log line of a purchase's upstream calls names its request and its transaction
//! (spans included: the detached send of a sync purchase, the queue worker of an async
//! one), in JSON logs as ops read them. Declines are never logged as errors, and each
//! request has its one access-log line.

mod common;

use common::{Creds, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;

use common::CapturedLogs as Captured;

/// A top-up: its status, its transaction id and the request id the gateway gave it.
async fn topup(app: &TestApp, c: &Creds, path: &str, body: Value) -> (u16, String, String) {
    let response = app.post(path, c).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    // A refused purchase's body names it at the top (Relier's error shape).
    let txn = body["transaction"]["id"]
        .as_str()
        .or(body["transaction_id"].as_str())
        .unwrap_or_else(|| panic!("{body}"));
    (status, txn.to_string(), request_id)
}

/// A field of the innermost span of the line that has it.
fn span_field<'a>(line: &'a Value, field: &str) -> Option<&'a str> {
    line["spans"].as_array()?.iter().rev().find_map(|s| s[field].as_str())
}

#[tokio::test]
async fn upstream_call_lines_carry_the_request_and_transaction_ids() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("info,sqlx=warn")
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn().await;
    let c = app.customer("LOGIDS_1", "100").await;

    let sync = "/api/enviadespensa/topup";
    let (status, delivered, delivered_request) =
        topup(&app, &c, sync, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 200);
    let (status, queued, queued_request) = topup(
        &app,
        &c,
        "/api/enviadespensa/topup-async",
        json!({"phone": "5500000000", "amount": 20}),
    )
    .await;
    assert_eq!(status, 200);
    let queued_final = app.wait_final(&c, &queued, 30).await;
    assert_eq!(queued_final["transaction"]["status"], "SUCCESS");
    let (status, declined, declined_request) =
        topup(&app, &c, sync, json!({"phone": "5500000001", "amount": 20})).await;
    assert_eq!(status, 500);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let mut purchase_calls = HashSet::new();
    for line in &lines {
        let message = line["fields"]["message"].as_str().unwrap_or("");
        let in_call = line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["name"] == "upstream_call"));
        if !(message.starts_with("upstream call") || in_call) {
            continue;
        }
        // Health checks and catalogue syncs call upstreams too, for no purchase.
        let operation = line["fields"]["operation"].as_str().unwrap_or("");
        let txn = span_field(line, "txn");
        if txn.is_none() && !["topup", "enquire"].contains(&operation) {
            continue;
        }
        let request_id = span_field(line, "request_id");
        assert!(
            txn.is_some() && request_id.is_some_and(|r| r != "-"),
            "an upstream call line without its ids: {line}"
        );
        purchase_calls.insert((request_id.unwrap().to_string(), txn.unwrap().to_string()));
    }
    for (what, request_id, txn) in [
        ("sync delivered", &delivered_request, &delivered),
        ("async", &queued_request, &queued),
        ("sync declined", &declined_request, &declined),
    ] {
        assert!(
            purchase_calls.contains(&(request_id.clone(), txn.clone())),
            "{what}: no upstream call line with request {request_id} and transaction {txn}: {purchase_calls:?}"
        );
    }

    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(errors.is_empty(), "a decline or a purchase logged an error: {errors:?}");
    for request_id in [&delivered_request, &queued_request, &declined_request] {
        let access: Vec<&Value> = lines
            .iter()
            .filter(|l| {
                l["fields"]["message"] == "finished processing request"
                    && l["span"]["request_id"].as_str() == Some(request_id.as_str())
            })
            .collect();
        assert_eq!(access.len(), 1, "request {request_id}: {access:?}");
        assert_eq!(access[0]["level"], "INFO");
    }
}
