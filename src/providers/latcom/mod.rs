//! LATCOM, the Mexican carrier aggregator (providers.md §3A): `/api/dislogin` for a
//! bearer token, `/api/tn/fast` to top up. Its answers are HTTP 200 even on failure.

pub mod adapter;
pub mod wire;

pub const ID: &str = "latcom";
