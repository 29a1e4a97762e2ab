//! Relier authentication: `x-customer-id` names the customer, `x-api-key` proves it
//! (SHA-256 compared in constant time). Unknown customer and wrong key look the same.

use super::errors::RelierError;
use crate::api::rate_limit::LimitKind;
use crate::api::AppState;
use crate::domain::keys;
use crate::service::purchase::Buyer;
use crate::store::customers::CustomerAuth;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub struct RelierCustomer(pub CustomerAuth);

impl RelierCustomer {
    pub fn buyer(&self) -> Buyer {
        Buyer {
            customer_id: self.0.id.clone(),
            commission_rate: self.0.commission_rate,
            daily_limit_local: self.0.daily_limit_local,
        }
    }

    pub async fn rate_limit(&self, state: &AppState, kind: LimitKind) -> Result<(), RelierError> {
        let own = match kind {
            LimitKind::Topup => self.0.topup_rate_per_min,
            LimitKind::Api => self.0.api_rate_per_15min,
        };
        state
            .rate_limits
            .check(kind, &self.0.id, own)
            .await
            .map_err(RelierError::from)
    }
}

impl FromRequestParts<AppState> for RelierCustomer {
    type Rejection = RelierError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let (Some(customer_id), Some(api_key)) = (header("x-customer-id"), header("x-api-key")) else {
            return Err(RelierError::Unauthorized);
        };
        let customer = authenticate(state, customer_id, api_key).await?;
        tracing::Span::current().record("customer", customer.id.as_str());
        Ok(Self(customer))
    }
}

/// The customer that `api_key` proves `customer_id` to be: the Relier check, shared with
/// the /dashboard login. Unauthorized for an unknown customer or a wrong key alike.
pub async fn authenticate(state: &AppState, customer_id: &str, api_key: &str) -> Result<CustomerAuth, RelierError> {
    if customer_id.is_empty() || customer_id.len() > 64 {
        return Err(RelierError::Unauthorized);
    }
    let customer = state
        .customers
        .get(customer_id)
        .await?
        .ok_or(RelierError::Unauthorized)?;
    if !keys::verify(api_key, &customer.api_key_hash) {
        return Err(RelierError::Unauthorized);
    }
    if customer.status != "active" {
        return Err(RelierError::Suspended);
    }
    Ok(customer)
}
