//! `recarga notifications …` (API keys and WhatsApp instances), `customer whatsapp`, and
//! the WhatsApp confirmation of `customer credit`: JSON on stdout like every ops command.

use crate::config::Settings;
use crate::domain::keys;
use crate::domain::notification::request::whatsapp_number;
use crate::domain::notification::Permission;
use crate::service::notifications::{NotificationService, ResellerNotice};
use crate::startup;
use crate::store::notifications::instances::Instance;
use crate::store::notifications::keys::ApiKey;
use crate::store::notifications::{contacts, instances, keys as key_store};
use anyhow::{bail, Context};
use clap::Subcommand;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum NotificationsCommand {
    /// API keys for the billing-notification API.
    #[command(subcommand)]
    Key(KeyCommand),
    /// WhatsApp (Evolution API) instances.
    #[command(subcommand)]
    Instance(InstanceCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a key; prints it once (only its hash is stored).
    Create {
        /// The account (reseller id) the key acts for.
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// send_message and/or receive_message, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
    /// An account's keys (never the keys themselves).
    List {
        #[arg(long)]
        account: String,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        #[arg(long)]
        account: String,
        #[arg(long)]
        key_id: Uuid,
    },
}

#[derive(Subcommand)]
pub enum InstanceCommand {
    /// Create an instance for an account, or recarga's own (`--own`, used for the
    /// notices to resellers).
    Create {
        #[arg(long, required_unless_present = "own", conflicts_with = "own")]
        account: Option<String>,
        #[arg(long)]
        own: bool,
        #[arg(long)]
        name: String,
        /// The instance's name on the Evolution API server.
        #[arg(long)]
        evolution_instance: String,
    },
    /// An account's instances, or recarga's own (`--own`).
    List {
        #[arg(long, required_unless_present = "own", conflicts_with = "own")]
        account: Option<String>,
        #[arg(long)]
        own: bool,
    },
}

pub async fn run(pool: &PgPool, command: NotificationsCommand) -> anyhow::Result<Value> {
    match command {
        NotificationsCommand::Key(KeyCommand::Create {
            account,
            name,
            permissions,
        }) => {
            let name = checked_name(&name, "--name")?;
            let mut granted: Vec<&str> = Vec::new();
            for p in &permissions {
                let p = Permission::parse(p.trim())
                    .with_context(|| format!("--permissions: {p} is not send_message or receive_message"))?;
                if !granted.contains(&p.as_str()) {
                    granted.push(p.as_str());
                }
            }
            let api_key = keys::generate("tnx_");
            let key = key_store::create(pool, &account, name, &keys::hash(&api_key), &granted)
                .await
                .map_err(|e| anyhow::anyhow!("{e} ({account})"))?;
            let mut out = key_json(&key);
            out["api_key"] = json!(api_key);
            out["note"] = json!("the key is shown once; only its hash is stored");
            Ok(out)
        }
        NotificationsCommand::Key(KeyCommand::List { account }) => {
            let keys = key_store::list(pool, &account).await?;
            Ok(json!({"account_id": account, "keys": keys.iter().map(key_json).collect::<Vec<_>>()}))
        }
        NotificationsCommand::Key(KeyCommand::Revoke { account, key_id }) => {
            let key = key_store::revoke(pool, &account, key_id)
                .await?
                .with_context(|| format!("account {account} has no key {key_id}"))?;
            Ok(key_json(&key))
        }
        NotificationsCommand::Instance(InstanceCommand::Create {
            account,
            own: _,
            name,
            evolution_instance,
        }) => {
            let name = checked_name(&name, "--name")?;
            let evolution = checked_name(&evolution_instance, "--evolution-instance")?;
            let instance = instances::create(pool, account.as_deref(), name, evolution)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(instance_json(&instance))
        }
        NotificationsCommand::Instance(InstanceCommand::List { account, own: _ }) => {
            let list = instances::list(pool, account.as_deref()).await?;
            Ok(json!({"account_id": account, "instances": list.iter().map(instance_json).collect::<Vec<_>>()}))
        }
    }
}

fn checked_name<'a>(value: &'a str, flag: &str) -> anyhow::Result<&'a str> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 100 {
        bail!("{flag} must be 1-100 characters");
    }
    Ok(value)
}

fn key_json(k: &ApiKey) -> Value {
    json!({
        "key_id": k.id, "account_id": k.account_id, "name": k.name, "permissions": k.permissions,
        "active": k.revoked_at.is_none(), "created_at": k.created_at, "revoked_at": k.revoked_at,
    })
}

fn instance_json(i: &Instance) -> Value {
    json!({
        "instance_id": i.id, "account_id": i.account_id, "name": i.name,
        "evolution_instance": i.evolution_instance, "connection_state": i.connection_state,
        "state_checked_at": i.state_checked_at, "created_at": i.created_at,
        "api_endpoint": format!("/api/v1/billing/send-notification?instance_id={}", i.id),
    })
}

/// `customer whatsapp`: set or clear a reseller's WhatsApp contact.
pub async fn set_contact(pool: &PgPool, id: &str, number: Option<&str>) -> anyhow::Result<Value> {
    let number = number.map(whatsapp_number).transpose().map_err(anyhow::Error::msg)?;
    contacts::set(pool, id, number.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}: {id}"))?;
    Ok(json!({"customer_id": id, "whatsapp_contact": number}))
}

/// A notification service that stores and queues messages for a running server's
/// sender to send (the CLI has no Evolution connection of its own).
pub fn queue_only(pool: &PgPool, settings: &Settings) -> Arc<NotificationService> {
    Arc::new(NotificationService::new(
        pool.clone(),
        None,
        startup::notification_config(settings),
        Arc::new(tokio::sync::Notify::new()),
    ))
}

/// After a credit has committed: queue its WhatsApp confirmation (sent by the server's
/// sender). The credit stands whatever happens here; the outcome is reported.
pub async fn confirm_credit(pool: &PgPool, settings: &Settings, id: &str, usd: Decimal, balance: Decimal) -> Value {
    let service = queue_only(pool, settings);
    match service.notify_reseller(id, ResellerNotice::credit(usd, balance)).await {
        Ok(Some(message_id)) => json!({"queued": true, "message_id": message_id}),
        Ok(None) => json!({"queued": false, "reason": "no WhatsApp contact set, or no instance of recarga's own"}),
        Err(e) => {
            tracing::warn!(customer = id, error = %e, "credit confirmation not queued");
            json!({"queued": false, "error": e.to_string()})
        }
    }
}
