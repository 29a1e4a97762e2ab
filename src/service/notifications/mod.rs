//! WhatsApp notifications (seed 002): billing systems' requests and recarga's own
//! notices to resellers are rendered, stored and queued here; the sender (a job) hands
//! them to WhatsApp through the gateway trait, with retries on passing errors.

mod deliver;
mod link;
mod reseller;
mod submit;
mod templates;

pub use link::{InstanceStatus, Link};
pub use reseller::{LowBalanceNotices, ResellerNotice};

use crate::domain::keys;
use crate::domain::notification::whatsapp::{WhatsApp, WhatsAppError};
use crate::domain::notification::Permission;
use crate::store::notifications::{instances, messages};
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Notify;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("Instance not found")]
    InstanceNotFound,
    #[error("Instance is not connected")]
    NotConnected,
    #[error("WhatsApp sending is not configured on this server (no Evolution API)")]
    NotConfigured,
    #[error(transparent)]
    WhatsApp(#[from] WhatsAppError),
    #[error("customer not found")]
    CustomerNotFound,
    #[error("reading template {0}: {1}")]
    Template(PathBuf, std::io::Error),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// The same invoice and message type through one instance within this is sent once.
    pub dedup_window_secs: i64,
    /// Tries per message before it is marked failed.
    pub max_attempts: i32,
    /// Wait before the second try, doubled for each further one, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a sender's claim on a message lasts (then another sender may take it).
    pub lease_secs: i64,
    /// Template overrides (see templates/notifications/README.md).
    pub templates_dir: PathBuf,
}

/// Who called, by API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub account_id: String,
    pub permissions: Vec<Permission>,
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

pub struct NotificationService {
    pool: PgPool,
    /// `None`: no Evolution server here; messages are stored and queued only.
    whatsapp: Option<Arc<dyn WhatsApp>>,
    config: NotificationConfig,
    /// Wakes the sender at once for a message queued by this process.
    wake: Arc<Notify>,
}

impl NotificationService {
    pub fn new(
        pool: PgPool,
        whatsapp: Option<Arc<dyn WhatsApp>>,
        config: NotificationConfig,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            pool,
            whatsapp,
            config,
            wake,
        }
    }

    /// Whether this process can send (and so runs the sender).
    pub fn can_send(&self) -> bool {
        self.whatsapp.is_some()
    }

    /// The caller an API key belongs to, if it is active.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Caller>, NotifyError> {
        let hash = keys::hash(presented);
        let Some(key) = crate::store::notifications::keys::active_by_hash(&self.pool, &hash).await? else {
            return Ok(None);
        };
        if !keys::verify(presented, &key.key_hash) {
            return Ok(None);
        }
        Ok(Some(Caller {
            key_id: key.id,
            account_id: key.account_id,
            permissions: key.permissions.iter().filter_map(|p| Permission::parse(p)).collect(),
        }))
    }

    /// An instance's message log, newest first, for its own account only.
    pub async fn message_log(
        &self,
        account_id: &str,
        instance_id: Uuid,
        filter: messages::LogFilter<'_>,
    ) -> Result<Vec<messages::LoggedMessage>, NotifyError> {
        let instance = instances::of_account(&self.pool, instance_id, account_id)
            .await?
            .ok_or(NotifyError::InstanceNotFound)?;
        Ok(messages::log(&self.pool, account_id, instance.id, filter).await?)
    }
}
