//! Real `recarga serve` processes, SIGKILLed mid-purchase, and two instances on one
//! database. The LATCOM simulator lives in the test process, so it outlives them.

mod common;

use common::{assert_ledger_invariants, dec, fresh_database_url, send, test_settings};
use futures::future::join_all;
use recarga::cli::{self, Command, CreateArgs, CustomerCommand};
use recarga::sandbox::latcom as latcom_sim;
use recarga::sandbox::smartcall as smartcall_sim;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command as Process};

struct Gateway {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_gateway(database_url: &str, upstream_env: &[(&str, String)]) -> Gateway {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let port = free_port();
    let mut command = Process::new(env!("CARGO_BIN_EXE_recarga"));
    command.envs(upstream_env.iter().map(|(k, v)| (*k, v.as_str())));
    let child = command
        .arg("serve")
        .current_dir(manifest)
        .env("DATABASE_URL", database_url)
        .env("RECARGA_LISTEN", format!("127.0.0.1:{port}"))
        .env("RECARGA__MODE", "live")
        .env("RECARGA__PURCHASE__RESOLVER_MIN_AGE_SECS", "1")
        .env("RECARGA__PURCHASE__RESOLVER_INTERVAL_SECS", "1")
        .env("RECARGA__LIMITS__TOPUP_REQUESTS_PER_MINUTE", "100000")
        .env(
            "RECARGA__DISTRIBUTOR__JWT_SECRET",
            "crash-test-signing-key-0123456789abcdef",
        )
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("recarga binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "gateway did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Gateway { child, base }
}

async fn topup(client: &reqwest::Client, gw: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
    send(
        client
            .post(format!("{gw}{path}"))
            .header("x-api-key", key)
            .header("x-customer-id", "CRASH")
            .json(&body),
    )
    .await
}

/// The CRASH reseller's balance now.
async fn balance(pool: &PgPool) -> rust_decimal::Decimal {
    sqlx::query_scalar("SELECT balance_usd FROM customers WHERE id = 'CRASH'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn statuses(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT id, status FROM transactions ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A killed gateway never read LATCOM's answers, so it has no transId to ask by: the
/// account is configured (and the simulator set) for lookups by dist_transid.
fn latcom_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("RECARGA__PROVIDERS__LATCOM__BASE_URL", url.to_string()),
        ("RECARGA__PROVIDERS__LATCOM__USERNAME", "test".into()),
        ("RECARGA__PROVIDERS__LATCOM__PASSWORD", "test".into()),
        ("RECARGA__PROVIDERS__LATCOM__DIST_API", "test".into()),
        ("RECARGA__PROVIDERS__LATCOM__ENQUIRE_BY_DIST_TRANSID", "true".into()),
    ]
}

/// A distributor access token for the CRASH reseller.
async fn login(client: &reqwest::Client, gateway: &str, secret: &str) -> String {
    let (status, login) = send(
        client
            .post(format!("{gateway}/api/distributor/login"))
            .json(&json!({"customer_id": "CRASH", "secret_key": secret})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    login["access_token"].as_str().unwrap().to_string()
}

async fn create_customer(database_url: &str) -> (String, String) {
    let mut settings = test_settings().await;
    settings.database_url = database_url.to_string();
    let created = cli::run_ops(
        settings,
        Command::Customer(CustomerCommand::Create(CreateArgs {
            id: "CRASH".into(),
            name: "Crash Test".into(),
            balance_usd: dec("100"),
            credit_limit_usd: dec("100"),
            commission_rate: dec("0"),
            daily_limit_mxn: None,
            topup_rate_per_min: None,
            api_rate_per_15min: None,
        })),
    )
    .await
    .unwrap();
    (
        created["api_key"].as_str().unwrap().into(),
        created["secret_key"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn sigkill_mid_purchase_then_restart_settles_everything_exactly_once() {
    let (sim_addr, sim) = latcom_sim::spawn(Duration::from_millis(1500)).await.unwrap();
    sim.set_dist_transid_lookup(true);
    let latcom_url = format!("http://{sim_addr}");
    let database_url = fresh_database_url().await;
    let (key, _) = create_customer(&database_url).await;
    let env = latcom_env(&latcom_url);
    let pool = PgPool::connect(&database_url).await.unwrap();

    let mut first = start_gateway(&database_url, &env).await;
    let client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..10)
        .map(|i| {
            let (client, base, key) = (client.clone(), first.base.clone(), key.clone());
            let path = if i % 2 == 0 {
                "/api/enviadespensa/topup"
            } else {
                "/api/enviadespensa/topup-async"
            };
            tokio::spawn(async move {
                let body = json!({"phone": "5512345678", "amount": 10, "reference": format!("CR-{i}")});
                let _ = client
                    .post(format!("{base}{path}"))
                    .header("x-api-key", &key)
                    .header("x-customer-id", "CRASH")
                    .json(&body)
                    .send()
                    .await;
            })
        })
        .collect();
    // Let every purchase be debited and sent, then kill -9 while LATCOM is still working.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.received() < 10 {
        assert!(
            Instant::now() < deadline,
            "purchases did not reach PROCESSING: {:?}",
            statuses(&pool).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.child.kill().await.unwrap();
    for t in in_flight {
        let _ = t.await;
    }
    let open = statuses(&pool).await;
    assert_eq!(open.len(), 10);
    assert!(open.iter().all(|(_, s)| s == "PROCESSING"), "{open:?}");
    assert_ledger_invariants(&pool).await;

    // Two fresh instances on the same database: recovery must not double anything.
    let second = start_gateway(&database_url, &env).await;
    let third = start_gateway(&database_url, &env).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = statuses(&pool).await;
        if s.iter().all(|(_, st)| st == "SUCCESS") {
            break;
        }
        assert!(Instant::now() < deadline, "not settled after restart: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (id, _) in statuses(&pool).await {
        assert_eq!(sim.calls_for(&id), 1, "{id} sent more than once");
    }

    // The same reference raced across both instances: one top-up, one debit.
    let body = json!({"phone": "5512345678", "amount": 10, "reference": "TWO-INSTANCES"});
    let results = join_all((0..10).map(|i| {
        let gw = if i % 2 == 0 { &second.base } else { &third.base };
        topup(&client, gw, &key, "/api/enviadespensa/topup", body.clone())
    }))
    .await;
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|(_, b)| b["transaction"]["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(sim.calls_for(&id), 1);

    let balance = balance(&pool).await;
    assert_eq!(balance, dec("100") - dec("0.59") * dec("11"));
    assert_ledger_invariants(&pool).await;
}

#[tokio::test]
async fn sigkill_between_smartcall_recharge_and_settlement_is_settled_after_restart() {
    let (sim_addr, sim) = smartcall_sim::spawn(Duration::from_millis(1500)).await.unwrap();
    let url = format!("http://{sim_addr}");
    let env = vec![
        ("RECARGA__PROVIDERS__SMARTCALL__API1", url.clone()),
        ("RECARGA__PROVIDERS__SMARTCALL__API2", url),
        ("RECARGA__PROVIDERS__SMARTCALL__USERNAME", "test".into()),
        ("RECARGA__PROVIDERS__SMARTCALL__PASSWORD", "test".into()),
        (
            "RECARGA__PROVIDERS__SMARTCALL__SMARTLOAD_ID",
            smartcall_sim::DEALER.into(),
        ),
    ];
    let database_url = fresh_database_url().await;
    let (_, secret) = create_customer(&database_url).await;
    let pool = PgPool::connect(&database_url).await.unwrap();
    let mut first = start_gateway(&database_url, &env).await;
    let client = reqwest::Client::new();
    let token = login(&client, &first.base, &secret).await;
    let buy = {
        let (client, base, token) = (client.clone(), first.base.clone(), token.clone());
        tokio::spawn(async move {
            let body = json!({"distributor_transaction_id": "ZA-CRASH", "phone_number": "0821234567",
                              "product_id": "ZA_VODACOM_AIRTIME", "amount": 50});
            let _ = client
                .post(format!("{base}/api/distributor/product_purchase"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.received() < 1 {
        assert!(Instant::now() < deadline, "the recharge never reached Smartcall");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.child.kill().await.unwrap();
    let _ = buy.await;
    let (id, status) = statuses(&pool).await.remove(0);
    assert_eq!(status, "PROCESSING");

    let second = start_gateway(&database_url, &env).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&pool).await[0].1 != "SUCCESS" {
        assert!(Instant::now() < deadline, "not settled: {:?}", statuses(&pool).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sim.calls_for(&id), 1, "never re-sent");
    // The restarted gateway still honours the id: a retry is a replay, not a second recharge.
    let token = login(&client, &second.base, &secret).await;
    let body = json!({"distributor_transaction_id": "ZA-CRASH", "phone_number": "0821234567",
                      "product_id": "ZA_VODACOM_AIRTIME", "amount": 50});
    let (status, replay) = send(
        client
            .post(format!("{}/api/distributor/product_purchase", second.base))
            .bearer_auth(&token)
            .json(&body),
    )
    .await;
    assert_eq!(
        (status, replay["transaction_id"].as_str()),
        (200, Some(id.as_str())),
        "{replay}"
    );
    assert_eq!(sim.recharge_calls(), 1);
    let balance = balance(&pool).await;
    assert_eq!(balance, dec("100") - dec("2.78"));
    assert_ledger_invariants(&pool).await;
}

/// DataMart orders still pending when the gateway is killed: the restarted gateway asks
/// DataMart about each and settles it (delivered, or failed and refunded) exactly once.
#[tokio::test]
async fn sigkill_while_datamart_orders_are_pending_then_restart_settles_them() {
    use recarga::sandbox::datamart as datamart_sim;
    let sim = datamart_sim::SimState::new(Duration::from_secs(4));
    let url = datamart_sim::spawn(sim.clone()).await.unwrap();
    let env = vec![
        ("RECARGA__PROVIDERS__DATAMART__BASE_URL", url),
        ("RECARGA__PROVIDERS__DATAMART__API_KEY", datamart_sim::API_KEY.into()),
        (
            "RECARGA__PROVIDERS__DATAMART__API_SECRET",
            datamart_sim::API_SECRET.into(),
        ),
        ("RECARGA__PURCHASE__SYNC_DEADLINE_SECS", "1".into()),
    ];
    let database_url = fresh_database_url().await;
    let (_, secret) = create_customer(&database_url).await;
    let pool = PgPool::connect(&database_url).await.unwrap();
    let mut first = start_gateway(&database_url, &env).await;
    let client = reqwest::Client::new();
    let token = login(&client, &first.base, &secret).await;
    let phones = [
        "0241000001",
        "0541000002",
        datamart_sim::PENDING_THEN_FAILS,
        "0591000004",
    ];
    let answers = join_all(phones.iter().enumerate().map(|(i, phone)| {
        let body = json!({"distributor_transaction_id": format!("GH-CRASH-{i}"), "phone_number": phone,
                          "product_id": "GH_MTN_DATA_1GB_90D", "amount": 5.50});
        send(
            client
                .post(format!("{}/api/distributor/product_purchase", first.base))
                .bearer_auth(&token)
                .json(&body),
        )
    }))
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 202), "{answers:?}");
    first.child.kill().await.unwrap();
    let open = statuses(&pool).await;
    assert_eq!(open.len(), phones.len());
    assert!(open.iter().all(|(_, s)| s == "PROCESSING"), "{open:?}");

    let _second = start_gateway(&database_url, &env).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let s = statuses(&pool).await;
        if s.iter().all(|(_, st)| st == "SUCCESS" || st == "FAILED") {
            break;
        }
        assert!(Instant::now() < deadline, "not settled after restart: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled = statuses(&pool).await;
    assert_eq!(settled.iter().filter(|(_, s)| s == "FAILED").count(), 1, "{settled:?}");
    for (id, _) in &settled {
        assert_eq!(sim.calls_for(id), 1, "{id} sent more than once");
    }
    let balance = balance(&pool).await;
    // 5.50 GHS at 15.5000 per USD is 0.35 USD; the failed order was refunded.
    assert_eq!(balance, dec("100") - dec("0.35") * dec("3"));
    assert_ledger_invariants(&pool).await;
}
