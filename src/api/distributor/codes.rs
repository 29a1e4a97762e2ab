//! The response codes we serve (seed 001), with their HTTP status and what they mean
//! for the ledger. This table is the one place they are defined; docs/decisions.md
//! repeats it for integrators.

use axum::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 00: approved; the purchase is debited.
    Approved,
    /// 05: not authorised (account suspended, daily limit); nothing debited.
    NotAuthorized,
    /// 12: invalid transaction (malformed request, reused id with another payload).
    InvalidTransaction,
    /// 13: invalid amount (out of range, wrong fixed price, > 2 decimals).
    InvalidAmount,
    /// 14: invalid package (unknown product).
    InvalidPackage,
    /// 51: insufficient funds; nothing debited.
    InsufficientFunds,
    /// 83: invalid phone number (DN).
    InvalidNumber,
    /// 91: the carrier declined or was unavailable; the debit was refunded.
    IssuerUnavailable,
    /// 96: system error; nothing stays debited.
    SystemError,
}

impl Code {
    pub fn code(self) -> &'static str {
        match self {
            Self::Approved => "00",
            Self::NotAuthorized => "05",
            Self::InvalidTransaction => "12",
            Self::InvalidAmount => "13",
            Self::InvalidPackage => "14",
            Self::InsufficientFunds => "51",
            Self::InvalidNumber => "83",
            Self::IssuerUnavailable => "91",
            Self::SystemError => "96",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Approved => "Aprobado",
            Self::NotAuthorized => "No autorizado",
            Self::InvalidTransaction => "Transaccion invalida",
            Self::InvalidAmount => "Monto invalido",
            Self::InvalidPackage => "Paquete invalido",
            Self::InsufficientFunds => "Fondos insuficientes",
            Self::InvalidNumber => "DN invalido",
            Self::IssuerUnavailable => "Emisor no disponible",
            Self::SystemError => "Error de sistema",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::Approved => StatusCode::OK,
            Self::NotAuthorized
            | Self::InvalidTransaction
            | Self::InvalidAmount
            | Self::InvalidPackage
            | Self::InvalidNumber => StatusCode::BAD_REQUEST,
            Self::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
            Self::IssuerUnavailable | Self::SystemError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
