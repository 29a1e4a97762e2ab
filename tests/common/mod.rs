//! Test harness: every test gets its own freshly created and migrated database, the
//! real router on an ephemeral port, and the LATCOM simulator over real HTTP.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod db_proxy;

use recarga::cli::{self, Command, CreateArgs, CustomerCommand};
use recarga::config::{Mode, Settings};
use recarga::domain::clock::{Clock, ManualClock, SystemClock};
use recarga::providers::latcom::simulator::SimState;
use recarga::startup::{Application, SmartcallSim};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub latcom: SimState,
    pub smartcall: SmartcallSim,
    pub settings: Settings,
    pub app_purchases: Arc<recarga::service::purchase::PurchaseService>,
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub api_key: String,
    pub secret_key: String,
}

pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/recarga".into())
}

/// A URL for a brand-new database on the test server. Databases left by earlier runs
/// (named with their creation time) are dropped once they are an hour old.
pub async fn fresh_database_url() -> String {
    static CLEAN: Once = Once::new();
    let base = PgConnectOptions::from_str(&server_url()).expect("DATABASE_URL");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let mut clean = false;
    CLEAN.call_once(|| clean = true);
    if clean {
        if let Ok(mut admin) = base.clone().database("postgres").connect().await {
            let names: Vec<String> =
                sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'recarga_test_%'")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap_or_default();
            for name in names {
                let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                if created + 3600 < now {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            }
        }
    }
    let name = format!("recarga_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
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
        let app_purchases = Arc::clone(&app.purchases);
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Self {
            base,
            client: reqwest::Client::new(),
            pool,
            latcom,
            smartcall,
            settings,
            app_purchases,
        }
    }

    /// Create a reseller through the CLI's own code path.
    pub async fn customer(&self, id: &str, balance_usd: &str) -> Creds {
        self.customer_with(id, balance_usd, |_| {}).await
    }

    pub async fn customer_with(&self, id: &str, balance_usd: &str, adjust: impl FnOnce(&mut CreateArgs)) -> Creds {
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
        let out = cli::run_ops(self.settings.clone(), Command::Customer(CustomerCommand::Create(args)))
            .await
            .expect("customer create");
        Creds {
            id: out["customer_id"].as_str().unwrap().into(),
            api_key: out["api_key"].as_str().unwrap().into(),
            secret_key: out["secret_key"].as_str().unwrap().into(),
        }
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
/// - a FAILED transaction's entries net to zero, any other's to minus its charge;
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
         LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id
         HAVING COALESCE(sum(e.amount_usd), 0) <> CASE WHEN t.status = 'FAILED' THEN 0 ELSE -t.charged_usd END",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "transaction entries do not match status: {bad:?}");
    let bad: Vec<(String, String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT d.customer_id, d.phone, d.amount_local, COALESCE(sum(t.amount_local), 0) FROM daily_usage d
         LEFT JOIN transactions t ON t.customer_id = d.customer_id AND t.phone = d.phone
              AND t.currency = d.currency AND t.business_day = d.business_day AND t.status <> 'FAILED'
         GROUP BY d.customer_id, d.phone, d.currency, d.business_day, d.amount_local
         HAVING d.amount_local <> COALESCE(sum(t.amount_local), 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "daily usage does not match purchases: {bad:?}");
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
