//! Once a purchase's debit has committed, no answer may say it failed unless its refund
//! has committed too, and the purchase is carried out whatever the client does: faults
//! at the database and clients that hang up, with a real Postgres behind a TCP proxy.

mod common;

use common::db_proxy::DbProxy;
use common::{assert_ledger_invariants, server_url, Creds, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The app's database reached through `proxy`; the test's own pool goes direct.
async fn app_behind(proxy_for: impl FnOnce(&str) -> String, sync_deadline_secs: u64) -> (TestApp, PgPool) {
    let mut direct = String::new();
    let app = TestApp::spawn_with(
        |s| {
            direct = s.database_url.clone();
            s.database_url = proxy_for(&s.database_url);
            s.database.acquire_timeout_secs = 1;
            s.purchase.sync_deadline_secs = sync_deadline_secs;
            // A delivery whose settlement the cut lost left no LATCOM transId behind:
            // the resolver settles it by our reference (an account setting).
        },
        None,
    )
    .await;
    let pool = PgPool::connect(&direct).await.expect("direct connection");
    (app, pool)
}

/// Wait until no purchase is open (the resolver settles what the faults left).
async fn settle(pool: &PgPool, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM transactions WHERE status IN ('PENDING', 'PROCESSING')")
                .fetch_one(pool)
                .await
                .unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{open} purchases still open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every transaction by reference: (id, status).
async fn by_reference(pool: &PgPool, customer: &str) -> HashMap<String, (String, String)> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT reference, id, status FROM transactions WHERE customer_id = $1 AND reference IS NOT NULL",
    )
    .bind(customer)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(r, id, s)| (r, (id, s))).collect()
}

#[tokio::test]
async fn a_database_cut_never_answers_failure_for_a_purchase_whose_money_moved() {
    let proxy = DbProxy::start(&server_url()).await;
    // The cut outlasts the 2 s deadline: requests in flight cannot wait it out.
    let (app, pool) = app_behind(|url| proxy.url(url), 2).await;
    app.latcom.set_latency(Duration::from_millis(150));
    let c = app.customer("CUT", "10000").await;

    // 16 clients send sync top-ups for 7 s; the database is cut from 1 s to 4.5 s.
    let stop = Instant::now() + Duration::from_secs(7);
    let clients = (0..16).map(|n| {
        let (client, base, c) = (app.client.clone(), app.base.clone(), c.clone());
        tokio::spawn(async move { stream(client, base, c, n, stop).await })
    });
    let clients: Vec<_> = clients.collect();
    let cut = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            proxy.cut();
            tokio::time::sleep(Duration::from_millis(3500)).await;
            proxy.restore();
        })
    };
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    cut.await.unwrap();
    // LATCOM is not asked by our reference here (the default), so a verdict the cut kept
    // from the database is settled by the purchase's own task once the database is back.
    settle(&pool, 30).await;

    let txns = by_reference(&pool, &c.id).await;
    let mut counts: HashMap<u16, usize> = HashMap::new();
    let mut failure_with_money_moved = Vec::new();
    for (reference, status, body) in &answers {
        *counts.entry(*status).or_default() += 1;
        let recorded = txns.get(reference);
        match status {
            200 => assert_eq!(recorded.map(|t| t.1.as_str()), Some("SUCCESS"), "{body}"),
            202 => {
                let (id, _) = recorded.unwrap_or_else(|| panic!("202 without a transaction: {body}"));
                assert_eq!(body["transaction"]["id"], json!(id), "{body}");
            }
            // The debit's answer was lost and the database could not be asked in time: the
            // answer says neither way, and names the purchase it may have made.
            503 if body["error"] == json!("Outcome unknown") => {
                if let Some((id, _)) = recorded {
                    assert_eq!(body["transaction_id"], json!(id), "{body}");
                }
            }
            // A failure is only said once nothing stays debited.
            _ => {
                if recorded.is_some_and(|t| t.1 != "FAILED") {
                    failure_with_money_moved.push((status, body.clone(), recorded.cloned()));
                }
            }
        }
    }
    let deliveries: u64 = txns.values().map(|(id, _)| app.latcom.calls_for(id)).sum();
    println!(
        "database cut 3.5 s under 16 clients: {} requests; by status {:?}; failures answered after money moved: {}; \
         transactions {}; upstream deliveries {}",
        answers.len(),
        counts,
        failure_with_money_moved.len(),
        txns.len(),
        deliveries
    );
    assert!(failure_with_money_moved.is_empty(), "{failure_with_money_moved:?}");
    assert!(
        counts.get(&503).copied().unwrap_or(0) > 0,
        "the cut was felt: {counts:?}"
    );
    assert!(counts.get(&200).copied().unwrap_or(0) > 0, "{counts:?}");
    for (id, status) in txns.values() {
        let reason: Option<String> = sqlx::query_scalar("SELECT failure_reason FROM transactions WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        // Delivered exactly once; a failure was refused upstream at most once.
        let calls = app.latcom.calls_for(id);
        assert!(
            calls == 1 || (status == "FAILED" && calls == 0),
            "{id} is {status} after {calls} calls: {reason:?}"
        );
    }
    assert_ledger_invariants(&pool).await;
}

/// The cut's worst moment, made certain: a debit commits, its answer is lost, and the
/// database stays out of reach past the deadline. The reseller hears "outcome unknown"
/// (not a failure), and the purchase, which nobody else would send (LATCOM cannot be
/// asked by our reference), is sent once the database is back: delivered once, charged
/// once.
#[tokio::test]
async fn a_debit_whose_commit_could_not_be_confirmed_is_still_carried_out() {
    let proxy = DbProxy::start(&server_url()).await;
    let (app, pool) = app_behind(|url| proxy.url(url), 2).await;
    let c = app.customer("LOST", "100").await;

    proxy.lose_answers_after("LOST-ANSWER-1");
    let body = json!({"phone": "5512345678", "amount": 50, "reference": "LOST-ANSWER-1"});
    let request = tokio::spawn(common::send(app.post("/api/enviadespensa/topup", &c).json(&body)));
    // The debit commits (seen directly); its answer is lost; then the database goes away.
    let deadline = Instant::now() + Duration::from_secs(20);
    while by_reference(&pool, &c.id).await.is_empty() {
        assert!(Instant::now() < deadline, "the debit never reached the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.cut();
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], json!("Outcome unknown"), "{body}");
    let id = body["transaction_id"]
        .as_str()
        .expect("the purchase is named")
        .to_string();
    let status: String = sqlx::query_scalar("SELECT status FROM transactions WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .expect("the debit committed");
    assert_eq!(status, "PROCESSING");
    assert_eq!(app.latcom.calls_for(&id), 0, "not sent while its debit was unconfirmed");

    proxy.restore();
    settle(&pool, 20).await;
    let status: String = sqlx::query_scalar("SELECT status FROM transactions WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "SUCCESS");
    assert_eq!(app.latcom.calls_for(&id), 1, "delivered once");
    // Where the answer said to look finds it, by the reference.
    assert_eq!(
        body["check_status_url"],
        json!("/api/transactions?reference=LOST-ANSWER-1")
    );
    let (status, found) = common::send(app.get(body["check_status_url"].as_str().unwrap(), &c)).await;
    assert_eq!(status, 200, "{found}");
    assert!(found.to_string().contains(&id), "{found}");
    assert_eq!(
        app.balance(&c).await,
        common::dec("97.06"),
        "charged once: 50 MXN at 17.0068"
    );
    assert_ledger_invariants(&pool).await;
}

/// One client's stream of top-ups until `stop`: (reference, status, body) each.
async fn stream(client: reqwest::Client, base: String, c: Creds, n: usize, stop: Instant) -> Vec<(String, u16, Value)> {
    let mut answers = Vec::new();
    let mut i = 0;
    while Instant::now() < stop {
        i += 1;
        let reference = format!("CUT-{n}-{i}");
        let body = json!({"phone": format!("5512{:06}", n * 1000 + i), "amount": 50, "reference": reference});
        let sent = client
            .post(format!("{base}/api/enviadespensa/topup"))
            .header("x-api-key", &c.api_key)
            .header("x-customer-id", &c.id)
            .json(&body)
            .send()
            .await
            .expect("the gateway answers");
        let status = sent.status().as_u16();
        let body: Value = sent.json().await.unwrap_or(Value::Null);
        if status >= 500 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        answers.push((reference, status, body));
    }
    answers
}

#[tokio::test]
async fn a_client_that_hangs_up_at_any_point_leaves_its_purchase_sent_exactly_once() {
    let proxy = DbProxy::start(&server_url()).await;
    let (app, pool) = app_behind(|url| proxy.url(url), 10).await;
    // A first purchase by someone else warms the pool and the upstream session; this
    // customer's credentials are still to be looked up (through the slow proxy).
    let warm = app.customer("WARM", "100").await;
    let (status, body) = app.topup(&warm, json!({"phone": "5512345678", "amount": 20})).await;
    assert_eq!(status, 200, "{body}");
    let c = app.customer("HANGUP", "1000").await;
    // Each chunk to the database waits 10 ms, so the debit's statement and commit take
    // a while; the upstream answers after 300 ms. Clients give up after 0 to 1.2 s:
    // before the debit, during it, while the upstream works, and after.
    proxy.set_delay(Duration::from_millis(10));
    app.latcom.set_latency(Duration::from_millis(300));
    let requests = (0..60u64).map(|i| {
        let request = app
            .post("/api/enviadespensa/topup", &c)
            .timeout(Duration::from_millis(i * 20))
            .json(&json!({"phone": format!("55{:08}", 7000 + i), "amount": 20, "reference": format!("HANG-{i}")}));
        tokio::spawn(async move { request.send().await.is_ok() })
    });
    let requests: Vec<_> = requests.collect();
    let mut answered = 0;
    for request in requests {
        answered += usize::from(request.await.unwrap());
    }
    proxy.set_delay(Duration::ZERO);
    settle(&pool, 30).await;

    let txns = by_reference(&pool, &c.id).await;
    let debited = txns.len();
    let hung_up_after_debit = debited - answered.min(debited);
    println!(
        "60 clients hanging up after 0-1200 ms: {answered} answered, {debited} debited, {hung_up_after_debit} \
         debited but never answered"
    );
    assert!(debited < 60, "some clients hung up before their debit");
    assert!(hung_up_after_debit > 0, "some clients hung up after their debit");
    for (reference, (id, status)) in &txns {
        assert_eq!(status, "SUCCESS", "{reference}");
        assert_eq!(app.latcom.calls_for(id), 1, "{reference} sent once");
    }
    assert_eq!(
        app.latcom.received(),
        txns.len() as u64 + 1,
        "nothing sent without a debit (but the warm-up)"
    );
    assert_ledger_invariants(&pool).await;
}

/// A transaction id that is taken already (two instances minting the same id) is
/// retried with a fresh one, invisibly: the reference is not "duplicate", the phone is
/// topped up once and the buyer charged once.
#[tokio::test]
async fn a_taken_transaction_id_is_retried_with_a_fresh_one() {
    let clock = recarga::domain::clock::ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(|_| {}, Some(clock)).await;
    let c = app.customer("CLASH", "100").await;
    let (status, first) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50, "reference": "CLASH-A"}))
        .await;
    assert_eq!(status, 200, "{first}");
    // The clock stands still, so the next id differs only in its sequence: take it first.
    let first_id = first["transaction"]["id"].as_str().unwrap().to_string();
    let next_id = format!("{}000001", &first_id[..first_id.len() - 6]);
    assert!(first_id.ends_with("000000"), "{first_id}");
    sqlx::query(
        "INSERT INTO transactions (id, customer_id, channel, mode, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status)
         SELECT $2, customer_id, channel, mode, product_id, '5599999999', amount_local, currency, exchange_rate,
             cost_usd, commission_usd, charged_usd, business_day, 'FAILED' FROM transactions WHERE id = $1",
    )
    .bind(&first_id)
    .bind(&next_id)
    .execute(&app.pool)
    .await
    .unwrap();

    let (status, second) = app
        .topup(&c, json!({"phone": "5512345679", "amount": 50, "reference": "CLASH-B"}))
        .await;
    assert_eq!(status, 200, "{second}");
    let second_id = second["transaction"]["id"].as_str().unwrap();
    assert!(second_id.ends_with("000002"), "a fresh id: {second_id}");
    assert_eq!(app.latcom.calls_for(second_id), 1);
    assert_eq!(app.latcom.calls_for(&next_id), 0);
    assert_eq!(app.balance(&c).await, common::dec("94.12"), "charged once each");
    app.assert_ledger_invariants().await;
}
