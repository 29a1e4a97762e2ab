//! Seed 002's own example clients (Python `requests`, Node `axios`, PHP streams), as the
//! seed writes them (tests/seed_clients/), pointed at the sandbox with a key and an
//! instance made by the CLI: each must report the message sent, and the message must
//! reach WhatsApp (the Evolution simulator).
//!
//! Interpreters: python3, node and php. Missing `requests` (pip) or `axios` (npm) is
//! installed here; php itself comes from the system (.ci/run installs php-cli).

mod common;

use common::TestApp;
use recarga::cli::{self, Command, InstanceCommand, KeyCommand, NotificationsCommand};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command as Process;

const SEED_BASE_URL: &str = "https://api.telenexustechnologies.com";

/// The sandbox, an account with a send_message key and a connected instance.
async fn sandbox(account: &str) -> (TestApp, String, String) {
    let app = TestApp::spawn_with(|s| s.notifications.poll_interval_ms = 50, None).await;
    app.customer(account, "0").await;
    let run = |command| cli::run_ops(app.settings.clone(), Command::Notifications(command));
    let key = run(NotificationsCommand::Key(KeyCommand::Create {
        account: account.into(),
        name: "WISPMAN Integration".into(),
        permissions: vec!["send_message".into()],
    }))
    .await
    .expect("key create");
    let instance = run(NotificationsCommand::Instance(InstanceCommand::Create {
        account: Some(account.into()),
        own: false,
        name: "billing".into(),
        evolution_instance: "billing".into(),
    }))
    .await
    .expect("instance create");
    let key = key["api_key"].as_str().unwrap().to_string();
    let instance = instance["instance_id"].as_str().unwrap().to_string();
    (app, key, instance)
}

/// The client file with only the seed's placeholders filled in, written to a fresh
/// directory.
fn client(file: &str, app: &TestApp, key: &str, instance: &str) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/seed_clients")
            .join(file),
    )
    .expect("the seed's client");
    assert!(text.contains(SEED_BASE_URL) && text.contains("your-instance-id") && text.contains("your-api-key"));
    let text = text
        .replace(SEED_BASE_URL, &app.base)
        .replace("your-instance-id", instance)
        .replace("your-api-key", key);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("seed-client-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// Run a client to completion: its exit status and stdout.
async fn run(mut command: Process) -> (bool, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), command.kill_on_drop(true).output())
        .await
        .expect("the client finishes within a minute")
        .expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("stdout: {stdout}\nstderr: {stderr}");
    (out.status.success(), stdout)
}

/// Installs a missing package with `install` when `check` fails.
fn ensure(check: &mut std::process::Command, install: &mut std::process::Command, what: &str) {
    if check.output().is_ok_and(|o| o.status.success()) {
        return;
    }
    let out = install.output().unwrap_or_else(|e| panic!("installing {what}: {e}"));
    assert!(
        out.status.success(),
        "installing {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The message the client asked for reached WhatsApp, as the seed's template.
async fn assert_sent(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let sent = loop {
        if let Some(m) = app.evolution.delivered().pop() {
            break m;
        }
        assert!(Instant::now() < deadline, "nothing reached the Evolution simulator");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sent.number, "254712345678");
    let due = sent
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Due Date: "))
        .expect("a due date");
    let due: chrono::NaiveDate = due.parse().expect("an ISO date");
    let in_a_week = chrono::Local::now().date_naive() + chrono::Days::new(7);
    assert!((due - in_a_week).num_days().abs() <= 1, "due {due}");
    assert!(
        sent.text.starts_with("Payment Due Reminder\n\nDear John Doe,\n\n"),
        "{}",
        sent.text
    );
    assert!(sent
        .text
        .contains("your payment of KES 1,500.00 is due.\n\nInvoice: #INV-2026-001\n"));
}

#[tokio::test]
async fn the_seeds_python_client_succeeds() {
    ensure(
        std::process::Command::new("python3").args(["-c", "import requests"]),
        std::process::Command::new("python3").args(["-m", "pip", "install", "--quiet", "requests"]),
        "requests",
    );
    let (app, key, instance) = sandbox("WISP_PY").await;
    let mut python = Process::new("python3");
    python.arg(client("client.py", &app, &key, &instance));
    let (ok, stdout) = run(python).await;
    assert!(ok, "{stdout}");
    assert!(stdout.contains("Message sent! Message ID: "), "{stdout}");
    assert_sent(&app).await;
}

#[tokio::test]
async fn the_seeds_node_client_succeeds() {
    let deps = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seed-client-node");
    std::fs::create_dir_all(&deps).unwrap();
    ensure(
        std::process::Command::new("node")
            .args(["-e", "require('axios')"])
            .env("NODE_PATH", deps.join("node_modules")),
        std::process::Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
            ])
            .arg(&deps)
            .arg("axios"),
        "axios",
    );
    let (app, key, instance) = sandbox("WISP_JS").await;
    let mut node = Process::new("node");
    node.arg(client("client.js", &app, &key, &instance))
        .env("NODE_PATH", deps.join("node_modules"));
    let (ok, stdout) = run(node).await;
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("Message sent!") && stdout.contains("message_id"),
        "{stdout}"
    );
    assert_sent(&app).await;
}

#[tokio::test]
async fn the_seeds_php_client_succeeds() {
    let php = std::process::Command::new("php").arg("--version").output();
    assert!(
        php.is_ok_and(|o| o.status.success()),
        "php is not installed: apt-get install php-cli (.ci/run does)"
    );
    let (app, key, instance) = sandbox("WISP_PHP").await;
    let mut php = Process::new("php");
    php.arg(client("client.php", &app, &key, &instance));
    let (ok, stdout) = run(php).await;
    assert!(ok, "{stdout}");
    // The client catches its own failure and prints "Error: …"; only this line is success.
    assert!(stdout.contains("Message sent! ID: "), "{stdout}");
    assert_sent(&app).await;
}
