//! Smartcall's JSON (providers.md §1, seed 004), read tolerantly. What a recharge
//! answer means for money is the table in [`super::rules`].
//!
//! Tolerance is deliberate: recorded answers mix numbers and strings for money and ids
//! (`"retailPrice":"450.00"`, `"amount":"R450.00"`, `"discount":"5.50%"`), errors come
//! both as `{"code","message"}` at the top level and nested under `"error"`, and any
//! field may be null.

use crate::domain::provider::Outcome;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::str::FromStr;

/// A money value as Smartcall writes it: a JSON number, `"450.00"`, `"R450.00"`, `"5.50%"`.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t: String = text.chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
    let t = t.trim_start_matches('R').trim_end_matches('%');
    Decimal::from_str(t).or_else(|_| Decimal::from_scientific(t)).ok()
}

fn value_decimal(v: &Value) -> Option<Decimal> {
    match v {
        // serde_json keeps the number's text (arbitrary_precision): no f64 on the way.
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

pub fn flex_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(value_decimal))
}

pub fn flex_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.to_string().parse().ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

pub fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// `error` may be null, an object, or (defensively) a bare string.
fn flex_error<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorBody>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(message)) => Some(ErrorBody {
            code: None,
            message: Some(message),
            status_message: None,
        }),
        Some(v @ Value::Object(_)) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

/// `POST /webservice/auth` answer; on a 401/429 the same shape with nulls.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub response_description: Option<String>,
    pub access_token: Option<String>,
    pub token_type: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "flex_i64")]
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
}

/// The 401 description meaning "this token is expired or revoked; log in again".
pub const TOKEN_REJECTED: &str = "Authorization denied. Token validation failed";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: Option<i64>,
    pub message: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub status_message: Option<String>,
}

/// Synchronous recharge request: the v1 fields without `pinless` (providers.md §1, S3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RechargeRequest {
    pub smartload_id: String,
    pub client_reference: String,
    pub sms_recipient_msisdn: String,
    pub device_id: String,
    /// A number on the wire, as in the recorded v1 fixture (`"productId":22`).
    #[serde(deserialize_with = "flex_i64_required")]
    pub product_id: i64,
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "flex_decimal_required"
    )]
    pub amount: Decimal,
    #[serde(deserialize_with = "flex_bool")]
    pub send_sms: bool,
    /// Seed §10g: "should only be populated if a branded SMS should be sent".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_provider_identifier: Option<String>,
    /// Seed §10g: "true" lets Smartcall correct a variable pinless airtime product to
    /// the network the number is on now. Spelled as the seed spells it.
    #[serde(
        rename = "AirtimeNetworkAutoCorrect",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub airtime_network_auto_correct: Option<bool>,
}

fn flex_i64_required<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    flex_i64(d)?.ok_or_else(|| serde::de::Error::custom("expected an integer"))
}

fn flex_decimal_required<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    flex_decimal(d)?.ok_or_else(|| serde::de::Error::custom("expected an amount"))
}

fn flex_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// The v1 `recharge` object, also carried by v2 answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recharge {
    /// The dealer's balance after this recharge: our upstream float.
    #[serde(default, deserialize_with = "flex_decimal")]
    pub balance: Option<Decimal>,
    /// The Smartload reference, kept for reconciliation.
    #[serde(default, deserialize_with = "flex_string")]
    pub order_reference_id: Option<String>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub retail_price: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub dealer_discount: Option<Decimal>,
}

/// Any recharge answer, success or error, in either error convention.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RechargeResponse {
    #[serde(default, deserialize_with = "flex_error")]
    pub error: Option<ErrorBody>,
    pub response_code: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub status_code: Option<i64>,
    #[serde(default, deserialize_with = "flex_string")]
    pub status_message: Option<String>,
    pub recharge: Option<Recharge>,
    /// Top-level `{"code","message"}` (the recorded v1 error convention).
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: Option<i64>,
    pub message: Option<String>,
}

impl RechargeResponse {
    pub fn error_code(&self) -> Option<i64> {
        self.error.as_ref().and_then(|e| e.code).or(self.code)
    }

    /// The error text, with the network's own words (`statusMessage`) when they add something.
    pub fn error_text(&self) -> Option<String> {
        let message = self
            .error
            .as_ref()
            .and_then(|e| e.message.clone())
            .or(self.message.clone());
        let status = self
            .error
            .as_ref()
            .and_then(|e| e.status_message.clone())
            .or(self.status_message.clone());
        match (message, status) {
            (Some(m), Some(s)) if m != s => Some(format!("{m} ({s})")),
            (Some(m), _) => Some(m),
            (None, s) => s,
        }
    }

    pub fn has_error(&self) -> bool {
        self.error.is_some() || self.code.is_some()
    }
}

/// Error 15 says "Current balance: R…"; that is our float too.
pub fn balance_in_message(message: &str) -> Option<Decimal> {
    let at = message.to_ascii_lowercase().find("balance:")?;
    let rest = message[at + "balance:".len()..].trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, 'R' | '.' | ',' | ' '))
        .collect();
    parse_decimal(number.trim().trim_end_matches('.'))
}

/// `GET /smartload/recharges/{smartloadId}/{clientReference}` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnquiryResponse {
    #[serde(default, deserialize_with = "flex_error")]
    pub error: Option<ErrorBody>,
    pub response_code: Option<String>,
    pub transaction: Option<Transaction>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: Option<i64>,
    pub message: Option<String>,
}

impl EnquiryResponse {
    pub fn error_code(&self) -> Option<i64> {
        self.error.as_ref().and_then(|e| e.code).or(self.code)
    }
}

/// Error code for "ClientReference does not exist" (seed Table 3).
pub const CLIENT_REFERENCE_UNKNOWN: i64 = 1005;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub description: Option<String>,
    /// Holds the product name, despite its name.
    pub network: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub recipient_msisdn: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub status_date: Option<i64>,
    /// The Smartload reference (orderReferenceId) as a string.
    #[serde(default, deserialize_with = "flex_string")]
    pub reference: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub discount: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub cost: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub status_id: Option<String>,
}

impl Transaction {
    /// Seed Table 5 statuses. Only PENDING was ever recorded, so both spellings of the
    /// final ones are accepted; anything else is not proof of anything.
    pub fn outcome(&self) -> Outcome {
        let id = self.status_id.as_deref().unwrap_or("").trim().to_ascii_uppercase();
        match id.as_str() {
            "SUCCESS" | "SUCCESSFUL" => Outcome::Success {
                upstream_id: self.reference.clone(),
                message: self.status.clone(),
            },
            "FAILED" | "FAILURE" | "CANCELLED" | "CANCELED" => Outcome::Failed {
                retryable: false,
                code: Some(id.clone()),
                message: self.status.clone().unwrap_or_else(|| format!("Smartcall status {id}")),
            },
            // REQUESTED: logged by Smartcall, not yet at the network.
            "PENDING" | "REQUESTED" => Outcome::Pending {
                upstream_id: self.reference.clone(),
            },
            _ => Outcome::Unknown {
                reason: format!("Smartcall enquiry: unrecognised statusId {id:?}"),
            },
        }
    }
}

/// `GET /smartload/balance/{smartloadId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceResponse {
    #[serde(default, deserialize_with = "flex_error")]
    pub error: Option<ErrorBody>,
    pub response_code: Option<String>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub balance: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: Option<i64>,
    pub message: Option<String>,
}

/// `GET /utilities/simnetwork/{msisdn}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimNetworkResponse {
    #[serde(default, deserialize_with = "flex_string")]
    pub msisdn: Option<String>,
    pub query_date: Option<String>,
    pub ported: Option<bool>,
    pub network: Option<String>,
    #[serde(default, deserialize_with = "flex_error")]
    pub error: Option<ErrorBody>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: Option<i64>,
    pub message: Option<String>,
}

/// `GET /smartload/networks`.
#[derive(Debug, Clone, Deserialize)]
pub struct NetworksResponse {
    #[serde(default)]
    pub networks: Vec<Network>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(default, deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    pub description: Option<String>,
    #[serde(default)]
    pub product_types: Vec<ProductType>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductType {
    #[serde(default, deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    /// Space-padded CHAR(2) ("A "), sometimes null.
    pub code: Option<String>,
    pub description: Option<String>,
    pub fixed_amount: Option<bool>,
    #[serde(default)]
    pub products: Vec<NetworkProduct>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProduct {
    #[serde(default, deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub type_code: Option<String>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub min_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub max_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    pub discount_percentage: Option<Decimal>,
    /// 99999.99 on open-amount products.
    #[serde(default, deserialize_with = "flex_decimal")]
    pub retail_value: Option<Decimal>,
    pub pin_indicator: Option<bool>,
    pub sms_indicator: Option<bool>,
    /// Seed 1.2.0 adds "recharge"/"payment" indicators; their JSON names are unrecorded,
    /// so this is read only if present under this name.
    pub recharge_indicator: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_read_from_numbers_and_formatted_strings() {
        assert_eq!(parse_decimal("R450.00"), Some(dec!(450.00)));
        assert_eq!(parse_decimal("5.50%"), Some(dec!(5.50)));
        assert_eq!(parse_decimal("R1,000.00"), Some(dec!(1000.00)));
        assert_eq!(parse_decimal("abc"), None);
        let r: Recharge = serde_json::from_str(
            r#"{"balance":99574.75,"orderReferenceId":130078272,"retailPrice":"450.00","dealerDiscount":"5.5"}"#,
        )
        .unwrap();
        assert_eq!(r.balance, Some(dec!(99574.75)));
        assert_eq!(r.order_reference_id.as_deref(), Some("130078272"));
        assert_eq!(r.retail_price, Some(dec!(450.00)));
        assert_eq!(r.dealer_discount, Some(dec!(5.5)));
        let r: Recharge = serde_json::from_str(r#"{"balance":"100000.0000","orderReferenceId":"7"}"#).unwrap();
        assert_eq!(r.balance, Some(dec!(100000.0000)));
    }

    #[test]
    fn request_serialises_numbers_and_omits_sms_provider_without_sms() {
        let req = RechargeRequest {
            smartload_id: "27820000001".into(),
            client_reference: "ref".into(),
            sms_recipient_msisdn: "27831234567".into(),
            device_id: "27831234567".into(),
            product_id: 62,
            amount: dec!(50.00),
            send_sms: false,
            sms_provider_identifier: None,
            airtime_network_auto_correct: None,
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["productId"], serde_json::json!(62));
        assert_eq!(v["amount"].to_string(), "50.00");
        assert_eq!(v["sendSms"], serde_json::json!(false));
        assert!(v.get("smsProviderIdentifier").is_none());
        // S3 sends strings; the simulator must take those too.
        let s: RechargeRequest = serde_json::from_str(
            r#"{"smartloadId":"1","clientReference":"r","smsRecipientMsisdn":"2","deviceId":"2",
                "productId":"62","amount":"10","sendSms":"false","smsProviderIdentifier":"SmartCall"}"#,
        )
        .unwrap();
        assert_eq!((s.product_id, s.amount, s.send_sms), (62, dec!(10), false));
    }

    #[test]
    fn enquiry_status_ids() {
        let t = |id: &str| Transaction {
            status_id: Some(id.into()),
            reference: Some("130078272".into()),
            ..Default::default()
        };
        assert!(matches!(t("SUCCESSFUL").outcome(), Outcome::Success { .. }));
        assert!(matches!(t("success").outcome(), Outcome::Success { .. }));
        assert!(matches!(
            t("FAILED").outcome(),
            Outcome::Failed { retryable: false, .. }
        ));
        assert!(matches!(
            t("CANCELLED").outcome(),
            Outcome::Failed { retryable: false, .. }
        ));
        assert!(matches!(t("PENDING").outcome(), Outcome::Pending { .. }));
        assert!(matches!(t("REQUESTED").outcome(), Outcome::Pending { .. }));
        assert!(matches!(t("LOST").outcome(), Outcome::Unknown { .. }));
        let recorded: EnquiryResponse = serde_json::from_str(
            r#"{"error":null,"responseCode":"SUCCESS","transaction":{"description":"Order","network":"2000 SMS-R450",
            "recipientMsisdn":"27831234567","statusDate":1519580942863,"reference":"130078272","amount":"R450.00",
            "discount":"5.50%","cost":"R425.25","status":"Recharge Pending","statusId":"PENDING","ticketNumber":null,
            "voucherPin":null,"additionalVoucherPin":null,"boxNumber":null,"batchNumber":null,"expiryDate":null}}"#,
        )
        .unwrap();
        assert_eq!(
            recorded.transaction.unwrap().outcome(),
            Outcome::Pending {
                upstream_id: Some("130078272".into())
            }
        );
        let missing: EnquiryResponse =
            serde_json::from_str(r#"{"code":1005,"message":"ClientReference does not exist"}"#).unwrap();
        assert_eq!(missing.error_code(), Some(CLIENT_REFERENCE_UNKNOWN));
    }
}
