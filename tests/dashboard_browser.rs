//! /dashboard in a real headless browser (Debian's chromium, driven over WebDriver by
//! chromedriver): a reseller logs in, sees the balance, filters the history and sees
//! the chart; ops log in, settle a REVIEW transaction, open the overview (upstreams,
//! rates, outcomes) and open a reseller whose keys are shown once. Screenshots of each
//! step go
//! to `<target>/screenshots/`, and their paths are printed. `.ci/run` installs
//! `chromium` and `chromium-driver`.

mod common;

use common::dashboard::{in_review, ops_user};
use common::{dec, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    _child: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; .ci/run installs it)");
        let url = format!("http://127.0.0.1:{port}");
        // Ready when it answers /status (it starts in well under a second).
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{url}/status")).send().await.is_ok() {
                return Self { _child: child, url };
            }
            tokio::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("chromedriver did not start");
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium",
                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,1400"]}),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn snap(c: &Client, name: &str) {
    let path = screenshot_dir().join(format!("dashboard-{name}.png"));
    std::fs::write(&path, c.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", path.display());
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// The element's text once it is on the page. An element found on the page a click is
/// leaving goes stale before its text is read: it is looked up again on the new page.
async fn text(c: &Client, css: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let element = c.wait().for_element(Locator::Css(css)).await.unwrap();
        match element.text().await {
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && std::time::Instant::now() < deadline => {}
            read => return read.unwrap(),
        }
    }
}

#[tokio::test]
async fn a_reseller_and_ops_use_the_dashboard_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let a = app.customer("WEB_A", "100").await;
    for (phone, reference) in [("5512345678", "WEB-1"), ("5587654321", "WEB-2")] {
        let (status, body) = app
            .topup(&a, json!({"phone": phone, "amount": 50, "reference": reference}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    in_review(&app, "WEB_A", "WEB_REVIEW").await;
    let (email, password) = ops_user(&app, "web@ops.example").await;
    let driver = Driver::start().await;

    // The reseller: balance, history filtered by phone, the chart.
    let c = driver.browser().await;
    c.goto(&format!("{}/dashboard/login", app.base)).await.unwrap();
    fill(&c, "#customer_id", &a.id).await;
    fill(&c, "#api_key", &a.api_key).await;
    click(&c, "#reseller-submit").await;
    assert_eq!(text(&c, "#available").await, "91.18", "100 - 2 × 2.94 - 2.94 held");
    assert_eq!(text(&c, "#held").await, "2.94");
    assert!(
        c.find(Locator::Css("#chart svg")).await.is_ok(),
        "the chart is an <svg>"
    );
    let rows = c.find_all(Locator::Css("#transactions tr.txn")).await.unwrap();
    assert_eq!(rows.len(), 3);
    snap(&c, "1-reseller-home").await;
    fill(&c, "#f-phone", "5587654321").await;
    click(&c, "#filter-submit").await;
    text(&c, "#transactions").await;
    let url = c.current_url().await.unwrap();
    assert!(url.query().is_some_and(|q| q.contains("phone=5587654321")), "{url}");
    let rows = c.find_all(Locator::Css("#transactions tr.txn")).await.unwrap();
    assert_eq!(rows.len(), 1, "the filter keeps one row");
    assert!(rows[0].text().await.unwrap().contains("WEB-2"));
    snap(&c, "2-reseller-filtered").await;
    c.close().await.unwrap();

    // Ops: the REVIEW queue, with its evidence, settled as failed (refunded).
    let c = driver.browser().await;
    c.goto(&format!("{}/dashboard/login", app.base)).await.unwrap();
    fill(&c, "#email", &email).await;
    fill(&c, "#password", &password).await;
    click(&c, "#ops-submit").await;
    c.wait().for_element(Locator::Css("#resellers")).await.unwrap();
    click(&c, "#nav-review").await;
    let item = text(&c, "#review-WEB_REVIEW").await;
    assert!(item.contains("latcom"), "the attempt is shown: {item}");
    snap(&c, "3-ops-review-queue").await;
    fill(&c, "#review-WEB_REVIEW .settle-note", "LATCOM confirmed: not delivered").await;
    click(&c, "#review-WEB_REVIEW .settle-failed").await;
    text(&c, "#review-empty").await;
    snap(&c, "4-ops-review-settled").await;
    c.goto(&format!("{}/dashboard/ops/audit", app.base)).await.unwrap();
    let audit = text(&c, "#audit").await;
    assert!(
        audit.contains("review_settled_failed") && audit.contains("web@ops.example"),
        "{audit}"
    );
    snap(&c, "5-ops-audit").await;

    // The overview: upstream health, floats, error rates, exchange rates, outcomes.
    click(&c, "#nav-overview").await;
    let upstreams = text(&c, "#upstreams").await;
    assert!(upstreams.contains("latcom") && upstreams.contains("up"), "{upstreams}");
    assert!(text(&c, "#fx-MXN").await.contains("17.0068"));
    assert_eq!(text(&c, "#delivered").await, "2");
    assert_eq!(text(&c, "#failed").await, "1", "the REVIEW settled as failed");
    assert!(c.find(Locator::Css("#chart svg")).await.is_ok());
    snap(&c, "6-ops-overview").await;

    // Ops open a reseller: its keys are shown on the answer, once.
    c.goto(&format!("{}/dashboard", app.base)).await.unwrap();
    fill(&c, "#new-id", "WEB_NEW").await;
    fill(&c, "#new-name", "Web Nueva").await;
    fill(&c, "#new-balance", "12.50").await;
    click(&c, "#create-submit").await;
    let api_key = text(&c, "#api-key").await;
    let opened = common::Creds {
        id: text(&c, "#key-customer").await,
        api_key: api_key.clone(),
        secret_key: text(&c, "#secret-key").await,
        reconcile_key: text(&c, "#reconcile-key").await,
    };
    snap(&c, "7-ops-new-reseller-keys").await;
    click(&c, "#to-account").await;
    assert_eq!(text(&c, "#available").await, "12.50");
    let account = c.source().await.unwrap();
    assert!(!account.contains(&api_key), "the keys are not shown again");
    assert_eq!(app.balance(&opened).await, dec("12.50"), "the keys work");
    c.close().await.unwrap();

    assert_eq!(app.balance(&a).await, dec("94.12"), "the REVIEW debit was refunded");
    app.assert_ledger_invariants().await;
}
