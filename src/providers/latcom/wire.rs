//! LATCOM's JSON, and how each answer maps onto an [`Outcome`].

use crate::domain::provider::Outcome;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub dist_api: String,
    pub user_uid: String,
}

/// Only `access` is read; anything else in the body is ignored.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub access: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopupRequest {
    #[serde(rename = "targetMSISDN")]
    pub target_msisdn: String,
    #[serde(rename = "dist_transid")]
    pub dist_transid: String,
    pub operator: String,
    pub country: String,
    pub currency: String,
    pub amount: Decimal,
    pub product_id: String,
    #[serde(rename = "skuID")]
    pub sku_id: String,
    pub service: u8,
}

/// Recorded shape of `/api/tn/fast` answers (failure sample in providers.md §3A).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopupResponse {
    pub uid: Option<String>,
    pub amount: Option<Decimal>,
    pub product_id: Option<String>,
    pub service: Option<u8>,
    pub trans_id: Option<String>,
    pub status: String,
    pub created_at: Option<String>,
    pub ven_transid: Option<String>,
    pub response_code: Option<String>,
    pub response_message: Option<String>,
    pub vendor_response_msg: Option<String>,
    pub vendor_response_code: Option<String>,
    pub dist_transid: Option<String>,
    pub ended_at: Option<String>,
}

impl TopupResponse {
    /// `status` compared case-insensitively: "Success" delivered, "Fail" definitely
    /// not (and not worth another route: LATCOM looked at it and said no), except a
    /// product this account does not sell (XOOM codes must be enabled per account),
    /// where another route may deliver; anything else (e.g. "Pending") is accepted but
    /// not yet settled.
    pub fn outcome(&self) -> Outcome {
        match self.status.to_ascii_lowercase().as_str() {
            "success" => Outcome::Success {
                upstream_id: self.trans_id.clone(),
                message: self.vendor_response_msg.clone(),
            },
            "fail" | "failed" | "failure" => Outcome::Failed {
                retryable: self.product_not_found(),
                code: self.vendor_response_code.clone(),
                message: self
                    .vendor_response_msg
                    .clone()
                    .or_else(|| self.response_message.clone())
                    .unwrap_or_else(|| "rejected by LATCOM".into()),
            },
            _ => Outcome::Pending {
                upstream_id: self.trans_id.clone(),
            },
        }
    }

    /// Both recorded spellings: "product_not_found", and "Product not Found" with -120054.
    fn product_not_found(&self) -> bool {
        let message = self.vendor_response_msg.as_deref().unwrap_or("");
        message.replace(['_', ' '], "").eq_ignore_ascii_case("productnotfound")
            || self.vendor_response_code.as_deref() == Some("-120054")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_failure_maps_to_definite_failure() {
        let body = r#"{"uid":"9b1","amount":20,"productId":"XOOM_20_MXN","service":2,"transId":"LT38453468",
            "status":"Fail","createdAt":"2025-10-04T09:19:00.368925345-04:00","venTransid":null,"responseCode":null,
            "responseMessage":null,"vendorResponseMsg":"product_not_found","vendorResponseCode":null,
            "distTransid":"TEST_1","endedAt":null}"#;
        let r: TopupResponse = serde_json::from_str(body).unwrap();
        assert_eq!(
            r.outcome(),
            Outcome::Failed {
                retryable: true,
                code: None,
                message: "product_not_found".into()
            },
            "a product this account lacks: another route may deliver"
        );
        let other: TopupResponse = serde_json::from_str(
            r#"{"status":"Fail","transId":"LT1","vendorResponseMsg":"Product not Found","vendorResponseCode":"-120054"}"#,
        )
        .unwrap();
        assert!(matches!(other.outcome(), Outcome::Failed { retryable: true, .. }));
        let declined: TopupResponse =
            serde_json::from_str(r#"{"status":"Fail","transId":"LT2","vendorResponseMsg":"Saldo insuficiente"}"#)
                .unwrap();
        assert!(matches!(declined.outcome(), Outcome::Failed { retryable: false, .. }));
    }

    #[test]
    fn success_is_case_insensitive() {
        let r: TopupResponse =
            serde_json::from_str(r#"{"status":"SUCCESS","transId":"LT1","vendorResponseCode":"0"}"#).unwrap();
        assert!(matches!(r.outcome(), Outcome::Success { upstream_id: Some(id), .. } if id == "LT1"));
    }

    #[test]
    fn request_uses_latcom_field_names() {
        let req = TopupRequest {
            target_msisdn: "5500000000".into(),
            dist_transid: "RLR1".into(),
            operator: "TELEFONICA".into(),
            country: "MEXICO".into(),
            currency: "MXN".into(),
            amount: Decimal::new(2500, 2),
            product_id: "TFE_MXN_20_TO_2000".into(),
            sku_id: "0".into(),
            service: 2,
        };
        let v = serde_json::to_value(&req).unwrap();
        for key in [
            "targetMSISDN",
            "dist_transid",
            "productId",
            "skuID",
            "service",
            "operator",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
    }
}
