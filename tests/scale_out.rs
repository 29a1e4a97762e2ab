//! Several instances on one PostgreSQL: starting together, and reaching a managed
//! PostgreSQL that requires TLS.

mod common;

use common::{test_settings, unmigrated_database_url};
use recarga::domain::clock::{Clock, SystemClock};
use recarga::jobs::resolver;
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
    let quiet = |s: &mut recarga::config::Settings| {
        s.purchase.sync_deadline_secs = 1;
        s.purchase.resolver_interval_secs = 3600;
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
