//! The simulators of every upstream, each speaking its upstream's real wire format over
//! HTTP on loopback, for sandbox mode and tests. They reuse the providers' serde wire
//! types (they speak the same format); nothing outside start-up wiring and tests uses
//! them, and a build without the `sandbox` feature leaves them out.

pub mod control;
pub mod datamart;
pub mod enquiries;
pub mod evolution;
pub mod history;
pub mod latcom;
pub mod loopback;
pub mod scenario;
pub mod smartcall;
pub mod standalone;
