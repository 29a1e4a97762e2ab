//! Life cycle of a top-up: PENDING → PROCESSING → SUCCESS | FAILED, or REVIEW for ops;
//! a SUCCESS the upstream reverses later becomes REVERSED (refunded).

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TxnStatus {
    /// Debited, queued or about to be sent.
    Pending,
    /// Sent upstream (an attempt row exists); the outcome may still be unknown.
    Processing,
    Success,
    /// Definitely failed; the debit has been refunded.
    Failed,
    /// Funds held; an ops person settles it.
    Review,
    /// Delivered, then reversed by the upstream (recorded by ops); refunded.
    Reversed,
}

impl TxnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Review => "REVIEW",
            Self::Reversed => "REVERSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "PROCESSING" => Self::Processing,
            "SUCCESS" => Self::Success,
            "FAILED" => Self::Failed,
            "REVIEW" => Self::Review,
            "REVERSED" => Self::Reversed,
            _ => return None,
        })
    }

    /// Final for the purchase flow: nothing automatic will change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Review | Self::Reversed)
    }
}

/// For rows read from the database, where the status is text.
impl TryFrom<String> for TxnStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown transaction status {s:?}"))
    }
}

/// What became of one send to an upstream (an attempt row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// Committed before the send; no answer recorded yet.
    Sent,
    /// Answered without a definite outcome (timeout, 5xx, pending).
    Unknown,
    Failed,
    Success,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "SENT",
            Self::Unknown => "UNKNOWN",
            Self::Failed => "FAILED",
            Self::Success => "SUCCESS",
        }
    }
}

impl TryFrom<String> for AttemptStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "SENT" => Self::Sent,
            "UNKNOWN" => Self::Unknown,
            "FAILED" => Self::Failed,
            "SUCCESS" => Self::Success,
            _ => return Err(format!("unknown attempt status {s:?}")),
        })
    }
}

impl fmt::Display for TxnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
