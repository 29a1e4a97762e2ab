//! The distributor login lock-out is per (customer, client address) and per address,
//! never per customer alone; `X-Forwarded-For` names the client only behind a
//! configured trusted proxy.

mod common;

use common::{send, TestApp};
use serde_json::json;

async fn login_from(app: &TestApp, forwarded_for: &str, customer: &str, secret: &str) -> u16 {
    let body = json!({"customer_id": customer, "secret_key": secret});
    let request = app
        .client
        .post(app.url("/api/distributor/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&body);
    send(request).await.0
}

#[tokio::test]
async fn failures_from_one_address_never_lock_the_customer_out_elsewhere() {
    let app = TestApp::spawn_with(
        |s| {
            s.distributor.login_failures_per_customer = 3;
            s.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        },
        None,
    )
    .await;
    let c = app.customer("LOCK_1", "10").await;
    let attacker = "198.51.100.7";
    for _ in 0..4 {
        assert_eq!(login_from(&app, attacker, &c.id, "sk_wrong").await, 401);
    }
    assert_eq!(login_from(&app, attacker, &c.id, "sk_wrong").await, 429);
    assert_eq!(
        login_from(&app, attacker, &c.id, &c.secret_key).await,
        429,
        "the attacker stays blocked"
    );
    // The customer, from its own address, is not.
    assert_eq!(login_from(&app, "203.0.113.5", &c.id, &c.secret_key).await, 200);
    // A hop the client wrote before the proxy's own is not believed: the nearest wins.
    assert_eq!(
        login_from(&app, &format!("203.0.113.5, {attacker}"), &c.id, &c.secret_key).await,
        429
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(|s| s.distributor.login_failures_per_customer = 3, None).await;
    let c = app.customer("LOCK_2", "10").await;
    // Rotating the header does not buy new attempts: the peer address is the key.
    for i in 0..4 {
        assert_eq!(login_from(&app, &format!("192.0.2.{i}"), &c.id, "sk_wrong").await, 401);
    }
    assert_eq!(login_from(&app, "192.0.2.200", &c.id, "sk_wrong").await, 429);
}

#[tokio::test]
async fn one_address_trying_many_customers_is_blocked() {
    let app = TestApp::spawn_with(
        |s| {
            s.distributor.login_failures_per_address = 5;
            s.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        },
        None,
    )
    .await;
    let c = app.customer("LOCK_3", "10").await;
    let sprayer = "198.51.100.8";
    for i in 0..6 {
        assert_eq!(login_from(&app, sprayer, &format!("NOBODY_{i}"), "sk_wrong").await, 401);
    }
    assert_eq!(login_from(&app, sprayer, &c.id, &c.secret_key).await, 429);
    assert_eq!(login_from(&app, "203.0.113.6", &c.id, &c.secret_key).await, 200);
}
