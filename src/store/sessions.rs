//! Distributor sessions: token families and single-use refresh tokens.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn start_family(pool: &PgPool, customer_id: &str) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO token_families (id, customer_id) VALUES ($1, $2)")
        .bind(id)
        .bind(customer_id)
        .execute(pool)
        .await?;
    Ok(id)
}

pub async fn store_refresh(
    pool: &PgPool,
    token_hash: &[u8],
    family_id: Uuid,
    customer_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, customer_id, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(family_id)
        .bind(customer_id)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// First use of a live token: its family and customer, to issue the next pair.
    Fresh {
        family_id: Uuid,
        customer_id: String,
    },
    /// A token seen before: the family has now been revoked.
    Reused,
    Expired,
    Revoked,
    Unknown,
}

/// A refresh token's row as `redeem` marks it used.
#[derive(sqlx::FromRow)]
struct Spent {
    family_id: Uuid,
    customer_id: String,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Mark a refresh token used, exactly once (a conditional update), detecting reuse.
/// The token is presented without its customer, so it is found by its hash alone
/// (`refresh_tokens_token_hash`; under Citus, a look on every shard).
pub async fn redeem(pool: &PgPool, token_hash: &[u8], now: DateTime<Utc>) -> Result<Redeemed, sqlx::Error> {
    let fresh: Option<Spent> = sqlx::query_as(
        "UPDATE refresh_tokens r SET used_at = now() FROM token_families f
         WHERE r.token_hash = $1 AND r.used_at IS NULL AND f.customer_id = r.customer_id AND f.id = r.family_id
         RETURNING r.family_id, r.customer_id, r.expires_at, f.revoked_at",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    if let Some(t) = fresh {
        return Ok(match (t.revoked_at, t.expires_at <= now) {
            (Some(_), _) => Redeemed::Revoked,
            (None, true) => Redeemed::Expired,
            (None, false) => Redeemed::Fresh {
                family_id: t.family_id,
                customer_id: t.customer_id,
            },
        });
    }
    let family: Option<(String, Uuid)> =
        sqlx::query_as("SELECT customer_id, family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
    match family {
        Some((customer_id, family_id)) => {
            revoke_family(pool, &customer_id, family_id, "refresh token reused").await?;
            Ok(Redeemed::Reused)
        }
        None => Ok(Redeemed::Unknown),
    }
}

pub async fn revoke_family(pool: &PgPool, customer_id: &str, family_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE token_families SET revoked_at = now(), revoked_reason = $3
         WHERE customer_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(customer_id)
    .bind(family_id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn family_is_live(pool: &PgPool, family_id: Uuid, customer_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM token_families WHERE id = $1 AND customer_id = $2 AND revoked_at IS NULL)",
    )
    .bind(family_id)
    .bind(customer_id)
    .fetch_one(pool)
    .await
}
