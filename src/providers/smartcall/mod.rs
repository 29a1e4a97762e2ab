//! Smartcall Web Service V3 (South Africa; seed 004, providers.md §1): Basic login for a
//! bearer token, the synchronous `smartload/v2/recharges`, the enquiry by client
//! reference, the dealer balance, the product list with ETags, and two live-live hosts
//! (api1/api2). Errors come as `{"code","message"}` bodies under 4xx, 5xx bodies may be
//! JBoss HTML pages.

pub mod adapter;
pub mod catalog;
pub mod rules;
pub mod wire;

pub const ID: &str = "smartcall";
