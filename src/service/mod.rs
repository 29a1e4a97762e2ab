//! Application services: they orchestrate domain rules, storage and providers.

pub mod catalog;
pub mod customer_cache;
pub mod debit_batcher;
pub mod fx;
pub mod login_guard;
pub mod purchase;
pub mod rate_limit;
pub mod resolver;
pub mod tokens;
