//! Webhooks and per-purchase callbacks (issue 21): signed with the documented recipe,
//! retried with backoff until failed, re-sendable, scoped to their reseller, and durable
//! across a restart. The receivers are small axum servers on loopback.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{send, Creds, TestApp};
use hmac::{Hmac, Mac};
use recarga::cli::{self, Command, WebhookCommand};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Received {
    signature: String,
    event: String,
    body: String,
    at: Instant,
}

type Seen = Arc<Mutex<Vec<Received>>>;

#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Seen,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let app = axum::Router::new()
            .route(
                "/hook",
                post(
                    |State((seen, answer)): State<(Seen, Arc<AtomicU16>)>,
                     headers: HeaderMap,
                     body: String| async move {
                        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                        seen.lock().unwrap().push(Received {
                            signature: header("recarga-signature"),
                            event: header("recarga-event"),
                            body,
                            at: Instant::now(),
                        });
                        StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
                    },
                ),
            )
            .with_state((Arc::clone(&seen), Arc::clone(&answer)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen, answer }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} deliveries arrived: {seen:?}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The verification recipe of docs/webhooks.md, written from the document: split the
/// header on ',', take `t` and `v1`; refuse a `t` more than 300 s from now; compute
/// HMAC-SHA256(secret, "<t>.<raw body>") and compare it with `v1` in constant time.
fn verify_as_documented(secret: &str, header: &str, raw_body: &str) -> bool {
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{raw_body}").as_bytes());
    mac.verify_slice(&v1).is_ok()
}

async fn set_webhook(app: &TestApp, c: &Creds, url: Option<&str>, low_balance: Option<&str>) -> String {
    let out = cli::run_ops(
        app.settings.clone(),
        Command::Webhook(WebhookCommand::Set {
            id: c.id.clone(),
            url: url.map(str::to_owned),
            low_balance_usd: low_balance.map(common::dec),
        }),
    )
    .await
    .expect("webhook set");
    out["signing_secret"].as_str().unwrap().to_string()
}

async fn deliveries(app: &TestApp, c: &Creds) -> Vec<Value> {
    let (status, body) = send(app.get("/api/webhooks/deliveries", c)).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_outcome_is_signed_as_documented_and_only_its_reseller_sees_it() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let a = app.customer("A", "100").await;
    let b = app.customer("B", "100").await;
    let secret = set_webhook(&app, &a, Some(&receiver.url), Some("98")).await;

    // 100 → 97.06 crosses 98: balance.low; then delivered and failed top-ups.
    assert_eq!(app.topup(&a, json!({"phone": "5512345678", "amount": 50})).await.0, 200);
    assert_eq!(app.topup(&a, json!({"phone": "5500000001", "amount": 20})).await.0, 500);
    assert_eq!(app.topup(&b, json!({"phone": "5512345678", "amount": 50})).await.0, 200);
    let seen = receiver.wait_for(3, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.seen().len(), 3, "B has no webhook: nothing of B's is sent");

    let mut kinds: Vec<&str> = seen.iter().map(|r| r.event.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["balance.low", "transaction.failed", "transaction.succeeded"]);
    for r in &seen {
        assert!(verify_as_documented(&secret, &r.signature, &r.body), "{r:?}");
        let tampered_body = r.body.replace("\"data\"", "\"dat4\"");
        assert!(!verify_as_documented(&secret, &r.signature, &tampered_body));
        let t: i64 = r.signature[2..r.signature.find(',').unwrap()].parse().unwrap();
        let tampered_time = r.signature.replacen(&format!("t={t}"), &format!("t={}", t + 1), 1);
        assert!(!verify_as_documented(&secret, &tampered_time, &r.body));
        assert!(!verify_as_documented("whsec_other", &r.signature, &r.body));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["type"], r.event.as_str());
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    }
    let succeeded = seen.iter().find(|r| r.event == "transaction.succeeded").unwrap();
    let body: Value = serde_json::from_str(&succeeded.body).unwrap();
    assert_eq!(body["data"]["transaction"]["status"], "SUCCESS");
    assert_eq!(body["data"]["transaction"]["amount_usd"], json!(2.94));
    assert_eq!(body["data"]["transaction"]["customer_id"], "A");
    let low = seen.iter().find(|r| r.event == "balance.low").unwrap();
    let body: Value = serde_json::from_str(&low.body).unwrap();
    assert_eq!(body["data"]["low_balance_usd"], 98);

    // The delivery log is A's alone; B can neither see nor re-send A's deliveries.
    let log = deliveries(&app, &a).await;
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|d| d["status"] == "delivered" && d["attempts"] == 1 && d["target"] == "webhook"));
    assert_eq!(deliveries(&app, &b).await, Vec::<Value>::new());
    let id = log[0]["id"].as_i64().unwrap();
    let (status, _) = send(app.post(&format!("/api/webhooks/deliveries/{id}/resend"), &b)).await;
    assert_eq!(status, 404);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_then_failed_and_can_be_resent() {
    let app = TestApp::spawn_with(
        |s| {
            s.webhooks.max_attempts = 3;
            s.webhooks.backoff_base_ms = 300;
            s.webhooks.poll_interval_ms = 20;
        },
        None,
    )
    .await;
    let receiver = Receiver::start().await;
    receiver.answer.store(500, Ordering::SeqCst);
    let a = app.customer("A", "100").await;
    let secret = set_webhook(&app, &a, Some(&receiver.url), None).await;
    assert_eq!(app.topup(&a, json!({"phone": "5512345678", "amount": 50})).await.0, 200);

    let seen = receiver.wait_for(3, 10).await;
    // Backoff: about 300 ms, then about 600 ms (± 20 %, plus polling).
    let (first, second) = (seen[1].at - seen[0].at, seen[2].at - seen[1].at);
    assert!(first >= Duration::from_millis(230), "{first:?}");
    assert!(
        second >= Duration::from_millis(470) && second > first,
        "{first:?} then {second:?}"
    );
    assert!(
        seen.iter().all(|r| r.body == seen[0].body),
        "every retry sends the same body"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = deliveries(&app, &a).await;
        if log[0]["status"] == "failed" || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(log[0]["status"], "failed", "{log:?}");
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["last_status"], 500);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.seen().len(), 3, "no attempt after the last");

    // Fixed: a manual re-send delivers the same event, signed afresh.
    receiver.answer.store(200, Ordering::SeqCst);
    let id = log[0]["id"].as_i64().unwrap();
    let (status, body) = send(app.post(&format!("/api/webhooks/deliveries/{id}/resend"), &a)).await;
    assert_eq!(status, 200, "{body}");
    let seen = receiver.wait_for(4, 10).await;
    assert_eq!(seen[3].body, seen[0].body);
    assert!(verify_as_documented(&secret, &seen[3].signature, &seen[3].body));
    let deadline = Instant::now() + Duration::from_secs(5);
    while deliveries(&app, &a).await[0]["status"] != "delivered" {
        assert!(Instant::now() < deadline, "re-sent delivery not recorded as delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_purchase_callback_is_validated_and_survives_a_restart() {
    // The first instance records events but sends nothing, as if it died before sending.
    let first = TestApp::spawn_with(|s| s.webhooks.delivery_workers = 0, None).await;
    let receiver = Receiver::start().await;
    let a = first.customer("A", "100").await;
    let callback = json!({"phone": "5512345678", "amount": 50, "reference": "CB-1", "callback_url": receiver.url});

    // No signing secret yet, or a URL that is not http(s): 400, nothing debited.
    let (status, body) = first.topup(&a, callback.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "callback_url");
    let secret = set_webhook(&first, &a, None, None).await;
    let (status, body) = first
        .topup(
            &a,
            json!({"phone": "5512345678", "amount": 50, "callback_url": "ftp://example.com/x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (token, _) = first.login(&a).await;
    let (status, body) = first
        .purchase(
            &token,
            json!({"distributor_transaction_id": "D-1", "phone_number": "5537686660", "product_id": "MOVISTAR_TAE",
                   "amount": 10, "callback_url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!((status, &body["response_code"]), (400, &json!("12")), "{body}");
    assert_eq!(first.balance(&a).await, common::dec("100"));

    let (status, body) = first.topup(&a, callback).await;
    assert_eq!(status, 200, "{body}");
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&first.pool)
            .await
            .unwrap();
        if queued == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the callback was never queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.seen().is_empty());

    // A new instance on the same database sends it.
    let database_url = first.settings.database_url.clone();
    let _second = TestApp::spawn_with(move |s| s.database_url = database_url, None).await;
    let seen = receiver.wait_for(1, 10).await;
    assert_eq!(seen[0].event, "transaction.succeeded");
    assert!(verify_as_documented(&secret, &seen[0].signature, &seen[0].body));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["data"]["transaction"]["id"], id.as_str());
    assert_eq!(body["data"]["transaction"]["reference"], "CB-1");
    let log = deliveries(&first, &a).await;
    assert_eq!(
        (log.len(), &log[0]["target"]),
        (1, &json!("callback")),
        "a callback, and no webhook URL: {log:?}"
    );
    first.assert_ledger_invariants().await;
}

async fn admin(app: &TestApp, method: reqwest::Method, token: &str, id: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(&format!("/api/admin/customers/{id}/webhook")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// Ops scripts set, read and remove a reseller's webhook through the admin API, with
/// the CLI's checks; each change is in the audit log under the token's name, and the
/// secret it prints signs the deliveries.
#[tokio::test]
async fn ops_set_read_and_remove_a_webhook_through_the_admin_api() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let a = app.customer("A", "100").await;
    let ops = app.ops_token("ops-bob").await;

    // Refused: no token, a reseller's API key as the token, bad URL or threshold, no customer.
    let (status, _) = send(
        app.client
            .put(app.url("/api/admin/customers/A/webhook"))
            .json(&json!({"url": receiver.url})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = admin(&app, Method::PUT, &a.api_key, "A", Some(json!({"url": receiver.url}))).await;
    assert_eq!(status, 401);
    for bad in [
        json!({"url": "ftp://example.com/hook"}),
        json!({"url": receiver.url, "low_balance_usd": 0}),
        json!({"url": receiver.url, "extra": 1}),
    ] {
        let (status, body) = admin(&app, Method::PUT, &ops, "A", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = admin(&app, Method::PUT, &ops, "NOBODY", Some(json!({"url": receiver.url}))).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("customer not found")));
    let (status, _) = admin(&app, Method::GET, &ops, "A", None).await;
    assert_eq!(status, 404, "no webhook yet");

    let (status, set) = admin(
        &app,
        Method::PUT,
        &ops,
        "A",
        Some(json!({"url": receiver.url, "low_balance_usd": 98.5})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["low_balance_usd"], json!(98.5));
    let secret = set["signing_secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let (status, read) = admin(&app, Method::GET, &ops, "A", None).await;
    assert_eq!(
        (status, read["url"].as_str()),
        (200, Some(receiver.url.as_str())),
        "{read}"
    );
    assert!(!read.to_string().contains(secret), "the secret is shown once");

    // The secret it printed signs A's deliveries.
    assert_eq!(app.topup(&a, json!({"phone": "5512345678", "amount": 50})).await.0, 200);
    let seen = receiver.wait_for(2, 10).await;
    assert!(
        seen.iter().all(|r| verify_as_documented(secret, &r.signature, &r.body)),
        "{seen:?}"
    );

    let (status, removed) = admin(&app, Method::DELETE, &ops, "A", None).await;
    assert_eq!((status, removed["removed"].as_bool()), (200, Some(true)));
    let (status, _) = admin(&app, Method::DELETE, &ops, "A", None).await;
    assert_eq!(status, 404, "nothing left to remove");

    let audit: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor FROM audit_notes WHERE customer_id = 'A' AND action LIKE 'webhook%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let by_ops = Some("ops:ops-bob".to_string());
    assert_eq!(
        audit,
        [
            ("webhook_set".to_string(), by_ops.clone()),
            ("webhook_removed".to_string(), by_ops)
        ]
    );
    app.assert_ledger_invariants().await;
}
