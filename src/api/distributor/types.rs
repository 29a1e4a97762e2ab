//! Distributor request and response bodies (seed 001).

use crate::api::json::{money, number, timestamp};
use crate::domain::catalog::{Product, ProductKind};
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
    #[schema(value_type = f64)]
    pub amount: serde_json::Number,
    /// Carrier name, informational (the product decides the route).
    pub operator: Option<String>,
    /// Extension: where the final state is posted, signed (docs/webhooks.md). https only
    /// (http in sandbox mode).
    pub callback_url: Option<String>,
}

#[derive(Serialize)]
pub struct Balance {
    pub success: bool,
    #[serde(serialize_with = "money")]
    pub balance: Decimal,
    pub currency: &'static str,
    pub last_updated: String,
    /// What can be spent now: the balance (held funds are already out of it).
    #[serde(serialize_with = "money")]
    pub available: Decimal,
    /// Charged for purchases not final yet: spent or refunded when they settle.
    #[serde(serialize_with = "money")]
    pub held: Decimal,
}

#[derive(Serialize)]
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
    pub balance_after: Decimal,
}

#[derive(Serialize)]
pub struct Pending {
    pub success: bool,
    pub status: String,
    pub transaction_id: String,
    pub distributor_transaction_id: String,
    pub message: &'static str,
    pub check_status_url: String,
}

#[derive(Serialize)]
pub struct ProductView {
    pub product_id: String,
    pub description: String,
    pub country: String,
    pub operator: String,
    pub kind: ProductKind,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    pub min_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    pub max_amount: Option<Decimal>,
    /// What a ranged product really delivers within min..max (the union of its routes):
    /// fixed denominations and open ranges. Any other amount is refused with code 13.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliverable: Option<Deliverable>,
}

#[derive(Serialize)]
pub struct Deliverable {
    #[serde(serialize_with = "money_list")]
    pub denominations: Vec<Decimal>,
    pub ranges: Vec<AmountRange>,
}

#[derive(Serialize)]
pub struct AmountRange {
    #[serde(serialize_with = "money")]
    pub min_amount: Decimal,
    #[serde(serialize_with = "money")]
    pub max_amount: Decimal,
}

fn money_list<S: serde::Serializer>(v: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|d| number(*d)))
}

fn opt_money<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => money(d, s),
        None => s.serialize_none(),
    }
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            product_id: p.id.clone(),
            description: p.description.clone(),
            country: p.country.clone(),
            operator: p.operator.clone(),
            kind: p.kind,
            currency: p.currency.clone(),
            amount: p.fixed_amount,
            min_amount: p.min_amount,
            max_amount: p.max_amount,
            deliverable: p.fixed_amount.is_none().then(|| {
                let offer = p.offer();
                Deliverable {
                    denominations: offer.denominations,
                    ranges: offer
                        .ranges
                        .into_iter()
                        .map(|(min_amount, max_amount)| AmountRange { min_amount, max_amount })
                        .collect(),
                }
            }),
        }
    }
}

#[derive(Serialize)]
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
    pub amount: Decimal,
    pub currency: String,
    #[serde(serialize_with = "money")]
    pub amount_usd: Decimal,
    #[serde(serialize_with = "money")]
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
