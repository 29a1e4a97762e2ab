//! Relier request and response bodies, as seed 000 shows them.

use crate::api::json::{money, timestamp};
use crate::api::offers::{WouldReplay, WouldSucceed};
use crate::domain::money::DecimalNumber;
use crate::domain::status::TxnStatus;
use crate::store::transactions::Transaction;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Body of both top-up endpoints.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TopupBody {
    /// 10-digit Mexican number; +52, 52, 521, 044 and 045 forms are accepted and normalised.
    #[schema(example = "5512345678")]
    pub phone: String,
    /// Amount in MXN, 10–500, at most two decimals.
    #[schema(value_type = DecimalNumber, example = 50)]
    pub amount: serde_json::Number,
    /// Your order reference: an idempotency key (a repeat returns the original, charges nothing).
    #[schema(example = "ORDER-12345")]
    pub reference: Option<String>,
    /// Extension: the carrier, if known (e.g. TELCEL); otherwise the default product is used.
    pub operator: Option<String>,
    /// Extension: where the final state is posted, signed (docs/webhooks.md). https only
    /// (http in sandbox mode).
    pub callback_url: Option<String>,
    /// Extension: run every check and answer what would happen, with the price; nothing
    /// is charged or sent and the reference stays unused.
    #[serde(default)]
    pub validate_only: bool,
}

/// `POST /api/quote`: the price of a top-up. Without `product_id` the product is the
/// one a top-up would use (by `operator`, else the default).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct QuoteBody {
    /// In the product's currency.
    #[schema(value_type = DecimalNumber, example = 50)]
    pub amount: serde_json::Number,
    pub product_id: Option<String>,
    pub operator: Option<String>,
    /// Checked for the product's country when given.
    pub phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RelierBalance)]
pub struct Balance {
    pub success: bool,
    pub customer_id: String,
    pub company_name: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub current_balance: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub credit_limit: Decimal,
    pub currency: &'static str,
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
pub struct SyncTransaction {
    pub id: String,
    pub status: TxnStatus,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_mxn: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub exchange_rate: Decimal,
    pub phone: String,
    pub reference: Option<String>,
    #[serde(rename = "operatorTransactionId")]
    pub operator_transaction_id: Option<String>,
    #[serde(rename = "processedAt")]
    pub processed_at: Option<String>,
    pub currency: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Billing {
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub deducted_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_before_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_after_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub exchange_rate: Decimal,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncSuccess {
    pub success: bool,
    pub transaction: SyncTransaction,
    pub billing: Billing,
    pub message: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub remaining_balance: Decimal,
}

impl SyncSuccess {
    pub fn new(t: &Transaction, balance_before: Decimal, balance_after: Decimal) -> Self {
        Self {
            success: true,
            transaction: SyncTransaction {
                id: t.id.clone(),
                status: t.status,
                amount_mxn: t.amount_local,
                amount_usd: t.charged_usd,
                exchange_rate: t.exchange_rate,
                phone: t.phone.clone(),
                reference: t.reference.clone(),
                operator_transaction_id: t.operator_transaction_id.clone(),
                processed_at: t.processed_at.map(timestamp),
                currency: t.currency.clone(),
            },
            billing: Billing {
                deducted_usd: t.charged_usd,
                balance_before_usd: balance_before,
                balance_after_usd: balance_after,
                exchange_rate: t.exchange_rate,
            },
            message: format!(
                "Top-up of {} {} processed successfully. ${} USD deducted from balance.",
                t.amount_local.normalize(),
                t.currency,
                t.charged_usd
            ),
            remaining_balance: balance_after,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedTransaction {
    pub id: String,
    pub status: TxnStatus,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount: Decimal,
    pub phone: String,
    pub reference: Option<String>,
    #[serde(rename = "queuedAt")]
    pub queued_at: String,
    pub currency: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub success: bool,
    pub transaction: QueuedTransaction,
    pub message: String,
    pub check_status_url: String,
}

impl Queued {
    pub fn new(t: &Transaction, message: &str) -> Self {
        Self {
            success: true,
            transaction: QueuedTransaction {
                id: t.id.clone(),
                status: t.status,
                amount: t.amount_local,
                phone: t.phone.clone(),
                reference: t.reference.clone(),
                queued_at: timestamp(t.created_at),
                currency: t.currency.clone(),
            },
            message: message.into(),
            check_status_url: format!("/api/transaction/{}", t.id),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusTransaction {
    pub id: String,
    pub transaction_id: String,
    pub customer_id: String,
    pub phone: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_mxn: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub exchange_rate: Decimal,
    pub status: TxnStatus,
    pub reference: Option<String>,
    pub operator_transaction_id: Option<String>,
    pub response_time_ms: Option<i64>,
    pub created_at: String,
    pub processed_at: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    pub success: bool,
    pub transaction: StatusTransaction,
}

impl Status {
    pub fn new(t: &Transaction) -> Self {
        Self {
            success: true,
            transaction: StatusTransaction {
                id: t.id.clone(),
                transaction_id: t.id.clone(),
                customer_id: t.customer_id.clone(),
                phone: t.phone.clone(),
                amount: t.charged_usd,
                amount_mxn: t.amount_local,
                amount_usd: t.charged_usd,
                exchange_rate: t.exchange_rate,
                status: t.status,
                reference: t.reference.clone(),
                operator_transaction_id: t.operator_transaction_id.clone(),
                response_time_ms: t.response_time_ms,
                created_at: timestamp(t.created_at),
                processed_at: t.processed_at.map(timestamp),
                failure_reason: t.failure_reason.clone(),
            },
        }
    }
}

/// One page of a search.
#[derive(Serialize)]
pub struct Page {
    pub success: bool,
    pub transactions: Vec<StatusTransaction>,
    /// Pass back as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// What `POST /api/enviadespensa/topup` answers with 200: the delivered top-up, or with
/// `validate_only` what a purchase would do.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TopupAnswer {
    Delivered(SyncSuccess),
    WouldSucceed(WouldSucceed),
    WouldReplay(WouldReplay),
}

/// What `POST /api/enviadespensa/topup-async` answers with 200: the queued top-up, or
/// with `validate_only` what a purchase would do.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum QueuedAnswer {
    Queued(Queued),
    WouldSucceed(WouldSucceed),
    WouldReplay(WouldReplay),
}
