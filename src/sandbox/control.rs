//! The sandbox's control API, under `/_sandbox` beside the simulators: what tests (and
//! integrators trying their error handling) use to reach the simulators of a shared
//! `recarga sandbox` process from outside it. It injects faults and latency, and tells
//! what each simulator saw: the top-ups it delivered and the enquiries it was asked.
//!
//! - `PUT /_sandbox/{upstream}` with a [`Tuning`]: 204;
//! - `GET /_sandbox/{upstream}/seen`: every top-up remembered ([`Seen`]);
//! - `GET /_sandbox/{upstream}/enquiries`: every reference enquired about ([`Enquired`]).
//!
//! `{upstream}` is `latcom`, `smartcall` or `datamart`; anything else is 404, and a
//! body that is not a tuning, or a fault or setting that upstream does not have, is 400,
//! each with a JSON error.

use super::enquiries::EnquiryLog;
use super::history::Seen;
use super::standalone::Sandbox;
use super::{datamart, latcom, smartcall};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What to change in one simulator; what is left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    pub fault: Option<FaultSpec>,
    /// Added to every top-up.
    pub latency_ms: Option<u64>,
    /// How long every status enquiry is held open before it is answered (see `enquiries`).
    pub enquiry_hold_ms: Option<u64>,
    /// DataMart only: our wallet there, GHS.
    pub balance: Option<Decimal>,
}

/// The faults the simulators offer (not every one has each: see `fault_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    None,
    /// Take the top-up, then hold the answer this long.
    HangAfterProcessing {
        ms: u64,
    },
    ServerErrorAfterProcessing,
    ServerErrorBeforeProcessing,
    UnavailableBeforeProcessing,
    GarbledAfterProcessing,
}

/// One reference's enquiries, as `GET …/enquiries` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enquired {
    pub reference: String,
    pub enquiries: u64,
    /// Enquiries that began while another about the same reference was open.
    pub overlapping: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no simulator named {0:?} (latcom, smartcall, datamart)")]
    UnknownUpstream(String),
    #[error("{0}")]
    NotOffered(String),
    #[error("the body is not a tuning: {0}")]
    BadBody(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::UnknownUpstream(_) => StatusCode::NOT_FOUND,
            ControlError::NotOffered(_) | ControlError::BadBody(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(serde_json::json!({"error": self.to_string()}))).into_response()
    }
}

#[derive(Clone, Copy)]
enum Upstream {
    Latcom,
    Smartcall,
    Datamart,
}

impl Upstream {
    fn parse(name: &str) -> Result<Self, ControlError> {
        match name {
            "latcom" => Ok(Self::Latcom),
            "smartcall" => Ok(Self::Smartcall),
            "datamart" => Ok(Self::Datamart),
            other => Err(ControlError::UnknownUpstream(other.to_string())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Latcom => "latcom",
            Self::Smartcall => "smartcall",
            Self::Datamart => "datamart",
        }
    }
}

pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/{upstream}", put(tune))
        .route("/{upstream}/seen", get(seen))
        .route("/{upstream}/enquiries", get(enquiries))
        .with_state(sandbox)
}

impl Sandbox {
    /// Apply `tuning` to the simulator of `upstream`, all of it or (refused) none.
    pub fn tune(&self, upstream: &str, tuning: &Tuning) -> Result<(), ControlError> {
        let upstream = Upstream::parse(upstream)?;
        let not_offered = |what: &str| ControlError::NotOffered(format!("{} has no {what}", upstream.name()));
        if tuning.balance.is_some() && !matches!(upstream, Upstream::Datamart) {
            return Err(not_offered("balance to set"));
        }
        let fault = tuning
            .fault
            .map(|spec| fault_for(upstream, spec).ok_or_else(|| not_offered(&format!("fault {spec:?}"))))
            .transpose()?;
        let latency = tuning.latency_ms.map(Duration::from_millis);
        match fault {
            None => {}
            Some(Fault::Latcom(f)) => self.latcom.set_fault(f),
            Some(Fault::Smartcall(f)) => self.smartcall.set_fault(f),
            Some(Fault::Datamart(f)) => self.datamart.set_fault(f),
        }
        if let Some(latency) = latency {
            match upstream {
                Upstream::Latcom => self.latcom.set_latency(latency),
                Upstream::Smartcall => self.smartcall.set_latency(latency),
                Upstream::Datamart => self.datamart.set_latency(latency),
            }
        }
        if let Some(hold) = tuning.enquiry_hold_ms {
            self.enquiry_log(upstream).set_hold(Duration::from_millis(hold));
        }
        if let Some(balance) = tuning.balance {
            self.datamart.set_balance(balance);
        }
        Ok(())
    }

    /// Every top-up the simulator of `upstream` remembers.
    pub fn seen(&self, upstream: &str) -> Result<Vec<Seen>, ControlError> {
        Ok(match Upstream::parse(upstream)? {
            Upstream::Latcom => self.latcom.seen(),
            Upstream::Smartcall => self.smartcall.seen(),
            Upstream::Datamart => self.datamart.seen(),
        })
    }

    /// Every reference the simulator of `upstream` was asked about.
    pub fn enquired(&self, upstream: &str) -> Result<Vec<Enquired>, ControlError> {
        let log = self.enquiry_log(Upstream::parse(upstream)?);
        Ok(log
            .asked()
            .into_iter()
            .map(|(reference, asked)| Enquired {
                reference,
                enquiries: asked.enquiries,
                overlapping: asked.overlapping,
            })
            .collect())
    }

    fn enquiry_log(&self, upstream: Upstream) -> &EnquiryLog {
        match upstream {
            Upstream::Latcom => self.latcom.enquiry_log(),
            Upstream::Smartcall => self.smartcall.enquiry_log(),
            Upstream::Datamart => self.datamart.enquiry_log(),
        }
    }
}

enum Fault {
    Latcom(latcom::Fault),
    Smartcall(smartcall::Fault),
    Datamart(datamart::Fault),
}

/// The simulator's own fault for `spec`, if it has one.
fn fault_for(upstream: Upstream, spec: FaultSpec) -> Option<Fault> {
    use FaultSpec as F;
    Some(match upstream {
        Upstream::Latcom => Fault::Latcom(match spec {
            F::None => latcom::Fault::None,
            F::HangAfterProcessing { ms } => latcom::Fault::HangAfterProcessing(Duration::from_millis(ms)),
            F::ServerErrorAfterProcessing => latcom::Fault::ServerErrorAfterProcessing,
            F::ServerErrorBeforeProcessing => latcom::Fault::ServerErrorBeforeProcessing,
            F::GarbledAfterProcessing => latcom::Fault::GarbledAfterProcessing,
            F::UnavailableBeforeProcessing => return None,
        }),
        Upstream::Smartcall => Fault::Smartcall(match spec {
            F::None => smartcall::Fault::None,
            F::HangAfterProcessing { ms } => smartcall::Fault::HangAfterProcessing(Duration::from_millis(ms)),
            F::ServerErrorAfterProcessing => smartcall::Fault::ServerErrorAfterProcessing,
            F::ServerErrorBeforeProcessing => smartcall::Fault::ServerErrorBeforeProcessing,
            F::UnavailableBeforeProcessing => smartcall::Fault::UnavailableBeforeProcessing,
            F::GarbledAfterProcessing => smartcall::Fault::GarbledAfterProcessing,
        }),
        Upstream::Datamart => Fault::Datamart(match spec {
            F::None => datamart::Fault::None,
            F::HangAfterProcessing { ms } => datamart::Fault::HangAfterProcessing(Duration::from_millis(ms)),
            F::ServerErrorBeforeProcessing => datamart::Fault::ServerErrorBeforeProcessing,
            F::GarbledAfterProcessing => datamart::Fault::GarbledAfterProcessing,
            F::ServerErrorAfterProcessing | F::UnavailableBeforeProcessing => return None,
        }),
    })
}

async fn tune(
    State(sandbox): State<Sandbox>,
    Path(upstream): Path<String>,
    tuning: Result<Json<Tuning>, JsonRejection>,
) -> Result<StatusCode, ControlError> {
    let Json(tuning) = tuning.map_err(|e| ControlError::BadBody(e.body_text()))?;
    sandbox.tune(&upstream, &tuning)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn seen(State(sandbox): State<Sandbox>, Path(upstream): Path<String>) -> Result<Json<Vec<Seen>>, ControlError> {
    Ok(Json(sandbox.seen(&upstream)?))
}

async fn enquiries(
    State(sandbox): State<Sandbox>,
    Path(upstream): Path<String>,
) -> Result<Json<Vec<Enquired>>, ControlError> {
    Ok(Json(sandbox.enquired(&upstream)?))
}
