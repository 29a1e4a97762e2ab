//! The reconciliation export and summary (seed 000, issue 21), through the real router:
//! `x-reconcile-key` scopes the rows to its reseller (an ops key sees all), and the CSV
//! matches the ledger to the cent.

mod common;

use chrono::{Duration, Utc};
use common::{send, Creds, TestApp};
use recarga::cli::{self, Command, ReconcileKeyCommand};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A range of business days that surely holds today.
fn this_month() -> String {
    let today = Utc::now().date_naive();
    format!(
        "date_from={}&date_to={}",
        today - Duration::days(31),
        today + Duration::days(1)
    )
}

async fn export(app: &TestApp, key: &str, query: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(&format!("/api/admin/reconcile/export?{query}")))
        .header("x-reconcile-key", key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The CSV as (header → value) maps, one per row (fields here hold no commas).
fn rows(csv: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    lines
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{l}");
            header
                .iter()
                .map(|h| h.to_string())
                .zip(fields.iter().map(|f| f.to_string()))
                .collect()
        })
        .collect()
}

fn money(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

async fn buy_some(app: &TestApp, c: &Creds, prefix: &str) {
    for (i, (phone, amount)) in [
        ("5512345678", 50),
        ("5500000001", 20),
        ("5512345678", 123),
        ("5512345679", 10),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = app
            .topup(
                c,
                json!({"phone": phone, "amount": amount, "reference": format!("{prefix}-{i}")}),
            )
            .await;
        assert!(status == 200 || status == 500, "{status} {body}");
    }
}

#[tokio::test]
async fn each_key_sees_its_own_rows_and_the_csv_matches_the_ledger_to_the_cent() {
    let app = TestApp::spawn_with(|_| {}, None).await;
    let a = app
        .customer_with("A", "500", |args| {
            args.commission_rate = Decimal::from_str("0.02").unwrap()
        })
        .await;
    let b = app.customer("B", "500").await;
    buy_some(&app, &a, "A").await;
    buy_some(&app, &b, "B").await;

    let (status, csv) = export(&app, &a.reconcile_key, &this_month()).await;
    assert_eq!(status, 200, "{csv}");
    let a_rows = rows(&csv);
    assert_eq!(a_rows.len(), 4);
    assert!(a_rows.iter().all(|r| r["customer_id"] == "A"), "A sees only its rows");
    assert_eq!(
        a_rows.iter().map(|r| r["reference"].as_str()).collect::<Vec<_>>(),
        ["A-0", "A-1", "A-2", "A-3"],
        "oldest first"
    );
    let (_, csv_b) = export(&app, &b.reconcile_key, &this_month()).await;
    let b_rows = rows(&csv_b);
    assert_eq!(b_rows.len(), 4);
    assert!(b_rows.iter().all(|r| r["customer_id"] == "B"));

    // Per row and in total, the CSV says what the ledger holds: a failed top-up nets to
    // zero, any other to minus its charge, and charge = cost + commission.
    for r in a_rows.iter().chain(&b_rows) {
        let entries: Decimal =
            sqlx::query_scalar("SELECT COALESCE(sum(amount_usd), 0) FROM ledger_entries WHERE transaction_id = $1")
                .bind(&r["transaction_id"])
                .fetch_one(&app.pool)
                .await
                .unwrap();
        let charged = money(&r["charged_usd"]);
        assert_eq!(charged, money(&r["cost_usd"]) + money(&r["commission_usd"]), "{r:?}");
        let expected = if r["status"] == "FAILED" {
            Decimal::ZERO
        } else {
            -charged
        };
        assert_eq!(entries, expected, "{r:?}");
        assert!(r["settled_at"].ends_with('Z'), "every row here is settled: {r:?}");
    }
    let spent: Decimal = a_rows
        .iter()
        .filter(|r| r["status"] != "FAILED")
        .map(|r| money(&r["charged_usd"]))
        .sum();
    let balance = app.balance(&a).await;
    assert_eq!(
        Decimal::from(500) - spent,
        balance,
        "opening balance − CSV charges = balance"
    );
    assert!(a_rows.iter().any(|r| money(&r["commission_usd"]) > Decimal::ZERO));

    // An ops key sees everyone's rows.
    let ops = cli::run_ops(
        app.settings.clone(),
        Command::ReconcileKey(ReconcileKeyCommand::Create { name: "finance".into() }),
    )
    .await
    .unwrap();
    let ops_key = ops["reconcile_key"].as_str().unwrap();
    let (status, all) = export(&app, ops_key, &this_month()).await;
    assert_eq!(status, 200);
    assert_eq!(rows(&all).len(), 8);

    // Another range holds nothing; a bad key or range is a clear JSON error.
    let (status, empty) = export(&app, &a.reconcile_key, "date_from=2020-01-01&date_to=2020-01-31").await;
    assert_eq!((status, rows(&empty).len()), (200, 0));
    for key in ["", "rc_nope", a.api_key.as_str()] {
        let (status, body) = export(&app, key, &this_month()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "Invalid reconcile key"
        );
    }
    for query in [
        "",
        "date_from=2025-10-01",
        "date_from=2025-10-31&date_to=2025-10-01",
        "date_from=oct&date_to=nov",
    ] {
        let (status, body) = export(&app, &a.reconcile_key, query).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

#[tokio::test]
async fn the_daily_summary_adds_up_the_export() {
    let app = TestApp::spawn().await;
    let a = app.customer("A", "500").await;
    let b = app.customer("B", "500").await;
    buy_some(&app, &a, "A").await;
    buy_some(&app, &b, "B").await;

    let (_, csv) = export(&app, &a.reconcile_key, &this_month()).await;
    let exported = rows(&csv);
    let (status, summary) = send(
        app.client
            .get(app.url(&format!("/api/admin/reconcile/summary?{}", this_month())))
            .header("x-reconcile-key", &a.reconcile_key),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    let days = summary["days"].as_array().unwrap();
    let count: i64 = days.iter().map(|d| d["transactions"].as_i64().unwrap()).sum();
    assert_eq!(count, exported.len() as i64, "only A's rows: {summary}");
    for status in ["SUCCESS", "FAILED"] {
        let from_csv: Decimal = exported
            .iter()
            .filter(|r| r["status"] == status)
            .map(|r| money(&r["charged_usd"]))
            .sum();
        let from_summary: Decimal = days
            .iter()
            .filter(|d| d["status"] == status)
            .map(|d| money(&d["charged_usd"].to_string()))
            .sum();
        assert_eq!(from_csv, from_summary, "{status}");
    }
}
