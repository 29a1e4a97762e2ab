//! LATCOM as it really is (providers.md §3A): which Movistar amounts can be delivered and
//! through which upstream product, status lookups by LATCOM's transId, and operators
//! that contradict the product.

mod common;

use common::{dec, TestApp};
use recarga::domain::clock::ManualClock;
use recarga::jobs::resolver;
use recarga::sandbox::latcom::{Fault, ANSWERS_PENDING};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::time::Duration;

fn purchase(dtid: &str, amount: Value, operator: Option<&str>) -> Value {
    let mut body = json!({"distributor_transaction_id": dtid, "phone_number": "5512345678",
                          "product_id": "MOVISTAR_TAE", "amount": amount});
    if let Some(o) = operator {
        body["operator"] = json!(o);
    }
    body
}

async fn transactions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn movistar_amounts_go_to_the_product_that_takes_them_and_the_rest_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.customer("MX_AMOUNTS", "1000").await;
    let (token, _) = app.login(&c).await;
    // (amount, delivered as (LATCOM product, amount sent) or refused)
    let cases: [(&str, Option<(&str, &str)>); 7] = [
        ("10", Some(("XOOM_10_MXN", "10"))),
        ("20", Some(("XOOM_20_MXN", "20"))),
        ("23.19", None), // 19.99 after ÷ 1.16: under TFE's 20, and no XOOM denomination
        ("24", Some(("TFE_MXN_20_TO_2000", "20.69"))),
        ("2320", Some(("TFE_MXN_20_TO_2000", "2000"))),
        ("2320.01", None), // 2000.01 after ÷ 1.16
        ("5000", None),
    ];
    let mut spent = Decimal::ZERO;
    for (i, (amount, expected)) in cases.iter().enumerate() {
        let amount_json: Value = serde_json::from_str(amount).unwrap();
        let before = (app.balance(&c).await, transactions(&app).await);
        // Distributor.
        let (status, body) = app
            .purchase(&token, purchase(&format!("D-{i}"), amount_json.clone(), None))
            .await;
        match expected {
            Some((product, sent)) => {
                assert_eq!(
                    (status, body["response_code"].as_str()),
                    (200, Some("00")),
                    "{amount}: {body}"
                );
                let id = body["transaction_id"].as_str().unwrap();
                assert_eq!(app.latcom.sent(id), Some((product.to_string(), dec(sent))), "{amount}");
                spent += recarga::domain::money::round_half_up(dec(amount) / dec("17.0068"), 2);
            }
            None => {
                assert_eq!(
                    (status, body["response_code"].as_str()),
                    (400, Some("13")),
                    "{amount}: {body}"
                );
                assert_eq!(
                    (app.balance(&c).await, transactions(&app).await),
                    before,
                    "nothing debited"
                );
            }
        }
        // Relier: its own 10-500 MXN bound (seed 000) first, then the product's.
        let before = (app.balance(&c).await, transactions(&app).await);
        let (status, body) = app
            .topup(&c, json!({"phone": "5512345678", "amount": amount_json}))
            .await;
        match expected {
            Some((product, sent)) if dec(amount) <= dec("500") => {
                assert_eq!(status, 200, "{amount}: {body}");
                let id = body["transaction"]["id"].as_str().unwrap();
                assert_eq!(app.latcom.sent(id), Some((product.to_string(), dec(sent))), "{amount}");
                spent += recarga::domain::money::round_half_up(dec(amount) / dec("17.0068"), 2);
            }
            _ => {
                assert_eq!(status, 400, "{amount}: {body}");
                assert_eq!(body["details"][0]["field"], "amount", "{body}");
                assert_eq!(
                    (app.balance(&c).await, transactions(&app).await),
                    before,
                    "nothing debited"
                );
            }
        }
    }
    assert_eq!(app.latcom.topup_calls(), 4 + 3, "nothing refusable reached LATCOM");
    assert_eq!(app.balance(&c).await, dec("1000") - spent);
    app.assert_ledger_invariants().await;

    // The listing says what can really be bought.
    let (_, products) = app.bearer_get(&token, "/api/distributor/products").await;
    let tae = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product_id"] == "MOVISTAR_TAE")
        .unwrap()
        .clone();
    assert_eq!(
        (tae["min_amount"].clone(), tae["max_amount"].clone()),
        (json!(10), json!(2320))
    );
    assert_eq!(
        tae["deliverable"],
        json!({"denominations": [10, 20], "ranges": [{"min_amount": 23.2, "max_amount": 2320}]})
    );
}

#[tokio::test]
async fn the_simulator_refuses_what_latcom_refuses() {
    use recarga::domain::provider::{Outcome, Provider, UpstreamTopup};
    use recarga::providers::executor::Executor;
    use recarga::providers::latcom::adapter::{Credentials, LatcomAdapter};
    let (addr, sim) = recarga::sandbox::latcom::spawn(Duration::ZERO).await.unwrap();
    let secret = || secrecy::SecretString::from("s");
    let creds = Credentials {
        username: "u".into(),
        password: secret(),
        dist_api: secret(),
        user_uid: "1".into(),
    };
    let adapter = LatcomAdapter::new(
        Executor::new(),
        &format!("http://{addr}"),
        creds,
        Duration::from_secs(60),
        Duration::from_secs(2),
        false,
    );
    let request = |n: u32, product: &str, amount: &str| UpstreamTopup {
        upstream_reference: format!("R{n}"),
        msisdn: "5512345678".into(),
        upstream_product: product.into(),
        amount: dec(amount),
        currency: "MXN".into(),
        operator: Some("TELEFONICA".into()),
        service: Some("2".into()),
        sku: None,
        network_auto_correct: false,
        upstream_transaction_id: None,
    };
    let cases = [
        ("TFE_MXN_20_TO_2000", "20", Some(false)),
        ("TFE_MXN_20_TO_2000", "2000", Some(false)),
        ("TFE_MXN_20_TO_2000", "19.99", Some(true)),
        ("TFE_MXN_20_TO_2000", "2000.01", Some(true)),
        ("XOOM_150_MXN", "150", Some(false)),
        ("XOOM_150_MXN", "149", Some(true)),
        ("XOOM_010_MXN", "10", None), // no leading zeros: not a product
        ("XOOM_25_MXN", "25", None),
        ("MOVISTAR_TAE", "10", None),
    ];
    for (n, (product, amount, known)) in cases.into_iter().enumerate() {
        let outcome = adapter.topup(&request(n as u32, product, amount)).await;
        match known {
            Some(false) => assert!(
                matches!(outcome, Outcome::Success { .. }),
                "{product} {amount}: {outcome:?}"
            ),
            // An amount the product does not take: a definite decline, no other route.
            Some(true) => assert!(
                matches!(&outcome, Outcome::Failed { retryable: false, message, .. } if message == "invalid_amount"),
                "{product} {amount}: {outcome:?}"
            ),
            // A product LATCOM does not sell: another route may.
            None => assert!(
                matches!(&outcome, Outcome::Failed { retryable: true, message, .. } if message == "product_not_found"),
                "{product} {amount}: {outcome:?}"
            ),
        }
        assert_eq!(sim.calls_for(&format!("R{n}")), 1);
    }
}

#[tokio::test]
async fn a_pending_answer_is_settled_by_an_enquiry_with_latcoms_trans_id() {
    let app = TestApp::spawn_with(|s| s.purchase.sync_deadline_secs = 1, None).await;
    let c = app.customer("MX_PENDING", "100").await;
    let (status, body) = app.topup(&c, json!({"phone": ANSWERS_PENDING, "amount": 50})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    let (trans_id, acknowledged): (Option<String>, bool) = sqlx::query_as(
        "SELECT upstream_transaction_id, acknowledged_at IS NOT NULL FROM attempts WHERE transaction_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(trans_id.as_deref().is_some_and(|t| t.starts_with("LT")), "{trans_id:?}");
    assert!(acknowledged);
    // The sandbox account does not answer by dist_transid: only the transId can settle it.
    let t = app.wait_final(&c, &id, 15).await;
    assert_eq!(t["transaction"]["status"], "SUCCESS", "{t}");
    assert_eq!(
        t["transaction"]["operator_transaction_id"].as_str(),
        trans_id.as_deref()
    );
    assert_eq!(app.latcom.calls_for(&id), 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn without_a_trans_id_no_enquiry_is_possible_unless_configured() {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(
        |s| {
            s.purchase.resolver_interval_secs = 3600;
            s.purchase.sync_deadline_secs = 3;
        },
        Some(clock.clone()),
    )
    .await;
    let c = app.customer("MX_NO_ID", "100").await;
    // Delivered, but the answer never reaches us: no transId.
    app.latcom.set_fault(Fault::HangAfterProcessing(Duration::from_secs(5)));
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(
        status, 202,
        "not found by dist_transid, since the account cannot be asked so: {body}"
    );
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    assert_eq!(app.transaction(&c, &id).await.1["transaction"]["status"], "PROCESSING");
    clock.advance(chrono::Duration::hours(25));
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let (_, t) = app.transaction(&c, &id).await;
    assert_eq!(t["transaction"]["status"], "REVIEW", "{t}");
    let reason: String = sqlx::query_scalar("SELECT failure_reason FROM transactions WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        reason.contains("no enquiry possible") && reason.contains("dist_transid"),
        "{reason}"
    );
    assert_eq!(app.balance(&c).await, dec("97.06"), "REVIEW holds the funds");
    app.assert_ledger_invariants().await;

    // An account LATCOM has confirmed for lookups by dist_transid settles at once.
    let app = TestApp::spawn_with(|s| s.providers.latcom.enquire_by_dist_transid = true, None).await;
    let c = app.customer("MX_BY_DIST", "100").await;
    app.latcom.set_fault(Fault::HangAfterProcessing(Duration::from_secs(5)));
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["transaction"]["status"], "SUCCESS");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_operator_that_contradicts_the_product_is_refused_with_14() {
    let app = TestApp::spawn().await;
    let c = app.customer("MX_OPERATOR", "100").await;
    let (token, _) = app.login(&c).await;
    let (status, body) = app.purchase(&token, purchase("OP-1", json!(50), Some("TELCEL"))).await;
    assert_eq!((status, body["response_code"].as_str()), (400, Some("14")), "{body}");
    assert_eq!(app.balance(&c).await, dec("100"));
    assert_eq!((transactions(&app).await, app.latcom.topup_calls()), (0, 0));
    // The same operator in any case, LATCOM's name for it, or none at all.
    for (n, operator) in [Some("movistar"), Some(" Telefonica "), None].into_iter().enumerate() {
        let (status, body) = app
            .purchase(&token, purchase(&format!("OP-OK-{n}"), json!(50), operator))
            .await;
        assert_eq!(status, 200, "{operator:?}: {body}");
    }
    assert_eq!(app.latcom.topup_calls(), 3);
    app.assert_ledger_invariants().await;
}
