//! Pure domain rules: money, phones, catalog, FX, limits, provider contract.
//! Nothing here knows about HTTP, SQL or a particular upstream.

pub mod callback;
pub mod catalog;
pub mod clock;
pub mod fx;
pub mod invoice;
pub mod keys;
pub mod limits;
pub mod money;
pub mod notification;
pub mod password;
pub mod phone;
pub mod provider;
pub mod refusal;
pub mod signature;
pub mod status;
pub mod upstream_catalogue;
pub mod upstream_session;
