//! An Evolution API (v2) simulator over HTTP on loopback (providers.md §4): sendText and
//! connectionState with Evolution's status codes and shapes, the `apikey` header,
//! numbers not on WhatsApp, disconnected and unknown instances, latency and errors.
//!
//! Every instance name exists and is connected (`open`) unless a test says otherwise,
//! so an instance created with the CLI is connected here at once. Numbers ending in
//! [`NOT_ON_WHATSAPP_SUFFIX`] have no WhatsApp account.

use super::loopback;
use crate::providers::evolution::wire::{
    ConnectionStateAnswer, ErrorEnvelope, ErrorResponse, InstanceState, MessageKey, NumberCheck, SendText, SentMessage,
};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API key the sandbox's adapter is given.
pub const API_KEY: &str = "sandbox-evolution-key";
/// A number ending in these digits is not on WhatsApp (e.g. 254700000404).
pub const NOT_ON_WHATSAPP_SUFFIX: &str = "0404";

/// Messages remembered (the oldest are forgotten first), so a sandbox left running
/// holds a bounded amount of memory.
const REMEMBERED: usize = 10_000;

/// A message the simulator took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub instance: String,
    /// The number as Evolution keeps it (after its Mexican rewrite).
    pub number: String,
    pub text: String,
    pub id: String,
}

#[derive(Default)]
struct Inner {
    /// Instances not `open`: a state, or `None` for one that does not exist.
    states: HashMap<String, Option<&'static str>>,
    /// sendText requests still to answer 500 without sending.
    failures_left: u32,
    /// Every request answers 500.
    down: bool,
    latency: Duration,
    delivered: Vec<Delivered>,
    send_requests: u64,
}

/// Shared state; tests hold it to inject faults and to see what was sent.
#[derive(Clone, Default)]
pub struct SimState {
    inner: Arc<Mutex<Inner>>,
}

impl SimState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("simulator state")
    }
    /// `open`, `connecting` or `close`.
    pub fn set_state(&self, instance: &str, state: &'static str) {
        let state = (state != "open").then_some(state);
        match state {
            Some(s) => self.lock().states.insert(instance.into(), Some(s)),
            None => self.lock().states.remove(instance),
        };
    }
    /// The instance no longer exists on the server (404).
    pub fn remove_instance(&self, instance: &str) {
        self.lock().states.insert(instance.into(), None);
    }
    /// The next `n` sendText requests answer 500 without sending anything.
    pub fn fail_next_sends(&self, n: u32) {
        self.lock().failures_left = n;
    }
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }
    /// Every request answers 500 (true), or is served again (false).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    /// Every message sent, in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.lock().delivered.clone()
    }
    /// sendText requests that arrived (also those answered with an error).
    pub fn send_requests(&self) -> u64 {
        self.lock().send_requests
    }
}

fn error(status: StatusCode, message: serde_json::Value) -> Response {
    let envelope = ErrorEnvelope {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error").to_string(),
        response: ErrorResponse { message },
    };
    (status, Json(envelope)).into_response()
}

/// The simulator's refusals, answered in Evolution's error envelope.
enum Refusal {
    Unauthorized,
    ServerError(&'static str),
    NoInstance(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => error(StatusCode::UNAUTHORIZED, json!("Unauthorized")),
            Self::ServerError(message) => error(StatusCode::INTERNAL_SERVER_ERROR, json!([message])),
            Self::NoInstance(instance) => error(
                StatusCode::NOT_FOUND,
                json!([format!("The \"{instance}\" instance does not exist")]),
            ),
        }
    }
}

fn authorized(headers: &HeaderMap) -> Result<(), Refusal> {
    match headers.get("apikey").and_then(|v| v.to_str().ok()) {
        Some(API_KEY) => Ok(()),
        _ => Err(Refusal::Unauthorized),
    }
}

/// The state of an instance, or why the server answers otherwise.
fn state_of(inner: &Inner, instance: &str) -> Result<&'static str, Refusal> {
    if inner.down {
        return Err(Refusal::ServerError("Internal server error"));
    }
    match inner.states.get(instance) {
        None => Ok("open"),
        Some(Some(state)) => Ok(state),
        Some(None) => Err(Refusal::NoInstance(instance.to_string())),
    }
}

async fn connection_state(State(sim): State<SimState>, Path(instance): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&headers) {
        return r.into_response();
    }
    let state = match state_of(&sim.lock(), &instance) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    Json(ConnectionStateAnswer {
        instance: InstanceState {
            instance_name: instance,
            state: state.into(),
        },
    })
    .into_response()
}

/// Evolution's `formatMXOrARNumber`: a 13-digit `521…` Mexican number loses the `1`.
fn evolution_number(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 13 && digits.starts_with("521") {
        format!("52{}", &digits[3..])
    } else {
        digits
    }
}

async fn send_text(
    State(sim): State<SimState>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Result<Json<SendText>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let latency = {
        let mut inner = sim.lock();
        inner.send_requests += 1;
        inner.latency
    };
    tokio::time::sleep(latency).await;
    if let Err(r) = authorized(&headers) {
        return r.into_response();
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            json!(["number is required", "text is required"]),
        );
    };
    let mut inner = sim.lock();
    match state_of(&inner, &instance) {
        Err(r) => return r.into_response(),
        Ok("open") => {}
        Ok(_) => return Refusal::ServerError("Error: Connection Closed").into_response(),
    }
    if inner.failures_left > 0 {
        inner.failures_left -= 1;
        return Refusal::ServerError("Internal server error").into_response();
    }
    let number = evolution_number(&body.number);
    let jid = format!("{number}@s.whatsapp.net");
    if number.ends_with(NOT_ON_WHATSAPP_SUFFIX) {
        let check = NumberCheck {
            jid,
            exists: false,
            number: body.number,
        };
        return error(StatusCode::BAD_REQUEST, json!([check]));
    }
    let id = format!("3EB0{}", uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase());
    if inner.delivered.len() >= REMEMBERED {
        inner.delivered.remove(0);
    }
    inner.delivered.push(Delivered {
        instance,
        number: number.clone(),
        text: body.text.clone(),
        id: id.clone(),
    });
    let answer = SentMessage {
        key: MessageKey {
            remote_jid: jid,
            from_me: true,
            id,
        },
        push_name: Some("recarga sandbox".into()),
        status: Some("PENDING".into()),
        message: Some(json!({"conversation": body.text})),
        message_type: Some("conversation".into()),
        message_timestamp: Some(chrono::Utc::now().timestamp()),
        instance_id: Some(uuid::Uuid::new_v4().to_string()),
        source: Some("unknown".into()),
    };
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn welcome() -> Json<serde_json::Value> {
    Json(json!({"status": 200, "message": "Welcome to the Evolution API, it is working!", "version": "2.3.6"}))
}

pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/message/sendText/{instance}", post(send_text))
        .route("/instance/connectionState/{instance}", get(connection_state))
        .with_state(state)
}

/// Serve a fresh simulator on loopback; its address and state.
pub async fn spawn() -> std::io::Result<(SocketAddr, SimState)> {
    let state = SimState::default();
    let addr = loopback::serve(router(state.clone()), "Evolution").await?;
    Ok((addr, state))
}
