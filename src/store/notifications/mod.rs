//! WhatsApp notifications (seed 002): API keys, instances, the message log (which is
//! also the send queue), and resellers' WhatsApp contacts.

pub mod contacts;
pub mod instances;
pub mod keys;
pub mod messages;

/// Whether an error is a foreign-key violation (SQLSTATE 23503): here, always an
/// account (customer) that does not exist.
fn is_missing_reference(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23503"))
}
