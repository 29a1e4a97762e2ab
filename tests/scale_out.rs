//! Several instances on one PostgreSQL: starting together, and reaching a managed
//! PostgreSQL that requires TLS; what they share (claims, limits, rates, Smartcall's
//! session and product list).

mod common;

use common::{test_settings, unmigrated_database_url};
use recarga::config::{LimitStoreKind, Settings};
use recarga::domain::clock::{Clock, SystemClock};
use recarga::domain::fx::{Rate, RateSource, RateSourceError};
use recarga::jobs::resolver;
use recarga::sandbox::smartcall::{self as smartcall_sim, SimState};
use recarga::service::fx::FxService;
use recarga::startup::Application;
use std::sync::Arc;
use std::time::Duration;

/// Three instances started at the same moment on a database that does not exist: one
/// creates it, all migrate (under the migration lock) and serve.
#[tokio::test]
async fn three_instances_start_together_on_a_missing_database() {
    let mut settings = test_settings().await;
    settings.database_url = unmigrated_database_url();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let start = |s| Application::build(s, Arc::clone(&clock));
    let (a, b, c) = tokio::join!(
        start(settings.clone()),
        start(settings.clone()),
        start(settings.clone())
    );
    let apps: Vec<Application> = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("an instance failed to start: {e:#}")))
        .collect();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&apps[0].pool)
        .await
        .unwrap();
    assert_eq!(applied, migrations);
    let tags: Vec<i64> = sqlx::query_scalar("SELECT last_value FROM instance_tags")
        .fetch_all(&apps[0].pool)
        .await
        .unwrap();
    assert_eq!(tags, [3], "each instance took its own id tag");
}

async fn uses_tls(url: &str) -> Result<bool, sqlx::Error> {
    let pool = recarga::store::connect(url, 1, Duration::from_secs(5)).await?;
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
}

/// `sslmode` is honoured with rustls (this machine's PostgreSQL serves TLS with a
/// self-signed certificate, as a managed one serves it with a CA-signed one).
#[tokio::test]
async fn tls_follows_the_urls_sslmode() {
    let url = common::fresh_database_url().await;
    let with = |mode: &str| format!("{url}{}sslmode={mode}", if url.contains('?') { '&' } else { '?' });
    assert!(uses_tls(&with("require")).await.unwrap(), "sslmode=require encrypts");
    assert!(!uses_tls(&with("disable")).await.unwrap());
    // No sslmode and a server on this machine: in clear (nothing to protect on loopback).
    assert!(!uses_tls(&url).await.unwrap());
    // verify-full checks the certificate: a self-signed one is refused.
    let refused = uses_tls(&with("verify-full")).await;
    assert!(
        refused.is_err(),
        "a certificate no CA signed must not verify: {refused:?}"
    );
}

/// Two instances sweeping the same stuck transactions at once: each is enquired by
/// one of them (claims), and a later sweep takes them up again (claims are released).
#[tokio::test]
async fn concurrent_sweeps_of_two_instances_enquire_each_stuck_transaction_once() {
    // No background sweep of either instance may take these up (the second instance's
    // start-up sweep would otherwise race the two under test): only this test's sweeps,
    // with a minimum age of 0, see transactions a few seconds old.
    let quiet = |s: &mut recarga::config::Settings| {
        s.purchase.sync_deadline_secs = 1;
        s.purchase.resolver_interval_secs = 3600;
        s.purchase.resolver_min_age_secs = 3600;
    };
    let app = common::TestApp::spawn_with(quiet, None).await;
    app.smartcall.state.set_network_pending(
        Duration::from_secs(3600),
        recarga::sandbox::smartcall::Status::Successful,
    );
    let c = app.customer("SWEEP", "100").await;
    let (token, _) = app.login(&c).await;
    let stuck = 6;
    let purchases = (0..stuck).map(|i| {
        let body = serde_json::json!({"distributor_transaction_id": format!("S-{i}"), "phone_number": format!("082123456{i}"),
                                      "product_id": "ZA_VODACOM_AIRTIME", "amount": 13});
        app.purchase(&token, body)
    });
    for (status, body) in futures::future::join_all(purchases).await {
        assert_eq!(status, 202, "{body}");
    }
    // A second instance on the same database (its own simulators: it only counts here).
    let mut settings = app.settings.clone();
    quiet(&mut settings);
    let other = Application::build(settings, Arc::new(SystemClock)).await.unwrap();
    let other_sim = other.simulators.smartcall.clone().unwrap();
    let enquiries = || app.smartcall.state.enquiry_calls() + other_sim.state.enquiry_calls();

    let before = enquiries();
    let (a, b) = tokio::join!(
        resolver::sweep(&app.app_purchases, 0),
        resolver::sweep(&other.purchases, 0)
    );
    assert_eq!(a.unwrap() + b.unwrap(), stuck, "each transaction claimed by one sweep");
    assert_eq!(enquiries() - before, stuck as u64, "one enquiry per stuck transaction");
    // Released: the next sweep takes up what is still open.
    let again = resolver::sweep(&app.app_purchases, 0).await.unwrap();
    assert!(again > 0, "released claims are taken up again");
    app.assert_ledger_invariants().await;
}

/// Rate limits and the login throttle hold across instances: requests alternating
/// between two instances on one database spend from one allowance (in process, each
/// would have allowed the whole limit).
#[tokio::test]
async fn rate_limits_and_the_login_throttle_are_one_across_instances() {
    one_allowance_across_instances(|_| {}).await;
}

/// The same, with the cells in Redis (the local server, under a prefix of this test's
/// own so that runs and other tests never share a cell).
#[tokio::test]
async fn rate_limits_and_the_login_throttle_are_one_across_instances_in_redis() {
    let prefix = format!("recarga-test:{}:", uuid::Uuid::new_v4());
    let app = one_allowance_across_instances(|s| {
        s.limits.store = LimitStoreKind::Redis;
        s.limits.redis_url = Some(common::redis_url().into());
        s.limits.redis_key_prefix = prefix;
    })
    .await;
    let in_postgres: i64 = sqlx::query_scalar("SELECT count(*) FROM rate_limit_cells")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(in_postgres, 0, "counted in Redis, not in the database");
}

async fn one_allowance_across_instances(store: impl FnOnce(&mut Settings)) -> common::TestApp {
    let app = common::TestApp::spawn_with(
        |s| {
            s.distributor.login_failures_per_customer = 3;
            store(s);
        },
        None,
    )
    .await;
    let other = Application::build(app.settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let bases = [app.base.clone(), format!("http://{}", other.addr)];
    tokio::spawn(other.run_until_stopped(std::future::pending()));
    let c = app
        .customer_with("LIMITED", "100", |a| a.topup_rate_per_min = Some(2))
        .await;

    let mut statuses = Vec::new();
    for i in 0..7 {
        let request = app
            .client
            .post(format!("{}/api/enviadespensa/topup", bases[i % 2]))
            .header("x-customer-id", &c.id)
            .header("x-api-key", &c.api_key)
            .json(&serde_json::json!({"phone": "5512345678", "amount": 10, "reference": format!("L-{i}")}));
        statuses.push(common::send(request).await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s != 429).count(),
        2,
        "2 a minute in all: {statuses:?}"
    );
    assert_eq!(&statuses[2..], [429; 5]);

    // Three wrong logins are allowed, whichever instance takes them; then 429 everywhere.
    let mut logins = Vec::new();
    for i in 0..6 {
        let body = serde_json::json!({"customer_id": c.id, "secret_key": "sk_wrong"});
        let request = app
            .client
            .post(format!("{}/api/distributor/login", bases[i % 2]))
            .json(&body);
        logins.push(common::send(request).await.0);
    }
    assert_eq!(logins, [401, 401, 401, 401, 429, 429]);
    app.assert_ledger_invariants().await;
    app
}

/// A rate source that counts its fetches and answers its own rate, slowly.
struct Source {
    rate: rust_decimal::Decimal,
    fetches: Arc<std::sync::atomic::AtomicU32>,
}

#[async_trait::async_trait]
impl RateSource for Source {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn fetch(&self, currency: &str) -> Result<Rate, RateSourceError> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(Rate {
            currency: currency.into(),
            rate: self.rate,
            as_of: chrono::Utc::now(),
            source: format!("test {}", self.rate),
        })
    }
}

/// Two instances whose sources would disagree: one fetches (the other sees the fetch
/// under way and skips it), and both then price with the rate in the database.
#[tokio::test]
async fn instances_fetch_rates_one_at_a_time_and_price_alike() {
    let url = common::fresh_database_url().await;
    let pool = recarga::store::connect(&url, 4, Duration::from_secs(5)).await.unwrap();
    let fetches = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let instance = |rate: &str| {
        let source = Source {
            rate: common::dec(rate),
            fetches: Arc::clone(&fetches),
        };
        FxService::new(
            pool.clone(),
            Arc::new(source),
            Arc::new(SystemClock),
            chrono::Duration::hours(96),
            vec!["MXN".into()],
        )
    };
    let (a, b) = (instance("17.5"), instance("18.5"));
    let due_now = Duration::ZERO;
    tokio::join!(a.sync(due_now), b.sync(due_now));
    assert_eq!(
        fetches.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one fetcher at a time"
    );
    // The next reload (no fetch due) gives both the same rate.
    let not_due = Duration::from_secs(3600);
    tokio::join!(a.sync(not_due), b.sync(not_due));
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (ra, rb) = (a.current("MXN").unwrap(), b.current("MXN").unwrap());
    assert_eq!((ra.rate, &ra.source), (rb.rate, &rb.source));
}

/// Purchases of South African airtime through `bases` in turn, all at once: their
/// HTTP statuses.
async fn za_purchases(bases: &[String], token: &str, round: &str) -> Vec<u16> {
    let client = reqwest::Client::new();
    let buys = (0..6).map(|i| {
        let body = serde_json::json!({"distributor_transaction_id": format!("{round}-{i}"),
                                      "phone_number": format!("082{round}{i:04}"),
                                      "product_id": "ZA_VODACOM_AIRTIME", "amount": 20});
        let request = client
            .post(format!("{}/api/distributor/product_purchase", bases[i % bases.len()]))
            .bearer_auth(token)
            .json(&body);
        common::send(request)
    });
    futures::future::join_all(buys)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect()
}

/// Settings of a live instance whose Smartcall is `sim`, served as api1 and api2 (both
/// instances reach this one simulator as they would Smartcall).
async fn live_on_smartcall(sim: &SimState) -> Settings {
    sim.set_credentials("recarga", "smartcall-password");
    let (api1, _) = smartcall_sim::serve(sim.clone()).await.unwrap();
    let (api2, _) = smartcall_sim::serve(sim.clone()).await.unwrap();
    let mut settings = test_settings().await;
    settings.mode = recarga::config::Mode::Live;
    settings.distributor.jwt_secret = Some("a live signing key of at least 32 bytes".to_string().into());
    let s = &mut settings.providers.smartcall;
    s.api1 = format!("http://{api1}");
    s.api2 = format!("http://{api2}");
    s.username = Some("recarga".into());
    s.password = Some("smartcall-password".to_string().into());
    s.smartload_id = Some(smartcall_sim::DEALER.into());
    settings
}

/// Two instances started at the same moment and serving: their pool and base URLs.
async fn two_instances(settings: &Settings) -> (sqlx::PgPool, [String; 2]) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let start = |s| Application::build(s, Arc::clone(&clock));
    let (a, b) = tokio::join!(start(settings.clone()), start(settings.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    let pool = a.pool.clone();
    let bases = [format!("http://{}", a.addr), format!("http://{}", b.addr)];
    tokio::spawn(a.run_until_stopped(std::future::pending()));
    tokio::spawn(b.run_until_stopped(std::future::pending()));
    (pool, bases)
}

/// A new customer's distributor token, from a login through `base`.
async fn distributor_token(settings: &Settings, base: &str, name: &str) -> String {
    let c = common::create_customer(settings, name, "100", |_| {}).await;
    let login = reqwest::Client::new()
        .post(format!("{base}/api/distributor/login"))
        .json(&serde_json::json!({"customer_id": c.id, "secret_key": c.secret_key}));
    let (status, body) = common::send(login).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Smartcall counts live tokens per account, and its "limit reached" flush ends every
/// one of them: two instances share one session through the database. The simulator
/// here allows one live token (Smartcall allows 50; one makes any second session show
/// as a second login, refused with 429). Both instances start at once (each syncs the
/// catalogue with a token), buy through it, and after the simulator expires the token
/// both recover with one new login.
#[tokio::test]
async fn two_instances_share_one_smartcall_session_and_renew_it_with_one_login() {
    let sim = SimState::default();
    sim.set_token_limit(1);
    sim.set_credentials("recarga", "smartcall-password");
    let settings = live_on_smartcall(&sim).await;
    let (pool, bases) = two_instances(&settings).await;
    let token = distributor_token(&settings, &bases[0], "ZA-SHARED").await;

    assert_eq!(za_purchases(&bases, &token, "101").await, [200; 6]);
    assert_eq!(sim.login_calls(), 1, "one session for both instances");
    assert_eq!(sim.rejected_tokens(), 0);

    sim.expire_tokens();
    assert_eq!(za_purchases(&bases, &token, "102").await, [200; 6]);
    assert_eq!(sim.login_calls(), 2, "one new login for both instances");
    assert!(sim.rejected_tokens() >= 2, "each instance's token was refused once");
    assert_eq!(sim.live_tokens(), 1);
    assert_eq!(sim.recharge_calls(), 12, "a refused token processes nothing");

    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed_token FROM upstream_sessions WHERE upstream = 'smartcall'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !sealed.windows(4).any(|w| w == b"sim."),
        "the token is stored sealed, not readable"
    );
    common::assert_ledger_invariants(&pool).await;
}

/// Whether each instance at `bases` lists `product` (by its distributor API).
async fn listed(bases: &[String; 2], token: &str, product: &str) -> [bool; 2] {
    let mut found = [false; 2];
    for (base, found) in bases.iter().zip(&mut found) {
        let request = reqwest::Client::new()
            .get(format!("{base}/api/distributor/products"))
            .bearer_auth(token);
        let (status, body) = common::send(request).await;
        assert_eq!(status, 200, "{body}");
        *found = body["products"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["product_id"] == product);
    }
    found
}

/// Waits (up to 15 s) until both instances list `product`.
async fn until_both_list(bases: &[String; 2], token: &str, product: &str) {
    let give_up = std::time::Instant::now() + Duration::from_secs(15);
    while listed(bases, token, product).await != [true, true] {
        assert!(std::time::Instant::now() < give_up, "{product} is not listed by both");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Smartcall's product list is the deployment's (issue 24): two instances started
/// together fetch it once; once the stored list is due, a change (the simulator's next
/// revision adds bundle 1190 + r) reaches both after one fetch by whichever instance
/// takes the lease; and a fetcher that died holding the lease holds the others up
/// until it lapses, no longer. Due is set in the database, the sync interval being an
/// hour; each instance looks at the stored list every second.
#[tokio::test]
async fn two_instances_share_one_smartcall_catalogue_fetched_by_one_at_a_time() {
    let sim = SimState::default();
    let mut settings = live_on_smartcall(&sim).await;
    settings.providers.smartcall.catalog_reload_interval_secs = 1;
    let (pool, bases) = two_instances(&settings).await;
    let token = distributor_token(&settings, &bases[0], "ZA-CATALOGUE").await;
    assert_eq!(sim.catalog_fetches(), 1, "one fetch for both instances");
    assert_eq!(listed(&bases, &token, "ZA_VODACOM_1101").await, [true, true]);
    assert_eq!(listed(&bases, &token, "ZA_VODACOM_1191").await, [false, false]);

    let due = |lease_secs: f64| {
        sqlx::query(
            "UPDATE upstream_catalogues SET fetched_at = now() - interval '2 hours',
                    fetch_until = now() + make_interval(secs => $1)
             WHERE upstream = 'smartcall'",
        )
        .bind(lease_secs)
        .execute(&pool)
    };
    sim.bump_catalog();
    due(0.0).await.unwrap();
    until_both_list(&bases, &token, "ZA_VODACOM_1191").await;
    assert_eq!(sim.catalog_fetches(), 2, "one fetch brought the change to both");

    // A fetcher that took the lease for 3 s and died.
    sim.bump_catalog();
    due(3.0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.catalog_fetches(), 2, "nobody fetches while the lease holds");
    assert_eq!(listed(&bases, &token, "ZA_VODACOM_1192").await, [false, false]);
    until_both_list(&bases, &token, "ZA_VODACOM_1192").await;
    assert_eq!(sim.catalog_fetches(), 3, "one fetch once the lease lapsed");
    let (revision, etag): (i64, Option<String>) =
        sqlx::query_as("SELECT revision, etag FROM upstream_catalogues WHERE upstream = 'smartcall'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(revision, 3, "three listings stored, one per fetch");
    assert!(etag.is_some(), "kept for the next conditional fetch");
}

/// Two sandbox instances pointed at one sandbox (the simulators `recarga sandbox`
/// serves): a top-up left pending through one is settled as delivered by the other's
/// enquiry, which reaches the simulator that took it. With simulators of their own, the
/// second would find no record of it. The control API refuses, in JSON, what a
/// simulator does not have.
#[tokio::test]
async fn sandbox_instances_share_one_sandbox_so_either_settles_what_the_other_sent() {
    use recarga::sandbox::standalone::Sandbox;
    let sandbox = Sandbox::new(&recarga::config::SandboxSettings::default(), false);
    let sandbox_addr = recarga::sandbox::loopback::serve(sandbox.router(), "sandbox")
        .await
        .unwrap();
    let mut settings = test_settings().await;
    settings.sandbox.simulators_url = Some(format!("http://{sandbox_addr}"));
    // Only this test's sweep may enquire.
    settings.purchase.resolver_interval_secs = 3600;
    settings.purchase.resolver_min_age_secs = 3600;
    let sender = Application::build(settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let other = Application::build(settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    assert!(
        sender.sandbox && sender.simulators.latcom.is_none(),
        "sandbox mode, with no simulators of its own"
    );
    let base = format!("http://{}", sender.addr);
    tokio::spawn(sender.run_until_stopped(std::future::pending()));
    let c = common::create_customer(&settings, "SHARED", "100", |_| {}).await;
    let client = reqwest::Client::new();
    // Pending, then delivered 1 s later (a scenario number).
    let response = client
        .post(format!("{base}/api/enviadespensa/topup"))
        .header("x-api-key", &c.api_key)
        .header("x-customer-id", &c.id)
        .json(&serde_json::json!({"phone": "5512347721", "amount": 10, "reference": "SHARED-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-recarga-sandbox"], "true");
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status} {body}");
    let txn_status = || {
        sqlx::query_scalar::<_, String>("SELECT status FROM transactions WHERE customer_id = 'SHARED'")
            .fetch_one(&other.pool)
    };
    assert_eq!(txn_status().await.unwrap(), "PROCESSING", "{body}");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(resolver::sweep(&other.purchases, 0).await.unwrap(), 1);
    assert_eq!(
        txn_status().await.unwrap(),
        "SUCCESS",
        "delivered, settled by the other instance"
    );
    let asked = sandbox.enquired("latcom").unwrap();
    assert_eq!(asked.len(), 1, "one reference asked about: {asked:?}");
    assert_eq!((asked[0].enquiries, asked[0].overlapping), (1, 0));

    let control = |upstream: &str, body: serde_json::Value| {
        client
            .put(format!("http://{sandbox_addr}/_sandbox/{upstream}"))
            .json(&body)
            .send()
    };
    for (upstream, body, expected) in [
        ("nowhere", serde_json::json!({}), 404),
        (
            "latcom",
            serde_json::json!({"fault": {"kind": "unavailable_before_processing"}}),
            400,
        ),
        ("smartcall", serde_json::json!({"balance": 5}), 400),
        ("datamart", serde_json::json!({"latency": 5}), 400),
    ] {
        let response = control(upstream, body).await.unwrap();
        assert_eq!(response.status(), expected, "{upstream}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    }
    let response = control(
        "latcom",
        serde_json::json!({"fault": {"kind": "none"}, "latency_ms": 0}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 204);
}
