//! recarga: an airtime and data top-up gateway.
//!
//! Layers, each importing only downwards: `api` (HTTP dialects) → `service`
//! (orchestration) and `jobs` → `store` (Postgres) and `providers` (upstreams) →
//! `domain` (pure rules). `sandbox` (the upstreams' simulators, behind the `sandbox`
//! feature) sits beside `providers`; only start-up wiring and tests use it.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod providers;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
