//! What integrators coming from the commercial aggregators try first: validate-only,
//! quotes that the purchase honours to the cent, number lookup, priced and filtered
//! product listings, sandbox outcomes chosen by the number, and reversal after success.

mod common;

use common::{dec, send, Creds, TestApp};
use recarga::cli::{self, Command, OpsTokenCommand};
use recarga::domain::clock::ManualClock;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

fn money(v: &Value) -> Decimal {
    Decimal::from_str(&v.to_string()).unwrap_or_else(|_| panic!("not a number: {v}"))
}

fn distributor_purchase(dtid: &str, product: &str, amount: Value, phone: &str) -> Value {
    json!({"distributor_transaction_id": dtid, "phone_number": phone, "product_id": product, "amount": amount})
}

fn product_ids(listing: &Value) -> Vec<&str> {
    listing["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product_id"].as_str().unwrap())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn validate_only_moves_nothing_and_leaves_the_reference_unused() {
    let app = TestApp::spawn().await;
    let c = app
        .customer_with("VAL", "100", |a| a.commission_rate = dec("0.02"))
        .await;
    let body = json!({"phone": "5512345678", "amount": 50, "reference": "V-1", "validate_only": true});

    for path in ["/api/enviadespensa/topup", "/api/enviadespensa/topup-async"] {
        let (status, v) = send(app.post(path, &c).json(&body)).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["validate_only"], true);
        // 50 MXN at 17.0068 with 2 %: cost 2.94, charged round(2.94 × 1.02) = 3.00.
        assert_eq!(money(&v["quote"]["cost_usd"]), dec("2.94"));
        assert_eq!(money(&v["quote"]["charged_usd"]), dec("3.00"));
        assert_eq!(money(&v["balance_after_usd"]), dec("97.00"));
        assert_eq!(v["quote"]["phone"], "5512345678");
    }
    let (token, _) = app.login(&c).await;
    let (status, v) = app
        .purchase(
            &token,
            json!({"distributor_transaction_id": "V-2", "phone_number": "5512345678", "product_id": "MOVISTAR_TAE",
                   "amount": 50, "validate_only": true}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(money(&v["quote"]["charged_usd"]), dec("3.00"));

    // Nothing moved, nothing sent, nothing recorded.
    assert_eq!(app.balance(&c).await, dec("100"));
    assert_eq!(app.ledger_entry_count().await, 1, "only the opening credit");
    assert_eq!(count(&app, "SELECT count(*) FROM transactions").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM daily_usage").await, 0);
    assert_eq!(app.latcom.received(), 0);

    // The reference is still free, and the purchase costs what validation said.
    let real = json!({"phone": "5512345678", "amount": 50, "reference": "V-1"});
    let (status, v) = app.topup(&c, real).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(money(&v["billing"]["deducted_usd"]), dec("3.00"));
    let original = v["transaction"]["id"].clone();

    // Validating the used reference: the same request would replay, another conflicts.
    let (status, v) = app
        .topup(
            &c,
            json!({"phone": "5512345678", "amount": 50, "reference": "V-1", "validate_only": true}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["transaction_id"], original);
    assert_eq!(v["status"], "SUCCESS");
    let (status, v) = app
        .topup(
            &c,
            json!({"phone": "5512345678", "amount": 60, "reference": "V-1", "validate_only": true}),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(app.balance(&c).await, dec("97.00"));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn validate_only_refuses_what_the_purchase_would_refuse() {
    let app = TestApp::spawn().await;
    let poor = app.customer("POOR", "1").await;
    let c = app
        .customer_with("LIM", "100", |a| a.daily_limit_mxn = Some(dec("100")))
        .await;
    let check = |amount: u32, phone: &str| json!({"phone": phone, "amount": amount, "validate_only": true});

    let (status, v) = app.topup(&poor, check(50, "5512345678")).await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "Insufficient balance");
    let (token, _) = app.login(&poor).await;
    let (status, v) = app
        .purchase(
            &token,
            json!({"distributor_transaction_id": "P-1", "phone_number": "5512345678", "product_id": "MOVISTAR_TAE",
                   "amount": 50, "validate_only": true}),
        )
        .await;
    assert_eq!((status, v["response_code"].as_str()), (402, Some("51")), "{v}");

    // The daily limit counts what was bought today.
    let (status, v) = app.topup(&c, json!({"phone": "5512345678", "amount": 70})).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = app.topup(&c, check(40, "5512345678")).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(money(&v["used_today_mxn"]), dec("70"));
    let (status, _) = app.topup(&c, check(30, "5512345678")).await;
    assert_eq!(status, 200);

    let (status, v) = app.topup(&c, check(50, "12345")).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["details"][0]["field"], "phone");
    let (status, v) = app.topup(&c, check(15, "5512345678")).await;
    assert_eq!(status, 400, "{v}: 15 MXN is not deliverable");
    assert_eq!(count(&app, "SELECT count(*) FROM transactions").await, 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_stale_rate_refuses_quotes_and_validation_as_it_refuses_purchases() {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(|_| {}, Some(clock.clone())).await;
    let c = app.customer("STALE", "100").await;
    clock.advance(chrono::Duration::hours(app.settings.fx.max_age_hours + 1));
    let (status, v) = send(app.post("/api/quote", &c).json(&json!({"amount": 50}))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (503, Some("Exchange rate unavailable")),
        "{v}"
    );
    let (status, v) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 50, "validate_only": true}))
        .await;
    assert_eq!(status, 503, "{v}");
    let (status, _) = app.topup(&c, json!({"phone": "5512345678", "amount": 50})).await;
    assert_eq!(status, 503);
    // Listings still list, without a price they could not honour.
    let (_, v) = send(app.get("/api/products?country=MX&kind=data", &c)).await;
    let products = v["products"].as_array().unwrap();
    assert!(
        !products.is_empty() && products.iter().all(|p| p.get("price_usd").is_none()),
        "{v}"
    );
    assert_eq!(app.balance(&c).await, dec("100"));
}

#[tokio::test]
async fn a_quote_and_the_purchase_that_follows_agree_to_the_cent() {
    let app = TestApp::spawn().await;
    let c = app
        .customer_with("QT", "100", |a| a.commission_rate = dec("0.035"))
        .await;

    let (status, q) = send(
        app.post("/api/quote", &c)
            .json(&json!({"amount": 23.2, "phone": "+52 55 1234 5678"})),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["product_id"], "MOVISTAR_TAE");
    assert_eq!(q["currency"], "MXN");
    assert_eq!(q["phone"], "5512345678");
    assert_eq!(money(&q["exchange_rate"]), dec("17.0068"));
    assert!(q["rate_age_seconds"].as_i64().unwrap() >= 0);
    assert!(q["rate_source"].is_string() && q["rate_as_of"].is_string());
    let (cost, commission, charged) = (
        money(&q["cost_usd"]),
        money(&q["commission_usd"]),
        money(&q["charged_usd"]),
    );
    assert_eq!(cost + commission, charged);
    let (status, v) = app.topup(&c, json!({"phone": "5512345678", "amount": 23.2})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(money(&v["billing"]["deducted_usd"]), charged);

    // The distributor's quote for a South African product, then the purchase.
    let (token, _) = app.login(&c).await;
    let (status, q) = send(
        app.client
            .post(app.url("/api/distributor/quote"))
            .bearer_auth(&token)
            .json(&json!({"product_id": "ZA_VODACOM_AIRTIME", "amount": 25, "phone_number": "0821234567"})),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(
        (q["currency"].as_str(), q["phone"].as_str()),
        (Some("ZAR"), Some("27821234567"))
    );
    let (status, v) = app
        .purchase(
            &token,
            distributor_purchase("Q-ZA", "ZA_VODACOM_AIRTIME", json!(25), "0821234567"),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, t) = app.bearer_get(&token, "/api/distributor/transaction/Q-ZA").await;
    assert_eq!(money(&t["amount_usd"]), money(&q["charged_usd"]));

    // Quotes validate like purchases, and move nothing.
    let (status, v) = send(app.post("/api/quote", &c).json(&json!({"amount": 15}))).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = send(
        app.client
            .post(app.url("/api/distributor/quote"))
            .bearer_auth(&token)
            .json(&json!({"product_id": "NOPE", "amount": 25})),
    )
    .await;
    assert_eq!((status, v["response_code"].as_str()), (400, Some("14")), "{v}");
    assert_eq!(count(&app, "SELECT count(*) FROM transactions").await, 2);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn lookup_tells_country_operator_where_known_and_what_to_buy() {
    let app = TestApp::spawn().await;
    let c = app.customer("LOOK", "10").await;

    let (status, v) = send(app.get("/api/lookup/0821234567", &c)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["country"].as_str(), v["msisdn"].as_str()),
        (Some("ZA"), Some("27821234567"))
    );
    assert_eq!(v["operator"], "VODACOM");
    assert_eq!(v["operator_source"], "smartcall");
    let ids = product_ids(&v);
    assert!(
        ids.contains(&"ZA_VODACOM_AIRTIME") && ids.contains(&"ZA_AIRTIME"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"ZA_MTN_AIRTIME"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.starts_with("MOVISTAR")), "{ids:?}");

    // Mexico: portability makes a prefix guess unreliable, and it is said so.
    let (status, v) = send(app.get("/api/lookup/+525512345678", &c)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["country"], "MX");
    assert!(v["operator"].is_null());
    assert!(v["operator_note"].as_str().unwrap().contains("portable"), "{v}");
    let products = v["products"].as_array().unwrap();
    assert!(products.iter().all(|p| p["country"] == "MX") && !products.is_empty());

    let (token, _) = app.login(&c).await;
    let (status, v) = app.bearer_get(&token, "/api/distributor/lookup/27831234567").await;
    assert_eq!((status, v["operator"].as_str()), (200, Some("MTN")), "{v}");

    let (status, v) = send(app.get("/api/lookup/12345", &c)).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = send(app.get("/api/lookup/0821234567?country=FR", &c)).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = app.bearer_get(&token, "/api/distributor/lookup/12345").await;
    assert_eq!((status, v["response_code"].as_str()), (400, Some("83")), "{v}");
}

#[tokio::test]
async fn product_listings_filter_and_price_for_the_caller() {
    let app = TestApp::spawn().await;
    let c = app.customer_with("PR", "10", |a| a.commission_rate = dec("0.05")).await;

    let (status, v) = send(app.get("/api/products?country=mx&kind=data", &c)).await;
    assert_eq!(status, 200, "{v}");
    let products = v["products"].as_array().unwrap();
    assert!(!products.is_empty());
    assert!(
        products.iter().all(|p| p["country"] == "MX" && p["kind"] == "data"),
        "{v}"
    );
    let pack = products
        .iter()
        .find(|p| p["product_id"] == "MOVISTAR_PAQUETE_16")
        .unwrap();
    // 30 MXN at 17.0068 with 5 %: round(1.76400... × 1.05) = 1.85.
    assert_eq!(money(&pack["price_usd"]), dec("1.85"));
    let (_, q) = send(
        app.post("/api/quote", &c)
            .json(&json!({"product_id": "MOVISTAR_PAQUETE_16", "amount": 30})),
    )
    .await;
    assert_eq!(money(&q["charged_usd"]), money(&pack["price_usd"]));

    let (token, _) = app.login(&c).await;
    let (status, v) = app
        .bearer_get(&token, "/api/distributor/products?country=ZA&operator=mtn&kind=airtime")
        .await;
    assert_eq!(status, 200, "{v}");
    let ids = product_ids(&v);
    assert!(
        ids.contains(&"ZA_MTN_AIRTIME") && ids.contains(&"ZA_AIRTIME"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"ZA_VODACOM_AIRTIME"), "{ids:?}");

    let (status, v) = send(app.get("/api/products?kind=vouchers", &c)).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = app.bearer_get(&token, "/api/distributor/products?kind=vouchers").await;
    assert_eq!(status, 400, "{v}");
}

/// Each documented scenario suffix (`77OD`), through LATCOM (Relier), Smartcall and
/// DataMart (distributor): the outcome it names, settled by the gateway's own machinery.
#[tokio::test]
async fn sandbox_scenario_numbers_choose_the_outcome() {
    let app = TestApp::spawn_with(
        |s| {
            s.providers.latcom.enquire_by_dist_transid = true;
            s.providers.smartcall.timeout_secs = 2;
            s.providers.datamart.timeout_secs = 2;
        },
        None,
    )
    .await;
    app.latcom.set_dist_transid_lookup(true);
    let c = app.customer("SCN", "1000").await;
    let (token, _) = app.login(&c).await;

    let cases = [
        ("0", "SUCCESS"),
        ("1", "FAILED"),
        ("2", "SUCCESS"),
        ("3", "FAILED"),
        ("4", "SUCCESS"),
        ("5", "FAILED"),
    ];
    let mut waits = Vec::new();
    for (digit, expected) in cases {
        let delay = if matches!(digit, "2" | "3") { "2" } else { "0" };
        let mx = format!("55123477{digit}{delay}");
        let (status, v) = app.topup(&c, json!({"phone": mx, "amount": 50})).await;
        let id = v["transaction"]["id"]
            .as_str()
            .or(v["transaction_id"].as_str())
            .unwrap()
            .to_string();
        match digit {
            "0" => assert_eq!(status, 200, "{v}"),
            "1" => assert_eq!(status, 500, "{v}"),
            _ => {}
        }
        waits.push((Some(id), None, expected, mx));
        let dtid = format!("SCN-{digit}");
        let (status, v) = app
            .purchase(
                &token,
                distributor_purchase(
                    &dtid,
                    "ZA_VODACOM_AIRTIME",
                    json!(30),
                    &format!("08212377{digit}{delay}"),
                ),
            )
            .await;
        match digit {
            "0" => assert_eq!(status, 200, "{v}"),
            "1" => assert_eq!((status, v["response_code"].as_str()), (500, Some("91")), "{v}"),
            _ => {}
        }
        waits.push((None, Some(dtid), expected, format!("ZA …77{digit}{delay}")));
        // DataMart (Ghana, MTN's 024 range): a data bundle.
        let dtid = format!("SCN-GH-{digit}");
        let (status, v) = app
            .purchase(
                &token,
                distributor_purchase(
                    &dtid,
                    "GH_MTN_DATA_1GB_90D",
                    json!(5.5),
                    &format!("02412377{digit}{delay}"),
                ),
            )
            .await;
        match digit {
            "0" => assert_eq!(status, 200, "{v}"),
            "1" => assert_eq!((status, v["response_code"].as_str()), (500, Some("91")), "{v}"),
            _ => {}
        }
        waits.push((None, Some(dtid), expected, format!("GH …77{digit}{delay}")));
    }
    for (id, dtid, expected, what) in waits {
        let status = match (id, dtid) {
            (Some(id), _) => app.wait_final(&c, &id, 30).await["transaction"]["status"].clone(),
            (_, Some(dtid)) => wait_distributor_final(&app, &token, &dtid).await,
            _ => unreachable!(),
        };
        assert_eq!(status, expected, "{what}");
    }
    app.assert_ledger_invariants().await;
}

async fn wait_distributor_final(app: &TestApp, token: &str, dtid: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, v) = app
            .bearer_get(token, &format!("/api/distributor/transaction/{dtid}"))
            .await;
        if ["SUCCESS", "FAILED", "REVIEW"].contains(&v["status"].as_str().unwrap_or("")) {
            return v["status"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "{dtid} still {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn reverse(app: &TestApp, token: &str, id: &str, evidence: &str) -> (u16, Value) {
    send(
        app.client
            .post(app.url(&format!("/api/admin/transactions/{id}/reverse")))
            .bearer_auth(token)
            .json(&json!({ "evidence": evidence })),
    )
    .await
}

async fn delivered(app: &TestApp, c: &Creds, phone: &str, amount: u32, reference: &str) -> String {
    let (status, v) = app
        .topup(c, json!({"phone": phone, "amount": amount, "reference": reference}))
        .await;
    assert_eq!(status, 200, "{v}");
    v["transaction"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_reversed_delivery_is_refunded_once_and_shows_everywhere() {
    let app = TestApp::spawn().await;
    let c = app
        .customer_with("REV", "100", |a| {
            a.commission_rate = dec("0.02");
            a.daily_limit_mxn = Some(dec("100"));
        })
        .await;
    let ops = app.ops_token("ops-alice").await;
    // A webhook (its secret only: no URL needed to record events).
    cli::run_ops(
        app.settings.clone(),
        Command::Webhook(cli::WebhookCommand::Set {
            id: c.id.clone(),
            url: None,
            low_balance_usd: None,
        }),
    )
    .await
    .unwrap();
    let id = delivered(&app, &c, "5512345678", 100, "R-1").await;
    assert_eq!(app.balance(&c).await, dec("94.00"));
    // The daily limit is used up.
    let (status, _) = app.topup(&c, json!({"phone": "5512345678", "amount": 10})).await;
    assert_eq!(status, 429);

    // Refused: no token, a wrong one, no evidence, an unknown id.
    let (status, _) = send(
        app.client
            .post(app.url(&format!("/api/admin/transactions/{id}/reverse")))
            .json(&json!({"evidence": "x"})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(reverse(&app, "ops_wrong", &id, "x").await.0, 401);
    assert_eq!(reverse(&app, &ops, &id, "  ").await.0, 400);
    assert_eq!(reverse(&app, &ops, "RLR-NOPE", "x").await.0, 404);
    assert_eq!(app.balance(&c).await, dec("94.00"));

    // Two ops race to record the same reversal: one refund.
    let evidence = "LATCOM reversal LT38000001 on 2026-11-29: carrier rejected";
    let (a, b) = tokio::join!(reverse(&app, &ops, &id, evidence), reverse(&app, &ops, &id, evidence));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let ok = if a.0 == 200 { a.1 } else { b.1 };
    assert_eq!(
        (ok["status"].as_str(), money(&ok["refunded_usd"])),
        (Some("REVERSED"), dec("6.00"))
    );
    assert_eq!(app.balance(&c).await, dec("100.00"));

    // Webhooks hear of it, once.
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE transaction_id = $1 AND kind = 'transaction.reversed'")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);

    // Every read shows it.
    let (_, v) = app.transaction(&c, &id).await;
    assert_eq!(v["transaction"]["status"], "REVERSED");
    assert!(v["transaction"]["failure_reason"]
        .as_str()
        .unwrap()
        .contains("LT38000001"));
    let (token, _) = app.login(&c).await;
    let (_, v) = app.bearer_get(&token, "/api/distributor/transaction/R-1").await;
    assert_eq!(
        (v["status"].as_str(), v["response_code"].as_str()),
        (Some("REVERSED"), Some("91"))
    );
    // A replay of its reference answers its state, charging nothing.
    let (status, v) = app
        .topup(&c, json!({"phone": "5512345678", "amount": 100, "reference": "R-1"}))
        .await;
    assert_eq!(
        (status, v["transaction"]["status"].as_str()),
        (202, Some("REVERSED")),
        "{v}"
    );
    assert_eq!(app.balance(&c).await, dec("100.00"));

    // The day's limit is released: the number can be topped up again.
    delivered(&app, &c, "5512345678", 100, "R-2").await;

    // The audit log names who recorded it and why.
    let (actor, note): (String, String) =
        sqlx::query_as("SELECT actor, note FROM audit_notes WHERE transaction_id = $1 AND action = 'reversed'")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((actor.as_str(), note.as_str()), ("ops-alice", evidence));

    // A revoked token stops working; only a SUCCESS is reversed (through the CLI too).
    cli::run_ops(
        app.settings.clone(),
        Command::OpsToken(OpsTokenCommand::Revoke {
            name: "ops-alice".into(),
        }),
    )
    .await
    .unwrap();
    let second = delivered(&app, &c, "5512345679", 10, "R-3").await;
    assert_eq!(reverse(&app, &ops, &second, evidence).await.0, 401);
    let out = cli::run_ops(
        app.settings.clone(),
        Command::Reverse {
            id: second.clone(),
            evidence: "Smartcall said so".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "REVERSED");
    let again = cli::run_ops(
        app.settings.clone(),
        Command::Reverse {
            id: second,
            evidence: "twice".into(),
        },
    )
    .await;
    assert!(again.is_err());
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_new_operations() {
    let app = TestApp::spawn().await;
    let (status, doc) = send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(status, 200);
    for path in [
        "/api/quote",
        "/api/products",
        "/api/lookup/{phone}",
        "/api/distributor/quote",
        "/api/distributor/lookup/{phone}",
        "/api/admin/transactions/{id}/reverse",
        "/api/admin/customers",
        "/api/admin/customers/{id}/adjust",
        "/api/admin/customers/{id}/terms",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let topup = &doc["components"]["schemas"]["TopupBody"]["properties"];
    assert!(topup["validate_only"].is_object(), "{topup}");
    assert!(doc["components"]["schemas"]["QuoteView"].is_object());
}

/// Ops scripts read an account and credit it through the admin API: a ledger entry with
/// the note, audited under the token's name; bad input moves nothing.
#[tokio::test]
async fn ops_read_and_credit_an_account_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let c = app.customer("FUNDED", "10").await;
    let ops = app.ops_token("ops-carol").await;
    let credit = |token: &str, id: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/admin/customers/{id}/credit")))
            .bearer_auth(token)
            .json(&body)
    };

    let (status, _) = send(credit(&c.api_key, "FUNDED", json!({"usd": 5, "note": "wire"}))).await;
    assert_eq!(status, 401, "a reseller's key is not an ops token");
    for bad in [
        json!({"usd": 0, "note": "wire"}),
        json!({"usd": 1.005, "note": "wire"}),
        json!({"usd": -5, "note": "wire"}),
        json!({"usd": 5, "note": "  "}),
        json!({"usd": "5", "note": "wire"}),
    ] {
        let (status, body) = send(credit(&ops, "FUNDED", bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(credit(&ops, "NOBODY", json!({"usd": 5, "note": "wire"}))).await;
    assert_eq!(status, 404);
    assert_eq!(app.balance(&c).await, common::dec("10"), "nothing moved");

    let (status, body) = send(credit(&ops, "FUNDED", json!({"usd": 25.5, "note": "wire 4471"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["credited_usd"].clone(), body["balance_usd"].clone()),
        (json!(25.5), json!(35.5))
    );
    assert_eq!(app.balance(&c).await, common::dec("35.50"));

    let (status, account) = send(app.client.get(app.url("/api/admin/customers/FUNDED")).bearer_auth(&ops)).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(
        (account["balance_usd"].clone(), account["held_usd"].clone()),
        (json!(35.5), json!(0))
    );
    assert!(!account.to_string().contains(&c.api_key), "no key is shown");
    let (status, _) = send(app.client.get(app.url("/api/admin/customers/NOBODY")).bearer_auth(&ops)).await;
    assert_eq!(status, 404);

    let actor: Option<String> =
        sqlx::query_scalar("SELECT actor FROM audit_notes WHERE customer_id = 'FUNDED' AND note LIKE '%wire 4471%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor.as_deref(), Some("ops:ops-carol"));
    app.assert_ledger_invariants().await;
}

/// Ops scripts settle REVIEW transactions through the admin API, as the CLI and the
/// dashboard do: a failure refunded once, a success kept, each audited under the token.
#[tokio::test]
async fn ops_settle_review_transactions_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let c = app.customer("HELD", "10").await;
    common::dashboard::in_review(&app, "HELD", "RLRREVIEW0001").await;
    common::dashboard::in_review(&app, "HELD", "RLRREVIEW0002").await;
    assert_eq!(app.balance(&c).await, dec("4.12"), "two charges of 2.94 held");
    let ops = app.ops_token("ops-dave").await;
    let settle = |id: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/admin/transactions/{id}/settle")))
            .bearer_auth(&ops)
            .json(&body)
    };

    for bad in [
        json!({"outcome": "maybe", "note": "x"}),
        json!({"outcome": "failed", "note": " "}),
    ] {
        let (status, body) = send(settle("RLRREVIEW0001", bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(settle("RLRNOSUCH", json!({"outcome": "failed", "note": "x"}))).await;
    assert_eq!(status, 404);

    let (status, body) = send(settle(
        "RLRREVIEW0001",
        json!({"outcome": "failed", "note": "LATCOM: not delivered"}),
    ))
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("FAILED")), "{body}");
    let (status, body) = send(settle(
        "RLRREVIEW0002",
        json!({"outcome": "success", "note": "LATCOM: delivered"}),
    ))
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("SUCCESS")), "{body}");
    // Once: a second settlement of either is refused and moves nothing.
    let (status, _) = send(settle("RLRREVIEW0001", json!({"outcome": "failed", "note": "again"}))).await;
    assert_eq!(status, 409);
    assert_eq!(app.balance(&c).await, dec("7.06"), "the failure refunded once");

    let actors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT actor FROM audit_notes WHERE action LIKE 'review_settled_%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        actors,
        [Some("ops:ops-dave".to_string()), Some("ops:ops-dave".to_string())]
    );
    app.assert_ledger_invariants().await;
}

/// Ops scripts suspend and reactivate a reseller: its requests are refused while
/// suspended (nothing debited), others are untouched, and both changes are audited.
#[tokio::test]
async fn ops_suspend_and_reactivate_a_reseller_through_the_admin_api() {
    let app = TestApp::spawn_with(|s| s.limits.auth_cache_ttl_ms = 0, None).await;
    let a = app.customer("PAUSED", "10").await;
    let b = app.customer("BUSY", "10").await;
    let ops = app.ops_token("ops-erin").await;
    let status_of = |id: &str, action: &str, note: &str| {
        app.client
            .post(app.url(&format!("/api/admin/customers/{id}/{action}")))
            .bearer_auth(&ops)
            .json(&json!({ "note": note }))
    };
    let purchase = |reference: &str| json!({"phone": "5512345678", "amount": 50, "reference": reference});

    let (status, _) = send(status_of("PAUSED", "suspend", " ")).await;
    assert_eq!(status, 400, "a note is required");
    let (status, _) = send(status_of("NOBODY", "suspend", "fraud check")).await;
    assert_eq!(status, 404);
    let (status, body) = send(status_of("PAUSED", "suspend", "fraud check")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("suspended")), "{body}");

    let (status, body) = app.topup(&a, purchase("S-1")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("Account suspended")),
        "{body}"
    );
    assert_eq!(app.balance(&b).await, dec("10"));
    assert_eq!(
        app.topup(&b, purchase("S-2")).await.0,
        200,
        "another reseller is untouched"
    );

    let (status, body) = send(status_of("PAUSED", "activate", "cleared")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("active")), "{body}");
    assert_eq!(app.topup(&a, purchase("S-3")).await.0, 200);
    assert_eq!(
        app.balance(&a).await,
        dec("7.06"),
        "only the purchase after reactivation"
    );

    let audit: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor FROM audit_notes WHERE customer_id = 'PAUSED' AND action IN ('suspended', 'reactivated') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let erin = Some("ops:ops-erin".to_string());
    assert_eq!(
        audit,
        [
            ("suspended".to_string(), erin.clone()),
            ("reactivated".to_string(), erin)
        ]
    );
    app.assert_ledger_invariants().await;
}

/// Ops scripts rotate a reseller's keys: the new ones work at once, the old API key and
/// secret are refused, and tokens issued before end at once; audited.
#[tokio::test]
async fn ops_rotate_a_resellers_keys_through_the_admin_api() {
    let app = TestApp::spawn_with(|s| s.limits.auth_cache_ttl_ms = 0, None).await;
    let old = app.customer("ROTATED", "10").await;
    let other = app.customer("STEADY", "10").await;
    let (token, refresh) = app.login(&old).await;
    let (other_token, _) = app.login(&other).await;
    let ops = app.ops_token("ops-frank").await;
    let rotate = |id: &str, note: &str| {
        app.client
            .post(app.url(&format!("/api/admin/customers/{id}/keys/rotate")))
            .bearer_auth(&ops)
            .json(&json!({ "note": note }))
    };

    assert_eq!(send(rotate("ROTATED", "")).await.0, 400, "a note is required");
    assert_eq!(send(rotate("NOBODY", "leak")).await.0, 404);
    let (status, body) = send(rotate("ROTATED", "key leaked in a log")).await;
    assert_eq!(status, 200, "{body}");
    let new = Creds {
        api_key: body["api_key"].as_str().unwrap().into(),
        secret_key: body["secret_key"].as_str().unwrap().into(),
        ..old.clone()
    };
    assert_ne!(new.api_key, old.api_key);

    let (status, _) = send(app.get("/api/balance", &old)).await;
    assert_eq!(status, 401, "the old API key is refused");
    assert_eq!(app.balance(&new).await, dec("10"), "the new one works");
    assert_eq!(
        app.bearer_get(&token, "/api/distributor/get_balance").await.0,
        401,
        "tokens issued before end"
    );
    let (status, _) = send(
        app.client
            .post(app.url("/api/distributor/refresh"))
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = send(
        app.client
            .post(app.url("/api/distributor/login"))
            .json(&json!({"customer_id": "ROTATED", "secret_key": old.secret_key})),
    )
    .await;
    assert_eq!(status, 401, "the old secret is refused");
    app.login(&new).await;
    assert_eq!(
        app.bearer_get(&other_token, "/api/distributor/get_balance").await.0,
        200,
        "others keep their sessions"
    );

    let actor: Option<String> =
        sqlx::query_scalar("SELECT actor FROM audit_notes WHERE customer_id = 'ROTATED' AND action = 'keys_rotated'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor.as_deref(), Some("ops:ops-frank"));
}

/// Ops scripts open a reseller through the admin API, by the code path the CLI uses: its
/// keys are shown once and work at once, the opening balance is a ledger credit, both
/// audited under the token; a taken id is 409; bad input creates nothing.
#[tokio::test]
async fn ops_create_a_reseller_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let existing = app.customer("TAKEN", "10").await;
    let ops = app.ops_token("ops-gina").await;
    let create = |token: &str, body: Value| {
        app.client
            .post(app.url("/api/admin/customers"))
            .bearer_auth(token)
            .json(&body)
    };
    let fresh = |id: &str| json!({"customer_id": id, "name": "Nueva Recarga SA", "opening_balance_usd": 20});

    assert_eq!(
        send(app.client.post(app.url("/api/admin/customers")).json(&fresh("NEWCO")))
            .await
            .0,
        401
    );
    assert_eq!(
        send(create(&existing.api_key, fresh("NEWCO"))).await.0,
        401,
        "a reseller key is not an ops token"
    );
    for bad in [
        json!({"customer_id": "bad id!", "name": "x"}),
        json!({"customer_id": "", "name": "x"}),
        json!({"customer_id": "NEWCO", "name": "  "}),
        json!({"customer_id": "NEWCO", "name": "x", "opening_balance_usd": -1}),
        json!({"customer_id": "NEWCO", "name": "x", "opening_balance_usd": 1.001}),
        json!({"customer_id": "NEWCO", "name": "x", "terms": {"commission_rate": 1}}),
        json!({"customer_id": "NEWCO", "name": "x", "terms": {"topup_rate_per_min": 0}}),
        json!({"customer_id": "NEWCO", "name": "x", "terms": {"daily_limit_local": -5}}),
        json!({"customer_id": "NEWCO", "name": "x", "api_key": "mine"}),
        json!({"name": "x"}),
    ] {
        let (status, body) = send(create(&ops, bad.clone())).await;
        assert_eq!((status, body["success"].clone()), (400, json!(false)), "{bad}: {body}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM customers").await,
        1,
        "nothing created"
    );

    let (status, body) = send(create(
        &ops,
        json!({"customer_id": "NEWCO", "name": "Nueva Recarga SA", "opening_balance_usd": 20,
               "terms": {"commission_rate": 0.02, "credit_limit_usd": 500, "topup_rate_per_min": 30}}),
    ))
    .await;
    assert_eq!(status, 201, "{body}");
    let account = &body["account"];
    assert_eq!(
        (
            account["balance_usd"].clone(),
            account["commission_rate"].clone(),
            account["credit_limit_usd"].clone()
        ),
        (json!(20), json!(0.02), json!(500))
    );
    assert_eq!(
        (
            account["topup_rate_per_min"].clone(),
            account["daily_limit_local"].clone()
        ),
        (json!(30), Value::Null)
    );
    let creds = Creds {
        id: "NEWCO".into(),
        api_key: body["api_key"].as_str().unwrap().into(),
        secret_key: body["secret_key"].as_str().unwrap().into(),
        reconcile_key: body["reconcile_key"].as_str().unwrap().into(),
    };
    assert!(
        creds.api_key.starts_with("rk_") && creds.secret_key.starts_with("sk_"),
        "{body}"
    );
    assert_eq!(app.balance(&creds).await, dec("20"), "the API key works at once");
    app.login(&creds).await;
    let (status, _) = send(app.client.get(app.url("/api/admin/customers/NEWCO")).bearer_auth(&ops)).await;
    assert_eq!(status, 200);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT api_key_hash FROM customers WHERE id = 'NEWCO'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        recarga::domain::keys::hash(&creds.api_key),
        "only its hash is kept"
    );

    // A taken id: 409, and the reseller who has it is untouched.
    let (status, body) = send(create(&ops, fresh("TAKEN"))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        app.balance(&existing).await,
        dec("10"),
        "the original's keys and balance stand"
    );
    let (status, _) = send(create(&ops, fresh("NEWCO"))).await;
    assert_eq!(status, 409);
    assert_eq!(app.balance(&creds).await, dec("20"));

    let audit: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT action, note, actor FROM audit_notes WHERE customer_id = 'NEWCO' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let gina = Some("ops:ops-gina".to_string());
    assert_eq!(
        audit,
        [
            ("created".to_string(), "Nueva Recarga SA".to_string(), gina.clone()),
            ("credit".to_string(), "20 USD: opening balance".to_string(), gina)
        ]
    );
    app.assert_ledger_invariants().await;
}

/// Ops scripts adjust a balance either way through the admin API: an `adjustment` ledger
/// entry with the note, audited under the token; never below zero (409); bad input and
/// refusals move nothing.
#[tokio::test]
async fn ops_adjust_a_balance_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let c = app.customer("ADJUSTED", "10").await;
    let other = app.customer("ASIDE", "10").await;
    let ops = app.ops_token("ops-hugo").await;
    let adjust = |token: &str, id: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/admin/customers/{id}/adjust")))
            .bearer_auth(token)
            .json(&body)
    };
    let entries = app.ledger_entry_count().await;

    let no_token = app
        .client
        .post(app.url("/api/admin/customers/ADJUSTED/adjust"))
        .json(&json!({"usd": 5, "note": "x"}));
    assert_eq!(send(no_token).await.0, 401);
    let (status, _) = send(adjust(&c.api_key, "ADJUSTED", json!({"usd": 5, "note": "mine"}))).await;
    assert_eq!(status, 401, "a reseller's key is not an ops token");
    for bad in [
        json!({"usd": 0, "note": "x"}),
        json!({"usd": -1.005, "note": "x"}),
        json!({"usd": "-1", "note": "x"}),
        json!({"usd": -1, "note": " "}),
        json!({"usd": -1}),
        json!({"usd": -1, "note": "x", "actor": "someone else"}),
    ] {
        let (status, body) = send(adjust(&ops, "ADJUSTED", bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(adjust(&ops, "NOBODY", json!({"usd": 1, "note": "x"}))).await;
    assert_eq!(status, 404);
    let (status, body) = send(adjust(&ops, "ADJUSTED", json!({"usd": -10.01, "note": "too much"}))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("below zero"), "{body}");
    app.assert_nothing_moved(&c, "10", entries).await;

    let (status, body) = send(adjust(
        &ops,
        "ADJUSTED",
        json!({"usd": -4.5, "note": "duplicate wire 4471 reversed"}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["adjusted_usd"].clone(), body["balance_usd"].clone()),
        (json!(-4.5), json!(5.5))
    );
    let (status, body) = send(adjust(&ops, "ADJUSTED", json!({"usd": 1.25, "note": "goodwill"}))).await;
    assert_eq!((status, body["balance_usd"].clone()), (200, json!(6.75)), "{body}");
    // To zero exactly is allowed.
    let (status, body) = send(adjust(
        &ops,
        "ADJUSTED",
        json!({"usd": -6.75, "note": "account closed"}),
    ))
    .await;
    assert_eq!((status, body["balance_usd"].clone()), (200, json!(0)), "{body}");
    assert_eq!(app.balance(&c).await, dec("0"));
    assert_eq!(app.balance(&other).await, dec("10"), "another reseller is untouched");

    let ledger: Vec<(Decimal, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT amount_usd, note, actor FROM ledger_entries WHERE customer_id = 'ADJUSTED' AND kind = 'adjustment' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let expected = [
        ("-4.50", "duplicate wire 4471 reversed"),
        ("1.25", "goodwill"),
        ("-6.75", "account closed"),
    ]
    .map(|(a, n)| (dec(a), Some(n.to_string()), Some("ops:ops-hugo".to_string())));
    assert_eq!(ledger, expected);
    let actors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT actor FROM audit_notes WHERE customer_id = 'ADJUSTED' AND action = 'adjustment'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actors, vec![Some("ops:ops-hugo".to_string()); 3]);
    app.assert_ledger_invariants().await;
}

/// Ops scripts set a reseller's commission and limits through the admin API; the next
/// Relier request is priced and limited by them, though the reseller was in the
/// authentication cache (default TTL) just before. Bad input changes nothing.
#[tokio::test]
async fn ops_set_commission_and_limits_through_the_admin_api() {
    let app = TestApp::spawn().await;
    assert!(app.settings.limits.auth_cache_ttl_ms >= 1000, "the cache is on");
    let c = app.customer("TERMS", "100").await;
    let other = app.customer("UNTOUCHED", "100").await;
    let ops = app.ops_token("ops-ines").await;
    let set = |token: &str, id: &str, body: Value| {
        app.client
            .patch(app.url(&format!("/api/admin/customers/{id}/terms")))
            .bearer_auth(token)
            .json(&body)
    };
    let purchase =
        |reference: &str, amount: u32| json!({"phone": "5512345678", "amount": amount, "reference": reference});
    // Cached now: commission 0, the default limits.
    let (status, body) = app.topup(&c, purchase("T-1", 50)).await;
    assert_eq!(
        (status, body["billing"]["deducted_usd"].clone()),
        (200, json!(2.94)),
        "{body}"
    );

    let terms = json!({"commission_rate": 0.02, "daily_limit_local": 120, "topup_rate_per_min": 2});
    let (status, _) = send(
        app.client
            .patch(app.url("/api/admin/customers/TERMS/terms"))
            .json(&json!({"terms": terms, "note": "x"})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        send(set(&c.api_key, "TERMS", json!({"terms": terms, "note": "x"})))
            .await
            .0,
        401
    );
    for bad in [
        json!({"terms": {"commission_rate": 1}, "note": "x"}),
        json!({"terms": {"commission_rate": -0.01}, "note": "x"}),
        json!({"terms": {"commission_rate": "0.02"}, "note": "x"}),
        json!({"terms": {"daily_limit_local": 0}, "note": "x"}),
        json!({"terms": {"daily_limit_local": 10.001}, "note": "x"}),
        json!({"terms": {"topup_rate_per_min": 0}, "note": "x"}),
        json!({"terms": {"api_rate_per_15min": -3}, "note": "x"}),
        json!({"terms": {"credit_limit_usd": -1}, "note": "x"}),
        json!({"terms": {"status": "active"}, "note": "x"}),
        json!({"terms": {}, "note": "nothing"}),
        json!({"terms": terms, "note": " "}),
        json!({"terms": terms}),
    ] {
        let (status, body) = send(set(&ops, "TERMS", bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(
        send(set(&ops, "NOBODY", json!({"terms": terms, "note": "x"}))).await.0,
        404
    );
    let (_, account) = send(app.client.get(app.url("/api/admin/customers/TERMS")).bearer_auth(&ops)).await;
    assert_eq!(
        (
            account["commission_rate"].clone(),
            account["topup_rate_per_min"].clone()
        ),
        (json!(0), Value::Null),
        "nothing changed: {account}"
    );

    let (status, account) = send(set(&ops, "TERMS", json!({"terms": terms, "note": "new contract"}))).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(
        (
            account["commission_rate"].clone(),
            account["daily_limit_local"].clone(),
            account["topup_rate_per_min"].clone(),
            account["api_rate_per_15min"].clone()
        ),
        (json!(0.02), json!(120), json!(2), Value::Null)
    );

    // The very next request: 2 % commission (50 MXN @ 17.0068 → 2.94 × 1.02 = 3.00) …
    let (status, body) = app.topup(&c, purchase("T-2", 50)).await;
    assert_eq!(
        (status, body["billing"]["deducted_usd"].clone()),
        (200, json!(3)),
        "{body}"
    );
    // … 120 MXN a day for this phone (50 + 50 used) …
    let (status, body) = app.topup(&c, purchase("T-3", 50)).await;
    assert_eq!(
        (status, body["error"].as_str(), body["daily_limit_mxn"].clone()),
        (429, Some("Daily transaction limit exceeded"), json!(120)),
        "over the new daily limit: {body}"
    );
    // … and 2 top-up requests a minute.
    let (status, body) = app.topup(&c, purchase("T-4", 10)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("Too many requests")),
        "over the new rate limit: {body}"
    );
    assert_eq!(app.balance(&c).await, dec("94.06"), "only T-1 and T-2 charged");
    // Another reseller keeps the defaults.
    for n in 0..3 {
        assert_eq!(app.topup(&other, purchase(&format!("U-{n}"), 50)).await.0, 200);
    }

    // Null puts a limit back to the default.
    let (status, account) = send(set(
        &ops,
        "TERMS",
        json!({"terms": {"daily_limit_local": null}, "note": "back to standard"}),
    ))
    .await;
    assert_eq!(
        (
            status,
            account["daily_limit_local"].clone(),
            account["commission_rate"].clone()
        ),
        (200, Value::Null, json!(0.02))
    );

    let notes: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT note, actor FROM audit_notes WHERE customer_id = 'TERMS' AND action = 'terms_set' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let ines = Some("ops:ops-ines".to_string());
    assert_eq!(
        notes,
        [
            (
                "commission_rate 0.02, daily_limit_local 120, topup_rate_per_min 2: new contract".to_string(),
                ines.clone()
            ),
            ("daily_limit_local default: back to standard".to_string(), ines)
        ]
    );
    app.assert_ledger_invariants().await;
}

/// Ops scripts find what ops work on without SQL: the resellers, the REVIEW queue with
/// each transaction's attempts, and the audit log, a page at a time; a reseller's key
/// reads none of it.
#[tokio::test]
async fn ops_list_resellers_the_review_queue_and_the_audit_log_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let a = app.customer("LISTA", "10").await;
    app.customer("LISTB", "10").await;
    for (customer, id) in [
        ("LISTA", "RLRLIST0001"),
        ("LISTB", "RLRLIST0002"),
        ("LISTA", "RLRLIST0003"),
    ] {
        common::dashboard::in_review(&app, customer, id).await;
    }
    let ops = app.ops_token("ops-erin").await;
    let read = |token: &str, path: &str| app.client.get(app.url(path)).bearer_auth(token);

    for path in ["/api/admin/customers", "/api/admin/review", "/api/admin/audit"] {
        let (status, _) = send(app.client.get(app.url(path))).await;
        assert_eq!(status, 401, "{path} without a token");
        let (status, _) = send(read(&a.api_key, path)).await;
        assert_eq!(status, 401, "{path} with a reseller's key");
        for bad in ["limit=0", "limit=201", "limit=x", "colour=red"] {
            let (status, body) = send(read(&ops, &format!("{path}?{bad}"))).await;
            assert_eq!(status, 400, "{path}?{bad}: {body}");
        }
    }
    for path in ["/api/admin/review?cursor=nonsense", "/api/admin/audit?cursor=nonsense"] {
        let (status, body) = send(read(&ops, path)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }

    // Every page followed to the end: each item once, in order.
    let walk = |path: &'static str, items: &'static str, key: &'static str| {
        let (read, ops) = (&read, &ops);
        async move {
            let (mut seen, mut cursor) = (Vec::new(), None::<String>);
            loop {
                let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
                let (status, body) = send(read(ops, &format!("{path}{after}"))).await;
                assert_eq!(status, 200, "{body}");
                let page = body[items].as_array().unwrap();
                assert!(page.len() <= 1, "{body}");
                seen.extend(page.iter().map(|i| i[key].as_str().unwrap().to_string()));
                match body["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return seen,
                }
            }
        }
    };
    assert_eq!(
        walk("/api/admin/customers?limit=1", "customers", "customer_id").await,
        ["LISTA", "LISTB"]
    );
    assert_eq!(
        walk("/api/admin/review?limit=1", "transactions", "transaction_id").await,
        ["RLRLIST0001", "RLRLIST0002", "RLRLIST0003"],
        "oldest first"
    );

    let (status, queue) = send(read(&ops, "/api/admin/review?customer=LISTA")).await;
    assert_eq!(status, 200, "{queue}");
    let held: Vec<&str> = queue["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transaction_id"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["RLRLIST0001", "RLRLIST0003"]);
    let first = &queue["transactions"][0];
    assert_eq!(first["charged_usd"], json!(2.94));
    assert_eq!(first["attempts"][0]["upstream"], json!("latcom"));
    assert_eq!(first["attempts"][0]["upstream_reference"], json!("RLRLIST0001"));

    let (status, body) = send(
        app.client
            .post(app.url("/api/admin/transactions/RLRLIST0001/settle"))
            .bearer_auth(&ops)
            .json(&json!({"outcome": "failed", "note": "LATCOM: never delivered"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, queue) = send(read(&ops, "/api/admin/review?customer=LISTA")).await;
    assert_eq!(
        queue["transactions"].as_array().unwrap().len(),
        1,
        "settled: off the queue"
    );

    let (status, log) = send(read(&ops, "/api/admin/audit?customer=LISTA&limit=1")).await;
    assert_eq!(status, 200, "{log}");
    let newest = &log["notes"][0];
    assert_eq!(
        (newest["transaction_id"].as_str(), newest["actor"].as_str()),
        (Some("RLRLIST0001"), Some("ops:ops-erin")),
        "{log}"
    );
    assert!(
        newest["action"].as_str().unwrap().starts_with("review_settled"),
        "{log}"
    );
    let (_, older) = send(read(
        &ops,
        &format!(
            "/api/admin/audit?customer=LISTA&cursor={}",
            log["next_cursor"].as_str().unwrap()
        ),
    ))
    .await;
    let older = older["notes"].as_array().unwrap();
    assert!(!older.is_empty() && older.iter().all(|n| n["id"].as_i64() < newest["id"].as_i64()));
    assert!(older.iter().all(|n| n["customer_id"] == json!("LISTA")), "only LISTA's");
    app.assert_ledger_invariants().await;
}

/// Adjustments raced against one balance: each is checked and written under the
/// balance's row lock, so of eight −3.00 on 10.00 exactly three pass and the balance
/// ends at 1.00, never below zero; the others are 409 and move nothing.
#[tokio::test]
async fn racing_adjustments_never_take_a_balance_below_zero() {
    let app = TestApp::spawn().await;
    let c = app.customer("RACED", "10").await;
    let ops = app.ops_token("ops-race").await;
    let entries = app.ledger_entry_count().await;
    let adjustments = (0..8).map(|i| {
        let request = app
            .client
            .post(app.url("/api/admin/customers/RACED/adjust"))
            .bearer_auth(&ops)
            .json(&json!({"usd": -3, "note": format!("chargeback {i}")}));
        async move { send(request).await }
    });
    let answers = futures::future::join_all(adjustments).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 409, 409, 409, 409, 409], "{answers:?}");
    assert_eq!(app.balance(&c).await, dec("1.00"));
    assert_eq!(
        app.ledger_entry_count().await,
        entries + 3,
        "one entry per adjustment that passed"
    );
    app.assert_ledger_invariants().await;
}
