//! WhatsApp billing notifications (seed 002) end to end: the real router and sender, a
//! fresh database, the Evolution simulator over HTTP; keys and instances made with the
//! CLI's own code.

mod common;

use common::{recarga, send, TestApp};
use recarga::cli::{self, Command, CustomerCommand, InstanceCommand, KeyCommand, NotificationsCommand};
use recarga::sandbox::evolution::Delivered;
use recarga::service::notifications::ResellerNotice;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SEND: &str = "/api/v1/billing/send-notification";

async fn app() -> TestApp {
    TestApp::spawn_with(
        |s| {
            s.notifications.retry_base_ms = 50;
            s.notifications.poll_interval_ms = 50;
        },
        None,
    )
    .await
}

async fn ops(app: &TestApp, command: Command) -> Value {
    cli::run_ops(app.settings.clone(), command).await.expect("CLI command")
}

async fn key(app: &TestApp, account: &str, permissions: &[&str]) -> String {
    let out = ops(
        app,
        Command::Notifications(NotificationsCommand::Key(KeyCommand::Create {
            account: account.into(),
            name: "WISPMAN Integration".into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        })),
    )
    .await;
    out["api_key"].as_str().unwrap().to_string()
}

async fn instance(app: &TestApp, account: Option<&str>, evolution: &str) -> String {
    let out = ops(
        app,
        Command::Notifications(NotificationsCommand::Instance(InstanceCommand::Create {
            account: account.map(str::to_owned),
            own: account.is_none(),
            name: "billing".into(),
            evolution_instance: evolution.into(),
        })),
    )
    .await;
    out["instance_id"].as_str().unwrap().to_string()
}

/// A reseller (account) with a send_message key and a connected instance.
async fn account(app: &TestApp, id: &str) -> (String, String) {
    app.customer(id, "0").await;
    let key = key(app, id, &["send_message"]).await;
    let instance = instance(app, Some(id), &format!("{id}-billing")).await;
    (key, instance)
}

async fn notify(app: &TestApp, key: &str, instance: &str, body: Value) -> (u16, Value) {
    send(
        app.client
            .post(app.url(&format!("{SEND}?instance_id={instance}")))
            .bearer_auth(key)
            .json(&body),
    )
    .await
}

async fn log(app: &TestApp, key: &str, instance: &str) -> (u16, Value) {
    send(
        app.client
            .get(app.url(&format!("/api/v1/instances/{instance}/messages")))
            .bearer_auth(key),
    )
    .await
}

/// The seed's cURL body (Step 4).
fn seed_body() -> Value {
    json!({
        "phone_number": "254712345678",
        "customer_name": "Test Customer",
        "amount": 100.00,
        "currency": "KES",
        "invoice_id": "TEST-001",
        "message_type": "payment_reminder"
    })
}

/// Wait until the simulator has taken `n` messages.
async fn delivered(app: &TestApp, n: usize) -> Vec<Delivered> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = app.evolution.delivered();
        if d.len() >= n {
            return d;
        }
        assert!(Instant::now() < deadline, "only {} of {n} messages sent", d.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until the message log shows the message with `status`.
async fn logged(app: &TestApp, key: &str, instance: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = log(app, key, instance).await;
        assert_eq!(code, 200, "{body}");
        let entry = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned();
        if let Some(entry) = entry.filter(|m| m["status"] == status) {
            return entry;
        }
        assert!(Instant::now() < deadline, "message {id} never {status}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stored_messages(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notification_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seeds_curl_example_is_sent_and_logged() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_001").await;
    let (status, body) = notify(&app, &key, &instance, seed_body()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["invoice_id"], "TEST-001");
    let id = body["message_id"].as_str().unwrap();
    uuid::Uuid::parse_str(id).expect("message_id is a uuid");

    let sent = delivered(&app, 1).await;
    assert_eq!(sent[0].instance, "WISP_001-billing");
    assert_eq!(sent[0].number, "254712345678");
    assert_eq!(
        sent[0].text,
        "Payment Due Reminder\n\nDear Test Customer,\n\nThis is a reminder that your payment of KES 100.00 is due.\n\n\
         Invoice: #TEST-001\n\nPlease ignore if already paid."
    );
    let entry = logged(&app, &key, &instance, id, "sent").await;
    assert_eq!(entry["direction"], "outgoing");
    assert_eq!(entry["invoice_id"], "TEST-001");
    assert_eq!(entry["message_type"], "payment_reminder");
    assert_eq!(entry["attempts"], 1);
    assert!(entry["sent_at"].is_string());

    // The API reference's example, with a due date: the seed's template word for word.
    let mut reference = seed_body();
    reference["customer_name"] = json!("John Doe");
    reference["amount"] = json!(1500.00);
    reference["invoice_id"] = json!("INV-001");
    reference["due_date"] = json!("2026-02-15");
    let (status, body) = notify(&app, &key, &instance, reference).await;
    assert_eq!(status, 200, "{body}");
    let sent = delivered(&app, 2).await;
    assert_eq!(
        sent[1].text,
        "Payment Due Reminder\n\nDear John Doe,\n\nThis is a reminder that your payment of KES 1,500.00 is due.\n\n\
         Invoice: #INV-001\nDue Date: 2026-02-15\n\nPlease ignore if already paid."
    );
    let (_, filtered) = send(
        app.client
            .get(app.url(&format!("/api/v1/instances/{instance}/messages?status=failed")))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(filtered["messages"], json!([]), "{filtered}");
}

#[tokio::test]
async fn every_error_is_a_detail_with_the_seeds_status() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_002").await;
    let url = |q: &str| app.url(&format!("{SEND}{q}"));
    let expect = |status: u16, body: &Value, want: u16, detail: &str| {
        assert_eq!(status, want, "{body}");
        let text = body["detail"].as_str().unwrap_or_else(|| panic!("no detail: {body}"));
        assert!(text.contains(detail), "{text} lacks {detail}");
    };

    // 401: no key, another scheme, a wrong key, a revoked key.
    let q = format!("?instance_id={instance}");
    let (s, b) = send(app.client.post(url(&q)).json(&seed_body())).await;
    expect(s, &b, 401, "Invalid or missing API key");
    let (s, b) = send(
        app.client
            .post(url(&q))
            .header("Authorization", format!("Basic {key}"))
            .json(&seed_body()),
    )
    .await;
    expect(s, &b, 401, "API key");
    let (s, b) = notify(&app, "tnx_0000", &instance, seed_body()).await;
    expect(s, &b, 401, "API key");
    let revoked = key_with_id(&app, "WISP_002").await;
    ops(
        &app,
        Command::Notifications(NotificationsCommand::Key(KeyCommand::Revoke {
            account: "WISP_002".into(),
            key_id: revoked.1,
        })),
    )
    .await;
    let (s, b) = notify(&app, &revoked.0, &instance, seed_body()).await;
    expect(s, &b, 401, "API key");

    // 400: no instance_id, missing fields, bad data, not JSON.
    let (s, b) = send(app.client.post(url("")).bearer_auth(&key).json(&seed_body())).await;
    expect(s, &b, 400, "instance_id");
    let (s, b) = notify(&app, &key, &instance, json!({"phone_number": "254712345678"})).await;
    expect(s, &b, 400, "customer_name is required");
    let mut bad = seed_body();
    bad["phone_number"] = json!("+254 (712) abc");
    bad["message_type"] = json!("spam");
    let (s, b) = notify(&app, &key, &instance, bad).await;
    expect(s, &b, 400, "phone_number must be digits");
    assert!(
        b["detail"].as_str().unwrap().contains("message_type must be one of"),
        "{b}"
    );
    let (s, b) = send(app.client.post(url(&q)).bearer_auth(&key).body("{not json")).await;
    expect(s, &b, 400, "invalid JSON");

    // 404: no such instance, not an id at all.
    let (s, b) = notify(&app, &key, &uuid::Uuid::new_v4().to_string(), seed_body()).await;
    expect(s, &b, 404, "Instance not found");
    let (s, b) = notify(&app, &key, "abc-123-def", seed_body()).await;
    expect(s, &b, 404, "Instance not found");

    // 400 "Instance is not connected": closed in Evolution, or gone from it.
    app.evolution.set_state("WISP_002-billing", "close");
    let (s, b) = notify(&app, &key, &instance, seed_body()).await;
    expect(s, &b, 400, "Instance is not connected");
    app.evolution.remove_instance("WISP_002-billing");
    let (s, b) = notify(&app, &key, &instance, seed_body()).await;
    expect(s, &b, 400, "Instance is not connected");
    app.evolution.set_state("WISP_002-billing", "open");

    // 500: Evolution itself fails.
    app.evolution.set_down(true);
    let (s, b) = notify(&app, &key, &instance, seed_body()).await;
    expect(s, &b, 500, "Evolution API error");
    app.evolution.set_down(false);

    assert_eq!(stored_messages(&app).await, 0, "no error stores a message");
    assert!(app.evolution.delivered().is_empty());
}

async fn key_with_id(app: &TestApp, account: &str) -> (String, uuid::Uuid) {
    let out = ops(
        app,
        Command::Notifications(NotificationsCommand::Key(KeyCommand::Create {
            account: account.into(),
            name: "to revoke".into(),
            permissions: vec!["send_message".into()],
        })),
    )
    .await;
    (
        out["api_key"].as_str().unwrap().into(),
        out["key_id"].as_str().unwrap().parse().unwrap(),
    )
}

#[tokio::test]
async fn a_key_without_send_message_gets_403() {
    let app = app().await;
    let (_, instance) = account(&app, "WISP_003").await;
    let reader = key(&app, "WISP_003", &["receive_message"]).await;
    let (status, body) = notify(&app, &reader, &instance, seed_body()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["detail"], "API key lacks the send_message permission");
    // It may still read its account's log.
    let (status, body) = log(&app, &reader, &instance).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_messages(&app).await, 0);
}

#[tokio::test]
async fn another_accounts_instance_is_not_found() {
    let app = app().await;
    let (key_a, instance_a) = account(&app, "WISP_A").await;
    let (key_b, _) = account(&app, "WISP_B").await;
    let (status, body) = notify(&app, &key_a, &instance_a, seed_body()).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = notify(&app, &key_b, &instance_a, seed_body()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["detail"], "Instance not found");
    let (status, body) = log(&app, &key_b, &instance_a).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = log(&app, &key_a, &instance_a).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(stored_messages(&app).await, 1);
}

#[tokio::test]
async fn a_message_is_retried_after_an_evolution_500_and_sent_once() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_004").await;
    app.evolution.fail_next_sends(2);
    let (status, body) = notify(&app, &key, &instance, seed_body()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["message_id"].as_str().unwrap();
    let entry = logged(&app, &key, &instance, id, "sent").await;
    assert_eq!(entry["attempts"], 3, "{entry}");
    assert_eq!(app.evolution.send_requests(), 3);
    assert_eq!(delivered(&app, 1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.evolution.delivered().len(), 1, "sent exactly once");
    assert_eq!(app.evolution.send_requests(), 3, "nothing more after it was sent");
}

#[tokio::test]
async fn the_same_invoice_and_type_is_sent_once_even_when_raced() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_005").await;
    let requests = (0..8).map(|_| notify(&app, &key, &instance, seed_body()));
    let answers = futures::future::join_all(requests).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["message_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate answers the first message: {ids:?}");
    delivered(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.evolution.delivered().len(), 1);
    assert_eq!(stored_messages(&app).await, 1);

    // Another type for the same invoice is another message.
    let mut overdue = seed_body();
    overdue["message_type"] = json!("overdue");
    let (status, body) = notify(&app, &key, &instance, overdue).await;
    assert_eq!(status, 200, "{body}");
    assert!(!ids.contains(body["message_id"].as_str().unwrap()));
    assert!(delivered(&app, 2).await[1].text.starts_with("Payment Overdue Notice"));
}

#[tokio::test]
async fn outside_the_window_the_same_invoice_is_sent_again() {
    let app = TestApp::spawn_with(|s| s.notifications.dedup_window_secs = 0, None).await;
    let (key, instance) = account(&app, "WISP_006").await;
    let (_, first) = notify(&app, &key, &instance, seed_body()).await;
    let (_, second) = notify(&app, &key, &instance, seed_body()).await;
    assert_ne!(first["message_id"], second["message_id"]);
    assert_eq!(delivered(&app, 2).await.len(), 2);
}

#[tokio::test]
async fn a_number_not_on_whatsapp_fails_at_once_and_may_be_sent_again() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_007").await;
    let mut body = seed_body();
    body["phone_number"] = json!("254700000404");
    let (status, answer) = notify(&app, &key, &instance, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["message_id"].as_str().unwrap();
    let entry = logged(&app, &key, &instance, id, "failed").await;
    assert_eq!(entry["attempts"], 1, "a definite refusal is not retried");
    assert!(entry["error"].as_str().unwrap().contains("not on WhatsApp"), "{entry}");
    // A failed message does not hold the invoice back.
    let (_, again) = notify(&app, &key, &instance, body).await;
    assert_ne!(again["message_id"], answer["message_id"]);
}

#[tokio::test]
async fn mexican_mobiles_are_sent_without_the_old_1() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_008").await;
    let mut body = seed_body();
    body["phone_number"] = json!("+52 1 55 1234 5678");
    body["currency"] = json!("MXN");
    let (status, answer) = notify(&app, &key, &instance, body).await;
    assert_eq!(status, 200, "{answer}");
    let sent = delivered(&app, 1).await;
    assert_eq!(sent[0].number, "525512345678");
    assert!(sent[0].text.contains("MXN 100.00"));
}

#[tokio::test]
async fn resellers_get_their_three_notices_on_whatsapp() {
    let app = app().await;
    let reseller = app.customer("RESELLER_1", "50").await;
    instance(&app, None, "recarga").await;
    let out = ops(
        &app,
        Command::Customer(CustomerCommand::Whatsapp {
            id: reseller.id.clone(),
            number: Some("+52 1 55 9876 5432".into()),
            clear: false,
        }),
    )
    .await;
    assert_eq!(out["whatsapp_contact"], "525598765432");

    let n = &app.notifications;
    let low = ResellerNotice::LowBalance {
        balance_usd: dec!(4.5),
        threshold_usd: dec!(10),
    };
    assert!(n.notify_reseller(&reseller.id, low.clone()).await.unwrap().is_some());
    let invoice = ResellerNotice::Invoice {
        number: "INV-2026-10".into(),
        period_start: "2026-10-01".parse().unwrap(),
        period_end: "2026-10-31".parse().unwrap(),
        total_usd: dec!(1234.5),
        due_date: Some("2026-11-15".parse().unwrap()),
    };
    assert!(n.notify_reseller(&reseller.id, invoice).await.unwrap().is_some());
    let credit = ops(
        &app,
        Command::Customer(CustomerCommand::Credit {
            id: reseller.id.clone(),
            usd: dec!(100.25),
            note: Some("wire".into()),
        }),
    )
    .await;
    assert_eq!(credit["whatsapp_confirmation"]["queued"], true, "{credit}");

    let sent = delivered(&app, 3).await;
    assert!(sent
        .iter()
        .all(|m| m.instance == "recarga" && m.number == "525598765432"));
    let text = |head: &str| {
        sent.iter()
            .find(|m| m.text.starts_with(head))
            .unwrap_or_else(|| panic!("no {head}: {sent:?}"))
            .text
            .clone()
    };
    assert_eq!(
        text("Low Balance Alert"),
        "Low Balance Alert\n\nDear RESELLER_1 Telecom,\n\nYour balance is now USD 4.50, below your alert level of USD 10.00.\n\n\
         Please top up to keep selling without interruption."
    );
    assert_eq!(
        text("New Invoice Generated"),
        "New Invoice Generated\n\nDear RESELLER_1 Telecom,\n\nA new invoice has been generated for your account.\n\n\
         Amount: USD 1,234.50\nInvoice: #INV-2026-10\nPeriod: 2026-10-01 to 2026-10-31\nDue Date: 2026-11-15"
    );
    let confirmation = text("Payment Received");
    assert!(
        confirmation.contains("Amount: USD 100.25\nInvoice: #CREDIT-"),
        "{confirmation}"
    );
    assert!(confirmation.contains("Balance: USD 150.25"), "{confirmation}");

    // A second low-balance notice the same day is not sent again.
    n.notify_reseller(&reseller.id, low).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.evolution.delivered().len(), 3);

    // A credit through the admin API is confirmed the same way.
    let ops_token = app.ops_token("ops-gina").await;
    let (status, body) = common::send(
        app.client
            .post(app.url(&format!("/api/admin/customers/{}/credit", reseller.id)))
            .bearer_auth(&ops_token)
            .json(&serde_json::json!({"usd": 5, "note": "wire 9"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sent = delivered(&app, 4).await;
    let confirmation = &sent.last().unwrap().text;
    assert!(confirmation.contains("Amount: USD 5.00"), "{confirmation}");
    assert!(confirmation.contains("Balance: USD 155.25"), "{confirmation}");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn resellers_without_a_contact_get_nothing() {
    let app = app().await;
    let reseller = app.customer("RESELLER_2", "0").await;
    instance(&app, None, "recarga").await;
    let notice = ResellerNotice::LowBalance {
        balance_usd: dec!(1),
        threshold_usd: dec!(10),
    };
    assert_eq!(
        app.notifications.notify_reseller(&reseller.id, notice).await.unwrap(),
        None
    );
    let credit = ops(
        &app,
        Command::Customer(CustomerCommand::Credit {
            id: reseller.id.clone(),
            usd: dec!(5),
            note: None,
        }),
    )
    .await;
    assert_eq!(credit["balance_usd"], 5);
    assert_eq!(credit["whatsapp_confirmation"]["queued"], false);
    assert_eq!(stored_messages(&app).await, 0);
}

/// recarga's own notices are de-duplicated per reseller: two resellers low the same
/// day (the same LOW-BALANCE-<day> reference) are both told, each once.
#[tokio::test]
async fn two_resellers_low_the_same_day_are_both_told() {
    let app = app().await;
    instance(&app, None, "recarga").await;
    let mut ids = Vec::new();
    for (id, number) in [("RESELLER_A", "254700000001"), ("RESELLER_B", "254700000002")] {
        app.customer(id, "1").await;
        ops(
            &app,
            Command::Customer(CustomerCommand::Whatsapp {
                id: id.into(),
                number: Some(number.into()),
                clear: false,
            }),
        )
        .await;
        let low = ResellerNotice::LowBalance {
            balance_usd: dec!(1),
            threshold_usd: dec!(10),
        };
        for _ in 0..2 {
            ids.push(
                app.notifications
                    .notify_reseller(id, low.clone())
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    assert_eq!(ids[0], ids[1], "a repeat answers the first");
    assert_eq!(ids[2], ids[3], "a repeat answers the first");
    assert_ne!(ids[0], ids[2], "another reseller's notice is its own");
    let mut numbers: Vec<String> = delivered(&app, 2).await.into_iter().map(|m| m.number).collect();
    numbers.sort();
    assert_eq!(numbers, ["254700000001", "254700000002"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.evolution.delivered().len(), 2);
}

#[tokio::test]
async fn keys_and_instances_are_managed_with_the_cli() {
    let db = common::fresh_database_url().await;
    assert!(recarga(&db, &["customer", "create", "--id", "WISP_CLI", "--name", "Wisp"]).0);
    let (ok, created, err) = recarga(
        &db,
        &[
            "notifications",
            "key",
            "create",
            "--account",
            "WISP_CLI",
            "--name",
            "WISPMAN Integration",
            "--permissions",
            "send_message,receive_message",
        ],
    );
    assert!(ok, "{err}");
    let api_key = created["api_key"].as_str().unwrap();
    assert!(api_key.starts_with("tnx_") && api_key.len() == 68, "{api_key}");
    assert_eq!(created["permissions"], json!(["send_message", "receive_message"]));
    assert_eq!(created["name"], "WISPMAN Integration");

    let (ok, listed, err) = recarga(&db, &["notifications", "key", "list", "--account", "WISP_CLI"]);
    assert!(ok, "{err}");
    assert_eq!(listed["keys"][0]["key_id"], created["key_id"]);
    assert!(
        !listed.to_string().contains(&api_key[4..]),
        "the key is shown once only"
    );
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM notification_api_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32, "stored as SHA-256 only");

    let (ok, instance, err) = recarga(
        &db,
        &[
            "notifications",
            "instance",
            "create",
            "--account",
            "WISP_CLI",
            "--name",
            "billing",
            "--evolution-instance",
            "wisp-billing",
        ],
    );
    assert!(ok, "{err}");
    let id = instance["instance_id"].as_str().unwrap();
    assert_eq!(instance["account_id"], "WISP_CLI");
    assert_eq!(
        instance["api_endpoint"],
        format!("/api/v1/billing/send-notification?instance_id={id}")
    );
    let own = [
        "notifications",
        "instance",
        "create",
        "--own",
        "--name",
        "recarga",
        "--evolution-instance",
        "recarga",
    ];
    let (ok, mine, err) = recarga(&db, &own);
    assert!(ok && mine["account_id"].is_null(), "{err}");
    let (ok, _, err) = recarga(&db, &own);
    assert!(!ok && err.contains("exists already"), "one own instance: {err}");

    let (ok, contact, err) = recarga(
        &db,
        &[
            "customer",
            "whatsapp",
            "--id",
            "WISP_CLI",
            "--number",
            "+254 712 345 678",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(contact["whatsapp_contact"], "254712345678");
    let (ok, cleared, err) = recarga(&db, &["customer", "whatsapp", "--id", "WISP_CLI", "--clear"]);
    assert!(ok && cleared["whatsapp_contact"].is_null(), "{err}");

    let key_id = created["key_id"].as_str().unwrap();
    let (ok, revoked, err) = recarga(
        &db,
        &[
            "notifications",
            "key",
            "revoke",
            "--account",
            "WISP_CLI",
            "--key-id",
            key_id,
        ],
    );
    assert!(ok && revoked["active"] == false, "{err}");

    // Refusals: an unknown permission or account, another account's key, a bad number.
    let create = |account: &str, permissions: &str| {
        recarga(
            &db,
            &[
                "notifications",
                "key",
                "create",
                "--account",
                account,
                "--name",
                "x",
                "--permissions",
                permissions,
            ],
        )
    };
    assert!(!create("WISP_CLI", "send_message,admin").0);
    assert!(!create("NOBODY", "send_message").0);
    let (ok, _, err) = recarga(
        &db,
        &[
            "notifications",
            "instance",
            "create",
            "--account",
            "NOBODY",
            "--name",
            "billing",
            "--evolution-instance",
            "nobody-billing",
        ],
    );
    assert!(
        !ok && err.contains("customer not found"),
        "no instance for an unknown account: {err}"
    );
    assert!(
        !recarga(
            &db,
            &[
                "notifications",
                "key",
                "revoke",
                "--account",
                "OTHER",
                "--key-id",
                key_id
            ]
        )
        .0
    );
    assert!(!recarga(&db, &["customer", "whatsapp", "--id", "WISP_CLI", "--number", "0712"]).0);
    assert!(
        !recarga(
            &db,
            &["customer", "whatsapp", "--id", "NOBODY", "--number", "254712345678"]
        )
        .0
    );
}

#[tokio::test]
async fn the_endpoints_are_described_in_openapi_each_with_its_own_operation_id() {
    let app = app().await;
    let (status, spec) = send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(status, 200);
    let send_op = &spec["paths"][SEND]["post"];
    for code in ["200", "400", "401", "403", "404", "500"] {
        assert!(send_op["responses"][code].is_object(), "send-notification {code}");
    }
    assert!(spec["paths"]["/api/v1/instances/{id}/messages"]["get"].is_object());
    assert!(spec["components"]["schemas"]["SendNotificationBody"].is_object());
    let mut ids = Vec::new();
    for path in spec["paths"].as_object().unwrap().values() {
        for op in path.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    for ours in ["notifications_send_billing_notification", "notifications_message_log"] {
        assert_eq!(ids.iter().filter(|id| *id == ours).count(), 1, "{ours} in {ids:?}");
    }
}

/// A sender that dies holding a message: its claim runs out, another sender takes the
/// message, and the dead one's late answer can no longer settle it.
#[tokio::test]
async fn a_claim_that_runs_out_is_taken_again_and_only_the_latest_settles() {
    use recarga::store::notifications::{instances, messages};
    let db = common::fresh_database_url().await;
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let reseller = "RESELLER_9";
    assert!(recarga(&db, &["customer", "create", "--id", reseller, "--name", "Nine"]).0);
    let instance = instances::create(&pool, None, "recarga", "recarga").await.unwrap();
    let new = || messages::NewMessage {
        customer_id: reseller,
        instance_id: instance.id,
        phone_number: "254712345678",
        customer_name: "John Doe",
        message_type: "invoice",
        invoice_id: "INV-9",
        amount: dec!(10),
        currency: "USD",
        due_date: None,
        body: "text",
        request_id: Some("req-1"),
    };
    let messages::Stored::Queued(id) = messages::enqueue(&pool, new(), 3600).await.unwrap() else {
        panic!("a new message is queued");
    };
    assert_eq!(
        messages::enqueue(&pool, new(), 3600).await.unwrap(),
        messages::Stored::Duplicate(id)
    );

    let first = messages::claim_due(&pool, 10, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(messages::claim_due(&pool, 10, 1).await.unwrap().is_empty(), "claimed");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = messages::claim_due(&pool, 10, 60).await.unwrap();
    assert_eq!((second[0].id, second[0].attempts), (id, 2), "taken again");
    assert_eq!(second[0].customer_id, reseller);

    assert!(
        !messages::mark_sent(&pool, reseller, id, 1, "late", false)
            .await
            .unwrap(),
        "the dead claim settles nothing"
    );
    assert!(messages::mark_sent(&pool, reseller, id, 2, "3EB0", false)
        .await
        .unwrap());
    assert!(
        !messages::mark_failed(&pool, reseller, id, 2, "after").await.unwrap(),
        "settled once"
    );
    let (status, whatsapp_id): (String, String) =
        sqlx::query_as("SELECT status, evolution_message_id FROM notification_messages WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), whatsapp_id.as_str()), ("sent", "3EB0"));
}

#[tokio::test]
async fn an_instance_shows_its_connection_as_evolution_reports_it() {
    let app = app().await;
    let (key, instance) = account(&app, "WISP_009").await;
    let (other_key, _) = account(&app, "WISP_010").await;
    let get = |key: &str| {
        let request = app
            .client
            .get(app.url(&format!("/api/v1/instances/{instance}")))
            .bearer_auth(key);
        send(request)
    };
    let (status, body) = get(&key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["connection_state"], "open",
        "a new instance is connected in the sandbox"
    );
    assert_eq!(body["connected"], true);
    assert_eq!(body["evolution_instance"], "WISP_009-billing");

    app.evolution.set_state("WISP_009-billing", "connecting");
    let (_, body) = get(&key).await;
    assert_eq!(
        (body["connection_state"].as_str(), body["connected"].as_bool()),
        (Some("connecting"), Some(false))
    );
    app.evolution.remove_instance("WISP_009-billing");
    assert_eq!(get(&key).await.1["connection_state"], "not_found");
    app.evolution.set_down(true);
    assert_eq!(get(&key).await.1["connection_state"], "unknown");
    app.evolution.set_down(false);

    let (status, body) = get(&other_key).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = send(app.client.get(app.url(&format!("/api/v1/instances/{instance}")))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_instance_may_have_its_own_templates() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("templates-{}", uuid::Uuid::new_v4()));
    let templates = dir.clone();
    let app = TestApp::spawn_with(move |s| s.notifications.templates_dir = templates, None).await;
    let (key, instance) = account(&app, "WISP_011").await;
    let (other_key, other) = account(&app, "WISP_012").await;
    let own = dir.join("instances").join(&instance);
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(
        own.join("payment_reminder.txt"),
        "Hola {customer_name}: {amount}, factura {invoice_id}\nVence: {due_date}\n",
    )
    .unwrap();
    assert_eq!(notify(&app, &key, &instance, seed_body()).await.0, 200);
    assert_eq!(notify(&app, &other_key, &other, seed_body()).await.0, 200);
    let sent = delivered(&app, 2).await;
    let text = |instance: &str| sent.iter().find(|m| m.instance == instance).unwrap().text.clone();
    assert_eq!(
        text("WISP_011-billing"),
        "Hola Test Customer: KES 100.00, factura TEST-001"
    );
    assert!(
        text("WISP_012-billing").starts_with("Payment Due Reminder"),
        "others keep the default"
    );
}

/// The wiring to money out: a balance that falls below the reseller's alert level
/// (its `balance.low` event) and an issued invoice reach the reseller's WhatsApp.
#[tokio::test]
async fn a_low_balance_event_and_an_issued_invoice_reach_the_resellers_whatsapp() {
    let app = app().await;
    let reseller = app.customer("RESELLER_LOW", "50").await;
    instance(&app, None, "recarga").await;
    ops(
        &app,
        Command::Customer(CustomerCommand::Whatsapp {
            id: reseller.id.clone(),
            number: Some("+27 82 555 0101".into()),
            clear: false,
        }),
    )
    .await;
    ops(
        &app,
        Command::Webhook(recarga::cli::WebhookCommand::Set {
            id: reseller.id.clone(),
            url: None,
            low_balance_usd: Some(dec!(48)),
        }),
    )
    .await;
    // 50 MXN costs 2.94: the balance falls from 50 to 47.06, under 48.
    let (status, body) = app.topup(&reseller, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 200, "{body}");
    let sent = delivered(&app, 1).await;
    let alert = sent.iter().find(|m| m.text.starts_with("Low Balance Alert")).unwrap();
    assert_eq!(alert.number, "27825550101");
    assert!(
        alert.text.contains("USD 47.06") && alert.text.contains("USD 48.00"),
        "{}",
        alert.text
    );

    // The invoice of the month just billed: the CLI's run announces it too.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let out = ops(&app, Command::Invoices(recarga::cli::InvoicesCommand::Issue { month })).await;
    assert_eq!(out["issued"].as_array().map(Vec::len), Some(1), "{out}");
    let sent = delivered(&app, 2).await;
    assert!(
        sent.iter()
            .any(|m| m.text.starts_with("New Invoice Generated") && m.text.contains("USD 2.94")),
        "{sent:?}"
    );
}
