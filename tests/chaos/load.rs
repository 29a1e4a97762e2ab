//! The resellers' load: sync and async Relier top-ups (LATCOM) and distributor purchases
//! (Smartcall, DataMart), paced over the load window, with clients that retry under the
//! same reference when the gateway is unreachable or answers 5xx without a transaction,
//! and sometimes send a purchase twice, at once or after its answer (both answers must
//! name the same transaction).

use rand::Rng;
use recarga::sandbox::datamart;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Reseller {
    pub id: String,
    pub api_key: String,
    /// Distributor access token.
    pub token: String,
}

#[derive(Default)]
pub struct LoadFigures {
    pub purchases: AtomicU64,
    pub sync: AtomicU64,
    pub async_: AtomicU64,
    pub distributor: AtomicU64,
    pub requests: AtomicU64,
    /// Sent again after no answer or a 5xx without a transaction.
    pub retries: AtomicU64,
    /// Purchases sent twice under their reference, at once or after the answer.
    pub replays: AtomicU64,
    /// Of those, the ones whose two answers named different transactions.
    pub replay_mismatches: AtomicU64,
    /// Purchases answered without a transaction (refused, or failed and refunded).
    pub without_transaction: AtomicU64,
    /// Purchases never answered, even after a minute of retries.
    pub unanswered: AtomicU64,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One purchase, as the client sends it (again) under its reference.
struct Purchase {
    path: &'static str,
    body: Value,
}

/// Last four digits: mostly ordinary numbers, some scenario numbers (`…77OD`): failure,
/// pending then delivered or failed, delivered behind a 5xx, and no answer at all.
fn tail(rng: &mut impl Rng) -> String {
    match rng.gen_range(0..100) {
        0..=7 => "7710".into(),
        8..=15 => "7721".into(),
        16..=20 => "7731".into(),
        21..=26 => "7740".into(),
        27..=29 => "7750".into(),
        _ => format!("{:04}", rng.gen_range(0..7700)),
    }
}

fn pick(rng: &mut impl Rng, amounts: &[u32]) -> u32 {
    amounts[rng.gen_range(0..amounts.len())]
}

fn purchase(reseller: usize, n: usize, rng: &mut impl Rng) -> Purchase {
    let reference = format!("CH{reseller}-{n}");
    let middle = format!("{:03}", (reseller * 7919 + n) % 1000);
    let tail = tail(rng);
    match n % 4 {
        kind @ (0 | 1) => Purchase {
            path: if kind == 0 {
                "/api/enviadespensa/topup"
            } else {
                "/api/enviadespensa/topup-async"
            },
            body: json!({"phone": format!("55{:04}{tail}", (reseller * 7919 + n) % 10_000),
                         "amount": pick(rng, &[10, 20, 30, 50]), "reference": reference}),
        },
        // Smartcall's QA amounts: R11 a business failure, R13 network-pending (settled by
        // enquiry), R17 network down (503, recorded failed).
        2 => Purchase {
            path: "/api/distributor/product_purchase",
            body: json!({"distributor_transaction_id": reference, "phone_number": format!("082{middle}{tail}"),
                         "product_id": "ZA_VODACOM_AIRTIME", "amount": pick(rng, &[11, 13, 17, 20, 50, 50])}),
        },
        // DataMart: ordinary numbers are pending, then completed (webhook and enquiry);
        // some numbers get their webhook twice, or a forged one before failing.
        _ => {
            let phone = match rng.gen_range(0..20) {
                0 => datamart::WEBHOOK_DUPLICATED.to_string(),
                1 => datamart::WEBHOOK_FORGED.to_string(),
                _ => format!("024{middle}{tail}"),
            };
            Purchase {
                path: "/api/distributor/product_purchase",
                body: json!({"distributor_transaction_id": reference, "phone_number": phone,
                             "product_id": "GH_MTN_DATA_1GB_90D", "amount": 5.50}),
            }
        }
    }
}

/// The transaction an answer names, if any.
fn transaction_id(body: &Value) -> Option<String> {
    body["transaction"]["id"]
        .as_str()
        .or_else(|| body["transaction_id"].as_str())
        .map(str::to_string)
}

pub struct Load {
    pub client: reqwest::Client,
    pub base: String,
    pub figures: Arc<LoadFigures>,
}

impl Load {
    /// Every reseller's load at once (see [`Self::run`]); each handle ends when its
    /// reseller's purchases are answered.
    pub fn start_all(
        self: &Arc<Self>,
        resellers: &[Reseller],
        purchases: usize,
        workers: usize,
        window: Duration,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        resellers
            .iter()
            .enumerate()
            .map(|(r, reseller)| {
                tokio::spawn(Arc::clone(self).run(r + 1, reseller.clone(), purchases, workers, window))
            })
            .collect()
    }

    /// Send `purchases` for `reseller` (number `r`) with `workers` clients, evenly over `window`.
    pub async fn run(
        self: Arc<Self>,
        r: usize,
        reseller: Reseller,
        purchases: usize,
        workers: usize,
        window: Duration,
    ) {
        let start = Instant::now();
        let next = Arc::new(AtomicU64::new(0));
        let pace = window / purchases.max(1) as u32;
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (load, next, reseller) = (Arc::clone(&self), Arc::clone(&next), reseller.clone());
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst) as usize;
                        if n >= purchases {
                            return;
                        }
                        tokio::time::sleep_until((start + pace * n as u32).into()).await;
                        let purchase = purchase(r, n, &mut rand::thread_rng());
                        load.buy(&reseller, purchase).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("load worker");
        }
    }

    async fn buy(&self, reseller: &Reseller, purchase: Purchase) {
        add(&self.figures.purchases);
        add(match purchase.path {
            "/api/enviadespensa/topup" => &self.figures.sync,
            "/api/enviadespensa/topup-async" => &self.figures.async_,
            _ => &self.figures.distributor,
        });
        // One in twelve is sent twice at once (a client that retried too early), one in
        // twelve again once answered; both must name the same transaction.
        let twice = rand::thread_rng().gen_range(0..12);
        let (first, racing) = if twice == 0 {
            let (a, b) = tokio::join!(
                self.until_answered(reseller, &purchase),
                self.until_answered(reseller, &purchase)
            );
            (a, Some(b))
        } else {
            (self.until_answered(reseller, &purchase).await, None)
        };
        let again = match racing {
            Some(b) => Some(b),
            None if twice == 1 => Some(self.until_answered(reseller, &purchase).await),
            None => None,
        };
        match &first {
            Answer::Transaction(_) => {}
            Answer::WithoutTransaction => add(&self.figures.without_transaction),
            Answer::None => add(&self.figures.unanswered),
        }
        if let Some(again) = again {
            add(&self.figures.replays);
            if let (Answer::Transaction(a), Answer::Transaction(b)) = (&first, &again) {
                if a != b {
                    eprintln!("{} answered as {a} and as {b}", purchase.body);
                    add(&self.figures.replay_mismatches);
                }
            }
        }
    }

    /// Send until the gateway gives an answer a client takes as final, or a minute has
    /// passed. No answer, 502/503/504, and a 500 that says nothing about the purchase
    /// (no transaction, no response code) are sent again, as the gateway's answers and
    /// the seed tell clients.
    async fn until_answered(&self, reseller: &Reseller, purchase: &Purchase) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut first = true;
        while Instant::now() < deadline {
            if !first {
                add(&self.figures.retries);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            first = false;
            add(&self.figures.requests);
            let request = self.client.post(format!("{}{}", self.base, purchase.path));
            let request = if purchase.path.starts_with("/api/distributor") {
                request.bearer_auth(&reseller.token)
            } else {
                request
                    .header("x-api-key", &reseller.api_key)
                    .header("x-customer-id", &reseller.id)
            };
            let Ok(response) = request.json(&purchase.body).send().await else {
                continue;
            };
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // 503 "outcome unknown" names the transaction it may have recorded: whether it
            // did, only a retry under the reference tells (it may have lost a race).
            let says_nothing = body["response_code"].is_null() && body["transaction_id"].is_null();
            match (status, transaction_id(&body)) {
                (502..=504, _) => continue,
                (500, _) if says_nothing => continue,
                (_, Some(id)) => return Answer::Transaction(id),
                _ => return Answer::WithoutTransaction,
            }
        }
        Answer::None
    }
}

enum Answer {
    Transaction(String),
    /// A refusal, or a failure the answer names no transaction for (the distributor's
    /// refunded failures).
    WithoutTransaction,
    /// Given up on.
    None,
}
