//! WhatsApp billing notifications (seed 002): message types, key permissions, the
//! request a billing system sends, numbers as WhatsApp takes them, amounts as people
//! read them, the message templates, and the WhatsApp gateway contract.

pub mod request;
pub mod template;
pub mod whatsapp;

use std::fmt;

/// What a message says. The first four are the seed's; `LowBalance` is recarga's own
/// notice to a reseller and is not accepted from the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    PaymentReminder,
    Invoice,
    Overdue,
    Confirmation,
    LowBalance,
}

impl MessageType {
    /// The types a billing system may send, in the seed's order.
    pub const API: [MessageType; 4] = [Self::PaymentReminder, Self::Invoice, Self::Overdue, Self::Confirmation];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentReminder => "payment_reminder",
            Self::Invoice => "invoice",
            Self::Overdue => "overdue",
            Self::Confirmation => "confirmation",
            Self::LowBalance => "low_balance",
        }
    }

    /// One of the seed's four (the API's `message_type`).
    pub fn from_api(s: &str) -> Option<Self> {
        Self::API.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    SendMessage,
    ReceiveMessage,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendMessage => "send_message",
            Self::ReceiveMessage => "receive_message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::SendMessage, Self::ReceiveMessage]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A message's place in its life: stored and waiting to be sent, handed to WhatsApp,
/// confirmed on the phone, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Queued,
    Sent,
    Delivered,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Sent, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}
