//! Bearer authentication for the distributor API, and the caller's address for the
//! login guard.

use super::errors::DistributorError;
use crate::api::rate_limit::LimitKind;
use crate::api::AppState;
use crate::service::purchase::Buyer;
use crate::service::tokens::Claims;
use crate::store::customers::CustomerAuth;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub struct Distributor {
    pub customer: CustomerAuth,
    pub claims: Claims,
}

impl Distributor {
    pub fn buyer(&self) -> Buyer {
        Buyer {
            customer_id: self.customer.id.clone(),
            commission_rate: self.customer.commission_rate,
            daily_limit_local: self.customer.daily_limit_local,
        }
    }

    pub fn rate_limit(&self, state: &AppState, kind: LimitKind) -> Result<(), DistributorError> {
        let own = match kind {
            LimitKind::Topup => self.customer.topup_rate_per_min,
            LimitKind::Api => self.customer.api_rate_per_15min,
        };
        state
            .rate_limits
            .check(kind, &self.customer.id, own)
            .map_err(DistributorError::TooManyRequests)
    }
}

impl FromRequestParts<AppState> for Distributor {
    type Rejection = DistributorError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| DistributorError::Unauthorized("Invalid or missing token".into()))?;
        let claims = state.tokens.verify(token).await?;
        let customer = state
            .customers
            .get(&claims.sub)
            .await?
            .ok_or_else(|| DistributorError::Unauthorized("Invalid or missing token".into()))?;
        if customer.status != "active" {
            return Err(DistributorError::Unauthorized("Account suspended".into()));
        }
        Ok(Self { customer, claims })
    }
}

/// The TCP peer address (the login guard's per-address key).
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(Self(ip))
    }
}
