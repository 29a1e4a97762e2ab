//! What the chaos runs share: free ports, the gateway's settings for a run, resellers
//! and their logins, and the settling wait.

use crate::common::{dec, send};
use crate::load::Reseller;
use recarga::cli::{self, Command, CreateArgs, CustomerCommand};
use recarga::config::Settings;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Unresolved this long (18 s) → REVIEW: long enough for every pending outcome the
/// simulators plan (seconds), short enough to settle what no upstream knows of.
pub const REVIEW_AFTER_HOURS: &str = "0.005";
pub const CREDIT: &str = "100000";

/// Longer than any upstream timeout of the run (2 s): a fault that hangs the answer
/// outlasts the gateway's patience.
pub const HANG_MS: u64 = 3000;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The gateway's own settings for a run: quick sweeps, short leases and timeouts.
/// `resolver_min_age_secs` is how long a transaction must be untouched before a sweep
/// takes it.
pub fn gateway_env(database_url: &str, resolver_min_age_secs: u64) -> Vec<(String, String)> {
    let min_age = resolver_min_age_secs.to_string();
    [
        ("DATABASE_URL", database_url),
        ("RECARGA__PURCHASE__RESOLVER_MIN_AGE_SECS", min_age.as_str()),
        ("RECARGA__PURCHASE__RESOLVER_INTERVAL_SECS", "1"),
        // A killed instance's claims lapse quickly (longer than any sweep here).
        ("RECARGA__PURCHASE__RESOLVER_LEASE_SECS", "8"),
        ("RECARGA__PURCHASE__SYNC_DEADLINE_SECS", "3"),
        ("RECARGA__PURCHASE__REVIEW_AFTER_HOURS", REVIEW_AFTER_HOURS),
        ("RECARGA__PURCHASE__PENDING_ENQUIRY_MAX_BACKOFF_SECS", "2"),
        // Breakers open only on a run of failures longer than most fault spells.
        ("RECARGA__PURCHASE__BREAKER_FAILURES", "25"),
        ("RECARGA__PURCHASE__BREAKER_OPEN_SECS", "1"),
        ("RECARGA__LIMITS__TOPUP_REQUESTS_PER_MINUTE", "1000000"),
        ("RECARGA__LIMITS__API_REQUESTS_PER_15_MINUTES", "1000000"),
        ("RECARGA__PROVIDERS__LATCOM__ENQUIRE_BY_DIST_TRANSID", "true"),
        ("RECARGA__PROVIDERS__LATCOM__TIMEOUT_SECS", "2"),
        ("RECARGA__PROVIDERS__SMARTCALL__TIMEOUT_SECS", "2"),
        ("RECARGA__PROVIDERS__DATAMART__TIMEOUT_SECS", "2"),
        // Every instance signs and checks distributor tokens with the same key.
        (
            "RECARGA__DISTRIBUTOR__JWT_SECRET",
            "chaos-suite-signing-key-0123456789abcdef",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A reseller with [`CREDIT`] of balance and as much credit; its API key and secret.
pub async fn create_reseller(database_url: &str, id: &str, topup_rate_per_min: Option<i32>) -> (String, String) {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut settings = Settings::load(Some(format!("{manifest}/config/recarga.toml").into())).unwrap();
    settings.database_url = database_url.to_string();
    let created = cli::run_ops(
        settings,
        Command::Customer(CustomerCommand::Create(CreateArgs {
            id: id.into(),
            name: format!("{id} Chaos"),
            balance_usd: dec(CREDIT),
            credit_limit_usd: dec(CREDIT),
            commission_rate: dec("0.02"),
            daily_limit_mxn: None,
            topup_rate_per_min,
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

/// `count` resellers, `{prefix}1`…, logged in to the distributor API through `base`;
/// and what each was credited.
pub async fn resellers(
    database_url: &str,
    client: &reqwest::Client,
    base: &str,
    prefix: &str,
    count: usize,
) -> (Vec<Reseller>, HashMap<String, Decimal>) {
    let mut resellers = Vec::new();
    let mut credited = HashMap::new();
    for r in 1..=count {
        let id = format!("{prefix}{r}");
        let (api_key, secret) = create_reseller(database_url, &id, None).await;
        let token = login(client, base, &id, &secret).await;
        credited.insert(id.clone(), dec(CREDIT));
        resellers.push(Reseller { id, api_key, token });
    }
    (resellers, credited)
}

async fn login(client: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let (status, body) = send(
        client
            .post(format!("{base}/api/distributor/login"))
            .json(&json!({"customer_id": id, "secret_key": secret})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn open_transactions(pool: &PgPool) -> i64 {
    loop {
        // The pool reconnects on its own after a restart; a failed count is asked again.
        if let Ok(n) = sqlx::query_scalar("SELECT count(*) FROM transactions WHERE status IN ('PENDING', 'PROCESSING')")
            .fetch_one(pool)
            .await
        {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The settling window: wait until nothing is PENDING or PROCESSING (the resolver's
/// sweeps settle it, or move it to REVIEW), for the REVIEW delay and 20 s more at most.
/// How long it took.
pub async fn settle(pool: &PgPool) -> Duration {
    let review_after = Duration::from_secs_f64(REVIEW_AFTER_HOURS.parse::<f64>().unwrap() * 3600.0);
    let start = Instant::now();
    let deadline = start + review_after + Duration::from_secs(20);
    while open_transactions(pool).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    start.elapsed()
}
