//! /dashboard helpers: a browser-like client that keeps cookies and follows no
//! redirects (so a test sees each 303), the CSRF token of a page, an ops user, and a
//! transaction put in REVIEW with an attempt as its evidence.

use super::{dec, Creds, TestApp};
use recarga::cli::{self, Command, OpsUserCommand};
use recarga::store::transactions::{create_purchases, move_to_review, Created, FirstAttempt, NewPurchase};

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
        }
    }

    /// Status and body of a GET.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Status, Location and body of a form POST.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status().as_u16(), location, r.text().await.unwrap())
    }

    /// The login page's token, then the login form; the status and Location.
    pub async fn login(&self, form: &[(&str, &str)]) -> (u16, String) {
        let (status, page) = self.get("/dashboard/login").await;
        assert_eq!(status, 200);
        let token = csrf(&page);
        let mut fields = vec![("csrf", token.as_str())];
        fields.extend_from_slice(form);
        let (status, location, _) = self.post("/dashboard/login", &fields).await;
        (status, location)
    }

    pub async fn login_reseller(&self, c: &Creds) -> (u16, String) {
        self.login(&[("kind", "reseller"), ("customer_id", &c.id), ("api_key", &c.api_key)])
            .await
    }

    pub async fn login_ops(&self, email: &str, password: &str) -> (u16, String) {
        self.login(&[("kind", "ops"), ("email", email), ("password", password)])
            .await
    }

    /// Settle a REVIEW transaction from the dashboard; the status.
    pub async fn settle(&self, csrf: &str, id: &str, outcome: &str, note: &str) -> u16 {
        let path = format!("/dashboard/ops/review/{id}/settle");
        let (status, _, _) = self
            .post(&path, &[("csrf", csrf), ("outcome", outcome), ("note", note)])
            .await;
        status
    }

    /// The CSRF token of the session, as a page shows it.
    pub async fn session_csrf(&self) -> String {
        let (status, page) = self.get("/dashboard/ops/audit").await;
        if status == 200 {
            return csrf(&page);
        }
        let (status, page) = self.get("/dashboard").await;
        assert_eq!(status, 200, "{page}");
        csrf(&page)
    }
}

/// The first hidden CSRF field's value in a page.
pub fn csrf(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// An ops user made by the CLI's own code; its email and password.
pub async fn ops_user(app: &TestApp, email: &str) -> (String, String) {
    let out = cli::run_ops(
        app.settings.clone(),
        Command::OpsUser(OpsUserCommand::Create { email: email.into() }),
    )
    .await
    .expect("ops-user create");
    (
        out["email"].as_str().unwrap().into(),
        out["password"].as_str().unwrap().into(),
    )
}

/// A 50 MXN purchase (2.94 USD) for `customer`, sent to LATCOM once and then put in
/// REVIEW, as the resolver does with an outcome it could not learn.
pub async fn in_review(app: &TestApp, customer: &str, id: &str) {
    let purchase = NewPurchase {
        id: id.into(),
        customer_id: customer.into(),
        reference: Some(format!("REF-{id}")),
        channel: "relier",
        is_async: false,
        product_id: "MOVISTAR_TAE".into(),
        phone: "5512345678".into(),
        operator: None,
        amount_local: dec("50"),
        currency: "MXN".into(),
        exchange_rate: dec("17.0068"),
        cost_usd: dec("2.94"),
        commission_usd: dec("0"),
        charged_usd: dec("2.94"),
        business_day: chrono::Utc::now().date_naive(),
        daily_limit_local: dec("100000"),
        first_attempt: Some(FirstAttempt {
            upstream: "latcom",
            upstream_reference: id.into(),
            upstream_product: "TFE_MXN_20_TO_2000".into(),
            amount_sent: dec("43.10"),
        }),
    };
    let created = create_purchases(&app.pool, &[purchase]).await.unwrap().pop().unwrap();
    assert!(matches!(created, Ok(Created::New { .. })), "{created:?}");
    assert!(move_to_review(&app.pool, id, "no answer from the upstream within 24 h")
        .await
        .unwrap());
}
