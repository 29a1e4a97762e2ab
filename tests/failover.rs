//! Failover between routes, through the real router and Postgres, with a product that has
//! two: Vodacom airtime via Smartcall first, then via LATCOM (a test-only catalog entry).
//! A definite, retryable failure moves to the second route; an unknown outcome never does.

mod common;

use common::{dec, TestApp};
use recarga::jobs::resolver;
use recarga::sandbox::smartcall::Fault;
use serde_json::json;

const TWO_ROUTES: &str = r#"
[[products]]
id = "ZA_TWO_ROUTES"
country = "ZA"
operator = "VODACOM"
kind = "airtime"
currency = "ZAR"
description = "test only: Vodacom airtime via Smartcall, else via LATCOM"
fixed_amount = "20"
routes = [
  { upstream = "smartcall", product = "62" },
  { upstream = "latcom", product = "XOOM_20_MXN", operator = "TELEFONICA", service = "2", fixed_amount = "20" },
]
"#;

/// The shipped catalog plus the two-route product, in a file of this test's own.
async fn app(name: &str) -> TestApp {
    app_with(name, |_| {}).await
}

async fn app_with(name: &str, adjust: impl FnOnce(&mut recarga::config::Settings)) -> TestApp {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{manifest}/config/products.toml")).unwrap();
    let file = std::env::temp_dir().join(format!("recarga-{name}-{}.toml", std::process::id()));
    std::fs::write(&file, format!("{shipped}\n{TWO_ROUTES}")).unwrap();
    TestApp::spawn_with(
        |s| {
            s.catalog_file = file;
            s.purchase.sync_deadline_secs = 2;
            // The test runs the resolver itself.
            s.purchase.resolver_interval_secs = 3600;
            adjust(s);
        },
        None,
    )
    .await
}

fn buy(dtid: &str) -> serde_json::Value {
    json!({"distributor_transaction_id": dtid, "phone_number": "0821234567",
           "product_id": "ZA_TWO_ROUTES", "amount": 20})
}

/// (upstream, upstream reference, status) of each attempt, in order.
async fn attempts(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT upstream, upstream_reference, status FROM attempts WHERE transaction_id = $1 ORDER BY attempt_no",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// ZAR at the sandbox's fixed 18.0000 per USD.
fn usd(zar: &str) -> rust_decimal::Decimal {
    recarga::domain::money::round_half_up(dec(zar) / dec("18"), 2)
}

#[tokio::test]
async fn a_definite_retryable_failure_moves_to_the_second_route() {
    let app = app("failover-definite").await;
    let c = app.customer("FO1", "100").await;
    let (token, _) = app.login(&c).await;
    // Smartcall error 15: our float there is empty; nothing delivered, another route may try.
    app.smartcall.state.set_balance(dec("1"));
    let (status, body) = app.purchase(&token, buy("FO-1")).await;
    assert_eq!((status, body["response_code"].as_str()), (200, Some("00")), "{body}");
    let id = body["transaction_id"].as_str().unwrap();
    let second = format!("{id}-2");
    assert_eq!(
        attempts(&app, id).await,
        [
            ("smartcall".into(), id.to_string(), "FAILED".into()),
            ("latcom".into(), second.clone(), "SUCCESS".into())
        ]
    );
    // Topped up once, via route 2.
    assert_eq!(app.smartcall.state.recharge_calls(), 1);
    assert_eq!(app.smartcall.state.balance(), dec("1"), "Smartcall charged nothing");
    assert_eq!(app.latcom.topup_calls(), 1);
    assert_eq!(app.latcom.sent(&second), Some(("XOOM_20_MXN".into(), dec("20"))));
    assert_eq!(app.balance(&c).await, dec("100") - usd("20"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_unknown_outcome_never_moves_to_the_second_route() {
    let app = app("failover-unknown").await;
    let c = app.customer("FO2", "100").await;
    let (token, _) = app.login(&c).await;
    // Delivered, but answered with an HTML 500, and the enquiry cannot answer yet.
    let sim = &app.smartcall.state;
    sim.set_fault(Fault::ServerErrorAfterProcessing);
    sim.set_enquiry_unavailable(true);
    let (status, body) = app.purchase(&token, buy("FO-2")).await;
    assert_eq!((status, body["status"].as_str()), (202, Some("PENDING")), "{body}");
    let id = body["transaction_id"].as_str().unwrap().to_string();
    assert_eq!(
        attempts(&app, &id).await,
        [("smartcall".into(), id.clone(), "UNKNOWN".into())]
    );
    assert_eq!(app.latcom.received(), 0, "never sent to route 2");
    assert_eq!(app.balance(&c).await, dec("100") - usd("20"), "funds held");
    app.assert_ledger_invariants().await;

    // The resolver settles it from Smartcall's own record: delivered, once, by route 1.
    sim.set_fault(Fault::None);
    sim.set_enquiry_unavailable(false);
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let final_state = app.wait_final(&c, &id, 5).await;
    assert_eq!(final_state["transaction"]["status"], "SUCCESS", "{final_state}");
    assert_eq!(attempts(&app, &id).await.len(), 1);
    assert_eq!((sim.calls_for(&id), app.latcom.received()), (1, 0));
    assert_eq!(app.balance(&c).await, dec("100") - usd("20"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_upstream_that_keeps_failing_is_skipped_until_a_probe_finds_it_back() {
    let app = app_with("failover-breaker", |s| {
        s.purchase.breaker_failures = 2;
        s.purchase.breaker_open_secs = 2;
    })
    .await;
    let c = app.customer("FO_BREAKER", "100").await;
    let (token, _) = app.login(&c).await;
    let sim = &app.smartcall.state;
    // Smartcall error 15 (our float there is empty) on every try: definite, retryable.
    sim.set_balance(dec("1"));
    for dtid in ["BR-1", "BR-2"] {
        let (status, body) = app.purchase(&token, buy(dtid)).await;
        assert_eq!((status, body["response_code"].as_str()), (200, Some("00")), "{body}");
    }
    let tried = sim.received();
    // Open: the next purchases go straight to route 2, Smartcall is not asked at all.
    let (status, body) = app.purchase(&token, buy("BR-3")).await;
    assert_eq!((status, body["response_code"].as_str()), (200, Some("00")), "{body}");
    let id = body["transaction_id"].as_str().unwrap().to_string();
    assert_eq!(sim.received(), tried, "Smartcall was sent a recharge");
    let steps = attempts(&app, &id).await;
    assert_eq!(
        steps[0].2, "FAILED",
        "the route-1 attempt committed with the debit was never sent"
    );
    assert_eq!(steps[1], ("latcom".into(), format!("{id}-2"), "SUCCESS".into()));
    let (_, health) = common::send(app.client.get(app.url("/health"))).await;
    assert_eq!(health["circuits_open"], json!(["smartcall"]), "{health}");

    // Back, and after the open period one probe finds it: closed again.
    sim.set_balance(dec("100000"));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let before = sim.recharge_calls();
    let (status, body) = app.purchase(&token, buy("BR-4")).await;
    assert_eq!((status, body["response_code"].as_str()), (200, Some("00")), "{body}");
    let id = body["transaction_id"].as_str().unwrap().to_string();
    assert_eq!(
        attempts(&app, &id).await,
        [("smartcall".into(), id.clone(), "SUCCESS".into())]
    );
    assert_eq!(sim.recharge_calls(), before + 1);
    let (_, health) = common::send(app.client.get(app.url("/health"))).await;
    assert_eq!(health["circuits_open"], json!([]), "{health}");
    assert_eq!(app.latcom.topup_calls(), 3);
    app.assert_ledger_invariants().await;
}
