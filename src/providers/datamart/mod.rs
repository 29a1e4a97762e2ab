//! DataMart, the Ghanaian data-bundle reseller API (providers.md §2A): API key and
//! secret headers, an `{success, message, data | error}` envelope, orders that are
//! often pending until DataMart processes them, and unverifiable webhooks.

pub mod adapter;
pub mod catalog;
pub mod rules;
pub mod wire;

pub const ID: &str = "datamart";
