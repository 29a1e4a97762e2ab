//! South African airtime and data through Smartcall, bought with the distributor API.

mod common;

use common::{dec, send, TestApp};
use recarga::jobs::resolver;
use recarga::sandbox::smartcall::{Fault, Status};
use serde_json::{json, Value};
use std::time::Duration;

fn za(dtid: &str, product: &str, amount: Value, phone: &str) -> Value {
    json!({"distributor_transaction_id": dtid, "phone_number": phone, "product_id": product, "amount": amount})
}

/// ZAR at the sandbox's fixed 18.0000 per USD.
fn usd(zar: &str) -> rust_decimal::Decimal {
    recarga::domain::money::round_half_up(dec(zar) / dec("18"), 2)
}

#[tokio::test]
async fn za_products_are_listed_including_synced_data_bundles() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA1", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app.bearer_get(&token, "/api/distributor/products").await;
    assert_eq!(status, 200);
    let products = body["products"].as_array().unwrap();
    let za: Vec<&Value> = products.iter().filter(|p| p["country"] == "ZA").collect();
    for id in [
        "ZA_VODACOM_AIRTIME",
        "ZA_MTN_AIRTIME",
        "ZA_CELLC_AIRTIME",
        "ZA_TELKOM_AIRTIME",
        "ZA_AIRTIME",
    ] {
        assert!(za.iter().any(|p| p["product_id"] == id), "{id}");
    }
    // From the synced product list: data bundles at fixed ZAR prices, SMS and vouchers left out,
    // and the airtime already sold by configured products not listed twice.
    let data: Vec<_> = za.iter().filter(|p| p["kind"] == "data").collect();
    assert!(!data.is_empty(), "{za:?}");
    assert!(data.iter().all(|p| p["currency"] == "ZAR" && p["amount"].is_number()));
    assert!(!za
        .iter()
        .any(|p| p["description"].as_str().unwrap_or("").contains("SMS")));
    let airtime = za.iter().filter(|p| p["kind"] == "airtime").count();
    assert_eq!(airtime, 5, "{za:?}");
}

#[tokio::test]
async fn airtime_and_data_purchases_convert_zar_to_usd() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA2", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app
        .purchase(&token, za("ZA-1", "ZA_VODACOM_AIRTIME", json!(50), "082 123 4567"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_code"], "00");
    assert_eq!(app.balance(&c).await, dec("100") - usd("50"));
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/ZA-1").await;
    assert_eq!(t["phone_number"], "27821234567");
    assert_eq!(t["currency"], "ZAR");
    assert_eq!(t["exchange_rate"], json!(18));

    // A synced data bundle at its fixed price.
    let (_, products) = app.bearer_get(&token, "/api/distributor/products").await;
    let bundle = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["country"] == "ZA" && p["kind"] == "data")
        .unwrap()
        .clone();
    let (status, body) = app
        .purchase(
            &token,
            za(
                "ZA-2",
                bundle["product_id"].as_str().unwrap(),
                bundle["amount"].clone(),
                "+27 83 123 4567",
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.smartcall.state.recharge_calls(), 2);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn business_failure_network_down_and_duplicate_rule_refund() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA3", "100").await;
    let (token, _) = app.login(&c).await;
    // R11: business failure (statusCode 2).
    let (status, body) = app
        .purchase(&token, za("R11", "ZA_VODACOM_AIRTIME", json!(11), "0821234567"))
        .await;
    assert_eq!((status, body["response_code"].as_str()), (500, Some("91")), "{body}");
    // R17: the network is down.
    let (status, body) = app
        .purchase(&token, za("R17", "ZA_VODACOM_AIRTIME", json!(17), "0821234567"))
        .await;
    assert_eq!((status, body["response_code"].as_str()), (500, Some("91")), "{body}");
    // The 5-minute rule: same number and amount again, under a new id.
    assert_eq!(
        app.purchase(&token, za("D-1", "ZA_MTN_AIRTIME", json!(20), "0831234567"))
            .await
            .0,
        200
    );
    let (status, body) = app
        .purchase(&token, za("D-2", "ZA_MTN_AIRTIME", json!(20), "0831234567"))
        .await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("5 min"),
        "clear business error: {body}"
    );
    assert_eq!(app.balance(&c).await, dec("100") - usd("20"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn network_pending_holds_funds_until_the_enquiry_settles_it() {
    // The outcome arrives after the synchronous deadline.
    let app = TestApp::spawn_with(|s| s.purchase.sync_deadline_secs = 1, None).await;
    app.smartcall
        .state
        .set_network_pending(Duration::from_secs(3), Status::Successful);
    let c = app.customer("ZA4", "100").await;
    let (token, _) = app.login(&c).await;
    // R13: network pending (statusCode 3): funds held, answer 202.
    let (status, body) = app
        .purchase(&token, za("R13", "ZA_VODACOM_AIRTIME", json!(13), "0821234567"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(app.balance(&c).await, dec("100") - usd("13"));
    // The resolver (every second) asks until Smartcall says SUCCESSFUL.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/R13").await;
        if t["status"] == "SUCCESS" {
            assert_eq!(t["response_code"], "00");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.balance(&c).await, dec("100") - usd("13"));
    assert_eq!(app.smartcall.state.recharge_calls(), 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn pending_that_fails_later_is_refunded_once() {
    let app = TestApp::spawn_with(|s| s.purchase.sync_deadline_secs = 1, None).await;
    app.smartcall
        .state
        .set_network_pending(Duration::from_secs(2), Status::Failed);
    let c = app.customer("ZA5", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, _) = app
        .purchase(&token, za("R13F", "ZA_VODACOM_AIRTIME", json!(13), "0821234567"))
        .await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for r in futures::future::join_all((0..4).map(|_| resolver::sweep(&app.app_purchases, 0))).await {
        r.unwrap();
    }
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/R13F").await;
    assert_eq!(t["status"], "FAILED", "{t}");
    assert_eq!(app.balance(&c).await, dec("100"));
    app.assert_ledger_invariants().await;
}

/// api1 goes down while we hold a token: the recharge it answers 503 is an unknown
/// outcome, so the one enquiry comes first; it shows the recharge never arrived, and
/// only then is it sent to api2, under the same clientReference.
#[tokio::test]
async fn api1_down_sends_to_api2_only_after_an_enquiry() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA6", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, _) = app
        .purchase(&token, za("F-0", "ZA_VODACOM_AIRTIME", json!(20), "0821234567"))
        .await;
    assert_eq!(status, 200);
    app.smartcall.api1.set_unavailable(true);
    let api2_before = app.smartcall.api2.requests();
    let (status, body) = app
        .purchase(&token, za("F-1", "ZA_VODACOM_AIRTIME", json!(30), "0821234567"))
        .await;
    assert_eq!(status, 200, "{body}");
    let sim = &app.smartcall.state;
    assert_eq!((sim.recharge_calls(), sim.enquiry_calls()), (2, 1));
    assert_eq!(
        app.smartcall.api2.requests() - api2_before,
        2,
        "the enquiry, then the recharge"
    );
    let id = body["transaction_id"].as_str().unwrap();
    assert_eq!(sim.calls_for(id), 1, "one recharge under its reference");
    assert_eq!(app.balance(&c).await, dec("100") - usd("20") - usd("30"));
    app.assert_ledger_invariants().await;
}

/// Issues 17.4 and 18.8: after an unknown outcome the same enquiry went out twice, from the
/// adapter and from the purchase service. The service alone makes it now: an HTML 500
/// before processing, one enquiry (not found), the one re-send under the same reference
/// (500 again), and the rest is the resolver's.
#[tokio::test]
async fn an_unknown_outcome_leads_to_exactly_one_immediate_enquiry() {
    let app = TestApp::spawn_with(
        |s| {
            s.purchase.sync_deadline_secs = 2;
            s.purchase.resolver_interval_secs = 3600;
        },
        None,
    )
    .await;
    let c = app.customer("ZA9", "100").await;
    let (token, _) = app.login(&c).await;
    app.smartcall.state.set_fault(Fault::ServerErrorBeforeProcessing);
    let (status, body) = app
        .purchase(&token, za("U-1", "ZA_VODACOM_AIRTIME", json!(25), "0821234567"))
        .await;
    assert_eq!(status, 202, "funds held: {body}");
    let sim = &app.smartcall.state;
    assert_eq!(sim.enquiry_calls(), 1);
    assert_eq!((sim.received(), sim.recharge_calls()), (2, 0));
    assert_eq!(app.balance(&c).await, dec("100") - usd("25"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn token_is_shared_and_renewed_when_it_expires_mid_run() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA7", "100").await;
    let (token, _) = app.login(&c).await;
    let logins_at_start = app.smartcall.state.login_calls();
    let buys = (0..10).map(|i| {
        app.purchase(
            &token,
            za(&format!("T-{i}"), "ZA_VODACOM_AIRTIME", json!(20 + i), "0821234567"),
        )
    });
    assert!(futures::future::join_all(buys).await.iter().all(|(s, _)| *s == 200));
    assert!(
        app.smartcall.state.login_calls() - logins_at_start <= 1,
        "one token for all requests"
    );
    let before = app.smartcall.state.login_calls();
    app.smartcall.state.expire_tokens();
    assert_eq!(
        app.purchase(&token, za("T-X", "ZA_VODACOM_AIRTIME", json!(40), "0821234567"))
            .await
            .0,
        200
    );
    assert_eq!(app.smartcall.state.login_calls(), before + 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn timeout_between_recharge_and_settlement_is_resolved_by_enquiry() {
    let app = TestApp::spawn_with(|s| s.providers.smartcall.timeout_secs = 1, None).await;
    let c = app.customer("ZA8", "100").await;
    let (token, _) = app.login(&c).await;
    app.smartcall
        .state
        .set_fault(Fault::HangAfterProcessing(Duration::from_secs(4)));
    app.smartcall.state.set_enquiry_unavailable(true);
    let (status, body) = app
        .purchase(&token, za("H-1", "ZA_VODACOM_AIRTIME", json!(25), "0821234567"))
        .await;
    assert_eq!(status, 202, "{body}");
    app.smartcall.state.set_fault(Fault::None);
    app.smartcall.state.set_enquiry_unavailable(false);
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/H-1").await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert_eq!(app.smartcall.state.recharge_calls(), 1, "never re-sent");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn any_network_airtime_detects_and_autocorrects_a_ported_number() {
    let app = TestApp::spawn().await;
    // A number from a Vodacom range that has moved to MTN.
    app.smartcall.state.set_sim_network("27821234567", "MTN", true);
    let c = app.customer("ZA9", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app
        .purchase(&token, za("AUTO-1", "ZA_AIRTIME", json!(30), "0821234567"))
        .await;
    assert_eq!(status, 200, "{body}");
    let operator: Option<String> = sqlx::query_scalar("SELECT operator FROM transactions WHERE reference = 'AUTO-1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(operator.as_deref(), Some("MTN"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn dealer_float_shows_in_health_with_a_low_alert() {
    let app = TestApp::spawn_with(|s| s.providers.smartcall.low_float_threshold = dec("1000"), None).await;
    let health = |app: &TestApp| {
        let url = app.url("/health");
        let client = app.client.clone();
        async move { send(client.get(url)).await.1 }
    };
    let smartcall = |h: &Value| {
        h["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["upstream"] == "smartcall")
            .unwrap()
            .clone()
    };
    // Health answers from the background checks (every second in tests).
    let checked = |float: Value| {
        let app = &app;
        async move {
            for _ in 0..50 {
                let h = health(app).await;
                if h["upstreams"].as_array().is_some_and(|u| !u.is_empty()) && smartcall(&h)["float"] == float {
                    return h;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("health never showed the float {float}");
        }
    };
    let h = checked(json!(100000)).await;
    assert_eq!(smartcall(&h)["float_low"], false);
    app.smartcall.state.set_balance(dec("500"));
    let h = checked(json!(500)).await;
    assert_eq!(smartcall(&h)["float_low"], true);
    assert_eq!(h["status"], "degraded");
}

#[tokio::test]
async fn upstream_out_of_funds_is_not_the_resellers_insufficient_balance() {
    let app = TestApp::spawn().await;
    app.smartcall.state.set_balance(dec("5"));
    let c = app.customer("ZA10", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app
        .purchase(&token, za("E15", "ZA_VODACOM_AIRTIME", json!(50), "0821234567"))
        .await;
    assert_eq!((status, body["response_code"].as_str()), (500, Some("91")), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("temporarily unavailable"),
        "{body}"
    );
    assert_eq!(app.balance(&c).await, dec("100"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn acknowledged_pending_then_not_found_goes_to_review_never_a_refund() {
    let clock = recarga::domain::clock::ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(
        |s| {
            s.purchase.sync_deadline_secs = 1;
            s.purchase.resolver_interval_secs = 3600;
        },
        Some(clock.clone()),
    )
    .await;
    // R13: network pending, and it stays so.
    app.smartcall
        .state
        .set_network_pending(Duration::from_secs(3600), Status::Successful);
    let c = app.customer("ZA_ACK", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app
        .purchase(&token, za("ACK-1", "ZA_VODACOM_AIRTIME", json!(13), "0821234567"))
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["transaction_id"].as_str().unwrap().to_string();
    // The enquiries say PENDING: recorded as acknowledged.
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let acknowledged: bool =
        sqlx::query_scalar("SELECT acknowledged_at IS NOT NULL FROM attempts WHERE transaction_id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(acknowledged);
    // Then Smartcall has no record of it, past the 10-minute grace.
    app.smartcall.state.forget(&id);
    clock.advance(chrono::Duration::minutes(11));
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/ACK-1").await;
    assert_eq!(t["status"], "REVIEW", "{t}");
    assert_eq!(app.balance(&c).await, dec("100") - usd("13"), "funds held");
    let refunds: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE transaction_id = $1 AND amount_usd > 0")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(refunds, 0);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_listing_is_mapped_faithfully_and_r1000_mtn_airtime_is_refused() {
    let app = TestApp::spawn().await;
    let c = app.customer("ZA_LIST", "100").await;
    let (token, _) = app.login(&c).await;
    let (_, body) = app.bearer_get(&token, "/api/distributor/products").await;
    let products = body["products"].as_array().unwrap();
    // The simulator lists Vodacom Mozambique next to the South African networks: not sold.
    assert!(
        !products
            .iter()
            .any(|p| p["description"].as_str().unwrap().contains("Mozambique")),
        "{products:?}"
    );
    let (status, body) = app
        .purchase(
            &token,
            za("MZ-1", "ZA_VODACOM_MOZAMBIQUE_1501", json!(50), "0821234567"),
        )
        .await;
    assert_eq!((status, body["response_code"].as_str()), (400, Some("14")), "{body}");
    // Cell C's data bundle types are offered, and one can be bought.
    let cell_c_data: Vec<&Value> = products
        .iter()
        .filter(|p| p["operator"] == "CELL C" && p["kind"] == "data")
        .collect();
    assert_eq!(cell_c_data.len(), 11, "WD and the ten issue 18 types: {cell_c_data:?}");
    let weekly = products.iter().find(|p| p["product_id"] == "ZA_CELL_C_3209").unwrap();
    let (status, body) = app
        .purchase(
            &token,
            za("CC-W", "ZA_CELL_C_3209", weekly["amount"].clone(), "0841234567"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let spent = usd("69");
    // R1,000 is over the listing's 999 for MTN (and for any-network airtime).
    for (dtid, product) in [("MTN-1000", "ZA_MTN_AIRTIME"), ("ANY-1000", "ZA_AIRTIME")] {
        let (status, body) = app.purchase(&token, za(dtid, product, json!(1000), "0831234567")).await;
        assert_eq!((status, body["response_code"].as_str()), (400, Some("13")), "{body}");
    }
    assert_eq!(
        app.balance(&c).await,
        dec("100") - spent,
        "nothing debited for the refusals"
    );
    assert_eq!(app.smartcall.state.recharge_calls(), 1);
    app.assert_ledger_invariants().await;
}
