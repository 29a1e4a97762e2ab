//! The edges of the HTTP surface: bodies not declared as JSON are refused with 415 and
//! never charged; unknown routes and wrong methods answer JSON in each dialect's shape.

mod common;

use common::{send, TestApp};
use serde_json::json;

const NOT_JSON: &[Option<&str>] = &[
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("text/json"),
    None,
];

#[tokio::test]
async fn a_body_not_declared_as_json_is_refused_with_415_and_nothing_is_charged() {
    let app = TestApp::spawn().await;
    let c = app.customer("EDGE_415", "100").await;
    let (token, _) = app.login(&c).await;
    let before = app.ledger_entry_count().await;
    let topup = json!({"phone": "5512345678", "amount": 50, "reference": "R-415"}).to_string();
    let purchase = json!({"distributor_transaction_id": "D-415", "phone_number": "5512345678",
        "product_id": "MOVISTAR_TAE", "amount": 50})
    .to_string();
    for content_type in NOT_JSON {
        let with_type = |r: reqwest::RequestBuilder| match content_type {
            Some(t) => r.header("content-type", *t),
            None => r,
        };
        for path in [
            "/api/enviadespensa/topup",
            "/api/enviadespensa/topup-async",
            "/api/quote",
        ] {
            let (status, body) = send(with_type(app.post(path, &c)).body(topup.clone())).await;
            assert_eq!(status, 415, "{path} {content_type:?} → {body}");
            assert_eq!(body["success"], false);
            assert!(body["error"].as_str().unwrap().contains("application/json"), "{body}");
        }
        let request = app
            .client
            .post(app.url("/api/distributor/product_purchase"))
            .bearer_auth(&token);
        let (status, body) = send(with_type(request).body(purchase.clone())).await;
        assert_eq!(status, 415, "{content_type:?} → {body}");
        assert_eq!(body["response_code"], "12", "{body}");
        let login = json!({"customer_id": c.id, "secret_key": c.secret_key}).to_string();
        let (status, _) = send(with_type(app.client.post(app.url("/api/distributor/login"))).body(login)).await;
        assert_eq!(status, 415);
    }
    app.assert_nothing_moved(&c, "100", before).await;
    // Authentication still comes first: no credentials, 401 whatever the body.
    let (status, _) = send(
        app.client
            .post(app.url("/api/enviadespensa/topup"))
            .header("content-type", "text/plain")
            .body(topup.clone()),
    )
    .await;
    assert_eq!(status, 401);
    // JSON with parameters and the reference unused by the refusals above: delivered.
    let (status, body) = send(
        app.post("/api/enviadespensa/topup", &c)
            .header("content-type", "application/json; charset=utf-8")
            .body(topup),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json_in_the_dialect_of_the_path() {
    let app = TestApp::spawn().await;
    // Relier (and anything outside a dialect): {"success": false, "error": …}
    for (method, path, status) in [
        (reqwest::Method::GET, "/api/nope", 404),
        (reqwest::Method::GET, "/nothing/here", 404),
        (reqwest::Method::GET, "/api/enviadespensa/topup", 405),
        (reqwest::Method::DELETE, "/api/balance", 405),
    ] {
        let (got, body) = send(app.client.request(method.clone(), app.url(path))).await;
        assert_eq!(got, status, "{method} {path} → {body}");
        assert_eq!(body["success"], false, "{method} {path} → {body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(body.get("response_code").is_none(), "{body}");
    }
    // Distributor: the coded shape.
    for (method, path, status) in [
        (reqwest::Method::GET, "/api/distributor/nope", 404),
        (reqwest::Method::GET, "/api/distributor/product_purchase", 405),
        (reqwest::Method::PUT, "/api/distributor/login", 405),
    ] {
        let (got, body) = send(app.client.request(method.clone(), app.url(path))).await;
        assert_eq!(got, status, "{method} {path} → {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["response_code"], "12", "{body}");
        assert!(body["response_message"].is_string(), "{body}");
    }
    // Admin.
    let (got, body) = send(app.client.get(app.url("/api/admin/transactions/X/reverse"))).await;
    assert_eq!(got, 405, "{body}");
    assert_eq!(body["success"], false);
    let (got, body) = send(app.client.get(app.url("/api/admin/nope"))).await;
    assert_eq!(got, 404, "{body}");
    assert!(body["error"].is_string());
    // A 405 still says what is allowed.
    let r = app
        .client
        .get(app.url("/api/enviadespensa/topup"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("allow").map(|v| v.to_str().unwrap()), Some("POST"));
}

#[tokio::test]
async fn docs_serve_a_browsable_reference_with_every_asset_from_here() {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        policy.contains("default-src 'self'") && policy.contains("img-src 'self' data:"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"spec-url="/openapi.json""#), "{html}");
    assert!(html.contains(r#"src="/docs/redoc.standalone.js""#), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads from elsewhere: {html}"
    );
    let script = app
        .client
        .get(app.url("/docs/redoc.standalone.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    let bytes = script.bytes().await.unwrap();
    // The pinned Redoc 2.1.5 bundle (assets/redoc/README.md).
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        "be5c3330c8c35b8fceb29a5b7552ad45bffc2fd9494fe2e1a82fa94179eb5f8f"
    );
}
