//! The Relier API (seed 000) through the real router, database and simulator.

mod common;

use chrono::{TimeZone, Utc};
use common::{dec, send, TestApp};
use recarga::domain::clock::ManualClock;
use serde_json::json;

#[tokio::test]
async fn seed_flow_balance_topup_status_and_async() {
    let app = TestApp::spawn().await;
    let c = app.customer("SMARTBIZ_001", "200").await;

    let (status, body) = send(app.get("/api/balance", &c)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"success": true, "customer_id": "SMARTBIZ_001", "company_name": "SMARTBIZ_001 Telecom",
               "current_balance": 200, "credit_limit": 200, "currency": "USD", "available": 200, "held": 0})
    );

    // The seed's worked example: 50 MXN at 17.0068 → 2.94 USD, 200 → 197.06.
    let (status, body) = app
        .topup(
            &c,
            json!({"phone": "5512345678", "amount": 50, "reference": "ORDER-12345"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let t = &body["transaction"];
    assert_eq!(t["status"], "SUCCESS");
    assert_eq!(t["amount_mxn"], 50);
    assert_eq!(t["amount_usd"], json!(2.94));
    assert_eq!(t["exchange_rate"], json!(17.0068));
    assert_eq!(t["phone"], "5512345678");
    assert_eq!(t["reference"], "ORDER-12345");
    assert_eq!(t["currency"], "MXN");
    assert!(t["id"].as_str().unwrap().starts_with("RLR"));
    assert!(t["operatorTransactionId"].as_str().is_some());
    assert!(t["processedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["billing"],
        json!({"deducted_usd": 2.94, "balance_before_usd": 200, "balance_after_usd": 197.06, "exchange_rate": 17.0068})
    );
    assert_eq!(
        body["message"],
        "Top-up of 50 MXN processed successfully. $2.94 USD deducted from balance."
    );
    assert_eq!(body["remaining_balance"], json!(197.06));
    assert_eq!(app.balance(&c).await, dec("197.06"));

    let id = t["id"].as_str().unwrap();
    let (status, body) = app.transaction(&c, id).await;
    assert_eq!(status, 200);
    let s = &body["transaction"];
    for (k, v) in [
        ("id", json!(id)),
        ("transaction_id", json!(id)),
        ("customer_id", json!("SMARTBIZ_001")),
        ("phone", json!("5512345678")),
        ("amount", json!(2.94)),
        ("amount_mxn", json!(50)),
        ("amount_usd", json!(2.94)),
        ("exchange_rate", json!(17.0068)),
        ("status", json!("SUCCESS")),
        ("reference", json!("ORDER-12345")),
    ] {
        assert_eq!(s[k], v, "{k}");
    }
    assert!(s["operator_transaction_id"].is_string() && s["response_time_ms"].is_number());
    assert!(s["created_at"].is_string() && s["processed_at"].is_string());

    // Async: accepted at once as PENDING, then settled by the queue.
    let (status, body) = app
        .topup_async(&c, json!({"phone": "5500000000", "amount": 20, "reference": "ASYNC-1"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["transaction"]["status"], "PENDING");
    assert_eq!(body["transaction"]["amount"], 20);
    assert_eq!(body["transaction"]["currency"], "MXN");
    assert_eq!(body["message"], "Transaction queued for processing");
    assert!(body["transaction"]["queuedAt"].is_string());
    let id = body["transaction"]["id"].as_str().unwrap();
    assert_eq!(body["check_status_url"], format!("/api/transaction/{id}"));
    let done = app.wait_final(&c, id, 10).await;
    assert_eq!(done["transaction"]["status"], "SUCCESS");
    assert_eq!(app.balance(&c).await, dec("197.06") - dec("1.18"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn health_reports_database_upstream_and_sandbox() {
    let app = TestApp::spawn().await;
    let response = app.client.get(format!("{}/health", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-recarga-sandbox"], "true");
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["sandbox"], true);
    let named = |list: &str, key: &str, name: &str| {
        body[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u[key] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    assert_eq!(named("upstreams", "upstream", "latcom")["up"], true);
    assert_eq!(named("upstreams", "upstream", "datamart")["up"], true);
    assert_eq!(named("fx", "currency", "MXN")["fresh"], true);
    assert_eq!(named("fx", "currency", "GHS")["fresh"], true);
    let spec: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/enviadespensa/topup"]["post"].is_object());
}

#[tokio::test]
async fn failing_test_number_answers_500_and_refunds_exactly() {
    let app = TestApp::spawn().await;
    let c = app.customer("C1", "10").await;
    let (status, body) = app
        .topup(&c, json!({"phone": "5500000001", "amount": 50, "reference": "F-1"}))
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"], "Transaction processing failed");
    assert!(body["response_time_ms"].is_number());
    assert_eq!(app.balance(&c).await, dec("10"));
    let id = body["transaction_id"].as_str().unwrap();
    let (_, t) = app.transaction(&c, id).await;
    assert_eq!(t["transaction"]["status"], "FAILED");
    // Debit and its exact reversal.
    let kinds: Vec<(String, rust_decimal::Decimal)> =
        sqlx::query_as("SELECT kind, amount_usd FROM ledger_entries WHERE transaction_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        vec![
            ("purchase".into(), dec("-2.94")),
            ("refund_purchase".into(), dec("2.94"))
        ]
    );
    // A retry with the same reference replays the failure and charges nothing.
    let (status, again) = app
        .topup(&c, json!({"phone": "5500000001", "amount": 50, "reference": "F-1"}))
        .await;
    assert_eq!(status, 500);
    assert_eq!(again["transaction_id"], id);
    assert_eq!(app.latcom.topup_calls(), 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn insufficient_balance_is_403_with_seed_fields_and_moves_nothing() {
    let app = TestApp::spawn().await;
    let c = app.customer("POOR", "10.50").await;
    let before = app.ledger_entry_count().await;
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 500})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"success": false, "error": "Insufficient balance", "current_balance_usd": 10.5,
               "requested_mxn": 500, "required_usd": 29.4, "exchange_rate": 17.0068})
    );
    assert_eq!(app.balance(&c).await, dec("10.50"));
    assert_eq!(app.ledger_entry_count().await, before);
    assert_eq!(app.latcom.topup_calls(), 0);
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_moves_no_money() {
    let app = TestApp::spawn().await;
    let c = app.customer("C1", "100").await;
    let before = app.ledger_entry_count().await;
    let cases = [
        (json!({"phone": "5512345678", "amount": -50}), "amount"),
        (json!({"phone": "5512345678", "amount": 0}), "amount"),
        (json!({"phone": "5512345678", "amount": 10.555}), "amount"),
        (json!({"phone": "5512345678", "amount": 9.99}), "amount"),
        (json!({"phone": "5512345678", "amount": 500.01}), "amount"),
        (json!({"phone": "5512345678", "amount": "50"}), "body"),
        (json!({"phone": 5512345678u64, "amount": 50}), "body"),
        (json!({"phone": "5512345678"}), "body"),
        (json!({"amount": 50}), "body"),
        (json!({"phone": "551234567", "amount": 50}), "phone"),
        (json!({"phone": "55-ABC-45678", "amount": 50}), "phone"),
        (
            json!({"phone": "5512345678", "amount": 50, "reference": ""}),
            "reference",
        ),
        (
            json!({"phone": "5512345678", "amount": 50, "reference": "x".repeat(101)}),
            "reference",
        ),
        (
            json!({"phone": "5512345678", "amount": 50, "operator": "NOPE"}),
            "operator",
        ),
        (json!([1, 2, 3]), "body"),
    ];
    for (body, field) in cases {
        for path in ["/api/enviadespensa/topup", "/api/enviadespensa/topup-async"] {
            let (status, answer) = send(app.post(path, &c).json(&body)).await;
            assert_eq!(status, 400, "{path} {body} → {answer}");
            assert_eq!(answer["success"], false);
            assert_eq!(answer["error"], "Validation failed");
            assert_eq!(answer["details"][0]["field"], field, "{body} → {answer}");
        }
    }
    // Not JSON at all, and an empty body.
    for raw in ["{\"phone\":", "phone=5512345678&amount=50", ""] {
        let request = app
            .post("/api/enviadespensa/topup", &c)
            .header("content-type", "application/json");
        let (status, answer) = send(request.body(raw)).await;
        assert_eq!(status, 400, "{raw:?} → {answer}");
        assert_eq!(answer["error"], "Validation failed");
    }
    // A huge body is refused before it is read.
    let huge = json!({"phone": "5512345678", "amount": 50, "reference": "x".repeat(1 << 20)});
    let (status, answer) = send(app.post("/api/enviadespensa/topup", &c).json(&huge)).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["success"], false);

    app.assert_nothing_moved(&c, "100", before).await;
}

#[tokio::test]
async fn legacy_phone_forms_are_normalised() {
    let app = TestApp::spawn().await;
    let c = app.customer("C1", "100").await;
    for (i, phone) in ["+52 55 1234 5678", "5215512345678", "0445512345678"]
        .iter()
        .enumerate()
    {
        let (status, body) = app
            .topup(&c, json!({"phone": phone, "amount": 10, "reference": format!("N{i}")}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["transaction"]["phone"], "5512345678");
    }
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn credentials_are_checked_and_tenants_are_isolated() {
    let app = TestApp::spawn().await;
    let a = app.customer("A", "100").await;
    let b = app.customer("B", "100").await;
    let (_, body) = app.topup(&a, json!({"phone": "5512345678", "amount": 10})).await;
    let a_txn = body["transaction"]["id"].as_str().unwrap().to_string();

    // B cannot see A's transaction: the same 404 as an id that does not exist.
    let (status, body) = app.transaction(&b, &a_txn).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"success": false, "error": "Transaction not found"}));
    assert_eq!(app.transaction(&b, "RLR0").await.0, 404);
    assert_eq!(app.transaction(&a, &a_txn).await.0, 200);

    let wrong_key = common::Creds {
        api_key: b.api_key.clone(),
        ..a.clone()
    };
    let unknown = common::Creds {
        id: "NOBODY".into(),
        ..a.clone()
    };
    for creds in [&wrong_key, &unknown] {
        let (status, body) = send(app.get("/api/balance", creds)).await;
        assert_eq!(status, 401);
        assert_eq!(body, json!({"success": false, "error": "Invalid API credentials"}));
        let (status, _) = app.topup(creds, json!({"phone": "5512345678", "amount": 10})).await;
        assert_eq!(status, 401);
    }
    let (status, _) = send(app.client.get(format!("{}/api/balance", app.base))).await;
    assert_eq!(status, 401);
    assert_eq!(app.balance(&b).await, dec("100"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn reference_is_idempotent_and_a_changed_payload_is_409() {
    let app = TestApp::spawn().await;
    let c = app.customer("C1", "100").await;
    let (s1, first) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50, "reference": "R-1"}))
        .await;
    let (s2, second) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50.00, "reference": "R-1"}))
        .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["transaction"]["id"], second["transaction"]["id"]);
    assert_eq!(second["billing"]["balance_after_usd"], json!(97.06));
    assert_eq!(app.balance(&c).await, dec("97.06"));

    // The async endpoint shares the key space.
    let (s, replay) = app
        .topup_async(&c, json!({"phone": "5512345678", "amount": 50, "reference": "R-1"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(replay["transaction"]["id"], first["transaction"]["id"]);

    for changed in [
        json!({"phone": "5512345679", "amount": 50, "reference": "R-1"}),
        json!({"phone": "5512345678", "amount": 51, "reference": "R-1"}),
    ] {
        let (status, body) = app.topup(&c, changed).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "Duplicate reference");
    }
    // Another customer may use the same reference.
    let d = app.customer("C2", "100").await;
    assert_eq!(
        app.topup(&d, json!({"phone": "5512345678", "amount": 50, "reference": "R-1"}))
            .await
            .0,
        200
    );
    assert_eq!(app.latcom.topup_calls(), 2);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn daily_limit_per_phone_at_the_boundary_released_on_refund_and_reset_next_day() {
    // 23:00 in Mexico City on 2026-11-23 (UTC-6).
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 24, 5, 0, 0).unwrap());
    let app = TestApp::spawn_with(|_| {}, Some(clock.clone())).await;
    let c = app
        .customer_with("C1", "1000", |a| a.daily_limit_mxn = Some(dec("100")))
        .await;

    assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 60})).await.0, 200);
    assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 40})).await.0, 200);
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body,
        json!({"success": false, "error": "Daily transaction limit exceeded", "daily_limit_mxn": 100,
               "used_today_mxn": 100, "requested_mxn": 10, "available_mxn": 0})
    );
    // Other phones have their own limit.
    assert_eq!(
        app.topup(&c, json!({"phone": "5500000000", "amount": 100})).await.0,
        200
    );
    // A failed top-up does not use up the limit.
    assert_eq!(
        app.topup(&c, json!({"phone": "5500000001", "amount": 100})).await.0,
        500
    );
    assert_eq!(
        app.topup(&c, json!({"phone": "5500000001", "amount": 100})).await.0,
        500
    );

    // Midnight in Mexico City (06:00 UTC) starts a new business day.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 5, 59, 59).unwrap());
    assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await.0, 429);
    clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap());
    assert_eq!(
        app.topup(&c, json!({"phone": "5512345678", "amount": 100})).await.0,
        200
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn topup_rate_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.limits.topup_requests_per_minute = 3, None).await;
    let c = app.customer("C1", "100").await;
    for _ in 0..3 {
        assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await.0, 200);
    }
    let response = app
        .post("/api/enviadespensa/topup", &c)
        .json(&json!({"phone": "5512345678", "amount": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Too many requests");
    // Nothing was charged for the refused request; other routes have their own budget.
    assert_eq!(app.balance(&c).await, dec("100") - dec("1.77"));
    // A per-customer override applies.
    let vip = app
        .customer_with("VIP", "100", |a| a.topup_rate_per_min = Some(5))
        .await;
    for _ in 0..5 {
        assert_eq!(
            app.topup(&vip, json!({"phone": "5512345678", "amount": 10})).await.0,
            200
        );
    }
    assert_eq!(
        app.topup(&vip, json!({"phone": "5512345678", "amount": 10})).await.0,
        429
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn api_rate_limit_covers_balance_and_status() {
    let app = TestApp::spawn_with(|s| s.limits.api_requests_per_15_minutes = 2, None).await;
    let c = app.customer("C1", "100").await;
    assert_eq!(send(app.get("/api/balance", &c)).await.0, 200);
    assert_eq!(send(app.get("/api/transaction/RLR1", &c)).await.0, 404);
    let (status, body) = send(app.get("/api/balance", &c)).await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn stale_exchange_rate_refuses_purchases_with_503() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(|_| {}, Some(clock.clone())).await;
    let c = app.customer("C1", "100").await;
    clock.advance(chrono::Duration::hours(97));
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "Exchange rate unavailable");
    assert_eq!(app.balance(&c).await, dec("100"));
}

#[tokio::test]
async fn commission_is_charged_and_recorded_separately() {
    let app = TestApp::spawn().await;
    let c = app
        .customer_with("C1", "100", |a| a.commission_rate = dec("0.02"))
        .await;
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["billing"]["deducted_usd"], json!(3));
    let id = body["transaction"]["id"].as_str().unwrap();
    let entries: Vec<(String, rust_decimal::Decimal)> =
        sqlx::query_as("SELECT kind, amount_usd FROM ledger_entries WHERE transaction_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        entries,
        vec![("purchase".into(), dec("-2.94")), ("commission".into(), dec("-0.06"))]
    );
    assert_eq!(app.balance(&c).await, dec("97"));
    app.assert_ledger_invariants().await;
}
