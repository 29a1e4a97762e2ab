//! The distributor API (seed 001): tokens, codes, idempotency, shared balance.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use common::{dec, send, TestApp};
use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use recarga::config::SANDBOX_JWT_SECRET;
use recarga::domain::clock::ManualClock;
use recarga::sandbox::latcom::Fault;
use serde_json::{json, Value};
use std::time::Duration;

fn purchase_body(dtid: &str, product: &str, amount: Value, phone: &str) -> Value {
    json!({"distributor_transaction_id": dtid, "phone_number": phone, "product_id": product, "amount": amount, "operator": "MOVISTAR"})
}

#[tokio::test]
async fn seed_curl_flow_login_balance_purchase_balance() {
    let app = TestApp::spawn().await;
    let c = app.customer("DIST_1", "1000").await;

    let (status, login) = send(
        app.client
            .post(app.url("/api/distributor/login"))
            .json(&json!({"customer_id": "DIST_1", "secret_key": c.secret_key})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["success"], true);
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 3600);
    assert_eq!(login["access_token"].as_str().unwrap().split('.').count(), 3, "a JWT");
    assert!(login["refresh_token"].as_str().unwrap().len() >= 64);
    let token = login["access_token"].as_str().unwrap();

    let (status, balance) = app.bearer_get(token, "/api/distributor/get_balance").await;
    assert_eq!(status, 200);
    assert_eq!(balance["success"], true);
    assert_eq!(balance["balance"], 1000);
    assert_eq!(balance["currency"], "USD");
    assert!(balance["last_updated"].as_str().unwrap().ends_with('Z'));

    let (status, bought) = app
        .purchase(
            token,
            purchase_body("MY-TXN-001", "MOVISTAR_TAE", json!(10), "5537686660"),
        )
        .await;
    assert_eq!(status, 200, "{bought}");
    assert_eq!(bought["success"], true);
    assert_eq!(bought["distributor_transaction_id"], "MY-TXN-001");
    assert_eq!(bought["response_code"], "00");
    assert_eq!(bought["response_message"], "Aprobado");
    assert!(bought["transaction_id"].is_string() && bought["reference"].is_string());
    assert_eq!(bought["auth_code"].as_str().unwrap().len(), 6);
    // 10 MXN at 17.0068 → 0.59 USD.
    assert_eq!(bought["balance_after"], json!(999.41));

    let (_, balance) = app.bearer_get(token, "/api/distributor/get_balance").await;
    assert_eq!(balance["balance"], json!(999.41));

    let (status, t) = app.bearer_get(token, "/api/distributor/transaction/MY-TXN-001").await;
    assert_eq!(status, 200);
    assert_eq!(t["status"], "SUCCESS");
    assert_eq!(t["response_code"], "00");
    assert_eq!(t["product_id"], "MOVISTAR_TAE");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn products_list_the_seed_catalog() {
    let app = TestApp::spawn().await;
    let c = app.customer("DIST_1", "10").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app.bearer_get(&token, "/api/distributor/products").await;
    assert_eq!(status, 200);
    let products = body["products"].as_array().unwrap();
    let find = |id: &str| {
        products
            .iter()
            .find(|p| p["product_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    let tae = find("MOVISTAR_TAE");
    assert_eq!(
        (tae["min_amount"].clone(), tae["max_amount"].clone()),
        (json!(10), json!(2320)),
        "what LATCOM can deliver, not the seed's 5,000 (tests/latcom.rs)"
    );
    assert_eq!(tae["currency"], "MXN");
    assert_eq!(tae["country"], "MX");
    for (n, price) in (16..=25).zip([30, 50, 70, 90, 110, 150, 210, 320, 400, 420]) {
        assert_eq!(find(&format!("MOVISTAR_PAQUETE_{n}"))["amount"], json!(price));
    }
    for op in ["TELCEL_TAE", "ATT_TAE", "UNEFON_TAE", "VIRGIN_TAE"] {
        assert_eq!(find(op)["kind"], "airtime");
    }
}

#[tokio::test]
async fn every_response_code_is_reachable_with_its_http_status() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(|_| {}, Some(clock.clone())).await;
    let c = app
        .customer_with("CODES", "30", |a| a.daily_limit_mxn = Some(dec("100")))
        .await;
    let (token, _) = app.login(&c).await;
    let code = |r: &(u16, Value)| (r.0, r.1["response_code"].as_str().unwrap_or("-").to_string());

    // 00
    let r = app
        .purchase(
            &token,
            purchase_body("C-00", "MOVISTAR_PAQUETE_16", json!(30), "5512345678"),
        )
        .await;
    assert_eq!(code(&r), (200, "00".into()), "{}", r.1);
    // 12: missing id, wrong types, not JSON
    let r = app
        .purchase(
            &token,
            json!({"phone_number": "5512345678", "product_id": "MOVISTAR_TAE", "amount": 10}),
        )
        .await;
    assert_eq!(code(&r), (400, "12".into()), "{}", r.1);
    let r = app
        .purchase(&token, purchase_body("C-12", "MOVISTAR_TAE", json!("10"), "5512345678"))
        .await;
    assert_eq!(code(&r), (400, "12".into()), "{}", r.1);
    assert_eq!(r.1["distributor_transaction_id"], "C-12");
    let r = send(
        app.client
            .post(app.url("/api/distributor/product_purchase"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(code(&r), (400, "12".into()));
    // 12 (409): the same id with another payload
    let r = app
        .purchase(
            &token,
            purchase_body("C-00", "MOVISTAR_PAQUETE_17", json!(50), "5512345678"),
        )
        .await;
    assert_eq!(code(&r), (409, "12".into()), "{}", r.1);
    // 13: fixed price mismatch, out of range, three decimals, negative
    for (product, amount) in [
        ("MOVISTAR_PAQUETE_16", json!(31)),
        ("MOVISTAR_TAE", json!(5000.01)),
        ("MOVISTAR_TAE", json!(10.005)),
        ("MOVISTAR_TAE", json!(-10)),
    ] {
        let r = app
            .purchase(&token, purchase_body("C-13", product, amount.clone(), "5512345678"))
            .await;
        assert_eq!(code(&r), (400, "13".into()), "{product} {amount}: {}", r.1);
    }
    // 14: unknown product
    let r = app
        .purchase(&token, purchase_body("C-14", "NOPE", json!(10), "5512345678"))
        .await;
    assert_eq!(code(&r), (400, "14".into()));
    // 83: bad number
    let r = app
        .purchase(&token, purchase_body("C-83", "MOVISTAR_TAE", json!(10), "12345"))
        .await;
    assert_eq!(code(&r), (400, "83".into()));
    // 51: insufficient funds (5000 MXN ≈ 294 USD > 30)
    let r = app
        .purchase(&token, purchase_body("C-51", "MOVISTAR_TAE", json!(500), "5512345678"))
        .await;
    assert_eq!(code(&r), (402, "51".into()), "{}", r.1);
    // 05: daily limit for the number
    let r = app
        .purchase(&token, purchase_body("C-05", "MOVISTAR_TAE", json!(80), "5512345678"))
        .await;
    assert_eq!(code(&r), (400, "05".into()), "{}", r.1);
    // 91: the carrier declined; refunded
    let before = app.balance(&c).await;
    let r = app
        .purchase(&token, purchase_body("C-91", "MOVISTAR_TAE", json!(10), "5500000001"))
        .await;
    assert_eq!(code(&r), (500, "91".into()), "{}", r.1);
    assert_eq!(app.balance(&c).await, before);
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/C-91").await;
    assert_eq!(
        (t["status"].as_str(), t["response_code"].as_str()),
        (Some("FAILED"), Some("91"))
    );
    // pending: the upstream answers too late and cannot be asked yet → 202, funds held
    app.latcom.set_fault(Fault::HangAfterProcessing(Duration::from_secs(5)));
    app.latcom.set_status_unavailable(true);
    let r = app
        .purchase(&token, purchase_body("C-PEND", "MOVISTAR_TAE", json!(10), "5512345678"))
        .await;
    assert_eq!(r.0, 202, "{}", r.1);
    assert_eq!(
        (r.1["success"].clone(), r.1["status"].clone()),
        (json!(false), json!("PENDING"))
    );
    assert!(r.1["transaction_id"].is_string());
    assert_eq!(app.balance(&c).await, before - dec("0.59"));
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/C-PEND").await;
    assert_eq!(t["status"], "PROCESSING");
    assert!(t["response_code"].is_null());
    app.latcom.set_fault(Fault::None);
    app.latcom.set_status_unavailable(false);
    // 96: no usable exchange rate; nothing debited
    clock.advance(chrono::Duration::hours(97));
    let r = app
        .purchase(&token, purchase_body("C-96", "MOVISTAR_TAE", json!(10), "5512345678"))
        .await;
    assert_eq!(code(&r), (500, "96".into()), "{}", r.1);
    // Refused requests did not consume their ids.
    let txns: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(txns, 3, "C-00, C-91 and C-PEND only");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn idempotent_retry_returns_the_original_and_charges_once() {
    let app = TestApp::spawn().await;
    let c = app.customer("IDEM", "100").await;
    let (token, _) = app.login(&c).await;
    let body = purchase_body("RETRY-1", "MOVISTAR_TAE", json!(50), "5512345678");
    let (s1, first) = app.purchase(&token, body.clone()).await;
    let (s2, second) = app.purchase(&token, body).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first, second);
    assert_eq!(app.balance(&c).await, dec("97.06"));
    assert_eq!(app.latcom.topup_calls(), 1);
    // Relier's `reference` shares the key space: the same key there is the same purchase.
    let (status, relier) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50, "reference": "RETRY-1"}))
        .await;
    assert_eq!(status, 200, "{relier}");
    assert_eq!(relier["transaction"]["id"], first["transaction_id"]);
    app.assert_ledger_invariants().await;
}

fn forge(claims: Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn expired_tampered_unsigned_and_foreign_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let a = app.customer("A", "100").await;
    let b = app.customer("B", "100").await;
    let (token, _) = app.login(&a).await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = Utc::now().timestamp();
    let secret = SANDBOX_JWT_SECRET.as_bytes();

    let mut expired_claims = claims.clone();
    expired_claims["exp"] = json!(now - 10);
    expired_claims["iat"] = json!(now - 3700);
    let expired = forge(expired_claims, secret);
    let wrong_key = forge(claims.clone(), b"some-other-key-that-is-long-enough-000");
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    // Another customer's id in a token we did not sign: the signature no longer matches.
    let mut foreign_claims = claims.clone();
    foreign_claims["sub"] = json!("B");
    let foreign = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(foreign_claims.to_string().as_bytes()),
        parts[2]
    );
    for (name, bad) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("alg none", none_alg),
        ("foreign", foreign),
        ("garbage", "x.y.z".into()),
    ] {
        let (status, body) = app.bearer_get(&bad, "/api/distributor/get_balance").await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["success"], false);
        let (status, _) = app
            .purchase(&bad, purchase_body("T-1", "MOVISTAR_TAE", json!(10), "5512345678"))
            .await;
        assert_eq!(status, 401, "{name}");
    }
    let (status, _) = send(app.client.get(app.url("/api/distributor/get_balance"))).await;
    assert_eq!(status, 401);
    // A's token sees only A's transactions.
    let (tb, _) = app.login(&b).await;
    app.purchase(&token, purchase_body("A-ONLY", "MOVISTAR_TAE", json!(10), "5512345678"))
        .await;
    assert_eq!(app.bearer_get(&tb, "/api/distributor/transaction/A-ONLY").await.0, 404);
    assert_eq!(
        app.bearer_get(&token, "/api/distributor/transaction/A-ONLY").await.0,
        200
    );
    assert_eq!(app.balance(&b).await, dec("100"));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    let c = app.customer("ROT", "100").await;
    let (access1, refresh1) = app.login(&c).await;
    let refresh = |t: String| {
        let app = &app;
        async move {
            send(
                app.client
                    .post(app.url("/api/distributor/refresh"))
                    .json(&json!({"refresh_token": t})),
            )
            .await
        }
    };
    let (status, pair2) = refresh(refresh1.clone()).await;
    assert_eq!(status, 200, "{pair2}");
    let access2 = pair2["access_token"].as_str().unwrap().to_string();
    let refresh2 = pair2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh2, refresh1);
    assert_eq!(app.bearer_get(&access2, "/api/distributor/get_balance").await.0, 200);
    assert_eq!(
        app.bearer_get(&access1, "/api/distributor/get_balance").await.0,
        200,
        "same live session"
    );

    // Someone replays the spent refresh token: the whole family is revoked.
    let (status, body) = refresh(refresh1).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(refresh(refresh2).await.0, 401);
    assert_eq!(app.bearer_get(&access2, "/api/distributor/get_balance").await.0, 401);
    assert_eq!(app.bearer_get(&access1, "/api/distributor/get_balance").await.0, 401);
    assert_eq!(refresh("rt_unknown".into()).await.0, 401);

    // A new login works; logout ends that session.
    let (access3, refresh3) = app.login(&c).await;
    let (status, _) = send(
        app.client
            .post(app.url("/api/distributor/logout"))
            .bearer_auth(&access3),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.bearer_get(&access3, "/api/distributor/get_balance").await.0, 401);
    assert_eq!(refresh(refresh3).await.0, 401);
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let app = TestApp::spawn_with(|s| s.distributor.login_failures_per_customer = 3, None).await;
    let c = app.customer("BRUTE", "100").await;
    let attempt = |secret: &str| {
        let body = json!({"customer_id": "BRUTE", "secret_key": secret});
        let app = &app;
        async move { send(app.client.post(app.url("/api/distributor/login")).json(&body)).await }
    };
    for _ in 0..4 {
        let (status, body) = attempt("sk_wrong").await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, body) = attempt("sk_wrong").await;
    assert_eq!(status, 429, "{body}");
    // Even the right secret waits now.
    assert_eq!(attempt(&c.secret_key).await.0, 429);
    // Unknown customers fail the same way as wrong secrets.
    let (status, body) = send(
        app.client
            .post(app.url("/api/distributor/login"))
            .json(&json!({"customer_id": "NOBODY", "secret_key": c.secret_key})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "Invalid credentials");
}

#[tokio::test]
async fn relier_and_distributor_draw_on_one_balance_concurrently() {
    let app = TestApp::spawn().await;
    app.latcom.set_latency(Duration::from_millis(20));
    // 10 MXN = 0.59 USD; 17.70 affords exactly 30.
    let c = app.customer("BOTH", "17.70").await;
    let (token, _) = app.login(&c).await;
    let results = join_all((0..60).map(|i| {
        let (app, c, token) = (&app, &c, &token);
        async move {
            if i % 2 == 0 {
                let r = app.topup(c, json!({"phone": "5512345678", "amount": 10})).await;
                (r.0 == 200, r.0 == 403)
            } else {
                let r = app
                    .purchase(
                        token,
                        purchase_body(&format!("D-{i}"), "MOVISTAR_TAE", json!(10), "5512345678"),
                    )
                    .await;
                (r.0 == 200, r.0 == 402)
            }
        }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.0).count(), 30);
    assert_eq!(results.iter().filter(|r| r.1).count(), 30);
    assert_eq!(app.balance(&c).await, dec("0"));
    assert_eq!(app.latcom.topup_calls(), 30);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn live_mode_refuses_a_missing_or_short_signing_key() {
    for key in [None, Some("short"), Some(SANDBOX_JWT_SECRET)] {
        let mut settings = common::test_settings().await;
        settings.mode = recarga::config::Mode::Live;
        settings.distributor.jwt_secret = key.map(|k| k.to_string().into());
        let built =
            recarga::startup::Application::build(settings, std::sync::Arc::new(recarga::domain::clock::SystemClock))
                .await;
        let err = built.err().expect("must refuse to start").to_string();
        assert!(err.contains("jwt_secret"), "{err}");
    }
}
