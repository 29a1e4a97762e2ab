//! The ops CLI as ops run it: the real binary, JSON on stdout.

mod common;

use common::recarga;

#[tokio::test]
async fn customer_create_credit_show() {
    let db = common::unmigrated_database_url();
    let (ok, created, err) = recarga(
        &db,
        &[
            "customer",
            "create",
            "--id",
            "SMARTBIZ_001",
            "--name",
            "SmartBiz Telecom",
            "--balance-usd",
            "200",
            "--credit-limit-usd",
            "200",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(created["customer_id"], "SMARTBIZ_001");
    assert_eq!(created["balance_usd"], 200);
    for key in ["api_key", "secret_key", "reconcile_key"] {
        assert_eq!(created[key].as_str().unwrap().len(), 67, "{key}");
    }

    let (ok, credited, err) = recarga(
        &db,
        &[
            "customer",
            "credit",
            "--id",
            "SMARTBIZ_001",
            "--usd",
            "100.25",
            "--note",
            "wire 2025-10-01",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(credited["balance_usd"], serde_json::json!(300.25));

    let (ok, shown, err) = recarga(&db, &["customer", "show", "--id", "SMARTBIZ_001"]);
    assert!(ok, "{err}");
    assert_eq!(shown["balance_usd"], serde_json::json!(300.25));
    assert_eq!(shown["credit_limit_usd"], 200);
    assert_eq!(shown["daily_limit_mxn"], 200000);
    assert_eq!(shown["status"], "active");
    let text = shown.to_string();
    assert!(
        !text.contains(created["api_key"].as_str().unwrap()) && !text.contains("hash"),
        "no secrets: {text}"
    );

    // Keys are stored hashed only.
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT api_key_hash FROM customers WHERE id = 'SMARTBIZ_001'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&created["api_key"].as_str().unwrap()[3..]));
    common::assert_ledger_invariants(&pool).await;

    // Refusals: duplicate id, unknown customer, bad amounts.
    assert!(!recarga(&db, &["customer", "create", "--id", "SMARTBIZ_001", "--name", "again"]).0);
    assert!(!recarga(&db, &["customer", "credit", "--id", "NOBODY", "--usd", "1"]).0);
    assert!(!recarga(&db, &["customer", "credit", "--id", "SMARTBIZ_001", "--usd", "-5"]).0);
    assert!(!recarga(&db, &["customer", "credit", "--id", "SMARTBIZ_001", "--usd", "1.001"]).0);
    assert!(!recarga(&db, &["customer", "show", "--id", "NOBODY"]).0);
}

#[tokio::test]
async fn customer_adjust_either_way_with_a_note() {
    let db = common::fresh_database_url().await;
    let create = [
        "customer",
        "create",
        "--id",
        "ADJ",
        "--name",
        "Adj",
        "--balance-usd",
        "10",
    ];
    assert!(recarga(&db, &create).0);
    let adjust = |usd: &str, note: Option<&str>| {
        let mut args = vec!["customer", "adjust", "--id", "ADJ", "--usd", usd];
        args.extend(note.map(|n| ["--note", n]).into_iter().flatten());
        recarga(&db, &args)
    };

    let (ok, adjusted, err) = adjust("-5", Some("duplicate wire reversed"));
    assert!(ok, "{err}");
    assert_eq!(adjusted["adjusted_usd"], -5);
    assert_eq!(adjusted["balance_usd"], 5);
    let (ok, adjusted, err) = adjust("0.25", Some("goodwill"));
    assert!(ok, "{err}");
    assert_eq!(adjusted["balance_usd"], serde_json::json!(5.25));

    // Refusals: no note, a blank note, below zero.
    assert!(!adjust("-1", None).0);
    let (ok, _, err) = adjust("-1", Some(" "));
    assert!(!ok && err.contains("note is required"), "{err}");
    let (ok, _, err) = adjust("-5.26", Some("too much"));
    assert!(!ok && err.contains("cannot go below zero"), "{err}");

    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let notes: Vec<(String, String)> =
        sqlx::query_as("SELECT note, actor FROM audit_notes WHERE action = 'adjustment' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let cli = |note: &str| (note.to_string(), "cli".to_string());
    assert_eq!(
        notes,
        vec![cli("-5 USD: duplicate wire reversed"), cli("0.25 USD: goodwill")]
    );
    common::assert_ledger_invariants(&pool).await;
}
