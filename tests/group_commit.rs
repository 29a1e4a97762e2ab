//! Debits and settlements sharing one statement: each is judged alone, refusals write
//! nothing, and the lot commits together.

mod common;

use common::{dec, TestApp};
use recarga::domain::refusal::Refusal;
use recarga::store::transactions::{
    begin_attempts, create_purchases, settle_successes, Created, FirstAttempt, NewAttempt, NewPurchase, Success,
};
use recarga::store::StoreError;

fn purchase(id: &str, reference: Option<&str>, phone: &str, charged: &str) -> NewPurchase {
    NewPurchase {
        id: id.into(),
        customer_id: "BATCH".into(),
        reference: reference.map(str::to_owned),
        channel: "relier",
        is_async: true,
        product_id: "MOVISTAR_TAE".into(),
        phone: phone.into(),
        operator: None,
        amount_local: dec("50"),
        currency: "MXN".into(),
        exchange_rate: dec("17.0068"),
        cost_usd: dec(charged),
        commission_usd: dec("0"),
        charged_usd: dec(charged),
        business_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        daily_limit_local: dec("60"),
        first_attempt: None,
    }
}

#[tokio::test]
async fn one_transaction_many_verdicts() {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "10").await;
    let batch = vec![
        purchase("B1", Some("R-1"), "5512345678", "2.94"),
        purchase("B2", Some("R-2"), "5512345679", "50.00"), // more than the balance
        purchase("B3", Some("R-1"), "5512345678", "2.94"),  // the same reference again
        purchase("B4", Some("R-4"), "5512345678", "2.94"),  // the number's daily limit (60 MXN) is used
        purchase("B5", None, "5512345670", "2.94"),
    ];
    let results = create_purchases(&app.pool, &batch).await.unwrap();
    assert!(matches!(&results[0], Ok(Created::New { balance_after, .. }) if *balance_after == dec("7.06")));
    assert!(
        matches!(&results[1], Err(StoreError::Refused(Refusal::InsufficientBalance { balance, .. })) if *balance == dec("7.06"))
    );
    assert!(matches!(&results[2], Ok(Created::Existing(t)) if t.id == "B1"));
    assert!(matches!(&results[3], Err(StoreError::Refused(Refusal::DailyLimit { used, .. })) if *used == dec("50")));
    assert!(matches!(&results[4], Ok(Created::New { balance_after, .. }) if *balance_after == dec("4.12")));
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM transactions ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids, vec!["B1", "B5"]);
    let refused: i64 = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM ledger_entries WHERE transaction_id IN ('B2', 'B3', 'B4')
         UNION ALL SELECT count(*) FROM daily_usage WHERE phone = '5512345679'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .sum();
    assert_eq!(refused, 0, "refusals write nothing");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn settlements_settle_each_transaction_once() {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "10").await;
    let sync = |id: &str, phone: &str| NewPurchase {
        is_async: false,
        first_attempt: Some(FirstAttempt {
            upstream: "latcom",
            upstream_reference: id.into(),
            upstream_product: "TFE_MXN_20_TO_2000".into(),
            amount_sent: dec("43.10"),
        }),
        ..purchase(id, None, phone, "2.94")
    };
    let created = create_purchases(&app.pool, &[sync("S1", "5512345601"), sync("S2", "5512345602")])
        .await
        .unwrap();
    let attempt_of = |i: usize| match &created[i] {
        Ok(Created::New { attempt: Some(a), .. }) => a.id,
        other => panic!("not created with its attempt: {other:?}"),
    };
    let success = |attempt_id: i64, txn: &str, upstream_id: &str| Success {
        attempt_id,
        transaction_id: txn.into(),
        upstream_id: Some(upstream_id.into()),
        message: Some("ok".into()),
        response_time_ms: Some(7),
    };
    let batch = [
        success(attempt_of(0), "S1", "OP-1"),
        success(attempt_of(1), "S2", "OP-2"),
        success(attempt_of(0), "S1", "OP-1-again"), // the resolver racing the sender
        success(1_000_000, "NOPE", "OP-3"),         // no such transaction
    ];
    let settled = settle_successes(&app.pool, &batch).await.unwrap();
    let ids: Vec<Option<&str>> = settled.iter().map(|t| t.as_ref().map(|t| t.id.as_str())).collect();
    assert_eq!(ids, vec![Some("S1"), Some("S2"), None, None]);
    assert_eq!(
        settled[0].as_ref().unwrap().status,
        recarga::domain::status::TxnStatus::Success
    );
    let again = settle_successes(&app.pool, &batch[..1]).await.unwrap();
    assert!(again[0].is_none(), "a settled transaction is not settled twice");
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT t.id, a.status, a.upstream_transaction_id FROM transactions t JOIN attempts a ON a.transaction_id = t.id
         WHERE t.status = 'SUCCESS' ORDER BY t.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|(_, status, op)| status == "SUCCESS" && op.as_deref().is_some_and(|o| o.starts_with("OP-"))));
    app.assert_ledger_invariants().await;
}

/// A repeated reference gets the original even when repeating it would now be refused
/// (the balance is spent, or the number's daily limit is used), and is never charged.
#[tokio::test]
async fn a_repeat_gets_the_original_where_a_new_purchase_would_be_refused() {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "3").await;
    let first = purchase("R1", Some("R-1"), "5512345678", "2.94");
    assert!(matches!(
        &create_purchases(&app.pool, &[first]).await.unwrap()[0],
        Ok(Created::New { .. })
    ));
    // 0.06 left: too little for another 2.94, and 50 of the number's 60 MXN are used.
    let repeats = [
        purchase("R2", Some("R-1"), "5512345678", "2.94"),
        purchase("R3", Some("R-3"), "5512345678", "2.94"),
    ];
    let results = create_purchases(&app.pool, &repeats).await.unwrap();
    assert!(
        matches!(&results[0], Ok(Created::Existing(t)) if t.id == "R1"),
        "{:?}",
        results[0]
    );
    assert!(matches!(
        &results[1],
        Err(StoreError::Refused(Refusal::InsufficientBalance { .. }))
    ));
    recarga::store::customers::credit(&app.pool, "BATCH", dec("100"), None, "test")
        .await
        .unwrap();
    let results = create_purchases(&app.pool, &[purchase("R4", Some("R-1"), "5512345678", "2.94")])
        .await
        .unwrap();
    assert!(
        matches!(&results[0], Ok(Created::Existing(t)) if t.id == "R1"),
        "{:?}",
        results[0]
    );
    let balance: rust_decimal::Decimal = sqlx::query_scalar("SELECT balance_usd FROM customers WHERE id = 'BATCH'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(balance, dec("100.06"), "charged once");
    app.assert_ledger_invariants().await;
}

/// Within a batch each purchase's ledger entries carry the balance its own debit left,
/// and each sync purchase gets its own first attempt.
#[tokio::test]
async fn a_batch_chains_balances_through_its_ledger_and_begins_each_attempt() {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "10").await;
    let batch: Vec<NewPurchase> = (1..=3)
        .map(|n| NewPurchase {
            cost_usd: dec("2.88"),
            commission_usd: dec("0.06"),
            first_attempt: Some(FirstAttempt {
                upstream: "latcom",
                upstream_reference: format!("S{n}"),
                upstream_product: "TFE_MXN_20_TO_2000".into(),
                amount_sent: dec("50"),
            }),
            ..purchase(
                &format!("S{n}"),
                Some(&format!("R-{n}")),
                &format!("551234560{n}"),
                "2.94",
            )
        })
        .collect();
    let results = create_purchases(&app.pool, &batch).await.unwrap();
    for (n, result) in results.iter().enumerate() {
        let Ok(Created::New {
            txn,
            attempt: Some(attempt),
            ..
        }) = result
        else {
            panic!("purchase {n}: {result:?}");
        };
        let stored: (String, i64) = sqlx::query_as("SELECT transaction_id, id FROM attempts WHERE id = $1")
            .bind(attempt.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(stored, (txn.id.clone(), attempt.id));
    }
    let ledger: Vec<(String, String, rust_decimal::Decimal, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT transaction_id, kind, amount_usd, balance_after_usd FROM ledger_entries
         WHERE transaction_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let expected = [
        ("S1", "purchase", "-2.88", "7.12"),
        ("S1", "commission", "-0.06", "7.06"),
        ("S2", "purchase", "-2.88", "4.18"),
        ("S2", "commission", "-0.06", "4.12"),
        ("S3", "purchase", "-2.88", "1.24"),
        ("S3", "commission", "-0.06", "1.18"),
    ]
    .map(|(t, k, a, b)| (t.to_string(), k.to_string(), dec(a), dec(b)));
    assert_eq!(ledger, expected);
    app.assert_ledger_invariants().await;
}

/// A purchase whose transaction id is taken fails alone: the rest of its batch goes
/// through, each charged once.
#[tokio::test]
async fn a_taken_id_fails_alone_and_the_rest_of_its_batch_goes_through() {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "10").await;
    let first = create_purchases(&app.pool, &[purchase("T1", None, "5512345601", "2.94")])
        .await
        .unwrap();
    assert!(matches!(&first[0], Ok(Created::New { .. })));
    let batch = [
        purchase("T2", Some("R-2"), "5512345602", "2.94"),
        purchase("T1", None, "5512345603", "2.94"),
        purchase("T3", None, "5512345604", "2.94"),
    ];
    let results = create_purchases(&app.pool, &batch).await.unwrap();
    assert!(matches!(&results[0], Ok(Created::New { balance_after, .. }) if *balance_after == dec("4.12")));
    assert!(matches!(&results[1], Err(StoreError::IdTaken)), "{:?}", results[1]);
    assert!(matches!(&results[2], Ok(Created::New { balance_after, .. }) if *balance_after == dec("1.18")));
    app.assert_ledger_invariants().await;
}

/// A reference that another connection is committing while the batch runs is a
/// duplicate: the purchase gets the original and is charged nothing, and its batch
/// neighbour goes through. The batch's debit waits for the other connection's lock on
/// the balance, then either the number's daily limit (now used) or the transactions
/// insert (whose unique index finds the reference) is where the repeat shows.
async fn race_a_reference_committed_elsewhere(daily_limit: &str) {
    let app = TestApp::spawn().await;
    app.customer("BATCH", "10").await;
    let mut elsewhere = app.pool.begin().await.unwrap();
    let outcome: String = sqlx::query_scalar(
        "SELECT outcome::text FROM recarga_debit(ROW('E1', 'BATCH', 'R-E', 'relier', 'async', 'MOVISTAR_TAE',
             '5512345600', NULL, 50, 'MXN', 17.0068, 2.94, 0, 2.94, '2026-11-23', 60, NULL, NULL, NULL, NULL)
             ::recarga_purchase)",
    )
    .fetch_one(&mut *elsewhere)
    .await
    .unwrap();
    assert_eq!(outcome, "created");
    let pool = app.pool.clone();
    let limit = dec(daily_limit);
    let batch = tokio::spawn(async move {
        let batch = [
            NewPurchase {
                daily_limit_local: limit,
                ..purchase("E2", Some("R-E"), "5512345600", "2.94")
            },
            purchase("E3", Some("R-3"), "5512345602", "2.94"),
        ];
        create_purchases(&pool, &batch).await.unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!batch.is_finished(), "the batch waits for the other connection");
    elsewhere.commit().await.unwrap();
    let results = batch.await.unwrap();
    assert!(
        matches!(&results[0], Ok(Created::Existing(t)) if t.id == "E1"),
        "{:?}",
        results[0]
    );
    assert!(matches!(&results[1], Ok(Created::New { balance_after, .. }) if *balance_after == dec("4.12")));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_reference_committed_elsewhere_meanwhile_is_a_duplicate_at_the_daily_limit() {
    race_a_reference_committed_elsewhere("60").await;
}

#[tokio::test]
async fn a_reference_committed_elsewhere_meanwhile_is_a_duplicate_at_the_insert() {
    race_a_reference_committed_elsewhere("1000").await;
}

/// The queue begins its claimed purchases in one statement: each purchase is taken from
/// PENDING once, a failover attempt needs it PROCESSING, and a repeat gets nothing.
#[tokio::test]
async fn attempts_begin_once_per_transaction() {
    let app = TestApp::spawn_with(|s| s.purchase.queue_poll_interval_ms = 3_600_000, None).await;
    app.customer("BATCH", "10").await;
    let queued = [
        purchase("Q1", None, "5512345601", "2.94"),
        purchase("Q2", None, "5512345602", "2.94"),
    ];
    create_purchases(&app.pool, &queued).await.unwrap();
    let attempt = |txn: &'static str, attempt_no: i32, reference: &'static str| NewAttempt {
        transaction_id: txn,
        attempt_no,
        upstream: "latcom",
        upstream_reference: reference,
        upstream_product: "TFE_MXN_20_TO_2000",
        amount_sent: dec("43.10"),
    };
    let first = [attempt("Q1", 1, "Q1"), attempt("Q1", 1, "Q1"), attempt("Q2", 2, "Q2-2")];
    let begun = begin_attempts(&app.pool, &first).await.unwrap();
    assert!(begun[0]
        .as_ref()
        .is_some_and(|a| a.transaction_id == "Q1" && a.attempt_no == 1));
    assert!(begun[1].is_none(), "Q1 is begun once");
    assert!(begun[2].is_none(), "a failover attempt needs the purchase PROCESSING");
    let again = begin_attempts(&app.pool, &[attempt("Q1", 1, "Q1"), attempt("Q1", 2, "Q1-2")])
        .await
        .unwrap();
    assert!(again[0].is_none(), "no longer PENDING");
    assert!(again[1]
        .as_ref()
        .is_some_and(|a| a.attempt_no == 2 && a.upstream_reference == "Q1-2"));
    let statuses: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM transactions ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        statuses,
        vec![("Q1".into(), "PROCESSING".into()), ("Q2".into(), "PENDING".into())]
    );
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2);
    app.assert_ledger_invariants().await;
}

/// The generic plan of `statement` on one of the gateway's own connections.
async fn generic_plan(app: &TestApp, statement: &str, args: &str) -> String {
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::raw_sql(&format!("PREPARE checked AS {statement}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE checked({args})"))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("DEALLOCATE checked").execute(&mut *conn).await.unwrap();
    plan.join("\n")
}

/// The settlement batch finds its rows by key on a brand-new, empty table too. Its
/// generic plan is made at a connection's first use and kept; made on a young table it
/// used to scan the whole table (or every entry of the open-transactions index) on each
/// batch for the rest of the connection's life.
#[tokio::test]
async fn settlement_plan_looks_rows_up_by_key_on_a_young_table() {
    let app = TestApp::spawn().await;
    let plan = generic_plan(
        &app,
        &recarga::store::transactions::SETTLE_SUCCESSES,
        "NULL, NULL, NULL, NULL, NULL",
    )
    .await;
    assert!(
        plan.contains("Index Scan using transactions_pkey on transactions"),
        "{plan}"
    );
    assert!(plan.contains("Index Scan using attempts_pkey on attempts"), "{plan}");
    assert!(
        !plan.contains("Seq Scan on transactions") && !plan.contains("transactions_open"),
        "{plan}"
    );
}

/// The queue claim reads the queue's own index, which holds queued purchases only, not
/// the open-transactions one (every synchronous purchase in flight, and dead entries).
#[tokio::test]
async fn queue_claim_plan_reads_only_queued_purchases() {
    let app = TestApp::spawn().await;
    let plan = generic_plan(&app, &recarga::store::transactions::LOCK_QUEUED, "10").await;
    assert!(
        plan.contains("Index Scan using transactions_queued on transactions"),
        "{plan}"
    );
}
