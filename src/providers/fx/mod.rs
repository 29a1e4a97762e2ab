//! Exchange-rate sources (the [`crate::domain::fx::RateSource`] implementations).

pub mod banxico;
pub mod fixed;
pub mod openexchangerates;
