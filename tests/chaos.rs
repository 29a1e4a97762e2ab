//! The chaos suite (issue #23): resellers buy through every dialect and upstream while
//! the simulators misbehave, the gateway is SIGKILLed and restarted and PostgreSQL (a
//! private cluster) is restarted; after a settling window every money invariant must
//! hold exactly (see `chaos/invariants.rs`). This is the short form CI runs;
//! `scripts/chaos` runs the long form through the same test (`CHAOS_SCALE=long`).

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
#[path = "chaos/report.rs"]
mod report;
#[path = "chaos/setup.rs"]
mod setup;

use common::dec;
use flaky_link::FlakyLink;
use gateway::Gateway;
use load::{Load, LoadFigures};
use postgres::PrivatePostgres;
use recarga::config::SandboxSettings;
use recarga::sandbox::standalone::{Sandbox, Urls};
use recarga::sandbox::{datamart, smartcall};
use setup::{free_port, gateway_env};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How big a run is: the short form by default, `CHAOS_SCALE=long` for the long one,
/// each figure overridable by its own variable.
struct Scale {
    resellers: usize,
    purchases_per_reseller: usize,
    workers_per_reseller: usize,
    window: Duration,
    kills: u32,
}

impl Scale {
    fn from_env() -> Self {
        let long = std::env::var("CHAOS_SCALE").is_ok_and(|s| s == "long");
        let var = |name: &str, default: u64| -> u64 {
            std::env::var(name)
                .ok()
                .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
                .unwrap_or(default)
        };
        let secs = var("CHAOS_DURATION", if long { 300 } else { 20 });
        let resellers = var("CHAOS_RESELLERS", if long { 20 } else { 5 });
        let rate = var("CHAOS_RATE", if long { 100 } else { 50 });
        Self {
            resellers: resellers as usize,
            purchases_per_reseller: (rate * secs / resellers) as usize,
            workers_per_reseller: 16,
            window: Duration::from_secs(secs),
            kills: var("CHAOS_KILLS", if long { 20 } else { 3 }) as u32,
        }
    }
}

struct Upstreams {
    sims: Sandbox,
    link: FlakyLink,
    env: Vec<(String, String)>,
}

/// The simulators in this process behind a flaky link (Smartcall's api2 beside it, so
/// failover has somewhere to go), and the gateway settings that reach them as live
/// upstreams.
async fn upstreams(gateway_base: &str) -> Upstreams {
    let sims = Sandbox::new(
        &SandboxSettings {
            datamart_pending_ms: 1000,
            smartcall_pending_ms: 1000,
            ..SandboxSettings::default()
        },
        true,
    );
    sims.datamart.set_balance(dec("100000000"));
    let addr = recarga::sandbox::loopback::serve(sims.router(), "sandbox")
        .await
        .unwrap();
    let link = FlakyLink::start(addr).await;
    let (flaky, direct) = (Urls::under(&link.url()), Urls::under(&format!("http://{addr}")));
    let env = [
        ("RECARGA__MODE", "live".to_string()),
        ("RECARGA__PROVIDERS__LATCOM__BASE_URL", flaky.latcom),
        ("RECARGA__PROVIDERS__LATCOM__USERNAME", "chaos".into()),
        ("RECARGA__PROVIDERS__LATCOM__PASSWORD", "chaos".into()),
        ("RECARGA__PROVIDERS__LATCOM__DIST_API", "chaos".into()),
        ("RECARGA__PROVIDERS__SMARTCALL__API1", flaky.smartcall_api1),
        ("RECARGA__PROVIDERS__SMARTCALL__API2", direct.smartcall_api2),
        ("RECARGA__PROVIDERS__SMARTCALL__USERNAME", "chaos".into()),
        ("RECARGA__PROVIDERS__SMARTCALL__PASSWORD", "chaos".into()),
        ("RECARGA__PROVIDERS__SMARTCALL__SMARTLOAD_ID", smartcall::DEALER.into()),
        ("RECARGA__PROVIDERS__DATAMART__BASE_URL", flaky.datamart),
        ("RECARGA__PROVIDERS__DATAMART__API_KEY", datamart::API_KEY.into()),
        ("RECARGA__PROVIDERS__DATAMART__API_SECRET", datamart::API_SECRET.into()),
        (
            "RECARGA__PROVIDERS__DATAMART__CALLBACK_URL",
            format!("{gateway_base}/api/webhooks/datamart"),
        ),
    ];
    Upstreams {
        sims,
        link,
        env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_chaos_every_delivery_is_one_success_and_every_cent_is_accounted_for() {
    let started = Instant::now();
    let scale = Scale::from_env();
    let postgres = PrivatePostgres::start().await;
    let database_url = postgres.url("recarga_chaos");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let upstreams = upstreams(&base).await;
    let mut env = gateway_env(&database_url, 1);
    env.extend(upstreams.env.iter().cloned());
    // The first start creates and migrates the database.
    let mut gateway = Gateway::start("gateway", port, env, postgres.dir().to_path_buf()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (resellers, credited) = setup::resellers(&database_url, &client, &base, "CHAOS", scale.resellers).await;

    // The load, and the chaos around it: faults reshuffled, the link cutting connections,
    // kills spread over the window and one PostgreSQL restart between two of them.
    let figures = Arc::new(LoadFigures::default());
    let load = Arc::new(Load {
        client: client.clone(),
        base: base.clone(),
        figures: Arc::clone(&figures),
    });
    upstreams.link.set_every(25);
    let buyers = load.start_all(
        &resellers,
        scale.purchases_per_reseller,
        scale.workers_per_reseller,
        scale.window,
    );
    let load_done = Arc::new(AtomicBool::new(false));
    let shuffler = {
        let (sims, done) = (upstreams.sims.clone(), Arc::clone(&load_done));
        tokio::spawn(async move { faults::shuffle_until(&sims, &done).await })
    };
    let load_start = Instant::now();
    let step = scale.window / (scale.kills + 1);
    let restart_postgres_after = scale.kills / 2;
    let mut postgres_restarts = 0;
    let mut downtimes = Vec::new();
    for k in 1..=scale.kills {
        tokio::time::sleep_until((load_start + step * k).into()).await;
        let killed = Instant::now();
        gateway.kill_and_restart().await;
        downtimes.push(killed.elapsed());
        if k == restart_postgres_after.max(1) {
            tokio::time::sleep(step / 2).await;
            postgres.restart().await;
            postgres_restarts += 1;
        }
    }
    for b in buyers {
        b.await.expect("reseller load");
    }
    let load_took = load_start.elapsed();
    load_done.store(true, Ordering::SeqCst);
    let shuffles = shuffler.await.unwrap();
    let cuts = upstreams.link.cuts();
    upstreams.link.set_every(0);

    let pool = PgPool::connect(&database_url).await.unwrap();
    let settled_in = setup::settle(&pool).await;
    let deliveries: invariants::Deliveries = faults::UPSTREAMS
        .iter()
        .map(|upstream| (*upstream, upstreams.sims.seen(upstream).unwrap()))
        .collect();
    let verdict = invariants::check(&pool, &deliveries, &credited).await;

    println!("chaos: {} resellers, load window {:?}", scale.resellers, scale.window);
    report::load(&figures);
    println!(
        "gateway SIGKILLs {} (down for {downtimes:?}); PostgreSQL restarts {postgres_restarts}; fault shuffles {shuffles}; connections cut {cuts}",
        gateway.runs - 1
    );
    report::verdict(&verdict);
    println!(
        "load took {load_took:?}; settled in {settled_in:?}; whole run {:?}",
        started.elapsed()
    );
    assert_eq!(
        figures.replay_mismatches.load(Ordering::SeqCst),
        0,
        "a replay named another transaction"
    );
    assert!(
        gateway.runs > scale.kills,
        "the gateway was killed {} times",
        gateway.runs - 1
    );
}
