//! Test harness: every test gets its own freshly created and migrated database (a clone
//! of a template migrated once), the real router on an ephemeral port, and the
//! simulators over real HTTP.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod dashboard;
pub mod db_proxy;

use recarga::cli::{self, Command, CreateArgs, CustomerCommand, OpsTokenCommand};
use recarga::config::{Mode, Settings};
use recarga::domain::clock::{Clock, ManualClock, SystemClock};
use recarga::sandbox::latcom::SimState;
use recarga::startup::{Application, SmartcallSim};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub latcom: SimState,
    pub smartcall: SmartcallSim,
    pub datamart: recarga::sandbox::datamart::SimState,
    pub settings: Settings,
    pub app_purchases: Arc<recarga::service::purchase::PurchaseService>,
    pub evolution: recarga::sandbox::evolution::SimState,
    pub notifications: Arc<recarga::service::notifications::NotificationService>,
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub api_key: String,
    pub secret_key: String,
    pub reconcile_key: String,
}

pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/recarga".into())
}

/// The Redis server for tests of `limits.store = "redis"`: `REDIS_URL`, or the local one
/// (`.ci/run` starts it if it is down).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Databases made by this harness: `recarga_test_<epoch secs>_<template tag>_<random>`.
const TEST_DATABASE_PREFIX: &str = "recarga_test_";
const TEMPLATE_PREFIX: &str = "recarga_tpl_";
/// Serialises template builds and clean-ups across test processes: any fixed key will do
/// (this one is "recarga" in ASCII).
const TEMPLATE_LOCK_KEY: i64 = 0x0072_6563_6172_6761;
/// Test databases (and templates nothing was cloned from since) live this long.
const TEST_DATABASE_TTL_SECS: u64 = 3600;

/// A URL for a brand-new, migrated database on the test server: a clone of a template
/// migrated once per set of migrations, which is much cheaper than migrating each one.
pub async fn fresh_database_url() -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let template = TEMPLATE.get_or_init(ensure_template).await;
    let name = new_database_name();
    let mut admin = admin_connection().await;
    let create = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
    if let Err(e) = sqlx::query(&create).execute(&mut admin).await {
        // 3D000: another test process (with other migrations) judged the template stale
        // and dropped it between our build and this clone. Build it again, once.
        assert!(
            matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000")),
            "cloning {template}: {e}"
        );
        ensure_template().await;
        sqlx::query(&create)
            .execute(&mut admin)
            .await
            .expect("cloning the template");
    }
    let _ = admin.close().await;
    database_url(&name)
}

/// A URL for a database that does not exist yet, for the tests of the binary's own
/// "create the database if missing, then migrate" start-up.
pub fn unmigrated_database_url() -> String {
    database_url(&new_database_name())
}

fn new_database_name() -> String {
    let random = &uuid::Uuid::new_v4().simple().to_string()[..12];
    format!("{TEST_DATABASE_PREFIX}{}_{}_{random}", now_secs(), template_tag())
}

fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

async fn admin_connection() -> sqlx::PgConnection {
    PgConnectOptions::from_str(&server_url())
        .expect("DATABASE_URL")
        .database("postgres")
        .connect()
        .await
        .expect("connecting to the test server's postgres database")
}

/// What a migrated database depends on: a hash of every file under `migrations/` and
/// `sql/` (whatever `store::migrate` installs), so a changed migration gets a new template.
fn template_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        fn add_dir(hasher: &mut Sha256, root: &Path, dir: &Path) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("reading a directory entry").path()).collect();
            paths.sort();
            for path in paths {
                if path.is_dir() {
                    add_dir(hasher, root, &path);
                } else {
                    let relative = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    let content = std::fs::read(&path).expect("reading a migration file");
                    for part in [relative.as_bytes(), &content] {
                        hasher.update((part.len() as u64).to_le_bytes());
                        hasher.update(part);
                    }
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut hasher = Sha256::new();
        for dir in ["migrations", "sql"] {
            add_dir(&mut hasher, root, &root.join(dir));
        }
        hex::encode(&hasher.finalize()[..6])
    })
}

/// Make sure this process's template exists, building it if not, and drop what earlier
/// runs left: test databases over an hour old, and other templates (older migrations)
/// that nothing was cloned from within the hour. Under an advisory lock, so parallel
/// test processes neither build the same template twice nor drop one being built.
/// No connection to the template stays open: `CREATE DATABASE … TEMPLATE` refuses to
/// copy a database that anyone is connected to.
async fn ensure_template() -> String {
    let tag = template_tag();
    let template = format!("{TEMPLATE_PREFIX}{tag}");
    let mut admin = admin_connection().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut admin)
        .await
        .expect("taking the template lock");

    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)",
    )
    .bind(TEST_DATABASE_PREFIX)
    .bind(TEMPLATE_PREFIX)
    .fetch_all(&mut admin)
    .await
    .expect("listing test databases");
    let (tests, templates): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with(TEST_DATABASE_PREFIX));
    let (expired, live): (Vec<&String>, Vec<&String>) = tests.into_iter().partition(|name| {
        let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        created + TEST_DATABASE_TTL_SECS < now_secs()
    });
    let cloned_lately = |tag: &str| live.iter().any(|name| name.split('_').nth(3) == Some(tag));
    let stale = templates.into_iter().filter(|name| {
        let tag = name.trim_start_matches(TEMPLATE_PREFIX).trim_end_matches("_new");
        **name != template && !cloned_lately(tag)
    });
    for name in expired.into_iter().chain(stale) {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }

    if !names.contains(&template) {
        // Built under another name and renamed when complete, so a run killed half-way
        // leaves no half-migrated template behind.
        let building = format!("{template}_new");
        let create = [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ];
        execute_all(&mut admin, &create).await;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&database_url(&building))
            .await
            .expect("connecting to the new template");
        recarga::store::migrate(&pool).await.expect("migrating the template");
        pool.close().await;
        let finish = [
            format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
            // Nobody (autovacuum included) connects to it, so it can always be copied.
            format!("ALTER DATABASE \"{template}\" WITH ALLOW_CONNECTIONS false"),
        ];
        execute_all(&mut admin, &finish).await;
    }

    let _ = admin.close().await; // ends the session, and with it the advisory lock
    template
}

async fn execute_all(admin: &mut sqlx::PgConnection, statements: &[String]) {
    for statement in statements {
        if let Err(e) = sqlx::query(statement).execute(&mut *admin).await {
            panic!("{statement}: {e}");
        }
    }
}

/// Settings as the shipped config file has them, made quick for tests.
pub async fn test_settings() -> Settings {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut s = Settings::load(Some(format!("{manifest}/config/recarga.toml").into())).expect("config loads");
    s.listen = "127.0.0.1:0".into();
    s.database_url = fresh_database_url().await;
    s.database.max_connections = 10;
    s.mode = Mode::Sandbox;
    s.catalog_file = format!("{manifest}/config/products.toml").into();
    s.limits.topup_requests_per_minute = 100_000;
    s.limits.api_requests_per_15_minutes = 100_000;
    s.purchase.sync_deadline_secs = 10;
    s.purchase.resolver_interval_secs = 1;
    s.purchase.resolver_min_age_secs = 1;
    s.purchase.queue_poll_interval_ms = 50;
    s.providers.latcom.timeout_secs = 2;
    s.health.database_interval_ms = 200;
    s.health.upstream_interval_secs = 1;
    s
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}, None).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings), clock: Option<ManualClock>) -> Self {
        if std::env::var_os("RUST_LOG").is_some() {
            recarga::telemetry::init();
        }
        let mut settings = test_settings().await;
        adjust(&mut settings);
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => Arc::new(c),
            None => Arc::new(SystemClock),
        };
        let app = Application::build(settings.clone(), clock)
            .await
            .expect("application builds");
        let base = format!("http://{}", app.addr);
        let pool = app.pool.clone();
        let latcom = app
            .simulators
            .latcom
            .clone()
            .expect("sandbox starts the LATCOM simulator");
        let smartcall = app
            .simulators
            .smartcall
            .clone()
            .expect("sandbox starts the Smartcall simulator");
        let datamart = app
            .simulators
            .datamart
            .clone()
            .expect("sandbox starts the DataMart simulator");
        let app_purchases = Arc::clone(&app.purchases);
        let evolution = app
            .simulators
            .evolution
            .clone()
            .expect("sandbox starts the Evolution simulator");
        let notifications = Arc::clone(&app.notifications);
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Self {
            base,
            client: reqwest::Client::new(),
            pool,
            latcom,
            smartcall,
            datamart,
            settings,
            app_purchases,
            evolution,
            notifications,
        }
    }

    /// An ops bearer token for the admin API, created as `recarga ops-token create` does.
    pub async fn ops_token(&self, name: &str) -> String {
        let out = cli::run_ops(
            self.settings.clone(),
            Command::OpsToken(OpsTokenCommand::Create { name: name.into() }),
        )
        .await
        .expect("ops-token create");
        out["token"].as_str().unwrap().to_string()
    }

    /// Create a reseller through the CLI's own code path.
    pub async fn customer(&self, id: &str, balance_usd: &str) -> Creds {
        self.customer_with(id, balance_usd, |_| {}).await
    }

    pub async fn customer_with(&self, id: &str, balance_usd: &str, adjust: impl FnOnce(&mut CreateArgs)) -> Creds {
        create_customer(&self.settings, id, balance_usd, adjust).await
    }

    pub fn get(&self, path: &str, c: &Creds) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .header("x-api-key", &c.api_key)
            .header("x-customer-id", &c.id)
    }

    pub fn post(&self, path: &str, c: &Creds) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("x-api-key", &c.api_key)
            .header("x-customer-id", &c.id)
    }

    pub async fn topup(&self, c: &Creds, body: Value) -> (u16, Value) {
        send(self.post("/api/enviadespensa/topup", c).json(&body)).await
    }

    pub async fn topup_async(&self, c: &Creds, body: Value) -> (u16, Value) {
        send(self.post("/api/enviadespensa/topup-async", c).json(&body)).await
    }

    pub async fn balance(&self, c: &Creds) -> Decimal {
        let (status, body) = send(self.get("/api/balance", c)).await;
        assert_eq!(status, 200, "{body}");
        Decimal::from_str(&body["current_balance"].to_string()).unwrap()
    }

    pub async fn transaction(&self, c: &Creds, id: &str) -> (u16, Value) {
        send(self.get(&format!("/api/transaction/{id}"), c)).await
    }

    /// Poll a transaction until it is final (or fail the test after `secs`).
    pub async fn wait_final(&self, c: &Creds, id: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (status, body) = self.transaction(c, id).await;
            assert_eq!(status, 200, "{body}");
            let s = body["transaction"]["status"].as_str().unwrap().to_string();
            if ["SUCCESS", "FAILED", "REVIEW"].contains(&s.as_str()) {
                return body;
            }
            assert!(std::time::Instant::now() < deadline, "transaction {id} still {s}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn ledger_entry_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn assert_ledger_invariants(&self) {
        assert_ledger_invariants(&self.pool).await;
    }

    /// Refused requests moved nothing: the balance as it was, no new ledger entry, no
    /// transaction recorded, nothing sent to LATCOM.
    pub async fn assert_nothing_moved(&self, c: &Creds, balance: &str, entries_before: i64) {
        assert_eq!(self.balance(c).await, dec(balance));
        assert_eq!(self.ledger_entry_count().await, entries_before);
        assert_eq!(self.latcom.topup_calls(), 0);
        let txns: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        assert_eq!(txns, 0);
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Distributor login; the tokens on success.
    pub async fn login(&self, c: &Creds) -> (String, String) {
        let (status, body) = send(
            self.client
                .post(self.url("/api/distributor/login"))
                .json(&json!({"customer_id": c.id, "secret_key": c.secret_key})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().into(),
            body["refresh_token"].as_str().unwrap().into(),
        )
    }

    pub async fn purchase(&self, token: &str, body: Value) -> (u16, Value) {
        send(
            self.client
                .post(self.url("/api/distributor/product_purchase"))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn bearer_get(&self, token: &str, path: &str) -> (u16, Value) {
        send(self.client.get(self.url(path)).bearer_auth(token)).await
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    (status, body)
}

/// The money rules, checked over the whole database:
/// - every balance equals the sum of its ledger entries, and none is negative;
/// - a FAILED or REVERSED transaction's entries net to zero, any other's to minus its charge;
/// - daily usage equals the sum of the non-failed purchases it counts.
pub async fn assert_ledger_invariants(pool: &PgPool) {
    let bad: Vec<(String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT c.id, c.balance_usd, COALESCE(sum(e.amount_usd), 0) FROM customers c
         LEFT JOIN ledger_entries e ON e.customer_id = c.id GROUP BY c.id, c.balance_usd
         HAVING c.balance_usd <> COALESCE(sum(e.amount_usd), 0) OR c.balance_usd < 0",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "balance != sum(entries): {bad:?}");
    let bad: Vec<(String, String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT t.id, t.status, t.charged_usd, COALESCE(sum(e.amount_usd), 0) FROM transactions t
         LEFT JOIN ledger_entries e ON e.customer_id = t.customer_id AND e.transaction_id = t.id
         GROUP BY t.customer_id, t.id
         HAVING COALESCE(sum(e.amount_usd), 0) <> CASE WHEN t.status IN ('FAILED', 'REVERSED') THEN 0 ELSE -t.charged_usd END",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "transaction entries do not match status: {bad:?}");
    let bad: Vec<(String, String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT d.customer_id, d.phone, d.amount_local, COALESCE(sum(t.amount_local), 0) FROM daily_usage d
         LEFT JOIN transactions t ON t.customer_id = d.customer_id AND t.phone = d.phone
              AND t.currency = d.currency AND t.business_day = d.business_day AND t.status NOT IN ('FAILED', 'REVERSED')
         GROUP BY d.customer_id, d.phone, d.currency, d.business_day, d.amount_local
         HAVING d.amount_local <> COALESCE(sum(t.amount_local), 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "daily usage does not match purchases: {bad:?}");
}

/// Rows of the per-day rollup (`daily_volume`) that differ from a direct count over the
/// transactions of the rolled-up days, either way: 0 when it is exact.
pub async fn rollup_drift(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "WITH direct AS (
             SELECT customer_id, business_day, currency, status, count(*) AS count,
                    sum(amount_local) AS amount_local, sum(charged_usd) AS charged_usd
             FROM transactions WHERE business_day IN (SELECT business_day FROM volume_days) GROUP BY 1, 2, 3, 4),
         rolled AS (
             SELECT customer_id, business_day, currency, status, count, amount_local, charged_usd FROM daily_volume)
         SELECT count(*) FROM ((TABLE direct EXCEPT TABLE rolled) UNION ALL (TABLE rolled EXCEPT TABLE direct)) d",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The real binary, as ops run it: whether it succeeded, its JSON on stdout, its stderr.
pub fn recarga(database_url: &str, args: &[&str]) -> (bool, Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recarga"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Create a reseller through the CLI's own code path, on the database of `settings`.
pub async fn create_customer(
    settings: &Settings,
    id: &str,
    balance_usd: &str,
    adjust: impl FnOnce(&mut CreateArgs),
) -> Creds {
    let mut args = CreateArgs {
        id: id.into(),
        name: format!("{id} Telecom"),
        balance_usd: Decimal::from_str(balance_usd).unwrap(),
        credit_limit_usd: Decimal::from_str(balance_usd).unwrap(),
        commission_rate: Decimal::ZERO,
        daily_limit_mxn: None,
        topup_rate_per_min: None,
        api_rate_per_15min: None,
    };
    adjust(&mut args);
    let out = cli::run_ops(settings.clone(), Command::Customer(CustomerCommand::Create(args)))
        .await
        .expect("customer create");
    Creds {
        id: out["customer_id"].as_str().unwrap().into(),
        api_key: out["api_key"].as_str().unwrap().into(),
        secret_key: out["secret_key"].as_str().unwrap().into(),
        reconcile_key: out["reconcile_key"].as_str().unwrap().into(),
    }
}

/// Everything a `tracing` subscriber writes, kept in memory for a test to read.
#[derive(Clone, Default)]
pub struct CapturedLogs(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
