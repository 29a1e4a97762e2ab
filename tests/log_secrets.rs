//! Secrets never reach the logs: a full run (keys and tokens created, both dialects,
//! refresh, logout, the admin API, refusals with wrong secrets) logged at TRACE into a
//! buffer, which is then searched for every secret the run made or sent.

mod common;

use common::{send, TestApp};
use recarga::cli::{self, Command, CreateArgs, CustomerCommand, OpsTokenCommand};
use rust_decimal::Decimal;
use serde_json::json;

use common::CapturedLogs as Captured;

#[tokio::test]
async fn no_secret_is_ever_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .init();
    let jwt_secret = format!("jwt-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(|s| s.distributor.jwt_secret = Some(jwt_secret.clone().into()), None).await;
    let created = cli::run_ops(
        app.settings.clone(),
        Command::Customer(CustomerCommand::Create(CreateArgs {
            id: "SECRETS_1".into(),
            name: "Secrets".into(),
            balance_usd: Decimal::from(100),
            credit_limit_usd: Decimal::from(100),
            commission_rate: Decimal::ZERO,
            daily_limit_mxn: None,
            topup_rate_per_min: None,
            api_rate_per_15min: None,
        })),
    )
    .await
    .unwrap();
    let key = |k: &str| created[k].as_str().unwrap().to_string();
    let (api_key, secret_key, reconcile_key) = (key("api_key"), key("secret_key"), key("reconcile_key"));
    let ops = cli::run_ops(
        app.settings.clone(),
        Command::OpsToken(OpsTokenCommand::Create {
            name: "ops-logs".into(),
        }),
    )
    .await
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let creds = common::Creds {
        id: "SECRETS_1".into(),
        api_key: api_key.clone(),
        secret_key: secret_key.clone(),
        reconcile_key: reconcile_key.clone(),
    };

    let (status, delivered) = app
        .topup(&creds, json!({"phone": "5512345678", "amount": 50, "reference": "S-1"}))
        .await;
    assert_eq!(status, 200, "{delivered}");
    let txn = delivered["transaction"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.topup_async(&creds, json!({"phone": "5500000000", "amount": 20}))
            .await
            .0,
        200
    );
    app.balance(&creds).await;
    let wrong_key = format!("rk_{}", "f".repeat(64));
    let wrong = common::Creds {
        api_key: wrong_key.clone(),
        ..creds.clone()
    };
    assert_eq!(send(app.get("/api/balance", &wrong)).await.0, 401);

    let (access, refresh) = app.login(&creds).await;
    let wrong_secret = format!("sk_{}", "e".repeat(64));
    let (status, _) = send(
        app.client
            .post(app.url("/api/distributor/login"))
            .json(&json!({"customer_id": "SECRETS_1", "secret_key": wrong_secret})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, pair) = send(
        app.client
            .post(app.url("/api/distributor/refresh"))
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 200, "{pair}");
    let (access2, refresh2) = (
        pair["access_token"].as_str().unwrap().to_string(),
        pair["refresh_token"].as_str().unwrap().to_string(),
    );
    let (status, _) = app
        .purchase(
            &access2,
            json!({"distributor_transaction_id": "S-2", "phone_number": "5512345678",
                   "product_id": "MOVISTAR_TAE", "amount": 20}),
        )
        .await;
    assert_eq!(status, 200);
    // The spent refresh token, replayed: refused and the session revoked.
    let (status, _) = send(
        app.client
            .post(app.url("/api/distributor/refresh"))
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = send(
        app.client
            .post(app.url(&format!("/api/admin/transactions/{txn}/reverse")))
            .bearer_auth(&ops)
            .json(&json!({"evidence": "LATCOM reversal LT1"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(
        app.client
            .post(app.url(&format!("/api/admin/transactions/{txn}/reverse")))
            .bearer_auth(format!("ops_{}", "d".repeat(64)))
            .json(&json!({"evidence": "x"})),
    )
    .await;
    assert_eq!(status, 401);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        text.lines().count() > 50,
        "the run was logged: {} lines",
        text.lines().count()
    );
    assert!(text.contains("SECRETS_1"), "the run's own lines are there");
    for (what, secret) in [
        ("api key", &api_key),
        ("secret key", &secret_key),
        ("reconcile key", &reconcile_key),
        ("ops token", &ops),
        ("access token", &access),
        ("refresh token", &refresh),
        ("rotated access token", &access2),
        ("rotated refresh token", &refresh2),
        ("JWT signing key", &jwt_secret),
        ("wrong api key sent", &wrong_key),
        ("wrong secret sent", &wrong_secret),
    ] {
        // The random part alone, so a prefix-stripped or truncated copy is found too.
        let tail = &secret[secret.len() - 24..];
        assert!(!text.contains(tail), "the {what} is in the logs");
    }
}
