//! Application services: they orchestrate domain rules, storage and providers.

pub mod breaker;
pub mod catalog;
pub mod customer_cache;
pub mod fx;
pub mod gauges;
pub mod health;
pub mod ids;
pub mod invoices;
pub mod notifications;
pub mod purchase;
pub mod resellers;
pub mod tokens;
pub mod volume;
pub mod webhook_endpoints;
pub mod webhooks;
