//! DataMart's reseller API JSON (providers.md §2A): the envelope
//! `{success, message, data | error{code}}`, read strictly, and the shapes inside it.
//! The simulator speaks the same types.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Every answer: `success: true` with `data`, or `success: false` with `error.code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<T> {
    pub success: bool,
    pub message: String,
    #[serde(default = "absent", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// A missing `data` (serde's plain `default` would ask `T: Default`).
fn absent<T>() -> Option<T> {
    None
}

/// `error`: an UPPER_SNAKE code plus details that vary by code (kept, not interpreted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// What an envelope says, once read strictly: `success` agrees with what it carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    Data(T),
    Error { code: String, message: String },
}

impl<T> Envelope<T> {
    pub fn ok(message: &str, data: T) -> Self {
        Self {
            success: true,
            message: message.into(),
            data: Some(data),
            error: None,
            timestamp: Some(chrono::Utc::now().to_rfc3339()),
        }
    }

    pub fn err(message: &str, code: &str) -> Self {
        Self {
            success: false,
            message: message.into(),
            data: None,
            error: Some(ErrorBody {
                code: code.into(),
                details: Default::default(),
            }),
            timestamp: Some(chrono::Utc::now().to_rfc3339()),
        }
    }

    /// `None` when the envelope contradicts itself (success without data, failure
    /// without a code): such a body is not an answer we can act on.
    pub fn answer(self) -> Option<Answer<T>> {
        match (self.success, self.data, self.error) {
            (true, Some(data), None) => Some(Answer::Data(data)),
            (false, None, Some(error)) => Some(Answer::Error {
                code: error.code,
                message: self.message,
            }),
            _ => None,
        }
    }
}

/// Read a body as an envelope around `T`; `None` if it is not one.
pub fn read<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<Answer<T>> {
    serde_json::from_slice::<Envelope<T>>(body).ok()?.answer()
}

/// `POST /v1/purchase`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseRequest {
    pub capacity: String,
    pub product_name: String,
    pub beneficiary_number: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// An order's status: `pending`, then `completed` (the code) or `successful` (the docs),
/// or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    #[serde(alias = "successful")]
    Completed,
    Failed,
}

/// `data` of a 201 purchase: both the older pending answer and HEAD's completed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseData {
    pub reference: String,
    pub transaction_id: Option<String>,
    pub status: OrderStatus,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub balance_after: Option<Decimal>,
    pub provider_reference: Option<String>,
}

/// `data` of `GET /v1/transactions/{reference}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionData {
    pub reference: String,
    pub transaction_id: Option<String>,
    pub status: OrderStatus,
    pub beneficiary: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub created_at: Option<String>,
    pub completed_at: Option<String>,
    pub failure_reason: Option<String>,
}

/// `data` of `GET /v1/balance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceData {
    pub balance: Decimal,
    pub currency: String,
    pub formatted: Option<String>,
}

/// `data` of `GET /v1/products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductsData {
    pub products: Vec<ProductData>,
    pub total: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductData {
    pub product_code: String,
    /// The network's product name: `YELLOW` (MTN) at the reseller API.
    pub name: String,
    pub category: Option<String>,
    pub capacity: String,
    pub capacity_value: Option<Decimal>,
    pub capacity_unit: Option<String>,
    /// `"<n> <unit>"`, e.g. `"30 days"`.
    pub validity: Option<String>,
    pub price: Decimal,
    pub currency: String,
    pub status: String,
}

/// `POST /v1/purchase/bulk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRequest {
    pub orders: Vec<BulkOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkOrder {
    pub capacity: String,
    pub product_name: String,
    pub beneficiary_number: String,
    pub reference: String,
}

/// `data` of a bulk purchase's answer: the orders taken and those refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkData {
    pub bulk_reference: Option<String>,
    #[serde(default)]
    pub successful_orders: Vec<BulkOrderResult>,
    #[serde(default)]
    pub failed_orders: Vec<BulkOrderResult>,
    pub balance_after: Option<Decimal>,
}

/// One order in a bulk answer. Its shape is not recorded beyond the lists it sits in
/// (providers.md §2A), so every field but the reference is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkOrderResult {
    pub reference: String,
    pub transaction_id: Option<String>,
    pub status: Option<OrderStatus>,
    /// Why a failed order was refused: an error code of the single purchase.
    pub code: Option<String>,
    pub message: Option<String>,
}

/// A webhook event (`{event, data, timestamp, signature}`) or the unsigned
/// `callback_url` POST (`{reference, status, message, transaction_id}`): either way only
/// the reference is taken, as a hint to look the order up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub event: Option<String>,
    pub data: Option<NotificationData>,
    pub reference: Option<String>,
    pub status: Option<String>,
    pub timestamp: Option<serde_json::Value>,
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationData {
    pub reference: Option<String>,
    pub status: Option<String>,
    pub transaction_id: Option<String>,
}

impl Notification {
    /// The order reference it names, from the event's `data` or the callback's top level.
    pub fn reference(&self) -> Option<&str> {
        self.data
            .as_ref()
            .and_then(|d| d.reference.as_deref())
            .or(self.reference.as_deref())
            .filter(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_read_strictly() {
        let ok = br#"{"success":true,"message":"ok","data":{"balance":5000,"currency":"GHS","formatted":"GHS 5000.00"},"timestamp":"2025-11-25T10:00:00Z"}"#;
        assert!(matches!(read::<BalanceData>(ok), Some(Answer::Data(b)) if b.balance == Decimal::from(5000)));
        let err = br#"{"success":false,"message":"Insufficient balance","error":{"code":"INSUFFICIENT_BALANCE","required_amount":5,"current_balance":1,"shortage":4}}"#;
        assert_eq!(
            read::<BalanceData>(err),
            Some(Answer::Error {
                code: "INSUFFICIENT_BALANCE".into(),
                message: "Insufficient balance".into()
            })
        );
        for contradictory in [
            &br#"{"success":true,"message":"ok"}"#[..],
            br#"{"success":false,"message":"no code"}"#,
            br#"{"success":true,"message":"ok","data":{"balance":1,"currency":"GHS"},"error":{"code":"X"}}"#,
            br#"{"success":true,"message":"ok","data":{"balance":1,"currency":"GHS"},"extra":1}"#,
            b"<html>502 Bad Gateway</html>",
        ] {
            assert!(read::<BalanceData>(contradictory).is_none());
        }
    }

    #[test]
    fn both_spellings_of_success() {
        for s in ["completed", "successful"] {
            let status: OrderStatus = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(status, OrderStatus::Completed);
        }
    }

    #[test]
    fn notifications_name_their_reference_either_way() {
        let event: Notification = serde_json::from_str(
            r#"{"event":"transaction.completed","data":{"reference":"RLR1","status":"completed"},"timestamp":1,"signature":"ab"}"#,
        )
        .unwrap();
        assert_eq!(event.reference(), Some("RLR1"));
        let callback: Notification =
            serde_json::from_str(r#"{"reference":"RLR2","status":"failed","message":"x","transaction_id":"T"}"#)
                .unwrap();
        assert_eq!(callback.reference(), Some("RLR2"));
    }
}
