//! Real `recarga serve` processes, SIGKILLed mid-purchase, and two instances on one
//! database. The LATCOM simulator lives in the test process, so it outlives them.

mod common;

use common::{assert_ledger_invariants, dec, fresh_database_url, send, test_settings};
use futures::future::join_all;
use recarga::cli::{self, Command, CreateArgs, CustomerCommand};
use recarga::providers::latcom::simulator;
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

async fn start_gateway(database_url: &str, latcom_url: &str) -> Gateway {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let port = free_port();
    let child = Process::new(env!("CARGO_BIN_EXE_recarga"))
        .arg("serve")
        .current_dir(manifest)
        .env("DATABASE_URL", database_url)
        .env("RECARGA_LISTEN", format!("127.0.0.1:{port}"))
        .env("RECARGA__MODE", "live")
        .env("RECARGA__PROVIDERS__LATCOM__BASE_URL", latcom_url)
        .env("RECARGA__PROVIDERS__LATCOM__USERNAME", "test")
        .env("RECARGA__PROVIDERS__LATCOM__PASSWORD", "test")
        .env("RECARGA__PROVIDERS__LATCOM__DIST_API", "test")
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

async fn statuses(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT id, status FROM transactions ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn sigkill_mid_purchase_then_restart_settles_everything_exactly_once() {
    let (sim_addr, sim) = simulator::spawn(Duration::from_millis(1500)).await.unwrap();
    let latcom_url = format!("http://{sim_addr}");
    let mut settings = test_settings().await;
    settings.database_url = fresh_database_url().await;
    let created = cli::run_ops(
        settings.clone(),
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
    let key = created["api_key"].as_str().unwrap().to_string();
    let pool = PgPool::connect(&settings.database_url).await.unwrap();

    let mut first = start_gateway(&settings.database_url, &latcom_url).await;
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
    while statuses(&pool).await.iter().filter(|(_, s)| s == "PROCESSING").count() < 10 {
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
    let second = start_gateway(&settings.database_url, &latcom_url).await;
    let third = start_gateway(&settings.database_url, &latcom_url).await;
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

    let balance: rust_decimal::Decimal = sqlx::query_scalar("SELECT balance_usd FROM customers WHERE id = 'CRASH'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(balance, dec("100") - dec("0.59") * dec("11"));
    assert_ledger_invariants(&pool).await;
}
