//! Unknown outcomes and crashes: funds stay held until the upstream says what happened.
//! A timeout or a 5xx leaves no LATCOM transId to ask by, so the tests whose upstream
//! must be able to say run with an account configured for lookups by dist_transid
//! (tests/latcom.rs covers the default, where no enquiry is possible).

mod common;

use common::{dec, TestApp};
use recarga::jobs::resolver;
use recarga::sandbox::latcom::Fault;
use serde_json::json;
use std::time::Duration;

/// Refund entries for a transaction.
async fn refunds(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE transaction_id = $1 AND amount_usd > 0")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn timeout_holds_funds_then_the_resolver_refunds_a_failure_exactly_once() {
    let app = TestApp::spawn_with(
        |s| {
            s.purchase.resolver_interval_secs = 3600;
            s.providers.latcom.enquire_by_dist_transid = true;
        },
        None,
    )
    .await;
    let c = app.customer("T1", "100").await;
    // LATCOM processes (and fails) the top-up but answers after our 2 s timeout, and
    // its status lookup is down for now.
    app.latcom.set_fault(Fault::HangAfterProcessing(Duration::from_secs(5)));
    app.latcom.set_status_unavailable(true);
    let (status, body) = app
        .topup(&c, json!({"phone": "5500000001", "amount": 50, "reference": "TO-1"}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["transaction"]["status"], "PROCESSING");
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["check_status_url"], format!("/api/transaction/{id}"));
    // Funds held, nothing guessed.
    assert_eq!(app.balance(&c).await, dec("97.06"));
    let attempt: (String,) = sqlx::query_as("SELECT status FROM attempts WHERE transaction_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attempt.0, "UNKNOWN");

    // While the upstream cannot say, sweeps change nothing.
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    assert_eq!(app.transaction(&c, &id).await.1["transaction"]["status"], "PROCESSING");
    assert_eq!(app.balance(&c).await, dec("97.06"));

    // The upstream answers: failed. Several sweeps race; exactly one refund.
    app.latcom.set_status_unavailable(false);
    let sweeps = (0..5).map(|_| resolver::sweep(&app.app_purchases, 0));
    for r in futures::future::join_all(sweeps).await {
        r.unwrap();
    }
    let (_, t) = app.transaction(&c, &id).await;
    assert_eq!(t["transaction"]["status"], "FAILED");
    assert_eq!(app.balance(&c).await, dec("100"));
    assert_eq!(refunds(&app, &id).await, 1);
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    assert_eq!(refunds(&app, &id).await, 1);
    assert_eq!(app.latcom.calls_for(&id), 1, "never re-sent");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn server_error_after_delivery_is_settled_as_success_by_the_background_resolver() {
    let app = TestApp::spawn_with(|s| s.providers.latcom.enquire_by_dist_transid = true, None).await;
    let c = app.customer("T2", "100").await;
    app.latcom.set_fault(Fault::ServerErrorAfterProcessing);
    app.latcom.set_status_unavailable(true);
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 202, "a 5xx is not a failure: {body}");
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    app.latcom.set_fault(Fault::None);
    app.latcom.set_status_unavailable(false);
    // The running resolver (every second, for rows idle a second) settles it.
    let t = app.wait_final(&c, &id, 15).await;
    assert_eq!(t["transaction"]["status"], "SUCCESS");
    assert_eq!(app.balance(&c).await, dec("97.06"));
    assert_eq!(app.latcom.topup_calls(), 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn unknown_outcome_is_resolved_at_once_when_the_upstream_can_say() {
    let app = TestApp::spawn_with(|s| s.providers.latcom.enquire_by_dist_transid = true, None).await;
    let c = app.customer("T3", "100").await;
    app.latcom.set_fault(Fault::HangAfterProcessing(Duration::from_secs(5)));
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 200, "the immediate enquiry found it delivered: {body}");
    assert_eq!(body["transaction"]["status"], "SUCCESS");
    assert_eq!(app.latcom.topup_calls(), 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn server_error_before_processing_is_never_failed_over_or_resent() {
    let app = TestApp::spawn().await;
    let c = app.customer("T4", "100").await;
    app.latcom.set_fault(Fault::ServerErrorBeforeProcessing);
    let (status, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    // The upstream has no record; LATCOM does not document "not found" as final, so
    // the funds stay held for the resolver (and REVIEW after the configured time).
    assert_eq!(status, 202, "{body}");
    assert_eq!(app.balance(&c).await, dec("97.06"));
    // The fault answers before the simulator records a top-up, so only the count of
    // requests that arrived can show that nothing was re-sent or failed over.
    assert_eq!(app.latcom.received(), 1, "sent exactly once");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn unresolved_too_long_goes_to_review_and_ops_settle_it() {
    let app = TestApp::spawn_with(|s| s.purchase.review_after_hours = 0.0, None).await;
    let c = app.customer("T5", "100").await;
    app.latcom.set_fault(Fault::ServerErrorBeforeProcessing);
    let (_, body) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    let id = body["transaction"]["id"].as_str().unwrap().to_string();
    resolver::sweep(&app.app_purchases, 0).await.unwrap();
    let (_, t) = app.transaction(&c, &id).await;
    assert_eq!(t["transaction"]["status"], "REVIEW");
    assert_eq!(app.balance(&c).await, dec("97.06"), "REVIEW holds the funds");
    assert_eq!(app.latcom.received(), 1, "the resolver enquires, never re-sends");

    let settle = |outcome: &str| {
        recarga::cli::Command::Settle(recarga::cli::SettleArgs {
            id: id.clone(),
            outcome: outcome.into(),
            note: "LATCOM support confirmed no top-up".into(),
        })
    };
    recarga::cli::run_ops(app.settings.clone(), settle("failed"))
        .await
        .unwrap();
    assert_eq!(app.balance(&c).await, dec("100"));
    assert!(
        recarga::cli::run_ops(app.settings.clone(), settle("failed"))
            .await
            .is_err(),
        "only once"
    );
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_notes WHERE transaction_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(notes, 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn latcom_token_is_reused_and_renewed_after_a_401() {
    let app = TestApp::spawn().await;
    let c = app.customer("TOK", "100").await;
    for i in 0..5 {
        assert_eq!(
            app.topup(
                &c,
                json!({"phone": "5512345678", "amount": 10, "reference": format!("K{i}")})
            )
            .await
            .0,
            200
        );
    }
    assert_eq!(app.latcom.login_calls(), 1);
    app.latcom.expire_tokens();
    assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await.0, 200);
    assert_eq!(app.latcom.login_calls(), 2);
    assert_eq!(app.latcom.topup_calls(), 6);
    app.assert_ledger_invariants().await;
}

/// A queue worker that dies holding its claim (before the commit that begins the
/// attempts) leaves the purchase PENDING: while held, other claims skip it; afterwards
/// it is sent exactly once, however many claims and resolver sweeps race for it.
#[tokio::test]
async fn a_claim_whose_worker_died_leaves_the_purchase_queued_and_it_is_sent_once() {
    use recarga::store::transactions;
    let app = TestApp::spawn_with(|s| s.purchase.queue_poll_interval_ms = 3_600_000, None).await;
    let c = app.customer("T9", "100").await;
    let purchase = transactions::NewPurchase {
        id: "RLRQUEUED1".into(),
        customer_id: "T9".into(),
        reference: Some("Q-1".into()),
        channel: "relier",
        is_async: true,
        product_id: "MOVISTAR_TAE".into(),
        phone: "5512345678".into(),
        operator: Some("TELEFONICA".into()),
        amount_local: dec("50"),
        currency: "MXN".into(),
        exchange_rate: dec("17.0068"),
        cost_usd: dec("2.94"),
        commission_usd: dec("0"),
        charged_usd: dec("2.94"),
        business_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        daily_limit_local: dec("1000"),
        first_attempt: None,
    };
    transactions::create_purchases(&app.pool, &[purchase]).await.unwrap();
    let mut held = app.pool.begin().await.unwrap();
    assert_eq!(transactions::lock_queued(&mut held, 10).await.unwrap().len(), 1);
    assert!(
        app.app_purchases.claim_queued(10).await.unwrap().is_empty(),
        "a held purchase is skipped"
    );
    // The worker is gone; the server rolls its transaction back. The purchase waits,
    // funds held, never begun.
    held.rollback().await.unwrap();
    let (_, body) = app.transaction(&c, "RLRQUEUED1").await;
    assert_eq!(body["transaction"]["status"], "PENDING", "{body}");
    assert_eq!(app.latcom.topup_calls(), 0);

    let claim = app.app_purchases.claim_queued(10);
    let sweeps = futures::future::join_all((0..3).map(|_| resolver::sweep(&app.app_purchases, 0)));
    let (claimed, _) = futures::future::join(claim, sweeps).await;
    for (txn, attempt) in claimed.unwrap() {
        app.app_purchases.send_queued(&txn, attempt).await.unwrap();
    }
    let (_, body) = app.transaction(&c, "RLRQUEUED1").await;
    assert_eq!(body["transaction"]["status"], "SUCCESS", "{body}");
    assert_eq!(app.latcom.topup_calls(), 1, "sent exactly once");
    assert_eq!(app.balance(&c).await, dec("97.06"));
    app.assert_ledger_invariants().await;
}
