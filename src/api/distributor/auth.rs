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

    pub async fn rate_limit(&self, state: &AppState, kind: LimitKind) -> Result<(), DistributorError> {
        let own = match kind {
            LimitKind::Topup => self.customer.topup_rate_per_min,
            LimitKind::Api => self.customer.api_rate_per_15min,
        };
        state
            .rate_limits
            .check(kind, &self.customer.id, own)
            .await
            .map_err(DistributorError::from)
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

/// The client's address (the login guard's key): the TCP peer, or, when the peer is one
/// of `limits.trusted_proxies`, the nearest address in `X-Forwarded-For` that is not a
/// trusted proxy. From anyone else the header is ignored: it is the client's to forge.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self(client_address(
            peer,
            &forwarded,
            &state.settings.limits.trusted_proxies,
        )))
    }
}

/// Walk back from the peer through the proxies we trust; the first other hop is the
/// client. An unparsable hop ends the walk at the last trusted one.
fn client_address(peer: IpAddr, forwarded_for: &str, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    let mut hops = forwarded_for.rsplit(',').map(str::trim).filter(|h| !h.is_empty());
    while trusted.contains(&client) {
        match hops.next().and_then(|h| h.parse().ok()) {
            Some(hop) => client = hop,
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let lb = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(client_address(ip("203.0.113.9"), "1.2.3.4", &lb), ip("203.0.113.9"));
        assert_eq!(client_address(ip("10.0.0.1"), "198.51.100.7", &lb), ip("198.51.100.7"));
        // A client-supplied first hop is skipped: the nearest untrusted hop wins.
        assert_eq!(
            client_address(ip("10.0.0.1"), "1.2.3.4, 198.51.100.7, 10.0.0.2", &lb),
            ip("198.51.100.7")
        );
        assert_eq!(client_address(ip("10.0.0.1"), "", &lb), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), "garbage", &lb), ip("10.0.0.1"));
    }
}
