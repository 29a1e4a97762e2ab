//! The Evolution API adapter: sendText and connectionState through the one executor,
//! authenticated with the `apikey` header, answers classified for the sender's retries.

use super::wire::{ConnectionStateAnswer, ErrorEnvelope, NumberCheck, SendText, SentMessage, DELIVERED_STATES};
use super::ID;
use crate::domain::notification::whatsapp::{Accepted, ConnectionState, WhatsApp, WhatsAppError};
use crate::providers::executor::{CallResponse, Executor};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

pub struct EvolutionAdapter {
    executor: Executor,
    base_url: String,
    api_key: SecretString,
    timeout: Duration,
}

impl EvolutionAdapter {
    pub fn new(executor: Executor, base_url: &str, api_key: SecretString, timeout: Duration) -> Self {
        Self {
            executor,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            timeout,
        }
    }

    fn url(&self, path: &str, instance: &str) -> String {
        // Instance names are ours (set by ops), but keep them one path segment.
        let segment: String = instance
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect();
        format!("{}/{path}/{segment}", self.base_url)
    }

    async fn call(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<CallResponse, WhatsAppError> {
        let request = request.header("apikey", self.api_key.expose_secret());
        self.executor
            .call(ID, operation, request, self.timeout)
            .await
            .map_err(|e| WhatsAppError::Unavailable(e.to_string()))
    }
}

/// What an answer other than success means.
fn failure(response: &CallResponse) -> WhatsAppError {
    let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&response.body).ok();
    let detail = envelope
        .as_ref()
        .map(|e| e.response.message.to_string())
        .unwrap_or_else(|| format!("HTTP {}", response.status));
    match response.status {
        400 => {
            let checks: Option<Vec<NumberCheck>> = envelope
                .as_ref()
                .and_then(|e| serde_json::from_value(e.response.message.clone()).ok());
            if checks.is_some_and(|c| c.iter().any(|n| !n.exists)) {
                WhatsAppError::NotOnWhatsApp
            } else {
                WhatsAppError::Refused(detail)
            }
        }
        404 => WhatsAppError::UnknownInstance,
        // Credentials are ours to fix, and a fix makes the same message go through.
        401 | 403 | 408 | 429 => WhatsAppError::Unavailable(format!("HTTP {}: {detail}", response.status)),
        s if s >= 500 => WhatsAppError::Unavailable(format!("HTTP {s}: {detail}")),
        s => WhatsAppError::Refused(format!("HTTP {s}: {detail}")),
    }
}

#[async_trait]
impl WhatsApp for EvolutionAdapter {
    async fn connection_state(&self, instance: &str) -> Result<ConnectionState, WhatsAppError> {
        let request = self
            .executor
            .client()
            .get(self.url("instance/connectionState", instance));
        let response = self.call("connection_state", request).await?;
        if response.status != 200 {
            return Err(failure(&response));
        }
        let answer: ConnectionStateAnswer = serde_json::from_slice(&response.body)
            .map_err(|e| WhatsAppError::Unavailable(format!("unreadable connectionState answer: {e}")))?;
        ConnectionState::parse(&answer.instance.state)
            .ok_or_else(|| WhatsAppError::Unavailable(format!("unknown connection state {}", answer.instance.state)))
    }

    async fn send_text(&self, instance: &str, number: &str, text: &str) -> Result<Accepted, WhatsAppError> {
        let body = SendText {
            number: number.to_string(),
            text: text.to_string(),
            delay: None,
            link_preview: Some(false),
        };
        let request = self
            .executor
            .client()
            .post(self.url("message/sendText", instance))
            .json(&body);
        let response = self.call("send_text", request).await?;
        if !(200..300).contains(&response.status) {
            return Err(failure(&response));
        }
        // Taken: an unreadable body must not make us send it again.
        let sent: Option<SentMessage> = serde_json::from_slice(&response.body).ok();
        Ok(match sent {
            Some(m) => Accepted {
                delivered: m.status.as_deref().is_some_and(|s| DELIVERED_STATES.contains(&s)),
                message_id: m.key.id,
            },
            None => Accepted {
                message_id: String::new(),
                delivered: false,
            },
        })
    }
}
