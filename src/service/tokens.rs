//! Distributor API tokens: short-lived HS256 JWT access tokens, opaque single-use
//! refresh tokens that rotate within a family (reuse revokes the family).

use crate::domain::keys;
use crate::store::sessions::{self, Redeemed};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use thiserror::Error;
use uuid::Uuid;

const ISSUER: &str = "recarga";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The customer id.
    pub sub: String,
    /// The token family (one login).
    pub fam: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub jti: Uuid,
}

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("session revoked")]
    Revoked,
    #[error("refresh token reused; session revoked")]
    Reused,
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

pub struct TokenService {
    pool: PgPool,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl_secs: i64,
    refresh_ttl_secs: i64,
}

impl TokenService {
    pub fn new(pool: PgPool, secret: &SecretString, access_ttl_secs: i64, refresh_ttl_secs: i64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        // Only HS256 is accepted: no `alg: none`, no algorithm confusion.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        Self {
            pool,
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    /// A new session (token family) for a customer who just proved their secret.
    pub async fn login(&self, customer_id: &str) -> Result<Issued, TokenError> {
        let family = sessions::start_family(&self.pool, customer_id).await?;
        self.issue(customer_id, family).await
    }

    async fn issue(&self, customer_id: &str, family: Uuid) -> Result<Issued, TokenError> {
        let now = chrono::Utc::now();
        let claims = Claims {
            sub: customer_id.into(),
            fam: family,
            iat: now.timestamp(),
            exp: now.timestamp() + self.access_ttl_secs,
            iss: ISSUER.into(),
            jti: Uuid::new_v4(),
        };
        let access_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        let refresh_token = keys::generate("rt_");
        let expires_at = now + chrono::Duration::seconds(self.refresh_ttl_secs);
        sessions::store_refresh(&self.pool, &keys::hash(&refresh_token), family, customer_id, expires_at).await?;
        Ok(Issued {
            access_token,
            refresh_token,
            expires_in: self.access_ttl_secs,
        })
    }

    /// Exchange a refresh token for a new pair, once.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Issued, TokenError> {
        match sessions::redeem(&self.pool, &keys::hash(refresh_token), chrono::Utc::now()).await? {
            Redeemed::Fresh { family_id, customer_id } => self.issue(&customer_id, family_id).await,
            Redeemed::Reused => Err(TokenError::Reused),
            Redeemed::Expired => Err(TokenError::Expired),
            Redeemed::Revoked => Err(TokenError::Revoked),
            Redeemed::Unknown => Err(TokenError::Invalid),
        }
    }

    /// Check signature, algorithm, issuer and expiry; then that the session is live.
    pub async fn verify(&self, access_token: &str) -> Result<Claims, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(access_token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        if !sessions::family_is_live(&self.pool, data.claims.fam, &data.claims.sub).await? {
            return Err(TokenError::Revoked);
        }
        Ok(data.claims)
    }

    pub async fn logout(&self, claims: &Claims) -> Result<(), TokenError> {
        sessions::revoke_family(&self.pool, &claims.sub, claims.fam, "logout").await?;
        Ok(())
    }
}
