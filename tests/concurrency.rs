//! Races: parallel requests against one balance and one reference. The simulator is
//! given latency so that requests truly overlap.

mod common;

use common::{dec, TestApp};
use futures::future::join_all;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn hundred_parallel_topups_against_a_balance_for_fifty() {
    let app = TestApp::spawn().await;
    app.latcom.set_latency(Duration::from_millis(50));
    // 50 MXN costs 2.94 USD; 147.00 affords exactly 50 of them.
    let c = app.customer("DRAIN", "147").await;
    let results = join_all((0..100).map(|i| {
        let (app, c) = (&app, &c);
        async move {
            app.topup(c, json!({"phone": format!("55{:08}", 10_000_000 + i), "amount": 50}))
                .await
        }
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results
        .iter()
        .filter(|(s, b)| *s == 403 && b["error"] == "Insufficient balance")
        .count();
    assert_eq!(
        (ok, refused),
        (50, 50),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(app.balance(&c).await, dec("0"));
    assert_eq!(app.latcom.topup_calls(), 50);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn same_reference_twenty_times_in_parallel_is_one_topup_one_debit() {
    let app = TestApp::spawn().await;
    app.latcom.set_latency(Duration::from_millis(300));
    let c = app.customer("DUP", "100").await;
    let body = json!({"phone": "5512345678", "amount": 50, "reference": "SAME-REF"});
    let results = join_all((0..20).map(|_| app.topup(&c, body.clone()))).await;
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|(_, b)| b["transaction"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate gets the original transaction");
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == 200 && b["transaction"]["status"] == "SUCCESS"),
        "{results:?}"
    );
    assert_eq!(app.latcom.topup_calls(), 1);
    assert_eq!(app.balance(&c).await, dec("97.06"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn sync_and_async_topups_share_one_balance_exactly() {
    let app = TestApp::spawn().await;
    app.latcom.set_latency(Duration::from_millis(20));
    // 10 MXN costs 0.59 USD; 11.80 affords exactly 20.
    let c = app.customer("MIXED", "11.80").await;
    let results = join_all((0..40).map(|i| {
        let (app, c) = (&app, &c);
        async move {
            let body = json!({"phone": "5512345678", "amount": 10, "reference": format!("MIX-{i}")});
            if i % 2 == 0 {
                app.topup(c, body).await
            } else {
                app.topup_async(c, body).await
            }
        }
    }))
    .await;
    let accepted: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(accepted.len(), 20);
    assert_eq!(results.iter().filter(|(s, _)| *s == 403).count(), 20);
    for (_, body) in &accepted {
        let id = body["transaction"]["id"].as_str().unwrap();
        assert_eq!(app.wait_final(&c, id, 10).await["transaction"]["status"], "SUCCESS");
    }
    assert_eq!(app.balance(&c).await, dec("0"));
    assert_eq!(app.latcom.topup_calls(), 20);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn parallel_topups_cannot_overshoot_the_daily_limit() {
    let app = TestApp::spawn().await;
    app.latcom.set_latency(Duration::from_millis(20));
    let c = app
        .customer_with("LIMIT", "1000", |a| a.daily_limit_mxn = Some(dec("500")))
        .await;
    let results = join_all((0..30).map(|_| app.topup(&c, json!({"phone": "5512345678", "amount": 50})))).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 10);
    assert_eq!(
        results
            .iter()
            .filter(|(s, b)| *s == 429 && b["error"] == "Daily transaction limit exceeded")
            .count(),
        20
    );
    app.assert_ledger_invariants().await;
}

/// Balance reads share queries under load; each must still see every commit made before
/// it was sent (a shared query that had already started would miss them).
#[tokio::test]
async fn coalesced_balance_reads_see_every_earlier_commit() {
    let app = TestApp::spawn().await;
    let a = app.customer("READ_A", "10").await;
    let b = app.customer("READ_B", "5").await;
    for round in 1..=10 {
        recarga::store::customers::credit(&app.pool, "READ_A", dec("1.25"), Some("test credit"), "test")
            .await
            .unwrap();
        let expected_a = dec("10") + dec("1.25") * rust_decimal::Decimal::from(round);
        let app = &app;
        let reads = (0..40).map(|i| {
            let creds = if i % 4 == 0 { &b } else { &a };
            async move { (creds.id.clone(), app.balance(creds).await) }
        });
        for (id, balance) in join_all(reads).await {
            let expected = if id == "READ_A" { expected_a } else { dec("5") };
            assert_eq!(balance, expected, "round {round}: {id} read a stale balance");
        }
    }
    app.assert_ledger_invariants().await;
}
