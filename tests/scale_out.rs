//! Several instances on one PostgreSQL: starting together, and reaching a managed
//! PostgreSQL that requires TLS.

mod common;

use common::{test_settings, unmigrated_database_url};
use recarga::domain::clock::{Clock, SystemClock};
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
