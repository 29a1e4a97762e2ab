//! Bodies of the notification API, as seed 002 shows them.

use crate::api::json::{money, timestamp};
use crate::domain::money::DecimalNumber;
use crate::service::notifications::InstanceStatus;
use crate::store::notifications::messages::LoggedMessage;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// The send-notification body (seed 002, "Request Body").
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the body, which is read field by field
pub struct SendNotificationBody {
    /// WhatsApp number with country code, digits only.
    #[schema(example = "254712345678")]
    phone_number: String,
    #[schema(example = "John Doe")]
    customer_name: String,
    /// Bill amount, greater than zero.
    #[schema(value_type = DecimalNumber, example = 1500.00)]
    amount: Decimal,
    /// ISO 4217 code.
    #[schema(example = "KES")]
    currency: String,
    #[schema(example = "INV-2026-001")]
    invoice_id: String,
    /// ISO 8601 date.
    #[schema(example = "2026-02-15")]
    due_date: Option<String>,
    /// payment_reminder, invoice, overdue or confirmation.
    #[schema(example = "payment_reminder")]
    message_type: String,
}

/// 200: stored and queued for WhatsApp (a repeat within the window: the first one).
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationAccepted {
    pub success: bool,
    #[schema(value_type = String, example = "550e8400-e29b-41d4-a716-446655440000")]
    pub message_id: Uuid,
    pub invoice_id: String,
}

/// Every error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub detail: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageLog {
    #[schema(value_type = String, example = "550e8400-e29b-41d4-a716-446655440000")]
    pub instance_id: Uuid,
    pub messages: Vec<MessageEntry>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageEntry {
    #[schema(value_type = String, example = "550e8400-e29b-41d4-a716-446655440000")]
    pub id: Uuid,
    /// outgoing (incoming messages are not received yet).
    pub direction: String,
    pub phone_number: String,
    pub customer_name: String,
    pub message_type: String,
    pub invoice_id: String,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount: Decimal,
    pub currency: String,
    pub due_date: Option<String>,
    /// The text as sent.
    pub text: String,
    /// queued, sent, delivered or failed.
    pub status: String,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
}

impl From<LoggedMessage> for MessageEntry {
    fn from(m: LoggedMessage) -> Self {
        Self {
            id: m.id,
            direction: m.direction,
            phone_number: m.phone_number,
            customer_name: m.customer_name,
            message_type: m.message_type,
            invoice_id: m.invoice_id,
            amount: m.amount,
            currency: m.currency,
            due_date: m.due_date.map(|d| d.to_string()),
            text: m.body,
            status: m.status,
            attempts: m.attempts,
            error: m.last_error,
            created_at: timestamp(m.created_at),
            sent_at: m.sent_at.map(timestamp),
            delivered_at: m.delivered_at.map(timestamp),
            failed_at: m.failed_at.map(timestamp),
        }
    }
}

/// An instance and its connection, as Evolution reports it now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    #[schema(value_type = String, example = "550e8400-e29b-41d4-a716-446655440000")]
    pub instance_id: Uuid,
    pub name: String,
    pub evolution_instance: String,
    /// open, connecting, close, not_found (on the Evolution server) or unknown.
    pub connection_state: String,
    /// Evolution says `open`: messages can be sent.
    pub connected: bool,
    pub state_checked_at: Option<String>,
    pub created_at: String,
}

impl From<InstanceStatus> for InstanceView {
    fn from(s: InstanceStatus) -> Self {
        Self {
            instance_id: s.instance.id,
            name: s.instance.name,
            evolution_instance: s.instance.evolution_instance,
            connection_state: s.state.to_string(),
            connected: s.connected,
            state_checked_at: s.instance.state_checked_at.map(timestamp),
            created_at: timestamp(s.instance.created_at),
        }
    }
}
