//! The command line: `serve` (the default), `sandbox`, `migrate`, and ops commands whose output
//! is JSON on stdout.

use crate::api::json::number;
use crate::config::Settings;
use crate::domain::clock::SystemClock;
use crate::domain::keys;
use crate::service::invoices::InvoiceService;
use crate::service::resellers;
use crate::service::webhook_endpoints::{self, EndpointError};
use crate::startup;
use crate::store::customers::TermsChange;
use crate::store::ledger::{ReviewVerdict, Settlement};
use crate::store::{self, customers, webhooks, StoreError};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

mod notifications;
mod ops_users;
pub use notifications::{InstanceCommand, KeyCommand, NotificationsCommand};
pub use ops_users::OpsUserCommand;

/// The audit log's actor for what is done on the command line.
const CLI_ACTOR: &str = "cli";

#[derive(Parser)]
#[command(name = "recarga", version, about = "Airtime and data top-up gateway")]
pub struct Cli {
    /// Configuration file (default: config/recarga.toml, or RECARGA_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway (sandbox mode when no upstream credentials are configured).
    Serve {
        /// Address to listen on (default 0.0.0.0:8080).
        #[arg(long, env = "RECARGA_LISTEN")]
        listen: Option<String>,
    },
    /// Serve every upstream simulator as one process, for several sandbox instances of
    /// `serve` to share (point them at it with `sandbox.simulators_url`); needs no database.
    Sandbox {
        /// Address to listen on (default `sandbox.listen`).
        #[arg(long, env = "RECARGA_SANDBOX_LISTEN")]
        listen: Option<String>,
    },
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Manage resellers.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Settle a transaction that is in REVIEW (funds held) after checking with the upstream.
    Settle(SettleArgs),
    /// Record that the upstream reversed a delivered (SUCCESS) top-up: refunds the reseller.
    Reverse {
        /// Transaction id.
        #[arg(long)]
        id: String,
        /// The upstream's evidence (its reference, message, date): kept in the audit notes.
        #[arg(long)]
        evidence: String,
    },
    /// Bearer tokens for the admin API.
    #[command(subcommand)]
    OpsToken(OpsTokenCommand),
    /// Ops users of /dashboard (email and password).
    #[command(subcommand)]
    OpsUser(OpsUserCommand),
    /// WhatsApp billing notifications: API keys and instances.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// Ops reconcile keys (they see every reseller's reconciliation export).
    #[command(subcommand)]
    ReconcileKey(ReconcileKeyCommand),
    /// A reseller's webhook: URL, signing secret, low-balance threshold.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Monthly invoices (the scheduled run issues the previous month by itself).
    #[command(subcommand)]
    Invoices(InvoicesCommand),
    /// Print the OpenAPI document (as served at /openapi.json); needs no database.
    Openapi,
}

#[derive(Subcommand)]
pub enum InvoicesCommand {
    /// Issue the invoices of a month that are missing (issued ones never change).
    Issue {
        /// YYYY-MM, in the business time zone.
        #[arg(long)]
        month: String,
    },
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Set a reseller's webhook (replacing any); prints a new signing secret once. Without
    /// --url, the secret signs per-purchase callbacks only.
    Set {
        #[arg(long)]
        id: String,
        /// https (http only in sandbox mode).
        #[arg(long)]
        url: Option<String>,
        /// Send `balance.low` each time a debit takes the balance below this.
        #[arg(long)]
        low_balance_usd: Option<Decimal>,
    },
    /// Stop webhooks and callbacks for a reseller (queued deliveries are not signed any more).
    Remove {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ReconcileKeyCommand {
    /// Create an ops reconcile key; prints it once (only its hash is stored).
    Create {
        /// Who or what uses it (e.g. "finance team").
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum OpsTokenCommand {
    /// Create a token; prints it once (only its hash is stored).
    Create {
        /// Who or what uses it: recorded with every action it takes.
        #[arg(long)]
        name: String,
    },
    /// Revoke a token by its name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// Create a reseller; prints its keys once (only their hashes are stored).
    Create(CreateArgs),
    /// Add funds to a reseller's balance.
    Credit {
        #[arg(long)]
        id: String,
        #[arg(long)]
        usd: Decimal,
        #[arg(long)]
        note: Option<String>,
    },
    /// Correct a reseller's balance either way (never below zero); says why in the note.
    Adjust {
        #[arg(long)]
        id: String,
        /// Positive adds, negative takes away.
        #[arg(long, allow_negative_numbers = true)]
        usd: Decimal,
        #[arg(long)]
        note: String,
    },
    /// Balance, limits and status (no secrets).
    Show {
        #[arg(long)]
        id: String,
    },
    /// Set (or clear) the WhatsApp number recarga's notices go to.
    Whatsapp {
        #[arg(long)]
        id: String,
        /// Country code and number, e.g. 525512345678.
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        number: Option<String>,
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "0")]
    pub balance_usd: Decimal,
    #[arg(long, default_value = "0")]
    pub credit_limit_usd: Decimal,
    /// A fraction: 0.02 is 2 %.
    #[arg(long, default_value = "0")]
    pub commission_rate: Decimal,
    /// Per end-user phone per business day, in local currency (default from config).
    #[arg(long)]
    pub daily_limit_mxn: Option<Decimal>,
    #[arg(long)]
    pub topup_rate_per_min: Option<i32>,
    #[arg(long)]
    pub api_rate_per_15min: Option<i32>,
}

#[derive(Args)]
pub struct SettleArgs {
    /// Transaction id.
    #[arg(long)]
    pub id: String,
    /// What the upstream confirmed: `success` (keep the debit) or `failed` (refund).
    #[arg(long, value_parser = ["success", "failed"])]
    pub outcome: String,
    /// Why: recorded in the audit notes.
    #[arg(long)]
    pub note: String,
}

pub async fn run_ops(settings: Settings, command: Command) -> anyhow::Result<serde_json::Value> {
    if let Command::Openapi = command {
        return Ok(serde_json::to_value(<crate::api::ApiDoc as utoipa::OpenApi>::openapi())?);
    }
    let pool = startup::database(&settings).await?;
    match command {
        Command::Migrate => Ok(json!({"migrated": true})),
        Command::Customer(CustomerCommand::Create(args)) => create(&pool, args).await,
        Command::Customer(CustomerCommand::Credit { id, usd, note }) => {
            let balance = customers::credit(&pool, &id, usd, note.as_deref(), CLI_ACTOR)
                .await
                .map_err(store_error)?;
            let notice = notifications::confirm_credit(&pool, &settings, &id, usd, balance).await;
            Ok(json!({
                "customer_id": id, "credited_usd": number(usd), "balance_usd": number(balance),
                "whatsapp_confirmation": notice,
            }))
        }
        Command::Customer(CustomerCommand::Adjust { id, usd, note }) => {
            let balance = customers::adjust(&pool, &id, usd, &note, CLI_ACTOR)
                .await
                .map_err(store_error)?;
            Ok(json!({"customer_id": id, "adjusted_usd": number(usd), "balance_usd": number(balance), "note": note}))
        }
        Command::Customer(CustomerCommand::Show { id }) => {
            let c = customers::get(&pool, &id)
                .await?
                .with_context(|| format!("customer {id} not found"))?;
            let daily = c.daily_limit_local.unwrap_or(settings.limits.daily_limit_local);
            let whatsapp = store::notifications::contacts::get(&pool, &id)
                .await?
                .and_then(|(_, n)| n);
            Ok(json!({
                "customer_id": c.id, "name": c.name, "status": c.status,
                "balance_usd": number(c.balance_usd), "credit_limit_usd": number(c.credit_limit_usd),
                "commission_rate": number(c.commission_rate), "daily_limit_mxn": number(daily),
                "topup_rate_per_min": c.topup_rate_per_min.unwrap_or(settings.limits.topup_requests_per_minute as i32),
                "api_rate_per_15min": c.api_rate_per_15min.unwrap_or(settings.limits.api_requests_per_15_minutes as i32),
                "whatsapp_contact": whatsapp, "created_at": c.created_at,
            }))
        }
        Command::Customer(CustomerCommand::Whatsapp { id, number, clear: _ }) => {
            notifications::set_contact(&pool, &id, number.as_deref()).await
        }
        Command::Notifications(command) => notifications::run(&pool, command).await,
        Command::OpsUser(command) => ops_users::run(&pool, command).await,
        Command::Settle(args) => {
            let Some(verdict) = ReviewVerdict::parse(&args.outcome) else {
                bail!("--outcome is success or failed, not {}", args.outcome);
            };
            match store::transactions::settle_review(&pool, &args.id, verdict, &args.note, CLI_ACTOR).await? {
                Settlement::Settled => {}
                Settlement::NotFound => bail!("transaction {} not found", args.id),
                Settlement::WrongStatus => bail!("transaction {} is not in REVIEW", args.id),
                Settlement::NoteRequired => bail!("--note must say why"),
            }
            Ok(json!({"transaction_id": args.id, "status": args.outcome.to_uppercase(), "note": args.note}))
        }
        Command::Reverse { id, evidence } => {
            match store::transactions::reverse(&pool, &id, &evidence, CLI_ACTOR).await? {
                Settlement::Settled => {}
                Settlement::NotFound => bail!("transaction {id} not found"),
                Settlement::WrongStatus => {
                    bail!("transaction {id} is not SUCCESS: only a delivered top-up can be reversed")
                }
                Settlement::NoteRequired => bail!("--evidence must say what the upstream reported"),
            }
            let t = store::transactions::get(&pool, &id)
                .await?
                .with_context(|| format!("transaction {id} not found"))?;
            Ok(
                json!({"transaction_id": id, "status": t.status.as_str(), "refunded_usd": number(t.charged_usd), "evidence": evidence}),
            )
        }
        Command::OpsToken(OpsTokenCommand::Create { name }) => {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 100 {
                bail!("--name must be 1-100 characters");
            }
            let token = keys::generate("ops_");
            if !store::ops_tokens::create(&pool, &name, &keys::hash(&token)).await? {
                bail!("an ops token named {name:?} exists already");
            }
            Ok(json!({"name": name, "token": token}))
        }
        Command::OpsToken(OpsTokenCommand::Revoke { name }) => {
            if !store::ops_tokens::revoke(&pool, &name).await? {
                bail!("no live ops token named {name:?}");
            }
            Ok(json!({"name": name, "revoked": true}))
        }
        Command::ReconcileKey(ReconcileKeyCommand::Create { name }) => {
            if name.trim().is_empty() {
                bail!("--name must say who uses the key");
            }
            let key = keys::generate("ro_");
            let id = store::reconcile::create_ops_key(&pool, name.trim(), &keys::hash(&key)).await?;
            Ok(json!({"id": id, "name": name.trim(), "reconcile_key": key,
                      "note": "the key is shown once; only its hash is stored. It sees every reseller's rows."}))
        }
        Command::Webhook(WebhookCommand::Set {
            id,
            url,
            low_balance_usd,
        }) => {
            let set = webhook_endpoints::configure(
                &pool,
                &id,
                url.as_deref(),
                low_balance_usd,
                settings.is_sandbox(),
                CLI_ACTOR,
            )
            .await
            .map_err(|e| match e {
                EndpointError::Invalid(m) => anyhow::anyhow!("--{}", m.replace('_', "-")),
                EndpointError::NoCustomer => anyhow::anyhow!("customer {id} not found"),
                EndpointError::Db(e) => e.into(),
            })?;
            Ok(
                json!({"customer_id": id, "url": set.url, "low_balance_usd": set.low_balance_usd.map(number),
                      "signing_secret": set.signing_secret,
                      "note": "the secret is shown once; verify the Recarga-Signature header with it (docs/webhooks.md)"}),
            )
        }
        Command::Webhook(WebhookCommand::Remove { id }) => {
            if !webhooks::remove_endpoint(&pool, &id, CLI_ACTOR).await? {
                bail!("customer {id} has no webhook");
            }
            Ok(json!({"customer_id": id, "removed": true}))
        }
        Command::Invoices(InvoicesCommand::Issue { month }) => {
            let first_day = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
                .with_context(|| format!("--month is YYYY-MM, not {month}"))?;
            let timezone = settings
                .business_timezone
                .parse()
                .map_err(|e| anyhow::anyhow!("business_timezone: {e}"))?;
            let notices = notifications::queue_only(&pool, &settings);
            let service = InvoiceService::new(pool, Arc::new(SystemClock), timezone).with_notices(notices);
            Ok(json!({"month": month, "issued": service.issue_month(first_day).await?}))
        }
        Command::Serve { .. } | Command::Sandbox { .. } | Command::Openapi => {
            unreachable!("handled above, or not an ops command")
        }
    }
}

async fn create(pool: &sqlx::PgPool, a: CreateArgs) -> anyhow::Result<serde_json::Value> {
    let new = resellers::NewReseller {
        id: a.id,
        name: a.name,
        opening_balance_usd: a.balance_usd,
        terms: TermsChange {
            commission_rate: Some(a.commission_rate),
            credit_limit_usd: Some(a.credit_limit_usd),
            daily_limit_local: Some(a.daily_limit_mxn),
            topup_rate_per_min: Some(a.topup_rate_per_min),
            api_rate_per_15min: Some(a.api_rate_per_15min),
        },
    };
    let opened = resellers::create(pool, new, CLI_ACTOR).await?;
    let c = opened.customer;
    Ok(json!({
        "customer_id": c.id, "name": c.name, "api_key": opened.keys.api_key, "secret_key": opened.keys.secret_key,
        "reconcile_key": opened.reconcile_key, "balance_usd": number(c.balance_usd),
        "credit_limit_usd": number(c.credit_limit_usd), "commission_rate": number(c.commission_rate),
        "note": "keys are shown once; only their hashes are stored",
    }))
}

fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Db(e) => anyhow::Error::new(e).context("database error"),
        other => anyhow::anyhow!("{other}"),
    }
}
