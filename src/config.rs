//! One layered loader: built-in defaults → `config/recarga.toml` (or `RECARGA_CONFIG`) →
//! environment (`RECARGA__SECTION__KEY`, plus `DATABASE_URL` and `RECARGA_LISTEN`).
//! Every setting is documented in `config/recarga.toml`. Strict: an unknown key (a typo)
//! or an unusable value refuses the start, naming the key.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    /// `auto` (sandbox when no upstream has credentials), `sandbox`, or `live`.
    pub mode: Mode,
    pub catalog_file: PathBuf,
    pub business_timezone: String,
    pub database: DatabaseSettings,
    pub limits: LimitSettings,
    pub purchase: PurchaseSettings,
    pub relier: RelierSettings,
    pub distributor: DistributorSettings,
    pub fx: FxSettings,
    pub providers: ProviderSettings,
    pub sandbox: SandboxSettings,
    pub notifications: NotificationSettings,
    pub webhooks: WebhookSettings,
    pub invoices: InvoiceSettings,
    pub health: HealthSettings,
    pub dashboard: DashboardSettings,
    pub server: ServerSettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Auto,
    Sandbox,
    Live,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Concurrent customer reads (balances) share queries: at most this many run at
    /// once, each for every read that arrived while the previous one ran.
    pub read_shards: usize,
    /// At start, an unreachable database is retried with backoff for this long.
    pub start_wait_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Per (customer, end-user phone) per business day, in the product's currency.
    pub daily_limit_local: Decimal,
    pub topup_requests_per_minute: u32,
    pub api_requests_per_15_minutes: u32,
    pub max_body_bytes: usize,
    /// How long a customer's authentication data is cached (a suspension or key change
    /// takes effect within this).
    pub auth_cache_ttl_ms: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (exact addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A request still unanswered after this gets 503; above `purchase.sync_deadline_secs`.
    pub request_timeout_secs: u64,
    /// Where rate limits and login throttles are counted.
    pub store: LimitStoreKind,
    /// `redis://[:password@]host:port[/db]` (or `rediss://`), for `store = "redis"`. A
    /// secret when it holds a password: never logged.
    pub redis_url: Option<SecretString>,
    /// Every cell's Redis key starts with this: deployments (or test runs) sharing one
    /// Redis keep apart.
    pub redis_key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitStoreKind {
    /// In Postgres: one allowance across every instance.
    Postgres,
    /// In each process: for a single instance only (several would each allow the whole).
    Memory,
    /// In Redis (`limits.redis_url`): one allowance across every instance, off the database.
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PurchaseSettings {
    /// A synchronous topup whose outcome is still unknown by then answers 202 PENDING.
    pub sync_deadline_secs: u64,
    /// Open transactions older than this are swept by the resolver.
    pub resolver_min_age_secs: u64,
    pub resolver_interval_secs: u64,
    /// A sweep's claim on a transaction lapses after this if its instance dies.
    pub resolver_lease_secs: u64,
    /// Unresolved this long → REVIEW (funds held for ops). Fractions of an hour are
    /// taken (the chaos suite settles within seconds).
    pub review_after_hours: f64,
    /// A request DataMart holds as pending is asked about again after
    /// `resolver_min_age_secs`, then twice as long each time, at most this long.
    pub pending_enquiry_max_backoff_secs: u64,
    pub queue_workers: usize,
    pub queue_poll_interval_ms: u64,
    /// Debits are grouped into shared transactions per shard of customers (one commit
    /// for many; see service/group_commit.rs): how many shards, and at most how many
    /// debits per transaction.
    pub debit_shards: usize,
    pub debit_batch_max: usize,
    /// The same for successful settlements, sharded by transaction.
    pub settle_shards: usize,
    pub settle_batch_max: usize,
    /// An upstream's circuit opens after this many consecutive failures of its own
    /// (no answer, a 5xx, unreachable), and stays open this long before one probe.
    pub breaker_failures: u32,
    pub breaker_open_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelierSettings {
    pub min_amount: Decimal,
    pub max_amount: Decimal,
    /// The product a Relier topup buys when the request names no operator.
    pub default_product: String,
    /// Operator name (upper case) → product, for the optional `operator` field.
    pub operator_products: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributorSettings {
    /// HS256 signing key for access tokens. Outside sandbox mode it must be set and at
    /// least 32 bytes; the built-in sandbox key is refused there.
    pub jwt_secret: Option<SecretString>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Failed logins allowed per 15 minutes, per customer from one client address and
    /// per client address, before further attempts from there are refused.
    pub login_failures_per_customer: u32,
    pub login_failures_per_address: u32,
}

/// Used only in sandbox mode when no key is configured.
pub const SANDBOX_JWT_SECRET: &str = "recarga-sandbox-signing-key-not-for-production-use";

impl DistributorSettings {
    /// The signing key, or why the server must not start with it.
    pub fn signing_key(&self, sandbox: bool) -> Result<SecretString, String> {
        use secrecy::ExposeSecret;
        match &self.jwt_secret {
            Some(k) if k.expose_secret().len() >= 32 && k.expose_secret() != SANDBOX_JWT_SECRET => Ok(k.clone()),
            _ if sandbox => Ok(self
                .jwt_secret
                .clone()
                .unwrap_or_else(|| SecretString::from(SANDBOX_JWT_SECRET))),
            Some(_) => Err("distributor.jwt_secret must be at least 32 bytes and not the sandbox key".into()),
            None => {
                Err("distributor.jwt_secret is required outside sandbox mode (RECARGA__DISTRIBUTOR__JWT_SECRET)".into())
            }
        }
    }
}

impl Default for DistributorSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            login_failures_per_customer: 10,
            login_failures_per_address: 50,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FxSettings {
    /// The default source for every currency: `fixed`, `banxico` (MXN only) or
    /// `openexchangerates`.
    pub source: String,
    /// Currency → source, overriding `source` (e.g. MXN = "banxico").
    pub source_by_currency: BTreeMap<String, String>,
    pub refresh_interval_secs: u64,
    /// How often each instance re-reads the newest rates from the database (and checks
    /// whether a fetch is due), so that all instances price alike.
    pub reload_interval_secs: u64,
    pub max_age_hours: i64,
    /// Currency → units per USD, used by the `fixed` source.
    pub fixed_rates: BTreeMap<String, Decimal>,
    pub banxico: BanxicoSettings,
    pub openexchangerates: OpenExchangeRatesSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BanxicoSettings {
    pub base_url: String,
    /// SIE series of the FIX rate.
    pub series: String,
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenExchangeRatesSettings {
    pub base_url: String,
    pub app_id: Option<SecretString>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    pub latcom: LatcomSettings,
    pub smartcall: SmartcallSettings,
    pub datamart: DatamartSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatamartSettings {
    /// The reseller API's base, up to and including `/api`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub api_secret: Option<SecretString>,
    pub timeout_secs: u64,
    /// Sent with every purchase as `callback_url`: this gateway's public
    /// `/api/webhooks/datamart`. In sandbox mode, when unset, the gateway's own address.
    pub callback_url: Option<String>,
    /// Wallet balance (GHS) under which health reports the float as low.
    pub low_float_threshold: Decimal,
    /// Orders of at least this much (GHS) are sent only if the wallet covers them.
    pub large_order_threshold: Decimal,
    /// The product list (/v1/products) is synced on start and this often.
    pub catalog_sync_interval_secs: u64,
}

impl DatamartSettings {
    pub fn has_credentials(&self) -> bool {
        self.api_key.is_some() && self.api_secret.is_some()
    }
}

impl Default for DatamartSettings {
    fn default() -> Self {
        Self {
            base_url: "https://server-datamart-reseller.onrender.com/api".into(),
            api_key: None,
            api_secret: None,
            timeout_secs: 30,
            callback_url: None,
            low_float_threshold: dec!(500),
            large_order_threshold: dec!(100),
            catalog_sync_interval_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmartcallSettings {
    /// Live-live pair: api1 is used; api2 only when api1 provably did not take a request.
    pub api1: String,
    pub api2: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Our dealer MSISDN (27 + 9 digits).
    #[serde(deserialize_with = "lenient_string")]
    pub smartload_id: Option<String>,
    pub timeout_secs: u64,
    /// Below this dealer balance (ZAR) health reports the float as low and an alarm is logged.
    pub low_float_threshold: Decimal,
    /// The shared product list is fetched again once the stored one is this old.
    pub catalog_sync_interval_secs: u64,
    /// How often each instance looks at the shared product list (and re-reads it when
    /// it changed), so that all instances list the same products.
    pub catalog_reload_interval_secs: u64,
}

impl SmartcallSettings {
    pub fn has_credentials(&self) -> bool {
        self.username.is_some() && self.password.is_some() && self.smartload_id.is_some()
    }
}

impl Default for SmartcallSettings {
    fn default() -> Self {
        Self {
            api1: "https://api1.smartcall.co.za:8100".into(),
            api2: "https://api2.smartcall.co.za:8100".into(),
            username: None,
            password: None,
            smartload_id: None,
            timeout_secs: 30,
            low_float_threshold: dec!(5000),
            catalog_sync_interval_secs: 3600,
            catalog_reload_interval_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatcomSettings {
    pub base_url: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub dist_api: Option<SecretString>,
    #[serde(deserialize_with = "lenient_string")]
    pub user_uid: Option<String>,
    /// Tokens are reused for this long, then refreshed (integrators see ~5 min lifetimes).
    pub token_refresh_secs: u64,
    pub timeout_secs: u64,
    /// Whether this LATCOM account answers status lookups by our `dist_transid`
    /// (LATCOM documents only its own `transId`): off unless LATCOM confirms it.
    pub enquire_by_dist_transid: bool,
}

impl LatcomSettings {
    pub fn has_credentials(&self) -> bool {
        self.username.is_some() && self.password.is_some() && self.dist_api.is_some()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Simulated upstream latency.
    pub latency_ms: u64,
    /// How long the DataMart simulator keeps an order pending before settling it.
    pub datamart_pending_ms: u64,
    /// How long the Smartcall simulator keeps a network-pending recharge (R13) pending.
    pub smartcall_pending_ms: u64,
    /// A shared `recarga sandbox` process (its base URL) that `recarga serve` in sandbox
    /// mode uses instead of simulators of its own: required for several instances.
    pub simulators_url: Option<String>,
    /// Where `recarga sandbox` listens.
    pub listen: String,
}

/// WhatsApp billing notifications (seed 002), sent through an Evolution API server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// The same invoice_id and message_type through one instance within this many
    /// seconds is sent once (the repeat answers the first message's id).
    pub dedup_window_secs: i64,
    /// Tries per message on passing Evolution errors before it is marked failed.
    pub max_attempts: i32,
    /// Wait before the second try, doubled for each further one, up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How long a sender's claim on a message lasts before another may take it.
    pub lease_secs: i64,
    /// Messages sent at once, and how often the queue is polled.
    pub workers: usize,
    pub poll_interval_ms: u64,
    /// Template overrides: `<type>.txt`, or `instances/<instance_id>/<type>.txt`.
    pub templates_dir: PathBuf,
    pub evolution: EvolutionSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionSettings {
    /// The Evolution API server (live mode); without it and `api_key`, sending is
    /// disabled. Sandbox mode uses its simulator.
    pub base_url: Option<String>,
    pub api_key: Option<SecretString>,
    pub timeout_secs: u64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            dedup_window_secs: 86_400,
            max_attempts: 5,
            retry_base_ms: 2_000,
            retry_max_ms: 300_000,
            lease_secs: 60,
            workers: 16,
            poll_interval_ms: 500,
            templates_dir: "config/notifications".into(),
            evolution: EvolutionSettings::default(),
        }
    }
}

impl Default for EvolutionSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            timeout_secs: 15,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Attempts per delivery (webhook or callback) before it is marked failed.
    pub max_attempts: i32,
    /// Wait after the first failed attempt, doubled after each (± 20 % jitter) ...
    pub backoff_base_ms: u64,
    /// ... up to this.
    pub backoff_max_secs: u64,
    pub timeout_secs: u64,
    /// Deliveries sent at once by this instance (0: this instance sends none).
    pub delivery_workers: usize,
    pub poll_interval_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base_ms: 10_000,
            backoff_max_secs: 3600,
            timeout_secs: 10,
            delivery_workers: 16,
            poll_interval_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvoiceSettings {
    /// How often the invoice run checks that the previous month is invoiced.
    pub check_interval_secs: u64,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        Self {
            check_interval_secs: 3600,
        }
    }
}

/// The background checks the health endpoints answer from.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    pub database_interval_ms: u64,
    pub upstream_interval_secs: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            database_interval_ms: 2000,
            upstream_interval_secs: 30,
        }
    }
}

/// /dashboard sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// A session ends this long after login (or at logout, whichever comes first).
    pub session_ttl_secs: i64,
    /// Mark the session cookie `Secure` (sent over HTTPS only): set when /dashboard is
    /// served over TLS, directly or behind a TLS-terminating proxy.
    pub secure_cookie: bool,
    /// How often the per-day rollup job looks for closed business days to roll up.
    pub rollup_interval_secs: u64,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            session_ttl_secs: 8 * 3600,
            secure_cookie: false,
            rollup_interval_secs: 300,
        }
    }
}

/// The HTTP connections themselves.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// A client must send a request's headers within this (else the connection is
    /// closed): slow clients cannot hold connections open (slowloris).
    pub header_read_timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
        }
    }
}

/// `GET /metrics` (Prometheus text format), on the API listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub bearer_token: Option<SecretString>,
    /// The gauges that need the database (queues, open transactions) are read this often.
    pub refresh_interval_secs: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            bearer_token: None,
            refresh_interval_secs: 15,
        }
    }
}

/// Environment values that look like numbers (a dealer MSISDN, a numeric user id)
/// arrive as numbers; these settings are identifiers, so take either.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    }))
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/recarga".into(),
            mode: Mode::Auto,
            catalog_file: "config/products.toml".into(),
            business_timezone: "America/Mexico_City".into(),
            database: DatabaseSettings::default(),
            limits: LimitSettings::default(),
            purchase: PurchaseSettings::default(),
            relier: RelierSettings::default(),
            distributor: DistributorSettings::default(),
            fx: FxSettings::default(),
            providers: ProviderSettings::default(),
            sandbox: SandboxSettings::default(),
            notifications: NotificationSettings::default(),
            webhooks: WebhookSettings::default(),
            invoices: InvoiceSettings::default(),
            health: HealthSettings::default(),
            dashboard: DashboardSettings::default(),
            server: ServerSettings::default(),
            metrics: MetricsSettings::default(),
        }
    }
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            datamart_pending_ms: 5000,
            smartcall_pending_ms: 30_000,
            simulators_url: None,
            listen: "127.0.0.1:9090".into(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 20,
            acquire_timeout_secs: 5,
            read_shards: 2,
            start_wait_secs: 120,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            daily_limit_local: dec!(200000),
            topup_requests_per_minute: 200,
            api_requests_per_15_minutes: 300,
            max_body_bytes: 16 * 1024,
            auth_cache_ttl_ms: 2000,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 60,
            store: LimitStoreKind::Postgres,
            redis_url: None,
            redis_key_prefix: "recarga:limit:".into(),
        }
    }
}

impl Default for PurchaseSettings {
    fn default() -> Self {
        Self {
            sync_deadline_secs: 25,
            resolver_min_age_secs: 30,
            resolver_interval_secs: 5,
            resolver_lease_secs: 120,
            review_after_hours: 24.0,
            pending_enquiry_max_backoff_secs: 600,
            queue_workers: 256,
            queue_poll_interval_ms: 250,
            debit_shards: 2,
            debit_batch_max: 64,
            settle_shards: 1,
            settle_batch_max: 64,
            breaker_failures: 5,
            breaker_open_secs: 30,
        }
    }
}

impl Default for RelierSettings {
    fn default() -> Self {
        Self {
            min_amount: dec!(10),
            max_amount: dec!(500),
            default_product: "MOVISTAR_TAE".into(),
            operator_products: BTreeMap::new(),
        }
    }
}

impl Default for FxSettings {
    fn default() -> Self {
        Self {
            source: "fixed".into(),
            source_by_currency: BTreeMap::new(),
            refresh_interval_secs: 6 * 3600,
            reload_interval_secs: 30,
            max_age_hours: 96,
            fixed_rates: BTreeMap::from([
                ("MXN".to_string(), dec!(17.0068)),
                ("ZAR".to_string(), dec!(18.0000)),
                ("GHS".to_string(), dec!(15.5000)),
            ]),
            banxico: BanxicoSettings::default(),
            openexchangerates: OpenExchangeRatesSettings::default(),
        }
    }
}

impl Default for OpenExchangeRatesSettings {
    fn default() -> Self {
        Self {
            base_url: "https://openexchangerates.org/api".into(),
            app_id: None,
        }
    }
}

impl Default for BanxicoSettings {
    fn default() -> Self {
        Self {
            base_url: "https://www.banxico.org.mx/SieAPIRest/service/v1".into(),
            series: "SF43718".into(),
            token: None,
        }
    }
}

impl Default for LatcomSettings {
    fn default() -> Self {
        Self {
            base_url: "https://lattest.mitopup.com".into(),
            username: None,
            password: None,
            dist_api: None,
            user_uid: None,
            token_refresh_secs: 240,
            timeout_secs: 20,
            enquire_by_dist_transid: false,
        }
    }
}

/// Why the configuration cannot be used; each names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

/// The settings that are maps: the keys under them are names (currencies, operators)
/// whose case is kept when they come from the environment. A new map setting goes here.
const MAP_SETTINGS: &[&str] = &["fx.fixed_rates", "fx.source_by_currency", "relier.operator_products"];

/// An environment key (`FX.FIXED_RATES.MXN` once split) as a settings path: field names
/// lower-cased, a map's key as written.
fn settings_path(env_key: &str) -> String {
    let lower = env_key.to_ascii_lowercase();
    match MAP_SETTINGS.iter().find(|m| lower.starts_with(&format!("{m}."))) {
        Some(map) => format!("{map}{}", &env_key[map.len()..]),
        None => lower,
    }
}

impl Settings {
    /// Load the layers and check them. A missing config file is fine (defaults apply); a
    /// malformed one, an unknown key or an unusable value is not.
    pub fn load(config_file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let file = config_file
            .or_else(|| std::env::var_os("RECARGA_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config/recarga.toml"));
        let settings: Self = Figment::new()
            .merge(Toml::file(file))
            .merge(
                // `lowercase(false)` last: figment's `split` and `map` turn it back on.
                Env::prefixed("RECARGA__")
                    .split("__")
                    .map(|key| settings_path(key.as_str()).into())
                    .lowercase(false),
            )
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            .merge(Env::raw().only(&["RECARGA_LISTEN"]).map(|_| "listen".into()))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Values the types accept but the gateway cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.into(),
            })
        };
        if !["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| self.database_url.starts_with(scheme))
        {
            return invalid(
                "database_url",
                "must be a PostgreSQL URL (postgres://user@host:port/database)",
            );
        }
        let positive: [(&'static str, usize); 10] = [
            ("database.max_connections", self.database.max_connections as usize),
            ("database.read_shards", self.database.read_shards),
            ("purchase.queue_workers", self.purchase.queue_workers),
            ("purchase.debit_shards", self.purchase.debit_shards),
            ("purchase.debit_batch_max", self.purchase.debit_batch_max),
            ("purchase.settle_shards", self.purchase.settle_shards),
            ("purchase.settle_batch_max", self.purchase.settle_batch_max),
            (
                "server.header_read_timeout_secs",
                self.server.header_read_timeout_secs as usize,
            ),
            (
                "metrics.refresh_interval_secs",
                self.metrics.refresh_interval_secs as usize,
            ),
            (
                "providers.smartcall.catalog_reload_interval_secs",
                self.providers.smartcall.catalog_reload_interval_secs as usize,
            ),
        ];
        if let Some((key, _)) = positive.into_iter().find(|(_, value)| *value == 0) {
            return invalid(key, "must be at least 1");
        }
        let review_after = self.purchase.review_after_hours;
        if !review_after.is_finite() || review_after < 0.0 {
            return invalid("purchase.review_after_hours", "must be a number of hours, 0 or more");
        }
        if self.limits.store == LimitStoreKind::Redis && self.limits.redis_url.is_none() {
            return invalid("limits.redis_url", "is required with limits.store = \"redis\"");
        }
        if self.limits.request_timeout_secs <= self.purchase.sync_deadline_secs {
            return invalid(
                "limits.request_timeout_secs",
                "must be longer than purchase.sync_deadline_secs (a sync top-up answers by then)",
            );
        }
        Ok(())
    }

    /// Sandbox is all or nothing: either every upstream is simulated, or none is.
    pub fn is_sandbox(&self) -> bool {
        match self.mode {
            Mode::Sandbox => true,
            Mode::Live => false,
            Mode::Auto => {
                !self.providers.latcom.has_credentials()
                    && !self.providers.smartcall.has_credentials()
                    && !self.providers.datamart.has_credentials()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_map_keys_keep_their_case_and_fields_do_not_need_it() {
        assert_eq!(settings_path("FX.FIXED_RATES.MXN"), "fx.fixed_rates.MXN");
        assert_eq!(
            settings_path("relier.OPERATOR_PRODUCTS.Telcel"),
            "relier.operator_products.Telcel"
        );
        assert_eq!(
            settings_path("PURCHASE.SYNC_DEADLINE_SECS"),
            "purchase.sync_deadline_secs"
        );
        assert_eq!(settings_path("FX.FIXED_RATES_X"), "fx.fixed_rates_x");
    }
}
