//! Debits sharing one database transaction: each is judged alone, refusals write
//! nothing, and the lot commits together.

mod common;

use common::{dec, TestApp};
use recarga::store::transactions::{create_purchases, Created, NewPurchase};
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
    assert!(matches!(&results[1], Err(StoreError::InsufficientBalance { balance }) if *balance == dec("7.06")));
    assert!(matches!(&results[2], Ok(Created::Existing(t)) if t.id == "B1"));
    assert!(matches!(&results[3], Err(StoreError::DailyLimit { used, .. }) if *used == dec("50")));
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
