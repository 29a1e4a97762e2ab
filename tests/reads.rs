//! What a reseller reads back (issue 21): held funds beside the balance, search by its
//! own reference with keyset pages, lookup by reference, and the Idempotency-Key header.

mod common;

use common::{dec, send, TestApp};
use recarga::store::transactions::{search_query, SearchFilter};
use serde_json::{json, Value};

#[tokio::test]
async fn held_funds_are_shown_beside_the_seed_balance_fields() {
    let app = TestApp::spawn().await;
    let c = app.customer("HELD", "100").await;
    // Delivered, but LATCOM's answer comes too late: PROCESSING, funds held.
    let (status, body) = app.topup(&c, json!({"phone": "5500000002", "amount": 50})).await;
    assert_eq!(status, 202, "{body}");
    // A settled one is not held.
    assert_eq!(app.topup(&c, json!({"phone": "5512345678", "amount": 20})).await.0, 200);

    let (status, balance) = send(app.get("/api/balance", &c)).await;
    assert_eq!(status, 200);
    // 100 − 2.94 (held) − 1.18 (delivered).
    assert_eq!(balance["current_balance"], json!(95.88));
    assert_eq!(balance["available"], json!(95.88));
    assert_eq!(balance["held"], json!(2.94));
    assert_eq!(balance["credit_limit"], 100);

    let (token, _) = app.login(&c).await;
    let (status, d) = app.bearer_get(&token, "/api/distributor/get_balance").await;
    assert_eq!(status, 200);
    assert_eq!(
        (d["balance"].clone(), d["available"].clone(), d["held"].clone()),
        (json!(95.88), json!(95.88), json!(2.94))
    );

    // Another reseller's held funds are not this one's.
    let other = app.customer("OTHER", "10").await;
    let (_, b) = send(app.get("/api/balance", &other)).await;
    assert_eq!(b["held"], 0);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_idempotency_key_header_is_the_reference_when_the_body_has_none() {
    let app = TestApp::spawn().await;
    let c = app.customer("IDEM", "100").await;
    let request = || {
        app.post("/api/enviadespensa/topup", &c)
            .header("Idempotency-Key", "KEY-1")
            .json(&json!({"phone": "5512345678", "amount": 50}))
    };
    // Raced: one charge, one upstream call, every answer the same transaction.
    let answers = futures::future::join_all((0..6).map(|_| send(request()))).await;
    let ids: Vec<&Value> = answers.iter().map(|(_, b)| &b["transaction"]["id"]).collect();
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert!(ids.iter().all(|id| *id == ids[0] && id.is_string()), "{ids:?}");
    assert_eq!(answers[0].1["transaction"]["reference"], "KEY-1");
    assert_eq!(app.latcom.topup_calls(), 1);
    assert_eq!(app.balance(&c).await, dec("97.06"));

    // The async endpoint shares the key; a reference in the body that disagrees is refused.
    let (s, replay) = send(
        app.post("/api/enviadespensa/topup-async", &c)
            .header("Idempotency-Key", "KEY-1")
            .json(&json!({"phone": "5512345678", "amount": 50})),
    )
    .await;
    assert_eq!((s, &replay["transaction"]["id"]), (200, ids[0]));
    let (s, refused) = send(
        app.post("/api/enviadespensa/topup", &c)
            .header("Idempotency-Key", "KEY-2")
            .json(&json!({"phone": "5512345678", "amount": 50, "reference": "OTHER"})),
    )
    .await;
    assert_eq!(s, 400, "{refused}");
    assert_eq!(refused["details"][0]["field"], "reference");
    assert_eq!(app.latcom.topup_calls(), 1);
    assert_eq!(app.balance(&c).await, dec("97.06"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn search_pages_newest_first_by_filter_and_never_shows_another_resellers_rows() {
    let app = TestApp::spawn().await;
    let a = app.customer("A", "500").await;
    let b = app.customer("B", "500").await;
    for i in 0..7 {
        let phone = if i % 2 == 0 { "5512345678" } else { "5500000001" };
        app.topup(&a, json!({"phone": phone, "amount": 20, "reference": format!("A-{i}")}))
            .await;
    }
    app.topup(&b, json!({"phone": "5512345678", "amount": 20, "reference": "A-0"}))
        .await;

    // Pages of 3: 3 + 3 + 1, newest first, each row once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for expected in [3, 3, 1] {
        let path = match &cursor {
            None => "/api/transactions?limit=3".to_string(),
            Some(c) => format!("/api/transactions?limit=3&cursor={c}"),
        };
        let (status, page) = send(app.get(&path, &a)).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["transactions"].as_array().unwrap();
        assert_eq!(rows.len(), expected);
        seen.extend(rows.iter().map(|t| t["reference"].as_str().unwrap().to_string()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(cursor, None, "the last page has no next cursor");
    assert_eq!(seen, ["A-6", "A-5", "A-4", "A-3", "A-2", "A-1", "A-0"]);

    // Filters: status, phone, reference; B's A-0 is never A's.
    let (_, failed) = send(app.get("/api/transactions?status=failed", &a)).await;
    assert_eq!(failed["transactions"].as_array().unwrap().len(), 3);
    let (_, by_phone) = send(app.get("/api/transactions?phone=5512345678", &a)).await;
    assert_eq!(by_phone["transactions"].as_array().unwrap().len(), 4);
    let (_, by_ref) = send(app.get("/api/transactions?reference=A-0", &a)).await;
    let rows = by_ref["transactions"].as_array().unwrap();
    assert_eq!((rows.len(), &rows[0]["customer_id"]), (1, &json!("A")));
    let (_, future) = send(app.get("/api/transactions?from=2999-01-01", &a)).await;
    assert_eq!(future["transactions"], json!([]));
    let (_, b_rows) = send(app.get("/api/transactions", &b)).await;
    assert_eq!(b_rows["transactions"].as_array().unwrap().len(), 1);

    // The distributor equivalent, scoped to its token's reseller.
    let (token, _) = app.login(&b).await;
    let (status, d) = app
        .bearer_get(&token, "/api/distributor/transactions?reference=A-0")
        .await;
    assert_eq!(status, 200, "{d}");
    let rows = d["transactions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["distributor_transaction_id"], "A-0");
    assert_eq!(rows[0]["response_code"], "00");

    // Bad parameters are a clear 400 in each dialect.
    let (status, bad) = send(app.get("/api/transactions?status=DONE&limit=0&cursor=xyz", &a)).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["details"].as_array().unwrap().len(), 3);
    let (status, bad) = app.bearer_get(&token, "/api/distributor/transactions?limit=500").await;
    assert_eq!((status, &bad["response_code"]), (400, &json!("12")));
}

#[tokio::test]
async fn a_transaction_is_found_by_the_resellers_own_reference_only_by_that_reseller() {
    let app = TestApp::spawn().await;
    let a = app.customer("A", "100").await;
    let b = app.customer("B", "100").await;
    let (_, body) = app
        .topup(&a, json!({"phone": "5512345678", "amount": 50, "reference": "ORDER-9"}))
        .await;
    let id = body["transaction"]["id"].as_str().unwrap();
    let (status, by_ref) = app.transaction(&a, "ORDER-9").await;
    assert_eq!(status, 200, "{by_ref}");
    assert_eq!(by_ref["transaction"]["id"], id);
    assert_eq!(app.transaction(&b, "ORDER-9").await.0, 404);
    assert_eq!(app.transaction(&b, id).await.0, 404);
}

/// A page is read through the reseller's time index, in its order (no sort), as the
/// gateway's own connections plan it (generic plans, sequential scans off).
#[tokio::test]
async fn a_search_page_reads_the_resellers_time_index() {
    let app = TestApp::spawn().await;
    let filter = SearchFilter::default();
    let statement = search_query("A", &filter, None, 51).into_sql();
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::raw_sql(&format!("PREPARE checked AS {statement}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar("EXPLAIN EXECUTE checked('A', 51)")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("transactions_customer_created"), "{plan}");
    assert!(!plan.contains("Sort"), "keyset order comes from the index: {plan}");
}

/// Every endpoint of issue 21 is described, each with its own operation id.
#[tokio::test]
async fn the_new_endpoints_are_in_the_openapi_description() {
    let app = TestApp::spawn().await;
    let (status, spec) = send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(status, 200);
    let mut ids = Vec::new();
    for (path, method) in [
        ("/api/transactions", "get"),
        ("/api/distributor/transactions", "get"),
        ("/api/admin/reconcile/export", "get"),
        ("/api/admin/reconcile/summary", "get"),
        ("/api/invoices", "get"),
        ("/api/invoices/{number}", "get"),
        ("/api/webhooks/deliveries", "get"),
        ("/api/webhooks/deliveries/{id}/resend", "post"),
    ] {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        ids.push(op["operationId"].as_str().unwrap().to_string());
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}
