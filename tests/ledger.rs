//! The ledger module (`sql/ledger.sql`): what is installed is the canonical file, and
//! each balance-moving operation (debit, refund, credit, adjustment, REVIEW settlement)
//! keeps its rules, called through the store as the gateway and the CLI call it.

mod common;

use common::{dec, rollup_drift, TestApp};
use recarga::store::customers::{adjust, credit};
use recarga::store::ledger::{drift, ReviewVerdict, Settlement};
use recarga::store::transactions::{
    create_purchases, move_to_review, settle_failure, settle_review, Created, FirstAttempt, NewPurchase,
};
use recarga::store::volume::{roll_up, DayWindow};
use recarga::store::{self, StoreError};
use rust_decimal::Decimal;

/// A purchase sent at once, 2.94 charged of which 0.06 commission, for customer `LEDGER`.
fn purchase(id: &str, reference: Option<&str>) -> NewPurchase {
    NewPurchase {
        id: id.into(),
        customer_id: "LEDGER".into(),
        reference: reference.map(str::to_owned),
        channel: "relier",
        is_async: false,
        product_id: "MOVISTAR_TAE".into(),
        phone: "5512345678".into(),
        operator: None,
        amount_local: dec("50"),
        currency: "MXN".into(),
        exchange_rate: dec("17.0068"),
        cost_usd: dec("2.88"),
        commission_usd: dec("0.06"),
        charged_usd: dec("2.94"),
        business_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        daily_limit_local: dec("1000"),
        first_attempt: Some(FirstAttempt {
            upstream: "latcom",
            upstream_reference: id.into(),
            upstream_product: "TFE_MXN_20_TO_2000".into(),
            amount_sent: dec("43.10"),
        }),
    }
}

async fn buy(app: &TestApp, p: NewPurchase) -> Result<Created, StoreError> {
    create_purchases(&app.pool, &[p]).await.unwrap().pop().unwrap()
}

async fn balance(app: &TestApp) -> Decimal {
    sqlx::query_scalar("SELECT balance_usd FROM customers WHERE id = 'LEDGER'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn scalar_i64(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn installed_ledger_is_the_canonical_file_and_drift_is_caught() {
    let app = TestApp::spawn().await;
    assert_eq!(drift(&app.pool).await.unwrap(), Vec::<String>::new());
    let installed: Vec<String> = sqlx::query_scalar(
        "SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace
           AND proname LIKE 'recarga\\_%' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for f in [
        "recarga_adjust",
        "recarga_credit",
        "recarga_debit",
        "recarga_refund",
        "recarga_settle_failure",
        "recarga_settle_review",
    ] {
        assert!(installed.iter().any(|i| i == f), "{f} not installed: {installed:?}");
    }

    // A function edited in the database is caught, and the next migrate restores it.
    sqlx::raw_sql(
        "CREATE OR REPLACE FUNCTION recarga_adjust(p_customer TEXT, p_usd NUMERIC, p_note TEXT, p_actor TEXT,
             OUT outcome recarga_posting_outcome, OUT balance_after NUMERIC)
         LANGUAGE plpgsql AS $$ BEGIN outcome := 'posted'; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let found = drift(&app.pool).await.unwrap();
    assert!(
        found.len() == 1 && found[0].starts_with("function recarga_adjust(") && found[0].contains("differs"),
        "{found:?}"
    );
    store::migrate(&app.pool).await.unwrap();
    assert_eq!(drift(&app.pool).await.unwrap(), Vec::<String>::new());

    // A balance-moving function outside the file (an old signature left behind, or a
    // writer added by hand) is caught, and migrate refuses to go on with it.
    sqlx::raw_sql(
        "CREATE FUNCTION give(p_customer TEXT) RETURNS void LANGUAGE sql
         AS $$ UPDATE customers SET balance_usd = balance_usd + 1 WHERE id = p_customer $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let found = drift(&app.pool).await.unwrap();
    assert_eq!(
        found,
        vec!["function give(p_customer text) is installed but not in sql/ledger.sql"]
    );
    assert!(matches!(store::migrate(&app.pool).await, Err(StoreError::LedgerDrift(d)) if d == found));
    sqlx::raw_sql("DROP FUNCTION give(TEXT)")
        .execute(&app.pool)
        .await
        .unwrap();

    // A type that differs from the file (which creates types only when missing) is
    // caught: changing one takes a migration.
    sqlx::raw_sql("ALTER TYPE recarga_settlement ADD VALUE 'lost'")
        .execute(&app.pool)
        .await
        .unwrap();
    let found = drift(&app.pool).await.unwrap();
    assert!(
        found.len() == 1 && found[0].starts_with("type recarga_settlement differs"),
        "{found:?}"
    );
    assert!(matches!(
        store::migrate(&app.pool).await,
        Err(StoreError::LedgerDrift(_))
    ));
}

#[tokio::test]
async fn id_taken_is_not_a_duplicate() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "10").await;
    assert!(matches!(
        buy(&app, purchase("X1", Some("R-1"))).await,
        Ok(Created::New { .. })
    ));
    // The id is taken, the reference is new: nothing charged, and it says so.
    assert!(matches!(
        buy(&app, purchase("X1", Some("R-2"))).await,
        Err(StoreError::IdTaken)
    ));
    assert!(matches!(
        buy(&app, purchase("X1", None)).await,
        Err(StoreError::IdTaken)
    ));
    // The reference is used: the original.
    assert!(
        matches!(buy(&app, purchase("X2", Some("R-1"))).await, Ok(Created::Existing(t)) if t.id == "X1"),
        "a repeated reference"
    );
    // The same id with the same reference and request is this very purchase, sent again
    // after its answer was lost (a batch that failed after committing is retried one by
    // one): found as committed, with its balances, not charged again.
    assert!(
        matches!(buy(&app, purchase("X1", Some("R-1"))).await,
            Ok(Created::New { txn, balance_after, .. }) if txn.id == "X1" && balance_after == dec("7.06")),
        "its own commit"
    );
    assert_eq!(balance(&app).await, dec("7.06"), "charged once");
    assert_eq!(scalar_i64(&app, "SELECT count(*) FROM transactions").await, 1);
    let usage: Decimal = sqlx::query_scalar("SELECT amount_local FROM daily_usage")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(usage, dec("50"), "refusals release what they took");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_refund_happens_once_under_concurrent_failures() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "10").await;
    let Ok(Created::New {
        attempt: Some(attempt), ..
    }) = buy(&app, purchase("F1", None)).await
    else {
        panic!("not created");
    };
    // Every settlement waits on this lock, so all of them race for the row at once.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM transactions WHERE id = 'F1' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let (pool, attempt) = (app.pool.clone(), attempt.clone());
            tokio::spawn(async move {
                let failed = (&attempt, Some("R11"));
                settle_failure(&pool, "F1", Some(failed), &format!("declined {n}"), Some(n))
                    .await
                    .unwrap()
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    holder.commit().await.unwrap();
    let mut settled = 0;
    for r in racers {
        settled += usize::from(r.await.unwrap());
    }
    assert_eq!(settled, 1, "exactly one settlement refunds");
    assert_eq!(balance(&app).await, dec("10"));
    let entries: Vec<(String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT kind, amount_usd, balance_after_usd FROM ledger_entries WHERE transaction_id = 'F1' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let expected = [
        ("purchase", "-2.88", "7.12"),
        ("commission", "-0.06", "7.06"),
        ("refund_purchase", "2.88", "9.94"),
        ("refund_commission", "0.06", "10.00"),
    ]
    .map(|(k, a, b)| (k.to_string(), dec(a), dec(b)));
    assert_eq!(entries, expected);
    let attempt_row: (String, Option<String>) =
        sqlx::query_as("SELECT status, response_code FROM attempts WHERE transaction_id = 'F1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(attempt_row, ("FAILED".into(), Some("R11".into())));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn credit_posts_its_entry_and_audit_note_together() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "0").await;
    assert_eq!(
        credit(&app.pool, "LEDGER", dec("100.25"), Some("wire 2026-11-23"), "test")
            .await
            .unwrap(),
        dec("100.25")
    );
    let entry: (String, Decimal, Decimal, Option<String>) = sqlx::query_as(
        "SELECT kind, amount_usd, balance_after_usd, note FROM ledger_entries WHERE customer_id = 'LEDGER'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        entry,
        (
            "credit".into(),
            dec("100.25"),
            dec("100.25"),
            Some("wire 2026-11-23".into())
        )
    );
    let audit: (String, String) =
        sqlx::query_as("SELECT action, note FROM audit_notes WHERE customer_id = 'LEDGER' AND action <> 'created'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit, ("credit".into(), "100.25 USD: wire 2026-11-23".into()));
    for bad in ["0", "-1", "1.001"] {
        assert!(
            matches!(
                credit(&app.pool, "LEDGER", dec(bad), None, "test").await,
                Err(StoreError::InvalidAmount)
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        credit(&app.pool, "NOBODY", dec("1"), None, "test").await,
        Err(StoreError::CustomerNotFound)
    ));
    assert_eq!(
        scalar_i64(&app, "SELECT count(*) FROM audit_notes WHERE action <> 'created'").await,
        1,
        "refusals write nothing"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn adjustments_go_either_way_with_a_note_and_never_below_zero() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "10").await;
    let note = "duplicate wire reversed";
    assert_eq!(
        adjust(&app.pool, "LEDGER", dec("-4.50"), note, "test").await.unwrap(),
        dec("5.50")
    );
    assert_eq!(
        adjust(&app.pool, "LEDGER", dec("1.25"), "goodwill", "test")
            .await
            .unwrap(),
        dec("6.75")
    );
    assert!(matches!(
        adjust(&app.pool, "LEDGER", dec("-6.76"), note, "test").await,
        Err(StoreError::BelowZero { balance }) if balance == dec("6.75")
    ));
    for blank in ["", "  "] {
        assert!(matches!(
            adjust(&app.pool, "LEDGER", dec("-1"), blank, "test").await,
            Err(StoreError::NoteRequired)
        ));
    }
    assert!(matches!(
        adjust(&app.pool, "LEDGER", dec("0"), note, "test").await,
        Err(StoreError::InvalidAmount)
    ));
    assert!(matches!(
        adjust(&app.pool, "NOBODY", dec("1"), note, "test").await,
        Err(StoreError::CustomerNotFound)
    ));
    // To zero exactly is allowed.
    assert_eq!(
        adjust(&app.pool, "LEDGER", dec("-6.75"), note, "test").await.unwrap(),
        dec("0")
    );
    let entries: Vec<(Decimal, Decimal, Option<String>)> = sqlx::query_as(
        "SELECT amount_usd, balance_after_usd, note FROM ledger_entries WHERE kind = 'adjustment' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let expected = [
        ("-4.50", "5.50", note),
        ("1.25", "6.75", "goodwill"),
        ("-6.75", "0", note),
    ]
    .map(|(a, b, n)| (dec(a), dec(b), Some(n.to_string())));
    assert_eq!(entries, expected);
    let audit: Vec<String> = sqlx::query_scalar("SELECT note FROM audit_notes WHERE action = 'adjustment' ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        audit,
        vec![
            format!("-4.50 USD: {note}"),
            "1.25 USD: goodwill".to_string(),
            format!("-6.75 USD: {note}")
        ]
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_review_settlement_commits_with_its_audit_note_and_only_once() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "10").await;
    for id in ["V1", "V2"] {
        assert!(matches!(buy(&app, purchase(id, None)).await, Ok(Created::New { .. })));
        assert!(move_to_review(&app.pool, id, "unresolved").await.unwrap());
    }
    assert_eq!(balance(&app).await, dec("4.12"));

    // The audit note cannot be written: the refund does not commit either.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no audit'; END $$;
         CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_notes FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(
        settle_review(&app.pool, "V1", ReviewVerdict::Failed, "no top-up", "test")
            .await
            .is_err()
    );
    let status: String = sqlx::query_scalar("SELECT status FROM transactions WHERE id = 'V1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "REVIEW");
    assert_eq!(balance(&app).await, dec("4.12"), "no refund without its note");
    assert_eq!(
        scalar_i64(&app, "SELECT count(*) FROM ledger_entries WHERE kind LIKE 'refund%'").await,
        0
    );
    sqlx::raw_sql("DROP TRIGGER refuse_audit ON audit_notes; DROP FUNCTION refuse_audit()")
        .execute(&app.pool)
        .await
        .unwrap();

    let settle = |id: &'static str, verdict, note: &'static str| settle_review(&app.pool, id, verdict, note, "test");
    assert_eq!(
        settle("V1", ReviewVerdict::Failed, " ").await.unwrap(),
        Settlement::NoteRequired
    );
    assert_eq!(
        settle("V1", ReviewVerdict::Failed, "no top-up").await.unwrap(),
        Settlement::Settled
    );
    assert_eq!(
        settle("V2", ReviewVerdict::Success, "delivered").await.unwrap(),
        Settlement::Settled
    );
    assert_eq!(balance(&app).await, dec("7.06"), "V1 refunded, V2 kept");
    // A second settlement, either way, writes nothing.
    for (id, verdict) in [("V1", ReviewVerdict::Success), ("V2", ReviewVerdict::Failed)] {
        assert_eq!(settle(id, verdict, "again").await.unwrap(), Settlement::WrongStatus);
    }
    assert_eq!(
        settle("NOPE", ReviewVerdict::Failed, "x").await.unwrap(),
        Settlement::NotFound
    );
    assert_eq!(balance(&app).await, dec("7.06"));
    let notes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT transaction_id, action, note FROM audit_notes WHERE transaction_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let expected = [
        ("V1", "review_settled_failed", "no top-up"),
        ("V2", "review_settled_success", "delivered"),
    ]
    .map(|(t, a, n)| (t.to_string(), a.to_string(), n.to_string()));
    assert_eq!(notes, expected);
    app.assert_ledger_invariants().await;
}

/// The per-day rollup stays exact when a REVIEW settlement races its day's roll-up,
/// whichever takes the day's lock first: the roll-up waits for a settlement under way and
/// counts it, and a settlement that comes second recounts the day.
#[tokio::test]
async fn a_review_settled_while_its_day_is_rolled_up_is_counted_once_whichever_goes_first() {
    let app = TestApp::spawn().await;
    app.customer("LEDGER", "10").await;
    let today = chrono::Utc::now().date_naive();
    let yesterday = today - chrono::Duration::days(1);
    for (id, day) in [("V1", today), ("V2", yesterday)] {
        let p = NewPurchase {
            business_day: day,
            ..purchase(id, None)
        };
        assert!(matches!(buy(&app, p).await, Ok(Created::New { .. })));
        assert!(move_to_review(&app.pool, id, "no answer").await.unwrap());
    }
    // Both were created now, whatever their business day.
    let window = |day| DayWindow {
        day,
        from: chrono::Utc::now() - chrono::Duration::days(1),
        to: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let wait = || tokio::time::sleep(std::time::Duration::from_millis(300));

    // The settlement first: the roll-up waits for its commit, then counts it.
    let mut settling = app.pool.begin().await.unwrap();
    let settled: Settlement =
        sqlx::query_scalar("SELECT recarga_settle_review('V1', 'failed', 'not delivered', 'test')")
            .fetch_one(&mut *settling)
            .await
            .unwrap();
    assert_eq!(settled, Settlement::Settled);
    let pool = app.pool.clone();
    let rolling = tokio::spawn(async move { roll_up(&pool, &window(today)).await.unwrap() });
    wait().await;
    assert!(!rolling.is_finished(), "the roll-up waits for the settlement");
    settling.commit().await.unwrap();
    assert!(rolling.await.unwrap());
    assert_eq!(rollup_drift(&app.pool).await, 0);

    // The roll-up first: the settlement waits for its commit, then recounts the day.
    let mut rolling = app.pool.begin().await.unwrap();
    let day = window(yesterday);
    let rolled: bool = sqlx::query_scalar("SELECT recarga_volume_roll_up($1, $2, $3)")
        .bind(day.day)
        .bind(day.from)
        .bind(day.to)
        .fetch_one(&mut *rolling)
        .await
        .unwrap();
    assert!(rolled);
    let pool = app.pool.clone();
    let settling =
        tokio::spawn(async move { settle_review(&pool, "V2", ReviewVerdict::Failed, "not delivered", "test").await });
    wait().await;
    assert!(!settling.is_finished(), "the settlement waits for the roll-up");
    rolling.commit().await.unwrap();
    assert_eq!(settling.await.unwrap().unwrap(), Settlement::Settled);
    assert_eq!(rollup_drift(&app.pool).await, 0);
    let failed: i64 = sqlx::query_scalar("SELECT sum(count)::bigint FROM daily_volume WHERE status = 'FAILED'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(failed, 2, "both refunds are in the rollup, neither as REVIEW");
    common::assert_ledger_invariants(&app.pool).await;
}
