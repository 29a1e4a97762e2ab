//! /dashboard over real HTTP with a cookie-keeping client: tenants see only their own
//! data, ops actions go through the ledger and the audit log, CSRF and session checks,
//! and the login's brute-force limit.

mod common;

use chrono::NaiveDate;
use common::dashboard::{csrf, in_review, ops_user, Browser};
use common::{dec, rollup_drift, TestApp};
use recarga::cli::{self, Command, OpsUserCommand};
use recarga::domain::clock::SystemClock;
use recarga::domain::limits::business_day;
use recarga::service::volume::VolumeService;
use serde_json::json;
use std::sync::Arc;

/// A delivered top-up; its id.
async fn delivered(app: &TestApp, c: &common::Creds, reference: &str, phone: &str) -> String {
    let (status, body) = app
        .topup(c, json!({"phone": phone, "amount": 50, "reference": reference}))
        .await;
    assert_eq!(status, 200, "{body}");
    body["transaction"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_reseller_sees_only_their_own_data_through_every_page() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_A", "100").await;
    let b = app.customer("DASH_B", "100").await;
    let a_txn = delivered(&app, &a, "A-REF-1", "5512345678").await;
    let b_txn = delivered(&app, &b, "B-REF-1", "5587654321").await;
    in_review(&app, "DASH_B", "B_REVIEW").await;

    let browser = Browser::new(&app);
    assert_eq!(browser.login_reseller(&a).await, (303, "/dashboard".into()));
    let (status, home) = browser.get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(home.contains(&a_txn), "own history shows");
    assert!(home.contains(r#"<span id="available">97.06</span>"#), "{home}");
    assert!(home.contains("<svg"), "the volume chart is drawn");
    assert_eq!(cell(&home, "success-rate"), "100 %");
    assert!(!home.contains(&b_txn) && !home.contains("DASH_B"));

    // By id, by reference, by phone: another reseller's rows are simply not there.
    for query in [
        format!("/dashboard?id={b_txn}"),
        "/dashboard?reference=B-REF-1".into(),
        "/dashboard?phone=5587654321".into(),
        "/dashboard?status=REVIEW".into(),
    ] {
        let (status, page) = browser.get(&query).await;
        assert_eq!(status, 200, "{query}");
        // (The filter's own value is shown back in its field; no row of B's is listed.)
        let links_to = |id: &str| page.contains(&format!("/dashboard/transactions/{id}"));
        assert!(!links_to(&b_txn) && !links_to("B_REVIEW"), "{query} leaked B's data");
        assert!(page.contains("No transactions."), "{query}");
    }
    let (status, _) = browser.get(&format!("/dashboard/transactions/{b_txn}")).await;
    assert_eq!(status, 404);
    let (status, page) = browser.get(&format!("/dashboard/transactions/{a_txn}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&a_txn));

    // Naming B, or any ops page or action, is refused.
    for path in [
        "/dashboard?customer=DASH_B",
        "/dashboard/ops/review",
        "/dashboard/ops/review?customer=DASH_B",
        "/dashboard/ops/audit",
        "/dashboard/ops/audit?customer=DASH_B",
    ] {
        assert_eq!(browser.get(path).await.0, 403, "{path}");
    }
    let token = csrf(&home);
    let (status, _, _) = browser
        .post(
            "/dashboard/ops/credit",
            &[
                ("csrf", &token),
                ("customer", "DASH_A"),
                ("usd", "50"),
                ("note", "gift"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(browser.settle(&token, "B_REVIEW", "failed", "mine").await, 403);
    let status: String = sqlx::query_scalar("SELECT status FROM transactions WHERE id = 'B_REVIEW'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "REVIEW");
    assert_eq!(app.balance(&a).await, dec("97.06"), "no credit happened");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_ops_credit_moves_the_balance_through_the_ledger_and_is_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_C", "10").await;
    let (email, password) = ops_user(&app, "ana@ops.example").await;
    let again = cli::run_ops(
        app.settings.clone(),
        Command::OpsUser(OpsUserCommand::Create {
            email: "ANA@ops.example".into(),
        }),
    )
    .await;
    assert!(again.is_err(), "one ops user per email, whatever its case");
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM ops_users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$") && !stored.contains(&password),
        "only a hash is stored"
    );
    let browser = Browser::new(&app);
    assert_eq!(browser.login_ops(&email, &password).await.0, 303);

    let (status, page) = browser.get("/dashboard?customer=DASH_C").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<span id="available">10.00</span>"#), "{page}");
    let token = csrf(&page);
    let (status, location, _) = browser
        .post(
            "/dashboard/ops/credit",
            &[
                ("csrf", &token),
                ("customer", "DASH_C"),
                ("usd", "25.50"),
                ("note", "wire 2026-11-30 #884"),
            ],
        )
        .await;
    assert_eq!((status, location.as_str()), (303, "/dashboard?customer=DASH_C"));
    assert_eq!(app.balance(&a).await, dec("35.50"));
    let (amount, note): (rust_decimal::Decimal, Option<String>) = sqlx::query_as(
        "SELECT amount_usd, note FROM ledger_entries WHERE customer_id = 'DASH_C' AND kind = 'credit' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((amount, note.as_deref()), (dec("25.50"), Some("wire 2026-11-30 #884")));
    app.assert_ledger_invariants().await;

    let (status, audit) = browser.get("/dashboard/ops/audit?customer=DASH_C").await;
    assert_eq!(status, 200);
    assert!(audit.contains("25.50 USD: wire 2026-11-30 #884"), "{audit}");
    assert!(audit.contains("ana@ops.example"), "the audit names the ops user");

    // A credit without a note, or of no amount, moves nothing.
    for (usd, note) in [("5", ""), ("0", "zero"), ("1.234", "sub-cent"), ("abc", "not a number")] {
        let (status, _, _) = browser
            .post(
                "/dashboard/ops/credit",
                &[("csrf", &token), ("customer", "DASH_C"), ("usd", usd), ("note", note)],
            )
            .await;
        assert_eq!(status, 400, "{usd} {note}");
    }
    assert_eq!(app.balance(&a).await, dec("35.50"));
}

#[tokio::test]
async fn ops_settle_a_review_transaction_with_a_note_and_the_audit_names_them() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_R", "10").await;
    in_review(&app, "DASH_R", "R_1").await;
    assert_eq!(app.balance(&a).await, dec("7.06"));
    let (email, password) = ops_user(&app, "luis@ops.example").await;
    let browser = Browser::new(&app);
    browser.login_ops(&email, &password).await;

    let (status, queue) = browser.get("/dashboard/ops/review").await;
    assert_eq!(status, 200);
    assert!(queue.contains("review-R_1"), "{queue}");
    assert!(queue.contains("latcom"), "the attempt is shown as evidence");
    let token = csrf(&queue);
    let (status, _, _) = browser
        .post(
            "/dashboard/ops/review/R_1/settle",
            &[("csrf", &token), ("outcome", "failed"), ("note", " ")],
        )
        .await;
    assert_eq!(status, 400, "a note is mandatory");
    let (status, location, _) = browser
        .post(
            "/dashboard/ops/review/R_1/settle",
            &[
                ("csrf", &token),
                ("outcome", "failed"),
                ("note", "LATCOM support: never delivered"),
            ],
        )
        .await;
    assert_eq!((status, location.as_str()), (303, "/dashboard/ops/review"));
    assert_eq!(app.balance(&a).await, dec("10.00"), "refunded");
    let actor: Option<String> = sqlx::query_scalar(
        "SELECT actor FROM audit_notes WHERE transaction_id = 'R_1' AND action = 'review_settled_failed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor.as_deref(), Some("luis@ops.example"));
    let (status, _, _) = browser
        .post(
            "/dashboard/ops/review/R_1/settle",
            &[("csrf", &token), ("outcome", "success"), ("note", "again")],
        )
        .await;
    assert_eq!(status, 400, "settled once only");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_X", "10").await;
    let (email, password) = ops_user(&app, "eve@ops.example").await;
    let browser = Browser::new(&app);

    // The login form itself: no token, or one that is not the cookie's.
    let (status, _, _) = browser
        .post(
            "/dashboard/login",
            &[("kind", "ops"), ("email", &email), ("password", &password)],
        )
        .await;
    assert!(status == 403 || status == 422, "{status}");
    browser.get("/dashboard/login").await;
    let (status, _, _) = browser
        .post(
            "/dashboard/login",
            &[
                ("csrf", "forged"),
                ("kind", "ops"),
                ("email", &email),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(status, 403);

    browser.login_ops(&email, &password).await;
    let token = browser.session_csrf().await;
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("customer", "DASH_X"),
            ("usd", "5"),
            ("note", "csrf test"),
        ]
    };
    let (status, _, _) = browser.post("/dashboard/ops/credit", &form("")[1..]).await;
    assert!(status == 403 || status == 422, "no token: {status}");
    let (status, _, _) = browser.post("/dashboard/ops/credit", &form("")).await;
    assert_eq!(status, 403, "empty token");
    let wrong = "0".repeat(token.len());
    let (status, _, _) = browser
        .post(
            "/dashboard/ops/credit",
            &[
                ("csrf", &wrong),
                ("customer", "DASH_X"),
                ("usd", "5"),
                ("note", "csrf test"),
            ],
        )
        .await;
    assert_eq!(status, 403, "wrong token");
    // Another session's token is wrong too.
    let other = Browser::new(&app);
    other.login_ops(&email, &password).await;
    let other_token = other.session_csrf().await;
    assert_ne!(other_token, token);
    let (status, _, _) = browser
        .post(
            "/dashboard/ops/credit",
            &[
                ("csrf", &other_token),
                ("customer", "DASH_X"),
                ("usd", "5"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(status, 403, "another session's token");
    assert_eq!(app.balance(&a).await, dec("10.00"), "nothing moved");
    let (status, _, _) = browser.post("/dashboard/logout", &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    assert_eq!(browser.get("/dashboard").await.0, 200, "still logged in");
}

#[tokio::test]
async fn revoked_and_expired_sessions_are_refused() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_S", "10").await;

    // Logout revokes the session server-side: its cookie, replayed, is refused.
    let cookie = format!("recarga_session={}", session_cookie(&app, &a).await);
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = || {
        raw.get(format!("{}/dashboard", app.base))
            .header("cookie", &cookie)
            .send()
    };
    let page = get().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let token = csrf(&page.text().await.unwrap());
    let logout = raw
        .post(format!("{}/dashboard/logout", app.base))
        .header("cookie", &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 303);
    assert_eq!(logout.headers()["location"], "/dashboard/login");
    let replay = get().await.unwrap();
    assert_eq!(replay.status().as_u16(), 303, "a revoked session is refused");
    assert_eq!(replay.headers()["location"], "/dashboard/login");

    // An expired session is refused likewise.
    let browser = Browser::new(&app);
    browser.login_reseller(&a).await;
    assert_eq!(browser.get("/dashboard").await.0, 200);
    sqlx::query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(browser.get("/dashboard").await.0, 303, "an expired session is refused");

    // Sessions expired over a day ago are forgotten at the next login.
    sqlx::query("UPDATE dashboard_sessions SET expires_at = now() - interval '2 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    browser.login_reseller(&a).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboard_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "only the new session is left");
}

/// Log in on a fresh client and return the raw session cookie it was given.
async fn session_cookie(app: &TestApp, c: &common::Creds) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{}/dashboard/login", app.base))
        .send()
        .await
        .unwrap();
    let login_cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = csrf(&page.text().await.unwrap());
    let r = client
        .post(format!("{}/dashboard/login", app.base))
        .header("cookie", login_cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("kind", "reseller"),
            ("customer_id", &c.id),
            ("api_key", &c.api_key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("recarga_session="))
        .expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/dashboard"),
        "{set}"
    );
    set.trim_start_matches("recarga_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn login_brute_force_is_throttled() {
    let app = TestApp::spawn_with(
        |s| {
            s.distributor.login_failures_per_customer = 3;
            s.distributor.login_failures_per_address = 100;
        },
        None,
    )
    .await;
    let a = app.customer("DASH_T", "10").await;
    let (email, password) = ops_user(&app, "tom@ops.example").await;
    let browser = Browser::new(&app);
    let wrong = common::Creds {
        api_key: "rk_wrong".into(),
        ..a.clone()
    };
    for _ in 0..4 {
        assert_eq!(browser.login_reseller(&wrong).await.0, 401);
    }
    let (status, _) = browser.login_reseller(&wrong).await;
    assert_eq!(status, 429, "blocked after the allowed failures");
    let (status, _) = browser.login_reseller(&a).await;
    assert_eq!(status, 429, "even with the right key, until the bucket refills");

    for _ in 0..4 {
        assert_eq!(browser.login_ops(&email, "guess").await.0, 401);
    }
    assert_eq!(browser.login_ops(&email, &password).await.0, 429);
    assert_eq!(browser.get("/dashboard").await.0, 303, "no session was made");
}

#[tokio::test]
async fn the_cookies_are_secure_when_served_over_tls() {
    let app = TestApp::spawn_with(|s| s.dashboard.secure_cookie = true, None).await;
    let page = reqwest::get(format!("{}/dashboard/login", app.base)).await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
}

#[tokio::test]
async fn a_suspended_resellers_session_is_refused() {
    let app = TestApp::spawn_with(|s| s.limits.auth_cache_ttl_ms = 0, None).await;
    let a = app.customer("DASH_U", "10").await;
    let browser = Browser::new(&app);
    browser.login_reseller(&a).await;
    assert_eq!(browser.get("/dashboard").await.0, 200);
    sqlx::query("UPDATE customers SET status = 'suspended' WHERE id = 'DASH_U'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(browser.get("/dashboard").await.0, 303);
    assert_eq!(browser.login_reseller(&a).await.0, 403, "and cannot log in again");
}

/// The text of the element with this id (`<td id="x">text</td>`, `<code id="api-key">…`).
fn cell(page: &str, id: &str) -> String {
    let open = format!(r#"id="{id}">"#);
    let start = page.find(&open).unwrap_or_else(|| panic!("no #{id} in {page}")) + open.len();
    page[start..].split('<').next().unwrap().to_string()
}

/// Move transactions `back` business days into the past, as if bought then (their
/// daily-limit usage with them).
async fn bought_days_ago(app: &TestApp, ids: &[&str], today: NaiveDate, back: i64) {
    sqlx::query(
        "UPDATE daily_usage u SET business_day = $2 FROM transactions t
         WHERE t.id = ANY($1) AND u.customer_id = t.customer_id AND u.phone = t.phone
           AND u.currency = t.currency AND u.business_day = t.business_day",
    )
    .bind(ids)
    .bind(today - chrono::Duration::days(back))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE transactions SET business_day = $2, created_at = created_at - make_interval(days => $3)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(today - chrono::Duration::days(back))
    .bind(back as i32)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Transactions per status, and delivered ones per business day.
type Counts = (Vec<(String, i64)>, Vec<(NaiveDate, i64)>);

/// What the pages must show, counted straight from `transactions` over the last 7
/// business days of `customer` (or of all).
async fn direct_counts(app: &TestApp, customer: Option<&str>, today: NaiveDate) -> Counts {
    let rows: Vec<(NaiveDate, String, i64)> = sqlx::query_as(
        "SELECT business_day, status, count(*) FROM transactions WHERE business_day BETWEEN $1 AND $2
         AND customer_id = COALESCE($3, customer_id) GROUP BY 1, 2 ORDER BY 2, 1",
    )
    .bind(today - chrono::Duration::days(6))
    .bind(today)
    .bind(customer)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut by_status: Vec<(String, i64)> = Vec::new();
    for (_, status, n) in &rows {
        match by_status.last_mut() {
            Some((s, total)) if s == status => *total += n,
            _ => by_status.push((status.clone(), *n)),
        }
    }
    let by_day = rows
        .iter()
        .filter(|(_, status, _)| status == "SUCCESS")
        .map(|(day, _, n)| (*day, *n))
        .collect();
    (by_status, by_day)
}

/// The page shows exactly the direct counts: outcomes, rates and one bar per day.
fn assert_page_counts(page: &str, (by_status, by_day): &Counts) {
    let of = |s: &str| by_status.iter().find(|(status, _)| status == s).map_or(0, |(_, n)| *n);
    let (delivered, failed) = (of("SUCCESS"), of("FAILED"));
    assert_eq!(cell(page, "delivered"), delivered.to_string());
    assert_eq!(cell(page, "failed"), failed.to_string());
    assert_eq!(cell(page, "reversed"), of("REVERSED").to_string());
    assert_eq!(
        cell(page, "open"),
        (of("PENDING") + of("PROCESSING") + of("REVIEW")).to_string()
    );
    let rate = rust_decimal::Decimal::from(delivered * 100) / rust_decimal::Decimal::from(delivered + failed);
    assert_eq!(cell(page, "success-rate"), format!("{} %", rate.round_dp(1)));
    for (day, count) in by_day {
        assert!(
            page.contains(&format!("<title>{day}: {count}</title>")),
            "{day}: {count} in {page}"
        );
    }
    let total: i64 = by_day.iter().map(|(_, n)| n).sum();
    assert!(
        page.contains(&format!("Top-ups delivered (count): total {total},")),
        "{page}"
    );
}

#[tokio::test]
async fn rates_percentiles_and_the_daily_rollup_equal_a_direct_count_across_days_and_refunds() {
    // The test rolls up itself, once the past days are staged.
    let app = TestApp::spawn_with(|s| s.dashboard.rollup_interval_secs = 3600, None).await;
    let tz: chrono_tz::Tz = app.settings.business_timezone.parse().unwrap();
    let today = business_day(chrono::Utc::now(), tz);
    let a = app.customer("ROLL_A", "1000").await;
    let b = app.customer("ROLL_B", "1000").await;
    let mut a_ids = Vec::new();
    for i in 0..6 {
        a_ids.push(delivered(&app, &a, &format!("RA-{i}"), &format!("551234560{i}")).await);
    }
    let (status, body) = app
        .topup(&a, json!({"phone": "5500000001", "amount": 50, "reference": "RA-FAIL"}))
        .await;
    assert_eq!(status, 500, "the sandbox's failing number, refunded: {body}");
    let a_failed: String = sqlx::query_scalar("SELECT id FROM transactions WHERE reference = 'RA-FAIL'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    in_review(&app, "ROLL_A", "ROLL_A_REVIEW").await;
    delivered(&app, &b, "RB-0", "5587654320").await;
    delivered(&app, &b, "RB-1", "5587654321").await;
    // Known upstream times for A's deliveries: 40, 90, 200, 900, 1500 and 3000 ms.
    for (id, ms) in a_ids.iter().zip([40i64, 90, 200, 900, 1500, 3000]) {
        sqlx::query("UPDATE transactions SET response_time_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(ms)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    // Three business days: two closed (rolled up below), and today (counted live).
    bought_days_ago(&app, &[a_ids[0].as_str(), a_ids[1].as_str()], today, 3).await;
    bought_days_ago(&app, &[a_ids[2].as_str(), a_failed.as_str(), "ROLL_A_REVIEW"], today, 2).await;
    let volume = VolumeService::new(app.pool.clone(), Arc::new(SystemClock), tz);
    assert_eq!(
        volume.roll_up_closed_days().await.unwrap(),
        90,
        "the last 90 closed days"
    );
    let rolled: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT DISTINCT business_day FROM daily_volume WHERE customer_id = 'ROLL_A' ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rolled,
        [today - chrono::Duration::days(3), today - chrono::Duration::days(2)]
    );

    // After the roll-up: a REVIEW of a closed day settled failed (refunded) from the
    // dashboard, and a delivery of another closed day reversed through the admin API.
    let (email, password) = ops_user(&app, "rollup@ops.example").await;
    let ops = Browser::new(&app);
    ops.login_ops(&email, &password).await;
    let token = ops.session_csrf().await;
    assert_eq!(
        ops.settle(&token, "ROLL_A_REVIEW", "failed", "never delivered").await,
        303
    );
    let admin = app.ops_token("rollup").await;
    let reversed = app
        .client
        .post(app.url(&format!("/api/admin/transactions/{}/reverse", a_ids[0])))
        .bearer_auth(&admin)
        .json(&json!({"evidence": "LATCOM reversal report 2026-11-30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reversed.status(), 200, "{}", reversed.text().await.unwrap());

    // The rollup of the closed days is still exactly the transactions of those days.
    assert_eq!(rollup_drift(&app.pool).await, 0, "the rollup equals a direct count");

    // The reseller's own page: exactly their direct count (B's are not in it).
    let reseller = Browser::new(&app);
    reseller.login_reseller(&a).await;
    let (status, page) = reseller.get("/dashboard?days=7").await;
    assert_eq!(status, 200, "{page}");
    let a_counts = direct_counts(&app, Some("ROLL_A"), today).await;
    assert_eq!(
        a_counts.0,
        [
            ("FAILED".to_string(), 2),
            ("REVERSED".to_string(), 1),
            ("SUCCESS".to_string(), 5)
        ]
    );
    assert_page_counts(&page, &a_counts);
    assert_eq!(cell(&page, "success-rate"), "71.4 %");
    // Five deliveries timed 90, 200, 900, 1500 and 3000 ms (the 40 ms one was reversed):
    // p50 is the 3rd, p95 and p99 the 5th, each shown as its bucket's upper bound.
    let le = |ms: i64| {
        let pool = app.pool.clone();
        async move {
            let le: i64 = sqlx::query_scalar("SELECT recarga_latency_le_ms($1)")
                .bind(ms)
                .fetch_one(&pool)
                .await
                .unwrap();
            format!("≤ {le} ms")
        }
    };
    assert_eq!(cell(&page, "p50"), le(900).await);
    assert_eq!(cell(&page, "p95"), le(3000).await);
    assert_eq!(cell(&page, "p99"), le(3000).await);
    assert_eq!(cell(&page, "timed"), "5");

    // Ops see the same for A, and everyone's together without the filter.
    let (status, page) = ops.get("/dashboard/ops/overview?customer=ROLL_A&days=7").await;
    assert_eq!(status, 200, "{page}");
    assert_page_counts(&page, &a_counts);
    assert_eq!(cell(&page, "p50"), le(900).await);
    assert_eq!(ops.get("/dashboard/ops/overview?customer=NOBODY").await.0, 404);
    let (status, page) = ops.get("/dashboard/ops/overview?days=7").await;
    assert_eq!(status, 200);
    assert_page_counts(&page, &direct_counts(&app, None, today).await);
    // LATCOM's recent attempts (every one of this test's), the decline among them.
    let attempts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM attempts WHERE upstream = 'latcom' GROUP BY 1 ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let row = &page[page.find(r#"id="upstream-latcom""#).expect("a LATCOM row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    let total: i64 = attempts.iter().map(|(_, n)| n).sum();
    assert!(row.contains(&format!("<td>{total}</td>")), "{attempts:?} {row}");
    assert!(
        row.contains(r#"<span class="ok">up</span>"#) && row.contains("closed"),
        "{row}"
    );
    let of = |status: &str| {
        attempts
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let answered = total - of("SENT");
    let errors =
        rust_decimal::Decimal::from((of("FAILED") + of("UNKNOWN")) * 100) / rust_decimal::Decimal::from(answered);
    assert!(row.contains(&format!("{} %", errors.round_dp(1))), "{attempts:?} {row}");

    // A reseller never sees the ops overview, for all or for anyone.
    for path in [
        "/dashboard/ops/overview",
        "/dashboard/ops/overview?customer=ROLL_B",
        "/dashboard/ops/overview?customer=ROLL_A",
    ] {
        assert_eq!(reseller.get(path).await.0, 403, "{path}");
    }
    assert_eq!(reseller.get("/dashboard?customer=ROLL_B&days=7").await.0, 403);
    assert_eq!(reseller.get("/dashboard?days=8").await.0, 400);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_ops_overview_flags_a_low_float_and_a_stale_rate() {
    let app = TestApp::spawn_with(
        |s| {
            // Smartcall's sandbox float (100,000 ZAR) is under this; every rate is stale at once.
            s.providers.smartcall.low_float_threshold = dec("1000000");
            s.fx.max_age_hours = 0;
        },
        None,
    )
    .await;
    let (email, password) = ops_user(&app, "panels@ops.example").await;
    let ops = Browser::new(&app);
    ops.login_ops(&email, &password).await;
    let (status, page) = ops.get("/dashboard/ops/overview").await;
    assert_eq!(status, 200, "{page}");
    let row = |id: &str| {
        let at = page
            .find(&format!(r#"id="{id}""#))
            .unwrap_or_else(|| panic!("no {id} in {page}"));
        page[at..at + page[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(
        row("upstream-smartcall").contains("float-low"),
        "{}",
        row("upstream-smartcall")
    );
    assert!(row("upstream-smartcall").contains("100000.00"));
    assert!(!row("upstream-latcom").contains("float-low"));
    let mxn = row("fx-MXN");
    assert!(mxn.contains("STALE") && mxn.contains("17.0068"), "{mxn}");
    assert_eq!(cell(&page, "delivered"), "0");
    assert_eq!(cell(&page, "p50"), "-");
}

/// The audit log's rows for a reseller: (action, note, actor), oldest first.
async fn audit_rows(app: &TestApp, customer: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT action, coalesce(note, ''), coalesce(actor, '') FROM audit_notes WHERE customer_id = $1 ORDER BY id",
    )
    .bind(customer)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// An ops user runs a reseller's account from the pages: opens it (keys shown once),
/// adjusts its balance, sets its terms, suspends and reactivates it, rotates its keys;
/// each takes effect at the reseller's next request, and the audit log names the ops user.
#[tokio::test]
async fn ops_open_and_run_a_resellers_account_from_the_pages() {
    let app = TestApp::spawn().await;
    let (email, password) = ops_user(&app, "olga@ops.example").await;
    let browser = Browser::new(&app);
    browser.login_ops(&email, &password).await;
    let (status, list) = browser.get("/dashboard").await;
    assert_eq!(status, 200);
    let token = csrf(&list);
    let create = |id: &'static str| {
        vec![
            ("customer_id", id),
            ("name", "Tienda Olga"),
            ("opening_balance_usd", "40"),
            ("credit_limit_usd", ""),
            ("commission_rate", ""),
            ("daily_limit_local", ""),
            ("topup_rate_per_min", ""),
            ("api_rate_per_15min", ""),
        ]
    };
    let with_csrf = |fields: Vec<(&'static str, &'static str)>, token: &str| {
        let mut all = vec![("csrf".to_string(), token.to_string())];
        all.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    };
    let post = |path: &'static str, fields: Vec<(String, String)>| {
        let browser = &browser;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post(path, &fields).await
        }
    };

    // Opened: the keys are on the answer, and work at once.
    let (status, _, page) = post("/dashboard/ops/resellers", with_csrf(create("OLGA"), &token)).await;
    assert_eq!(status, 200, "{page}");
    let creds = common::Creds {
        id: cell(&page, "key-customer"),
        api_key: cell(&page, "api-key"),
        secret_key: cell(&page, "secret-key"),
        reconcile_key: cell(&page, "reconcile-key"),
    };
    assert_eq!(creds.id, "OLGA");
    assert_eq!(app.balance(&creds).await, dec("40"));
    // Never shown again: not on the account page, the list or the audit log.
    for path in [
        "/dashboard?customer=OLGA",
        "/dashboard",
        "/dashboard/ops/audit?customer=OLGA",
    ] {
        let (status, page) = browser.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !page.contains(&creds.api_key) && !page.contains(&creds.secret_key),
            "{path} shows a key"
        );
    }
    let (status, _, page) = post("/dashboard/ops/resellers", with_csrf(create("OLGA"), &token)).await;
    assert_eq!(status, 409, "a taken id: {page}");
    assert_eq!(app.balance(&creds).await, dec("40"), "the original stands");

    // Adjusted either way, never below zero.
    let adjust = |usd: &'static str, note: &'static str| {
        with_csrf(vec![("customer", "OLGA"), ("usd", usd), ("note", note)], &token)
    };
    let (status, location, _) = post("/dashboard/ops/adjust", adjust("-15.50", "duplicate wire reversed")).await;
    assert_eq!((status, location.as_str()), (303, "/dashboard?customer=OLGA"));
    let entries = app.ledger_entry_count().await;
    for (usd, note, refused) in [
        ("-24.51", "too much", 409),
        ("5", " ", 400),
        ("0", "zero", 400),
        ("x", "nan", 400),
    ] {
        let (status, _, page) = post("/dashboard/ops/adjust", adjust(usd, note)).await;
        assert_eq!(status, refused, "{usd} {note}: {page}");
    }
    assert_eq!(app.balance(&creds).await, dec("24.50"));
    assert_eq!(app.ledger_entry_count().await, entries, "refusals move nothing");
    let entry: (rust_decimal::Decimal, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT amount_usd, note, actor FROM ledger_entries WHERE customer_id = 'OLGA' AND kind = 'adjustment'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        entry,
        (
            dec("-15.50"),
            Some("duplicate wire reversed".into()),
            Some(email.clone())
        )
    );

    // Terms: the next request is priced and limited by them.
    let terms = |commission: &'static str, daily: &'static str, note: &'static str| {
        with_csrf(
            vec![
                ("customer", "OLGA"),
                ("commission_rate", commission),
                ("credit_limit_usd", "100"),
                ("daily_limit_local", daily),
                ("topup_rate_per_min", ""),
                ("api_rate_per_15min", ""),
                ("note", note),
            ],
            &token,
        )
    };
    for (commission, daily, note) in [("1.5", "", "x"), ("0.02", "-1", "x"), ("0.02", "", " ")] {
        let (status, _, _) = post("/dashboard/ops/terms", terms(commission, daily, note)).await;
        assert_eq!(status, 400, "{commission} {daily} {note:?}");
    }
    let (status, location, _) = post("/dashboard/ops/terms", terms("0.02", "60", "new contract")).await;
    assert_eq!((status, location.as_str()), (303, "/dashboard?customer=OLGA"));
    let (_, account) = browser.get("/dashboard?customer=OLGA").await;
    assert!(account.contains(r#"<span id="commission">0.02</span>"#), "{account}");
    assert!(account.contains(r#"<span id="daily-limit">60.00</span>"#), "{account}");
    let purchase = |reference: &str| json!({"phone": "5512345678", "amount": 50, "reference": reference});
    let (status, body) = app.topup(&creds, purchase("OLGA-1")).await;
    assert_eq!(
        (status, body["billing"]["deducted_usd"].clone()),
        (200, json!(3)),
        "{body}"
    );
    let (status, body) = app.topup(&creds, purchase("OLGA-2")).await;
    assert_eq!((status, body["daily_limit_mxn"].clone()), (429, json!(60)), "{body}");

    // Suspended and reactivated, at once.
    let note = |text: &'static str| with_csrf(vec![("customer", "OLGA"), ("note", text)], &token);
    let (status, _, _) = post("/dashboard/ops/suspend", note(" ")).await;
    assert_eq!(status, 400, "a note is required");
    let (status, location, _) = post("/dashboard/ops/suspend", note("chargeback inquiry")).await;
    assert_eq!((status, location.as_str()), (303, "/dashboard?customer=OLGA"));
    assert_eq!(app.topup(&creds, purchase("OLGA-3")).await.0, 403);
    let (_, account) = browser.get("/dashboard?customer=OLGA").await;
    assert!(
        account.contains(r#"id="activate-form""#),
        "a suspended account offers reactivation"
    );
    let (status, _, _) = post("/dashboard/ops/activate", note("cleared")).await;
    assert_eq!(status, 303);
    assert_eq!(send_balance(&app, &creds).await, 200);

    // Keys rotated (revoked): the new ones shown once, the old refused at once.
    let (status, _, page) = post("/dashboard/ops/keys/rotate", note("key seen in a support ticket")).await;
    assert_eq!(status, 200, "{page}");
    let rotated = common::Creds {
        api_key: cell(&page, "api-key"),
        secret_key: cell(&page, "secret-key"),
        ..creds.clone()
    };
    assert_ne!(rotated.api_key, creds.api_key);
    assert_eq!(send_balance(&app, &creds).await, 401, "the old key is refused");
    assert_eq!(app.balance(&rotated).await, dec("21.50"));
    let (status, _, _) = post(
        "/dashboard/ops/keys/rotate",
        with_csrf(vec![("customer", "NOBODY"), ("note", "x")], &token),
    )
    .await;
    assert_eq!(status, 404);

    let olga = email.clone();
    let expected = [
        ("created", "Tienda Olga"),
        ("credit", "40 USD: opening balance"),
        ("adjustment", "-15.50 USD: duplicate wire reversed"),
        (
            "terms_set",
            "commission_rate 0.02, credit_limit_usd 100, daily_limit_local 60, topup_rate_per_min default, api_rate_per_15min default: new contract",
        ),
        ("suspended", "chargeback inquiry"),
        ("reactivated", "cleared"),
        ("keys_rotated", "key seen in a support ticket"),
    ]
    .map(|(a, n)| (a.to_string(), n.to_string(), olga.clone()));
    assert_eq!(audit_rows(&app, "OLGA").await, expected);
    let (_, audit) = browser.get("/dashboard/ops/audit?customer=OLGA").await;
    for (action, _, _) in &expected {
        assert!(
            audit.contains(&format!("<td>{action}</td>")),
            "{action} not on the audit page"
        );
    }
    assert!(
        audit.contains(&format!("<td>{email}</td>")),
        "the audit page names the ops user"
    );
    app.assert_ledger_invariants().await;
}

async fn send_balance(app: &TestApp, c: &common::Creds) -> u16 {
    common::send(app.get("/api/balance", c)).await.0
}

/// A reseller rotates their own keys: shown once, the old key refused at once, every
/// session ended (this one too) so they log in again with the new key; audited.
#[tokio::test]
async fn a_reseller_rotates_their_own_keys_and_logs_in_again() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_K", "10").await;
    let browser = Browser::new(&app);
    let elsewhere = Browser::new(&app);
    browser.login_reseller(&a).await;
    elsewhere.login_reseller(&a).await;
    let (status, home) = browser.get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(home.contains(r#"id="rotate-own-form""#), "{home}");
    let token = csrf(&home);

    let (status, _, _) = browser.post("/dashboard/keys/rotate", &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    assert_eq!(send_balance(&app, &a).await, 200, "a forged form changes nothing");

    let (status, _, page) = browser.post("/dashboard/keys/rotate", &[("csrf", &token)]).await;
    assert_eq!(status, 200, "{page}");
    let new = common::Creds {
        api_key: cell(&page, "api-key"),
        secret_key: cell(&page, "secret-key"),
        ..a.clone()
    };
    assert!(page.contains(r#"id="to-login""#), "told to log in again");
    assert_eq!(send_balance(&app, &a).await, 401, "the old key is refused");
    assert_eq!(app.balance(&new).await, dec("10"));
    assert_eq!(browser.get("/dashboard").await.0, 303, "this session ended");
    assert_eq!(elsewhere.get("/dashboard").await.0, 303, "and every other");
    assert_eq!(browser.login_reseller(&a).await.0, 401, "the old key cannot log in");
    assert_eq!(browser.login_reseller(&new).await, (303, "/dashboard".into()));
    let (_, home) = browser.get("/dashboard").await;
    assert!(!home.contains(&new.api_key), "shown once");
    assert_eq!(
        audit_rows(&app, "DASH_K").await.last().unwrap(),
        &(
            "keys_rotated".to_string(),
            "rotated by the reseller from the dashboard".to_string(),
            "reseller:DASH_K".to_string()
        )
    );
}

/// A reseller reaches none of the ops account forms (with their own valid token), and
/// an ops form without this session's CSRF token is refused; nothing changes.
#[tokio::test]
async fn the_account_forms_refuse_resellers_and_forged_posts() {
    let app = TestApp::spawn().await;
    let a = app.customer("DASH_F", "10").await;
    let (email, password) = ops_user(&app, "fred@ops.example").await;
    let reseller = Browser::new(&app);
    reseller.login_reseller(&a).await;
    let reseller_token = reseller.session_csrf().await;
    let ops = Browser::new(&app);
    ops.login_ops(&email, &password).await;

    let forms: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/dashboard/ops/resellers",
            vec![
                ("customer_id", "DASH_NEW"),
                ("name", "New"),
                ("opening_balance_usd", "100"),
                ("credit_limit_usd", ""),
                ("commission_rate", ""),
                ("daily_limit_local", ""),
                ("topup_rate_per_min", ""),
                ("api_rate_per_15min", ""),
            ],
        ),
        (
            "/dashboard/ops/adjust",
            vec![("customer", "DASH_F"), ("usd", "100"), ("note", "gift")],
        ),
        ("/dashboard/ops/suspend", vec![("customer", "DASH_F"), ("note", "x")]),
        (
            "/dashboard/ops/keys/rotate",
            vec![("customer", "DASH_F"), ("note", "x")],
        ),
        (
            "/dashboard/ops/terms",
            vec![
                ("customer", "DASH_F"),
                ("commission_rate", "0.5"),
                ("credit_limit_usd", "0"),
                ("daily_limit_local", "1"),
                ("topup_rate_per_min", "1"),
                ("api_rate_per_15min", "1"),
                ("note", "x"),
            ],
        ),
        ("/dashboard/ops/activate", vec![("customer", "DASH_F"), ("note", "x")]),
    ];
    let entries = app.ledger_entry_count().await;
    for (path, fields) in &forms {
        let mut with = vec![("csrf", reseller_token.as_str())];
        with.extend(fields.iter().copied());
        assert_eq!(reseller.post(path, &with).await.0, 403, "a reseller on {path}");
        for forged in ["", "forged"] {
            let mut with = vec![("csrf", forged)];
            with.extend(fields.iter().copied());
            assert_eq!(ops.post(path, &with).await.0, 403, "{path} with csrf {forged:?}");
        }
        let (status, _, _) = ops.post(path, fields).await;
        assert!(status == 403 || status == 422, "{path} without a token: {status}");
    }
    assert_eq!(ops.get("/dashboard").await.0, 200, "the ops session is intact");
    assert_eq!(app.ledger_entry_count().await, entries);
    assert_eq!(
        send_balance(&app, &a).await,
        200,
        "the keys still work, the account is active"
    );
    assert_eq!(app.balance(&a).await, dec("10"));
    let (created, terms): (i64, (rust_decimal::Decimal, Option<i32>)) = (
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = 'DASH_NEW'")
            .fetch_one(&app.pool)
            .await
            .unwrap(),
        sqlx::query_as("SELECT commission_rate, topup_rate_per_min FROM customers WHERE id = 'DASH_F'")
            .fetch_one(&app.pool)
            .await
            .unwrap(),
    );
    assert_eq!((created, terms), (0, (dec("0"), None)));
    let actions: Vec<String> = audit_rows(&app, "DASH_F")
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(actions, ["created", "credit"], "only the CLI's opening of the account");
}
