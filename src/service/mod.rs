//! Application services: they orchestrate domain rules, storage and providers.

pub mod batcher;
pub mod catalog;
pub mod customer_cache;
pub mod customer_reads;
pub mod fx;
pub mod group_commit;
pub mod ids;
pub mod login_guard;
pub mod purchase;
pub mod rate_limit;
pub mod resolver;
pub mod tokens;
