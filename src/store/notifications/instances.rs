//! WhatsApp instances: an account's, or recarga's own (no account).

use crate::store::{is_unique_violation, StoreError};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Instance {
    pub id: Uuid,
    /// `None`: recarga's own.
    pub account_id: Option<String>,
    pub name: String,
    pub evolution_instance: String,
    pub connection_state: String,
    pub state_checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const INSTANCE_COLUMNS: &str =
    "id, account_id, name, evolution_instance, connection_state, state_checked_at, created_at";

/// A new instance; `account_id` `None` makes recarga's own (there is at most one).
pub async fn create(
    pool: &PgPool,
    account_id: Option<&str>,
    name: &str,
    evolution_instance: &str,
) -> Result<Instance, StoreError> {
    // Checked here, not by a foreign key: instances are a reference table under Citus,
    // which may not reference the distributed customers. Customers are never deleted,
    // so the account cannot go between this read and the insert.
    if let Some(account) = account_id {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1)")
            .bind(account)
            .fetch_one(pool)
            .await?;
        if !known {
            return Err(StoreError::CustomerNotFound);
        }
    }
    let created = sqlx::query_as(&format!(
        "INSERT INTO notification_instances (id, account_id, name, evolution_instance)
         VALUES ($1, $2, $3, $4) RETURNING {INSTANCE_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(account_id)
    .bind(name)
    .bind(evolution_instance)
    .fetch_one(pool)
    .await;
    match created {
        Err(e) if is_unique_violation(&e) => Err(StoreError::OwnInstanceExists),
        other => Ok(other?),
    }
}

/// The instance, if it belongs to `account_id`.
pub async fn of_account(pool: &PgPool, id: Uuid, account_id: &str) -> Result<Option<Instance>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM notification_instances WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

/// recarga's own instance, if ops made one.
pub async fn own(pool: &PgPool) -> Result<Option<Instance>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM notification_instances WHERE account_id IS NULL"
    ))
    .fetch_optional(pool)
    .await
}

/// An account's instances, or recarga's own (`None`).
pub async fn list(pool: &PgPool, account_id: Option<&str>) -> Result<Vec<Instance>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM notification_instances
         WHERE account_id IS NOT DISTINCT FROM $1 ORDER BY created_at"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// Remember what Evolution last said of the instance's connection.
pub async fn record_state(pool: &PgPool, id: Uuid, state: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notification_instances SET connection_state = $2, state_checked_at = now() WHERE id = $1")
        .bind(id)
        .bind(state)
        .execute(pool)
        .await?;
    Ok(())
}
