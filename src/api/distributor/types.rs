//! Distributor request and response bodies (seed 001).

use crate::api::json::{money, timestamp};
use crate::api::offers::{WouldReplay, WouldSucceed};
use crate::domain::money::DecimalNumber;
use crate::domain::status::TxnStatus;
use crate::store::transactions::Transaction;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    pub customer_id: String,
    pub secret_key: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub success: bool,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PurchaseBody {
    /// Your unique id for this purchase: the idempotency key.
    pub distributor_transaction_id: String,
    pub phone_number: String,
    /// From `GET /api/distributor/products`.
    pub product_id: String,
    /// In the product's currency.
    #[schema(value_type = DecimalNumber)]
    pub amount: serde_json::Number,
    /// Carrier name, informational (the product decides the route).
    pub operator: Option<String>,
    /// Extension: where the final state is posted, signed (docs/webhooks.md). https only
    /// (http in sandbox mode).
    pub callback_url: Option<String>,
    /// Extension: run every check and answer what would happen, with the price; nothing
    /// is charged or sent and the distributor_transaction_id stays unused.
    #[serde(default)]
    pub validate_only: bool,
}

/// `POST /api/distributor/quote`: the price of a purchase.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ProductQuoteBody {
    pub product_id: String,
    /// In the product's currency.
    #[schema(value_type = DecimalNumber)]
    pub amount: serde_json::Number,
    /// Checked for the product's country when given.
    pub phone_number: Option<String>,
    pub operator: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DistributorBalance)]
pub struct Balance {
    pub success: bool,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance: Decimal,
    pub currency: &'static str,
    pub last_updated: String,
    /// What can be spent now: the balance (held funds are already out of it).
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub available: Decimal,
    /// Charged for purchases not final yet: spent or refunded when they settle.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub held: Decimal,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Approved {
    pub success: bool,
    pub transaction_id: String,
    pub distributor_transaction_id: String,
    pub response_code: &'static str,
    pub response_message: &'static str,
    /// The upstream's reference for the top-up.
    pub reference: Option<String>,
    pub auth_code: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_after: Decimal,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Pending {
    pub success: bool,
    pub status: String,
    pub transaction_id: String,
    pub distributor_transaction_id: String,
    pub message: &'static str,
    pub check_status_url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionView {
    pub success: bool,
    pub transaction_id: String,
    pub distributor_transaction_id: Option<String>,
    pub status: TxnStatus,
    /// "00" delivered, "91" failed and refunded; absent while still open.
    pub response_code: Option<&'static str>,
    pub response_message: Option<&'static str>,
    pub product_id: String,
    pub phone_number: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount: Decimal,
    pub currency: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub exchange_rate: Decimal,
    pub reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: String,
    pub processed_at: Option<String>,
}

impl TransactionView {
    pub fn new(t: &Transaction, code: Option<super::codes::Code>) -> Self {
        Self {
            success: t.status == TxnStatus::Success,
            transaction_id: t.id.clone(),
            distributor_transaction_id: t.reference.clone(),
            status: t.status,
            response_code: code.map(|c| c.code()),
            response_message: code.map(|c| c.message()),
            product_id: t.product_id.clone(),
            phone_number: t.phone.clone(),
            amount: t.amount_local,
            currency: t.currency.clone(),
            amount_usd: t.charged_usd,
            exchange_rate: t.exchange_rate,
            reference: t.operator_transaction_id.clone(),
            failure_reason: t.failure_reason.clone(),
            created_at: timestamp(t.created_at),
            processed_at: t.processed_at.map(timestamp),
        }
    }
}

/// `POST /api/distributor/bulk_purchase`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct BulkBody {
    /// 1 to 100 purchases, each as the body of `product_purchase`.
    #[schema(value_type = Vec<PurchaseBody>)]
    pub items: Vec<serde_json::Value>,
}

/// One item's outcome: what `product_purchase` would have answered.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkItemResult {
    pub http_status: u16,
    /// That answer's body (`response_code`, `transaction_id`, `status`, …).
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub success: bool,
    pub total: usize,
    /// Delivered (200).
    pub approved: usize,
    /// Debited, outcome not final yet (202).
    pub pending: usize,
    /// Refused or failed (any other status; nothing stays debited).
    pub failed: usize,
    /// In the order of the request's items.
    pub results: Vec<BulkItemResult>,
}

impl BulkResult {
    pub fn new(results: Vec<BulkItemResult>) -> Self {
        let count = |status: u16| results.iter().filter(|r| r.http_status == status).count();
        let (approved, pending) = (count(200), count(202));
        Self {
            success: true,
            total: results.len(),
            approved,
            pending,
            failed: results.len() - approved - pending,
            results,
        }
    }
}

/// What `product_purchase` answers with 200: approved, or with `validate_only` what a
/// purchase would do.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PurchaseAnswer {
    Approved(Approved),
    WouldSucceed(WouldSucceed),
    WouldReplay(WouldReplay),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedOut {
    pub success: bool,
    pub message: &'static str,
}
