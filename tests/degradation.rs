//! Degradation: health answered from cached checks, the database cut (503 JSON for
//! purchases and reads, nothing charged, recovery without a restart), and a start that
//! waits for the database.

mod common;

use common::db_proxy::DbProxy;
use common::{assert_ledger_invariants, fresh_database_url, send, server_url, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// Poll `path` until it answers `status` (or fail after `secs`).
async fn until(app: &TestApp, path: &str, status: u16, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (got, body) = send(app.client.get(app.url(path))).await;
        if got == status {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} still {got}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_answers_from_cached_checks_never_a_live_upstream_call() {
    let app = TestApp::spawn_with(|s| s.health.upstream_interval_secs = 3600, None).await;
    let (status, live) = send(app.client.get(app.url("/health/live"))).await;
    assert_eq!((status, live), (200, json!({"status": "ok"})));
    let ready = until(&app, "/health/ready", 200, 10).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], true);
    assert_eq!(ready["usable_upstreams"], json!(["datamart", "latcom", "smartcall"]));
    assert_eq!(ready["reasons"], json!([]));

    let upstream_requests = || app.smartcall.api1.requests() + app.smartcall.api2.requests();
    let before = upstream_requests();
    for _ in 0..20 {
        for path in ["/health", "/health/ready", "/health/live"] {
            let (status, body) = send(app.client.get(app.url(path))).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
    }
    assert_eq!(upstream_requests(), before, "a health request called Smartcall");
    let (_, health) = send(app.client.get(app.url("/health"))).await;
    assert_eq!(health["database"], "ok");
    assert!(health["upstreams_checked_at"].is_string(), "{health}");
    assert_eq!(health["upstreams"].as_array().unwrap().len(), 3, "{health}");
}

#[tokio::test]
async fn a_database_outage_answers_503_json_and_the_gateway_recovers_without_a_restart() {
    let proxy = DbProxy::start(&server_url()).await;
    let mut direct = String::new();
    let app = TestApp::spawn_with(
        |s| {
            direct = s.database_url.clone();
            s.database_url = proxy.url(&s.database_url);
            s.database.acquire_timeout_secs = 1;
        },
        None,
    )
    .await;
    let pool = PgPool::connect(&direct).await.expect("direct connection");
    let c = app.customer("DEGRADE_1", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, first) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50, "reference": "D-1"}))
        .await;
    assert_eq!(status, 200, "{first}");
    let txn = first["transaction"]["id"].as_str().unwrap().to_string();
    until(&app, "/health/ready", 200, 10).await;

    proxy.cut();
    let ready = until(&app, "/health/ready", 503, 10).await;
    assert_eq!(ready["status"], "not_ready");
    assert!(
        ready["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("database unreachable")),
        "{ready}"
    );
    let (status, health) = send(app.client.get(app.url("/health"))).await;
    assert_eq!((status, health["database"].clone()), (503, json!("unreachable")));
    // Past the authentication cache, so that the customer lookups meet the outage too.
    tokio::time::sleep(Duration::from_millis(app.settings.limits.auth_cache_ttl_ms + 100)).await;

    let purchase = json!({"distributor_transaction_id": "D-2", "phone_number": "5512345678",
        "product_id": "MOVISTAR_TAE", "amount": 50});
    let answers = [
        (
            "relier topup",
            send(
                app.post("/api/enviadespensa/topup", &c)
                    .json(&json!({"phone": "5512345678", "amount": 20, "reference": "D-2"})),
            )
            .await,
        ),
        (
            "relier topup-async",
            send(
                app.post("/api/enviadespensa/topup-async", &c)
                    .json(&json!({"phone": "5512345678", "amount": 20, "reference": "D-3"})),
            )
            .await,
        ),
        ("relier balance", send(app.get("/api/balance", &c)).await),
        (
            "relier transaction",
            send(app.get(&format!("/api/transaction/{txn}"), &c)).await,
        ),
        (
            "relier quote",
            send(
                app.post("/api/quote", &c)
                    .json(&json!({"phone": "5512345678", "amount": 50})),
            )
            .await,
        ),
        (
            "distributor login",
            send(
                app.client
                    .post(app.url("/api/distributor/login"))
                    .json(&json!({"customer_id": c.id, "secret_key": c.secret_key})),
            )
            .await,
        ),
        (
            "distributor balance",
            app.bearer_get(&token, "/api/distributor/get_balance").await,
        ),
        ("distributor purchase", app.purchase(&token, purchase).await),
        (
            "distributor transaction",
            app.bearer_get(&token, "/api/distributor/transaction/D-1").await,
        ),
    ];
    for (what, (status, body)) in &answers {
        assert_eq!(*status, 503, "{what}: {body}");
        assert_eq!(body["success"], false, "{what}: {body}");
        assert!(body["error"].is_string(), "{what}: {body}");
    }

    proxy.restore();
    until(&app, "/health/ready", 200, 15).await;
    let (status, body) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 20, "reference": "D-2"}))
        .await;
    assert_eq!(status, 200, "after recovery: {body}");
    let (status, body) = app.bearer_get(&token, "/api/distributor/get_balance").await;
    assert_eq!(status, 200, "{body}");
    // Nothing was charged during the outage: two purchases, 50 and 20 MXN.
    let charged: Vec<String> = sqlx::query_scalar("SELECT reference FROM transactions ORDER BY reference")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(charged, ["D-1", "D-2"]);
    assert_ledger_invariants(&pool).await;
}

#[tokio::test]
async fn at_start_the_gateway_waits_for_the_database_saying_why() {
    let proxy = DbProxy::start(&server_url()).await;
    proxy.cut();
    let url = proxy.url(&fresh_database_url().await);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_recarga"))
        .arg("migrate")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the database cannot be reached yet; waiting for it"),
        "{stderr}"
    );
    assert!(stderr.contains("retry_in_ms"), "{stderr}");
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_answers_503_json() {
    let proxy = DbProxy::start(&server_url()).await;
    let app = TestApp::spawn_with(
        |s| {
            s.database_url = proxy.url(&s.database_url);
            s.purchase.sync_deadline_secs = 1;
            s.limits.request_timeout_secs = 2;
        },
        None,
    )
    .await;
    let c = app.customer("SLOW_1", "10").await;
    proxy.set_delay(Duration::from_secs(4));
    let started = Instant::now();
    let (status, body) = send(app.get("/api/balance", &c)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["success"], false);
    assert!(body["error"].as_str().unwrap().contains("timed out"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(4), "answered at the timeout");
    proxy.set_delay(Duration::ZERO);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(send(app.get("/api/balance", &c)).await.0, 200);
}
