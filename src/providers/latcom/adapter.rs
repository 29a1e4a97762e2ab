//! The LATCOM adapter: one bearer token per process (`providers::session`), refreshed
//! after the configured lifetime; a 401 replaces it and the call is sent once more
//! (LATCOM rejected the request before acting on it, so it cannot top up twice).

use super::wire::{LoginRequest, LoginResponse, TopupRequest, TopupResponse};
use super::ID;
use crate::domain::provider::{Enquiry, Outcome, Provider, ProviderHealth, UpstreamTopup};
use crate::providers::executor::{CallError, CallResponse, Executor};
use crate::providers::session::{Issued, Session};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
    pub dist_api: SecretString,
    pub user_uid: String,
}

pub struct LatcomAdapter {
    executor: Executor,
    base_url: String,
    credentials: Credentials,
    refresh_after: Duration,
    timeout: Duration,
    /// The account also answers status lookups by our `dist_transid` (configuration).
    enquire_by_dist_transid: bool,
    session: Session,
}

impl LatcomAdapter {
    pub fn new(
        executor: Executor,
        base_url: &str,
        credentials: Credentials,
        refresh_after: Duration,
        timeout: Duration,
        enquire_by_dist_transid: bool,
    ) -> Self {
        Self {
            executor,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            refresh_after,
            timeout,
            enquire_by_dist_transid,
            session: Session::new(ID),
        }
    }

    async fn login(&self) -> Result<Issued, String> {
        let body = LoginRequest {
            username: self.credentials.username.clone(),
            password: self.credentials.password.expose_secret().to_string(),
            dist_api: self.credentials.dist_api.expose_secret().to_string(),
            user_uid: self.credentials.user_uid.clone(),
        };
        let request = self
            .executor
            .client()
            .post(format!("{}/api/dislogin", self.base_url))
            .json(&body);
        let response = self
            .executor
            .call(ID, "login", request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("login refused with HTTP {}", response.status));
        }
        let login: LoginResponse =
            serde_json::from_slice(&response.body).map_err(|e| format!("login answer unreadable: {e}"))?;
        // LATCOM's answer carries no lifetime: the configured one (providers.md §3A).
        Ok(Issued {
            token: SecretString::from(login.access),
            refresh_in: Some(self.refresh_after),
        })
    }

    /// Send with the session's token; on 401 log in again and send once more. `Err`
    /// means no token: nothing was sent.
    async fn authorised(
        &self,
        operation: &'static str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Result<CallResponse, CallError>, String> {
        self.session
            .call(
                operation,
                || self.login(),
                |token| {
                    self.executor
                        .call(ID, operation, build(token.expose_secret()), self.timeout)
                },
                |answer| matches!(answer, Ok(r) if r.status == 401),
            )
            .await
    }

    fn body(&self, t: &UpstreamTopup) -> TopupRequest {
        TopupRequest {
            target_msisdn: t.msisdn.clone(),
            dist_transid: t.upstream_reference.clone(),
            operator: t.operator.clone().unwrap_or_default(),
            country: "MEXICO".into(),
            currency: t.currency.clone(),
            amount: t.amount,
            product_id: t.upstream_product.clone(),
            sku_id: t.sku.clone().unwrap_or_else(|| "0".into()),
            service: t.service.as_deref().and_then(|s| s.parse().ok()).unwrap_or(2),
        }
    }
}

/// Map an answered call: 200 carries the verdict in `status`; 5xx or an unreadable
/// 200 leaves us not knowing; another 4xx is LATCOM refusing the request outright.
fn answered(response: &CallResponse) -> Outcome {
    match response.status {
        200 => match serde_json::from_slice::<TopupResponse>(&response.body) {
            Ok(r) => r.outcome(),
            Err(e) => Outcome::Unknown {
                reason: format!("unreadable LATCOM answer: {e}"),
            },
        },
        s if s >= 500 => Outcome::Unknown {
            reason: format!("LATCOM HTTP {s}"),
        },
        s => Outcome::Failed {
            retryable: true,
            code: Some(s.to_string()),
            message: format!("LATCOM refused the request (HTTP {s})"),
        },
    }
}

#[async_trait]
impl Provider for LatcomAdapter {
    fn id(&self) -> &'static str {
        ID
    }

    async fn topup(&self, request: &UpstreamTopup) -> Outcome {
        let body = self.body(request);
        let url = format!("{}/api/tn/fast", self.base_url);
        let call = self
            .authorised("topup", |token| {
                self.executor.client().post(&url).bearer_auth(token).json(&body)
            })
            .await;
        match call {
            // No token means nothing was sent: safe to try another route.
            Err(reason) => Outcome::Failed {
                retryable: true,
                code: None,
                message: reason,
            },
            Ok(Err(CallError::NotSent(reason))) => Outcome::Failed {
                retryable: true,
                code: None,
                message: reason,
            },
            Ok(Err(CallError::Unknown(reason))) => Outcome::Unknown { reason },
            Ok(Ok(response)) => answered(&response),
        }
    }

    /// Status by LATCOM's `transId` (the documented `GET /api/transaction/{transId}`),
    /// taken from an earlier answer; by our `dist_transid` only where the account is
    /// configured as supporting it. The answer's shape is unverified (providers.md §3A):
    /// it is read as the top-up answer's.
    async fn enquire(&self, request: &UpstreamTopup) -> Enquiry {
        let id = match &request.upstream_transaction_id {
            Some(trans_id) => trans_id,
            None if self.enquire_by_dist_transid => &request.upstream_reference,
            None => {
                return Enquiry::Known(Outcome::Unknown {
                    reason: "no enquiry possible: LATCOM gave no transId for this request and this account is \
                             not configured to look requests up by dist_transid"
                        .into(),
                })
            }
        };
        let url = format!("{}/api/transaction/{id}", self.base_url);
        match self
            .authorised("enquire", |token| self.executor.client().get(&url).bearer_auth(token))
            .await
        {
            Ok(Ok(r)) if r.status == 404 => Enquiry::NotFound,
            // Our token refused again: that says nothing about the top-up.
            Ok(Ok(r)) if r.status == 401 => Enquiry::Known(Outcome::Unknown {
                reason: "LATCOM refused a freshly issued token".into(),
            }),
            Ok(Ok(r)) => Enquiry::Known(answered(&r)),
            Ok(Err(e)) => Enquiry::Known(Outcome::Unknown { reason: e.to_string() }),
            Err(reason) => Enquiry::Known(Outcome::Unknown { reason }),
        }
    }

    async fn health(&self) -> ProviderHealth {
        let result = self.session.token(|| self.login()).await;
        ProviderHealth {
            upstream: ID.into(),
            up: result.is_ok(),
            detail: result.err(),
            float: None,
            float_low: false,
        }
    }
}
