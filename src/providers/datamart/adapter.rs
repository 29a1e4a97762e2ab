//! The DataMart adapter (providers.md §2A).
//!
//! - Every call carries `X-API-Key` and `X-API-Secret`; there is no session.
//! - A purchase answers 201 `pending` (settled later: the order's webhook, or our
//!   enquiry) or 201 `completed` (settled at once). Error codes mean what
//!   `rules::ERROR_RULES` says; `DUPLICATE_REFERENCE` is an unknown outcome, so the
//!   purchase service looks the order up at once instead of failing it.
//! - Enquiries go by our reference, `GET /v1/transactions/{reference}`.
//! - Webhooks cannot be verified (the HMAC key is a bcrypt hash of our secret, over a
//!   re-serialisation of `data`), so a notification only yields the reference to look up.
//! - `/v1/balance` is our float; a large order is checked against it before sending.

use super::catalog;
use super::rules::{self, UNAVAILABLE};
use super::wire::{
    read, Answer, BalanceData, BulkData, BulkOrder, BulkOrderResult, BulkRequest, Notification, OrderStatus,
    ProductsData, PurchaseData, PurchaseRequest, TransactionData,
};
use super::ID;
use crate::domain::catalog::Product;
use crate::domain::provider::{Enquiry, Outcome, Provider, ProviderHealth, UpstreamTopup};
use crate::providers::executor::{CallError, CallResponse, Executor};
use async_trait::async_trait;
use reqwest::RequestBuilder;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub struct Credentials {
    pub api_key: SecretString,
    pub api_secret: SecretString,
}

/// Float thresholds, in GHS.
pub struct FloatPolicy {
    /// Under this balance health reports the float as low.
    pub low: Decimal,
    /// An order of at least this much is sent only if the balance covers it.
    pub large_order: Decimal,
}

pub struct DatamartAdapter {
    executor: Executor,
    base_url: String,
    credentials: Credentials,
    timeout: Duration,
    float_policy: FloatPolicy,
    /// Sent with every purchase: where DataMart posts the order's outcome.
    callback_url: Option<String>,
    float: Mutex<Option<Decimal>>,
    /// DataMart said our wallet cannot pay (until a balance check says otherwise).
    float_exhausted: AtomicBool,
}

impl DatamartAdapter {
    pub fn new(
        executor: Executor,
        base_url: &str,
        credentials: Credentials,
        timeout: Duration,
        float_policy: FloatPolicy,
        callback_url: Option<String>,
    ) -> Self {
        Self {
            executor,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            timeout,
            float_policy,
            callback_url,
            float: Mutex::new(None),
            float_exhausted: AtomicBool::new(false),
        }
    }

    fn authorised(&self, request: RequestBuilder) -> RequestBuilder {
        request
            .header("X-API-Key", self.credentials.api_key.expose_secret())
            .header("X-API-Secret", self.credentials.api_secret.expose_secret())
    }

    fn url(&self, segments: &[&str]) -> String {
        match reqwest::Url::parse(&self.base_url) {
            Ok(mut url) => {
                if let Ok(mut path) = url.path_segments_mut() {
                    path.pop_if_empty().extend(segments);
                }
                url.to_string()
            }
            Err(_) => format!("{}/{}", self.base_url, segments.join("/")),
        }
    }

    async fn call(&self, operation: &'static str, request: RequestBuilder) -> Result<CallResponse, CallError> {
        self.executor
            .call(ID, operation, self.authorised(request), self.timeout)
            .await
    }

    fn record_float(&self, balance: Decimal) {
        *self.float.lock().expect("float") = Some(balance);
        if balance >= self.float_policy.low {
            self.float_exhausted.store(false, Ordering::Relaxed);
        }
    }

    fn float_alarm(&self, detail: &str) {
        self.float_exhausted.store(true, Ordering::Relaxed);
        tracing::error!(
            upstream = ID,
            alarm = "upstream_float",
            detail,
            "DataMart wallet cannot pay for orders: top up the DataMart account"
        );
    }

    /// `GET /v1/balance`, recorded as our float.
    pub async fn balance(&self) -> Result<Decimal, String> {
        let response = self
            .call("balance", self.executor.client().get(self.url(&["v1", "balance"])))
            .await
            .map_err(|e| e.to_string())?;
        match read::<BalanceData>(&response.body) {
            Some(Answer::Data(b)) if response.status == 200 => {
                self.record_float(b.balance);
                Ok(b.balance)
            }
            _ => Err(format!("DataMart balance check failed (HTTP {})", response.status)),
        }
    }

    /// `GET /v1/products` as catalog products.
    pub async fn fetch_products(&self) -> Result<Vec<Product>, String> {
        let response = self
            .call("products", self.executor.client().get(self.url(&["v1", "products"])))
            .await
            .map_err(|e| e.to_string())?;
        match read::<ProductsData>(&response.body) {
            Some(Answer::Data(listing)) if response.status == 200 => Ok(catalog::products(&listing.products)),
            _ => Err(format!("DataMart product list unreadable (HTTP {})", response.status)),
        }
    }

    /// Refuse before sending when a large order would overdraw our wallet (the balance
    /// as DataMart reports it now); a failed check lets the order go (DataMart refuses it
    /// itself if the money is not there).
    async fn float_covers(&self, amount: Decimal) -> bool {
        if amount < self.float_policy.large_order {
            return true;
        }
        match self.balance().await {
            Ok(balance) if balance < amount => {
                self.float_alarm(&format!("balance {balance} GHS under a {amount} GHS order"));
                false
            }
            _ => true,
        }
    }

    fn body(&self, t: &UpstreamTopup) -> PurchaseRequest {
        PurchaseRequest {
            capacity: t.sku.clone().unwrap_or_default(),
            product_name: t.operator.clone().unwrap_or_default(),
            beneficiary_number: t.msisdn.clone(),
            reference: t.upstream_reference.clone(),
            callback_url: self.callback_url.clone(),
        }
    }

    /// What a purchase answer means.
    fn purchased(&self, reference: &str, response: &CallResponse) -> Outcome {
        let answer = read::<PurchaseData>(&response.body);
        match (response.status, answer) {
            (200 | 201, Some(Answer::Data(order))) if order.reference == reference => {
                if let Some(balance) = order.balance_after {
                    self.record_float(balance);
                }
                let upstream_id = order.transaction_id.clone();
                match order.status {
                    OrderStatus::Pending => Outcome::Pending { upstream_id },
                    OrderStatus::Completed => Outcome::Success {
                        upstream_id: order.provider_reference.or(upstream_id),
                        message: None,
                    },
                    OrderStatus::Failed => Outcome::Failed {
                        retryable: false,
                        code: None,
                        message: "DataMart failed the order".into(),
                    },
                }
            }
            (_, Some(Answer::Error { code, message })) => {
                if rules::meaning(&code) == rules::Meaning::FloatExhausted {
                    self.float_alarm(&message);
                }
                rules::outcome(&code, &message)
            }
            // Refused before it was looked at: bad credentials, or over the rate limit.
            (401 | 429, _) => Outcome::Failed {
                retryable: true,
                code: Some(response.status.to_string()),
                message: UNAVAILABLE.into(),
            },
            (status, _) => Outcome::Unknown {
                reason: format!("unreadable DataMart purchase answer (HTTP {status})"),
            },
        }
    }
}

/// What a bulk answer means for each request, in order. An order in neither list, or
/// refused without a code we know, is unknown: the enquiry finds out (and one DataMart
/// has no record of is sent again on its own, under the same reference).
fn bulk_outcomes(requests: &[UpstreamTopup], response: &CallResponse) -> Vec<Outcome> {
    let unknown = |reason: &str| Outcome::Unknown { reason: reason.into() };
    match (response.status, read::<BulkData>(&response.body)) {
        (200 | 201, Some(Answer::Data(bulk))) => requests
            .iter()
            .map(|r| {
                let named =
                    |orders: &[BulkOrderResult]| orders.iter().find(|o| o.reference == r.upstream_reference).cloned();
                if let Some(taken) = named(&bulk.successful_orders) {
                    match taken.status {
                        Some(OrderStatus::Completed) => Outcome::Success {
                            upstream_id: taken.transaction_id,
                            message: None,
                        },
                        Some(OrderStatus::Failed) => Outcome::Failed {
                            retryable: false,
                            code: None,
                            message: "DataMart failed the order".into(),
                        },
                        // Taken: DataMart holds it.
                        _ => Outcome::Pending {
                            upstream_id: taken.transaction_id,
                        },
                    }
                } else if let Some(refused) = named(&bulk.failed_orders) {
                    match refused.code {
                        Some(code) => rules::outcome(&code, refused.message.as_deref().unwrap_or("refused")),
                        None => unknown("DataMart refused the order in a bulk without a code"),
                    }
                } else {
                    unknown("the order is missing from DataMart's bulk answer")
                }
            })
            .collect(),
        (_, Some(Answer::Error { code, message })) if code != "ALL_ORDERS_FAILED" => {
            requests.iter().map(|_| rules::outcome(&code, &message)).collect()
        }
        (status, _) => requests
            .iter()
            .map(|_| unknown(&format!("DataMart bulk answer not readable per order (HTTP {status})")))
            .collect(),
    }
}

/// What an enquiry answer means.
fn enquired(reference: &str, response: &CallResponse) -> Enquiry {
    match (response.status, read::<TransactionData>(&response.body)) {
        (200, Some(Answer::Data(t))) if t.reference == reference => Enquiry::Known(match t.status {
            OrderStatus::Pending => Outcome::Pending {
                upstream_id: t.transaction_id,
            },
            OrderStatus::Completed => Outcome::Success {
                upstream_id: t.transaction_id,
                message: None,
            },
            OrderStatus::Failed => Outcome::Failed {
                retryable: false,
                code: None,
                message: t.failure_reason.unwrap_or_else(|| "DataMart failed the order".into()),
            },
        }),
        (404, Some(Answer::Error { code, .. })) if code == "TRANSACTION_NOT_FOUND" => Enquiry::NotFound,
        (status, _) => Enquiry::Known(Outcome::Unknown {
            reason: format!("unreadable DataMart transaction answer (HTTP {status})"),
        }),
    }
}

#[async_trait]
impl Provider for DatamartAdapter {
    fn id(&self) -> &'static str {
        ID
    }

    async fn topup(&self, request: &UpstreamTopup) -> Outcome {
        if !self.float_covers(request.amount).await {
            return Outcome::Failed {
                retryable: true,
                code: Some("INSUFFICIENT_BALANCE".into()),
                message: UNAVAILABLE.into(),
            };
        }
        let post = self
            .executor
            .client()
            .post(self.url(&["v1", "purchase"]))
            .json(&self.body(request));
        match self.call("purchase", post).await {
            Ok(response) => self.purchased(&request.upstream_reference, &response),
            Err(CallError::NotSent(reason)) => Outcome::Failed {
                retryable: true,
                code: None,
                message: reason,
            },
            Err(CallError::Unknown(reason)) => Outcome::Unknown { reason },
        }
    }

    /// `POST /v1/purchase/bulk` (at most 100 orders, each under its own reference).
    /// `None` (each sent on its own) when the batch is too large, when our float cannot
    /// pay for it, or when the call provably never left.
    async fn topup_together(&self, requests: &[UpstreamTopup]) -> Option<Vec<Outcome>> {
        let total: Decimal = requests.iter().map(|r| r.amount).sum();
        if requests.len() > 100 || !self.float_covers(total).await {
            return None;
        }
        let orders = requests
            .iter()
            .map(|t| {
                let one = self.body(t);
                BulkOrder {
                    capacity: one.capacity,
                    product_name: one.product_name,
                    beneficiary_number: one.beneficiary_number,
                    reference: one.reference,
                }
            })
            .collect();
        let body = BulkRequest {
            orders,
            reference: None,
            callback_url: self.callback_url.clone(),
        };
        let post = self
            .executor
            .client()
            .post(self.url(&["v1", "purchase", "bulk"]))
            .json(&body);
        match self.call("purchase_bulk", post).await {
            Ok(response) => Some(bulk_outcomes(requests, &response)),
            Err(CallError::NotSent(_)) => None,
            Err(CallError::Unknown(reason)) => Some(
                requests
                    .iter()
                    .map(|_| Outcome::Unknown { reason: reason.clone() })
                    .collect(),
            ),
        }
    }

    async fn enquire(&self, request: &UpstreamTopup) -> Enquiry {
        let reference = &request.upstream_reference;
        let get = self.executor.client().get(self.url(&["v1", "transactions", reference]));
        match self.call("enquire", get).await {
            Ok(response) => enquired(reference, &response),
            Err(e) => Enquiry::Known(Outcome::Unknown { reason: e.to_string() }),
        }
    }

    /// DataMart refuses a second purchase under a reference it holds
    /// (`DUPLICATE_REFERENCE`), so a request it has no record of may be sent again.
    fn resend_when_not_found(&self) -> bool {
        true
    }

    fn enquire_pending_with_backoff(&self) -> bool {
        true
    }

    fn notification_reference(&self, body: &[u8]) -> Option<String> {
        let notification: Notification = serde_json::from_slice(body).ok()?;
        notification.reference().map(str::to_string)
    }

    async fn health(&self) -> ProviderHealth {
        let result = self.balance().await;
        let float = result
            .as_ref()
            .ok()
            .copied()
            .or_else(|| *self.float.lock().expect("float"));
        ProviderHealth {
            upstream: ID.into(),
            up: result.is_ok(),
            detail: result.err(),
            float,
            float_low: self.float_exhausted.load(Ordering::Relaxed) || float.is_some_and(|f| f < self.float_policy.low),
        }
    }
}
