//! Evolution API v2 wire types (providers.md §4): `POST /message/sendText/{instance}`,
//! `GET /instance/connectionState/{instance}`, and the error envelope.

use serde::{Deserialize, Serialize};

/// `POST /message/sendText/{instance}`; only `number` and `text` are required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendText {
    pub number: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u64>,
    #[serde(default, rename = "linkPreview", skip_serializing_if = "Option::is_none")]
    pub link_preview: Option<bool>,
}

/// The 201 answer: the prepared message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentMessage {
    pub key: MessageKey,
    #[serde(default, rename = "pushName")]
    pub push_name: Option<String>,
    /// ERROR, PENDING, SERVER_ACK, DELIVERY_ACK, READ or PLAYED.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
    #[serde(default, rename = "messageType")]
    pub message_type: Option<String>,
    #[serde(default, rename = "messageTimestamp")]
    pub message_timestamp: Option<i64>,
    #[serde(default, rename = "instanceId")]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageKey {
    #[serde(rename = "remoteJid")]
    pub remote_jid: String,
    #[serde(rename = "fromMe")]
    pub from_me: bool,
    pub id: String,
}

/// `GET /instance/connectionState/{instance}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionStateAnswer {
    pub instance: InstanceState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceState {
    #[serde(rename = "instanceName")]
    pub instance_name: String,
    /// open, connecting or close.
    pub state: String,
}

/// Every error: `{"status": 400, "error": "Bad Request", "response": {"message": …}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub status: u16,
    pub error: String,
    pub response: ErrorResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// A list of strings, or of number checks (`NumberCheck`) for "not on WhatsApp".
    pub message: serde_json::Value,
}

/// One entry of a 400 for numbers without WhatsApp.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NumberCheck {
    pub jid: String,
    pub exists: bool,
    pub number: String,
}

/// Delivery states at or past the phone.
pub const DELIVERED_STATES: [&str; 3] = ["DELIVERY_ACK", "READ", "PLAYED"];
