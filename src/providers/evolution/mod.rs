//! Evolution API (WhatsApp), providers.md §4: the adapter recarga's notifications send
//! through, and its wire types (which the simulator speaks too).

pub mod adapter;
pub mod wire;

/// The upstream's name in log lines.
pub const ID: &str = "evolution";
