//! A reseller's WhatsApp contact, for recarga's own notices.

use crate::store::StoreError;
use sqlx::PgPool;

/// Set (or clear, with `None`) a reseller's WhatsApp number (country code and digits).
pub async fn set(pool: &PgPool, customer_id: &str, number: Option<&str>) -> Result<(), StoreError> {
    let updated = sqlx::query("UPDATE customers SET whatsapp_contact = $2, updated_at = now() WHERE id = $1")
        .bind(customer_id)
        .bind(number)
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::CustomerNotFound);
    }
    Ok(())
}

/// A reseller's name and WhatsApp number (if set); `None` for no such reseller.
pub async fn get(pool: &PgPool, customer_id: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT name, whatsapp_contact FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(pool)
        .await
}
