//! An instance's link to WhatsApp, as Evolution reports it now (recorded on the
//! instance each time it is asked).

use super::{NotificationService, NotifyError};
use crate::domain::notification::whatsapp::{ConnectionState, WhatsAppError};
use crate::store::notifications::instances::{self, Instance};
use uuid::Uuid;

/// What Evolution says of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    State(ConnectionState),
    /// Evolution has no instance of that name.
    Missing,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::State(s) => s.as_str(),
            Self::Missing => "not_found",
        }
    }

    /// Connected: messages can be sent (Evolution's `open`).
    pub fn is_open(self) -> bool {
        self == Self::State(ConnectionState::Open)
    }
}

/// An instance with its link as just checked.
pub struct InstanceStatus {
    pub instance: Instance,
    /// open, connecting, close, not_found, or unknown when Evolution did not answer.
    pub state: &'static str,
    pub connected: bool,
}

impl NotificationService {
    /// Ask Evolution for the instance's link, and record the answer.
    pub(super) async fn link(&self, instance: &Instance) -> Result<Link, NotifyError> {
        let whatsapp = self.whatsapp.as_ref().ok_or(NotifyError::NotConfigured)?;
        let link = match whatsapp.connection_state(&instance.evolution_instance).await {
            Ok(state) => Link::State(state),
            Err(WhatsAppError::UnknownInstance) => Link::Missing,
            Err(e) => return Err(e.into()),
        };
        instances::record_state(&self.pool, instance.id, link.as_str()).await?;
        Ok(link)
    }

    /// One of the account's instances and whether it is connected now.
    pub async fn instance_status(&self, account_id: &str, instance_id: Uuid) -> Result<InstanceStatus, NotifyError> {
        let instance = instances::of_account(&self.pool, instance_id, account_id)
            .await?
            .ok_or(NotifyError::InstanceNotFound)?;
        let link = match self.link(&instance).await {
            Ok(link) => Some(link),
            Err(e @ NotifyError::Db(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(instance = %instance.id, error = %e, "connection state unknown");
                None
            }
        };
        Ok(InstanceStatus {
            state: link.map_or("unknown", Link::as_str),
            connected: link.is_some_and(Link::is_open),
            instance,
        })
    }
}
