//! The WhatsApp gateway as the notification service sees it (an Evolution API server
//! in practice; `providers::evolution`), and how its failures count.

use async_trait::async_trait;
use thiserror::Error;

/// An instance's link to WhatsApp, as Evolution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// `open`: connected; messages can be sent.
    Open,
    Connecting,
    Close,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Connecting => "connecting",
            Self::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Connecting, Self::Close]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// A message WhatsApp took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// WhatsApp's message id (`key.id`).
    pub message_id: String,
    /// Whether the answer already says the phone has it (DELIVERY_ACK or later).
    pub delivered: bool,
}

#[derive(Debug, Error)]
pub enum WhatsAppError {
    /// Definite: the number has no WhatsApp account; sending again will not help.
    #[error("the number is not on WhatsApp")]
    NotOnWhatsApp,
    /// Definite: the gateway has no instance of that name.
    #[error("the WhatsApp instance does not exist on the Evolution server")]
    UnknownInstance,
    /// Definite: the gateway refused the request as it is.
    #[error("Evolution refused the message: {0}")]
    Refused(String),
    /// Passing (5xx, timeout, connection, credentials): worth another try later.
    #[error("Evolution API error: {0}")]
    Unavailable(String),
}

impl WhatsAppError {
    /// Whether another try later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait WhatsApp: Send + Sync {
    async fn connection_state(&self, instance: &str) -> Result<ConnectionState, WhatsAppError>;
    /// Send `text` to `number` (country code and digits) from `instance`.
    async fn send_text(&self, instance: &str, number: &str, text: &str) -> Result<Accepted, WhatsAppError>;
}
