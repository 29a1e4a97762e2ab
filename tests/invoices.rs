//! Monthly invoices (issue 21): issued by the scheduled run for the previous month in
//! the business time zone, totals equal to the sum of their lines and to the ledger,
//! never changed after issue, and each reseller's own.

mod common;

use chrono::{Datelike, Duration, Utc};
use chrono_tz::Tz;
use common::{dec, send, TestApp};
use recarga::cli::{self, Command, InvoicesCommand};
use recarga::domain::clock::ManualClock;
use recarga::domain::invoice;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::str::FromStr;

fn money(v: &Value) -> Decimal {
    Decimal::from_str(&v.to_string()).unwrap()
}

#[tokio::test]
async fn the_monthly_run_issues_exact_immutable_invoices_each_reseller_sees_its_own() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(|s| s.invoices.check_interval_secs = 1, Some(clock.clone())).await;
    let tz: Tz = app.settings.business_timezone.parse().unwrap();
    let a = app.customer_with("A", "500", |c| c.commission_rate = dec("0.02")).await;
    let b = app.customer("B", "500").await;
    assert_eq!(app.topup(&a, json!({"phone": "5512345678", "amount": 50})).await.0, 200);
    assert_eq!(app.topup(&a, json!({"phone": "5500000001", "amount": 20})).await.0, 500);
    assert_eq!(
        app.topup(&a, json!({"phone": "5512345679", "amount": 123.45})).await.0,
        200
    );
    assert_eq!(app.topup(&b, json!({"phone": "5512345678", "amount": 50})).await.0, 200);
    let (_, none) = send(app.get("/api/invoices", &a)).await;
    assert_eq!(none["invoices"], json!([]), "this month is not over");

    // The month ends (business time zone): the run invoices it.
    let this_month = Utc::now().with_timezone(&tz).date_naive().with_day(1).unwrap();
    clock.set(invoice::start_of(invoice::next_month(this_month), tz) + Duration::hours(1));
    let number = invoice::number(this_month, "A");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let issued = loop {
        let (status, body) = send(app.get(&format!("/api/invoices/{number}"), &a)).await;
        if status == 200 {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no invoice {number}: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let header = &issued["invoice"];
    assert_eq!(header["transactions"], 2, "the failed top-up is not billed: {issued}");
    assert_eq!(issued["lines"], 2);

    // Its totals are the sum of its lines, and the lines are what the ledger holds.
    let response = app
        .get(&format!("/api/invoices/{number}?format=csv"), &a)
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<Vec<&str>> = csv
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(lines.len(), 2);
    let col = |i: usize| lines.iter().map(|l| Decimal::from_str(l[i]).unwrap()).sum::<Decimal>();
    let (local, cost, commission, charged) = (col(4), col(7), col(8), col(9));
    assert_eq!(money(&header["total_usd"]), charged);
    assert_eq!(money(&header["cost_usd"]), cost);
    assert_eq!(money(&header["commission_usd"]), commission);
    assert!(commission > Decimal::ZERO);
    let totals = &issued["totals"][0];
    assert_eq!(
        (totals["currency"].as_str(), money(&totals["amount_local"])),
        (Some("MXN"), local)
    );
    let rate = (local / cost).round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(money(&totals["average_rate"]), rate);
    let ledger: Decimal = sqlx::query_scalar(
        "SELECT -sum(e.amount_usd) FROM ledger_entries e JOIN invoice_lines l
             ON l.customer_id = e.customer_id AND l.transaction_id = e.transaction_id
         WHERE l.invoice_number = $1",
    )
    .bind(&number)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(ledger, charged, "the invoice bills exactly what was deducted");

    // Issued means fixed: another run writes nothing, the tables refuse changes.
    let again = cli::run_ops(
        app.settings.clone(),
        Command::Invoices(InvoicesCommand::Issue {
            month: this_month.format("%Y-%m").to_string(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(again["issued"], json!([]));
    for statement in [
        "UPDATE invoices SET total_usd = 0",
        "DELETE FROM invoice_lines",
        "UPDATE invoice_totals SET amount_local = 1",
    ] {
        assert!(sqlx::query(statement).execute(&app.pool).await.is_err(), "{statement}");
    }
    // Invoices are keyed by (customer, number): a number stays one reseller's because
    // the database holds it to name its month and reseller (23514: check violation).
    let taken = sqlx::query(
        "INSERT INTO invoices (number, customer_id, period_start, period_end, transactions, cost_usd,
             commission_usd, total_usd)
         VALUES ($1, 'B', $2, $2, 1, 1, 0, 1)",
    )
    .bind(&number)
    .bind(invoice::next_month(this_month))
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(
        taken.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23514")
    );
    let (_, after) = send(app.get(&format!("/api/invoices/{number}"), &a)).await;
    assert_eq!(after, issued);

    // A printable page; and each reseller sees only its own invoices.
    let html = app
        .get(&format!("/api/invoices/{number}?format=html"), &a)
        .send()
        .await
        .unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains(&number) && html.contains("<table>"));
    let (_, list) = send(app.get("/api/invoices", &b)).await;
    let b_numbers: Vec<&str> = list["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(b_numbers, [invoice::number(this_month, "B")]);
    assert_eq!(send(app.get(&format!("/api/invoices/{number}"), &b)).await.0, 404);
    assert_eq!(
        send(app.get(&format!("/api/invoices/{number}?format=pdf"), &a)).await.0,
        400
    );
    app.assert_ledger_invariants().await;
}
