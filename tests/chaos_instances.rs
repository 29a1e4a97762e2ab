//! Three instances of `recarga serve` on one database, behind a round-robin proxy, with
//! one `recarga sandbox` process for simulators (issue #24): the chaos suite's load and
//! faults through the proxy, every instance SIGKILLed and restarted once and PostgreSQL
//! restarted once, then the chaos audit (`chaos/invariants.rs`: no double delivery,
//! every SUCCESS delivered, one transaction per reference, the ledger exact to the cent,
//! nothing left open) and two checks that only several instances can fail:
//!
//! - **Exact rate limits.** A reseller allowed N top-ups a minute sends 3N at once-a-
//!   connection through the proxy, so they spread over the three instances: exactly N
//!   pass, the rest are 429. Limits counted per process would let up to 3N through.
//! - **One enquiry at a time per stuck transaction.** The sandbox holds every status
//!   enquiry open for [`ENQUIRY_HOLD_MS`] and counts, per reference, enquiries that began
//!   while another about it was still open. Each sweep claims what it asks about (SKIP
//!   LOCKED, with a lease), so no two instances' sweeps ask about one transaction at
//!   once: LATCOM and Smartcall must show no overlap at all. It would fail if claims were
//!   not exclusive, if a sweep outlived its lease (`resolver_lease_secs`), or if a
//!   purchase's own immediate enquiry raced a sweep (a sweep takes only transactions
//!   untouched for `resolver_min_age_secs`, longer than a purchase's calls here).
//!   DataMart's count is printed, not asserted: its webhooks make the instance they reach
//!   enquire outside the resolver's claims, and a webhook sent twice (a scenario number
//!   does) reaches two instances at once; settling twice from one answer is harmless.

mod common;

#[path = "chaos/faults.rs"]
mod faults;
#[path = "chaos/flaky_link.rs"]
mod flaky_link;
#[path = "chaos/gateway.rs"]
mod gateway;
#[path = "chaos/invariants.rs"]
mod invariants;
#[path = "chaos/load.rs"]
mod load;
#[path = "chaos/postgres.rs"]
mod postgres;
#[path = "chaos/proxy.rs"]
mod proxy;
#[path = "chaos/remote_sandbox.rs"]
mod remote_sandbox;
#[path = "chaos/report.rs"]
mod report;
#[path = "chaos/setup.rs"]
mod setup;

use common::dec;
use faults::Tune;
use flaky_link::FlakyLink;
use gateway::Gateway;
use load::{Load, LoadFigures};
use postgres::PrivatePostgres;
use proxy::Proxy;
use recarga::sandbox::control::Tuning;
use recarga::sandbox::latcom;
use remote_sandbox::RemoteSandbox;
use serde_json::json;
use setup::{create_reseller, free_port, gateway_env, CREDIT};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSTANCES: usize = 3;
const RESELLERS: usize = 3;
const PURCHASES_PER_RESELLER: usize = 120;
const WORKERS_PER_RESELLER: usize = 12;
const WINDOW: Duration = Duration::from_secs(15);
/// The rate-limited reseller's top-ups per minute.
const RATE_PER_MIN: i32 = 4;
/// Long enough that two instances asking within it are seen at once; short enough to
/// leave the run's timing alone.
const ENQUIRY_HOLD_MS: u64 = 300;
/// Longer than a purchase's own calls (a 2 s timeout, then its one enquiry).
const RESOLVER_MIN_AGE_SECS: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_a_proxy_keep_every_cent_one_limit_and_one_enquirer() {
    let started = Instant::now();
    let postgres = PrivatePostgres::start().await;
    let logs = postgres.dir().to_path_buf();
    let database_url = postgres.url("recarga_instances");

    // One sandbox process for all instances, behind a link that cuts connections.
    let sandbox_env = [
        ("RECARGA__SANDBOX__DATAMART_PENDING_MS", "1000"),
        ("RECARGA__SANDBOX__SMARTCALL_PENDING_MS", "1000"),
        ("RECARGA__PROVIDERS__LATCOM__ENQUIRE_BY_DIST_TRANSID", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    let sims = Arc::new(RemoteSandbox::start(free_port(), sandbox_env, logs.clone()).await);
    sims.tune(
        "datamart",
        &Tuning {
            balance: Some(dec("100000000")),
            ..Tuning::default()
        },
    )
    .await;
    for upstream in faults::UPSTREAMS {
        let hold = Tuning {
            enquiry_hold_ms: Some(ENQUIRY_HOLD_MS),
            ..Tuning::default()
        };
        sims.tune(upstream, &hold).await;
    }
    let link = FlakyLink::start(sims.base.trim_start_matches("http://").parse().unwrap()).await;

    // Three instances, started together on a database none has created yet.
    let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
    let proxy = Proxy::start(ports.iter().map(|p| ([127, 0, 0, 1], *p).into()).collect()).await;
    let base = proxy.url();
    let mut env = gateway_env(&database_url, RESOLVER_MIN_AGE_SECS);
    env.extend(
        [
            ("RECARGA__MODE", "sandbox".to_string()),
            ("RECARGA__SANDBOX__SIMULATORS_URL", link.url()),
            (
                "RECARGA__PROVIDERS__DATAMART__CALLBACK_URL",
                format!("{base}/api/webhooks/datamart"),
            ),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let mut instances = futures::future::join_all(
        ports
            .iter()
            .enumerate()
            .map(|(i, port)| Gateway::start(format!("instance{}", i + 1), *port, env.clone(), logs.clone())),
    )
    .await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(
        health.headers().get("x-recarga-sandbox").map(|v| v.as_bytes()),
        Some(&b"true"[..]),
        "sandbox mode says so in every answer"
    );
    let (resellers, mut credited) = setup::resellers(&database_url, &client, &base, "MULTI", RESELLERS).await;
    let (limited_key, _) = create_reseller(&database_url, "LIMITED", Some(RATE_PER_MIN)).await;
    credited.insert("LIMITED".to_string(), dec(CREDIT));

    // The load through the proxy; faults, cut connections, a kill of each instance in
    // turn and one PostgreSQL restart.
    let figures = Arc::new(LoadFigures::default());
    let load = Arc::new(Load {
        client: client.clone(),
        base: base.clone(),
        figures: Arc::clone(&figures),
    });
    link.set_every(25);
    let buyers = load.start_all(&resellers, PURCHASES_PER_RESELLER, WORKERS_PER_RESELLER, WINDOW);
    let load_done = Arc::new(AtomicBool::new(false));
    let shuffler = {
        let (sims, done) = (Arc::clone(&sims), Arc::clone(&load_done));
        tokio::spawn(async move { faults::shuffle_until(&*sims, &done).await })
    };
    let load_start = Instant::now();
    let step = WINDOW / (INSTANCES as u32 + 1);
    for (k, instance) in instances.iter_mut().enumerate() {
        tokio::time::sleep_until((load_start + step * (k as u32 + 1)).into()).await;
        instance.kill_and_restart().await;
        if k == 0 {
            tokio::time::sleep(step / 2).await;
            postgres.restart().await;
        }
    }
    for b in buyers {
        b.await.expect("reseller load");
    }
    let load_took = load_start.elapsed();
    load_done.store(true, Ordering::SeqCst);
    let shuffles = shuffler.await.unwrap();
    let cuts = link.cuts();
    link.set_every(0);

    let (passed, refused, spread) = spend_the_rate_limit(&proxy, &limited_key).await;

    let pool = PgPool::connect(&database_url).await.unwrap();
    let settled_in = setup::settle(&pool).await;
    let mut deliveries: invariants::Deliveries = Vec::new();
    for upstream in faults::UPSTREAMS {
        deliveries.push((upstream, sims.seen(upstream).await));
    }
    let verdict = invariants::check(&pool, &deliveries, &credited).await;
    let mut enquired = Vec::new();
    for upstream in faults::UPSTREAMS {
        let asked = sims.enquired(upstream).await;
        let total: u64 = asked.iter().map(|a| a.enquiries).sum();
        let overlapping: Vec<_> = asked.iter().filter(|a| a.overlapping > 0).cloned().collect();
        let again = asked.iter().filter(|a| a.enquiries > 1).count();
        enquired.push((upstream, total, again, overlapping));
    }

    println!("{INSTANCES} instances, {RESELLERS} resellers, load window {WINDOW:?}");
    report::load(&figures);
    println!(
        "SIGKILLs {}; PostgreSQL restarts 1; fault shuffles {shuffles}; connections cut {cuts}; connections per instance {:?}",
        instances.iter().map(|i| i.runs - 1).sum::<u32>(),
        proxy.handed()
    );
    report::verdict(&verdict);
    println!("at {RATE_PER_MIN}/min: {passed} passed, {refused} refused (429), the requests spread {spread:?}");
    for (upstream, total, again, overlapping) in &enquired {
        println!(
            "{upstream}: {total} enquiries, {again} references asked more than once, {} asked by two at once: {overlapping:?}",
            overlapping.len()
        );
    }
    println!(
        "load took {load_took:?}; settled in {settled_in:?}; whole run {:?}",
        started.elapsed()
    );

    assert_eq!(
        figures.replay_mismatches.load(Ordering::SeqCst),
        0,
        "a replay named another transaction"
    );
    assert!(instances.iter().all(|i| i.runs == 2), "each instance killed once");
    assert_eq!(
        (passed, refused),
        (RATE_PER_MIN as usize, 2 * RATE_PER_MIN as usize),
        "exactly the limit passes across instances"
    );
    assert!(
        spread.iter().all(|n| *n > 0),
        "the limited requests reached every instance: {spread:?}"
    );
    for (upstream, total, _, overlapping) in &enquired {
        if *upstream == "datamart" {
            continue;
        }
        assert!(*total > 0, "{upstream} was asked about stuck transactions");
        assert!(
            overlapping.is_empty(),
            "{upstream}: transactions enquired by two at once: {overlapping:?}"
        );
    }
}

/// Three times the limited reseller's per-minute allowance of top-ups, each on a new
/// connection (the proxy hands each to the next instance), within far less than a
/// minute: how many passed, how many were refused 429, and how the requests spread over
/// the instances.
async fn spend_the_rate_limit(proxy: &Proxy, api_key: &str) -> (usize, usize, Vec<u64>) {
    let one_per_connection = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let before = proxy.handed();
    let (mut passed, mut refused) = (0, 0);
    for n in 0..3 * RATE_PER_MIN {
        let response = one_per_connection
            .post(format!("{}/api/enviadespensa/topup", proxy.url()))
            .header("x-api-key", api_key)
            .header("x-customer-id", "LIMITED")
            .json(&json!({"phone": latcom::ALWAYS_SUCCEEDS, "amount": 10, "reference": format!("LIMITED-{n}")}))
            .send()
            .await
            .expect("the gateway answers");
        match response.status().as_u16() {
            429 => refused += 1,
            200 => passed += 1,
            other => panic!(
                "limited top-up {n}: {other} {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }
    let spread = proxy
        .handed()
        .iter()
        .zip(before)
        .map(|(after, before)| after - before)
        .collect();
    (passed, refused, spread)
}
