//! Storage: one function per operation, each a short transaction. Nothing here
//! calls an upstream, so no connection is ever held across one.

pub mod attempts;
pub mod backlog;
pub mod batcher;
pub mod customer_reads;
pub mod customers;
pub mod dashboard;
pub mod dashboard_sessions;
pub mod fx;
pub mod group_commit;
pub mod invoices;
pub mod ledger;
pub mod limits;
pub mod notifications;
pub mod ops_tokens;
pub mod ops_users;
pub mod reconcile;
pub mod sessions;
pub mod transactions;
pub mod upstream_catalogues;
pub mod upstream_sessions;
pub mod volume;
pub mod webhooks;

use crate::domain::refusal::Refusal;
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error")]
    Db(#[from] sqlx::Error),
    #[error("customer not found")]
    CustomerNotFound,
    #[error("customer already exists")]
    CustomerExists,
    /// A purchase refused by the debit's rules; nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An ops adjustment that would take the balance below zero; nothing was written.
    #[error("the balance ({balance}) cannot go below zero")]
    BelowZero { balance: Decimal },
    /// The database answered something our statements cannot produce.
    #[error("inconsistent answer from the database: {0}")]
    Inconsistent(String),
    /// A batch worker has stopped (the runtime is shutting down).
    #[error("batch worker stopped")]
    Stopped,
    /// The transaction id exists already (and the reference, if any, was not used):
    /// nothing was written; the same purchase may be retried with a fresh id.
    #[error("transaction id already taken")]
    IdTaken,
    #[error("amount must be a non-zero number of cents (positive for a credit)")]
    InvalidAmount,
    #[error("a note is required")]
    NoteRequired,
    #[error("recarga's own WhatsApp instance exists already")]
    OwnInstanceExists,
    #[error("migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the installed ledger differs from sql/ledger.sql: {}", .0.join("; "))]
    LedgerDrift(Vec<String>),
}

/// Whether an error means the database could not be reached (or the connection was
/// lost): a passing condition, answered 503, not a bug.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed
    )
}

/// Whether an error is a unique-constraint violation (SQLSTATE 23505).
/// An ops action on a reseller outside the ledger functions (which write their own),
/// in the caller's transaction: what, why, and who (`actor`).
async fn audit(
    tx: &mut sqlx::PgConnection,
    customer_id: &str,
    action: &str,
    note: &str,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_notes (customer_id, action, note, actor) VALUES ($1, $2, $3, $4)")
        .bind(customer_id)
        .bind(action)
        .bind(note)
        .bind(actor)
        .execute(tx)
        .await?;
    Ok(())
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// Create the database if it is missing (so a fresh machine needs no manual step).
pub async fn ensure_database(url: &str) -> Result<(), sqlx::Error> {
    let opts = connect_options(url)?;
    let Some(name) = opts.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = opts.clone().database("postgres").connect().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {quoted}"))
            .execute(&mut admin)
            .await
        {
            // Another instance may have created it at the same moment: PostgreSQL says
            // so as 42P04 (duplicate_database) or, when both passed its own check at
            // once, as 23505 (a unique violation in pg_database).
            if !matches!(&e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("42P04" | "23505"))) {
                return Err(e);
            }
        }
    }
    admin.close().await
}

/// Options for `url`. TLS follows its `sslmode` (rustls; `require`, `verify-ca` and
/// `verify-full` as in libpq, for managed PostgreSQL). Without one, a server on this
/// machine (loopback or a socket) is spoken to in clear, since encryption there protects
/// nothing and costs every statement; any other host gets libpq's default, `prefer`.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?;
    let local = matches!(opts.get_host(), "localhost" | "127.0.0.1" | "::1") || opts.get_host().starts_with('/');
    Ok(if local && !url.contains("sslmode=") {
        opts.ssl_mode(PgSslMode::Disable)
    } else {
        opts
    })
}

pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
    let opts = connect_options(url)?
        .log_statements(tracing::log::LevelFilter::Trace)
        // Our statements look rows up by key (or by arrays of keys), where the generic
        // plan is the right one; without this PostgreSQL re-plans the batch statements
        // on every execution, which cost about a tenth of its CPU per purchase.
        // A generic plan is made once per connection, at first use, and kept until the
        // table's statistics change. On a young table (a fresh install, the first minute
        // of traffic) a sequential scan looks cheapest, and the settlement batch kept
        // scanning the whole, by then large, table with it: a third of the throughput
        // lost. So sequential scans are a last resort here (PostgreSQL still uses one
        // where no index applies). Bulk reads that want them should set it back locally.
        .options([("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_with(opts)
        .await
}

/// Whether the database answers (the health checks).
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}

/// A tag for this process's transaction ids, distinct from every other instance's
/// started since (a sequence: see migration 0007).
pub async fn instance_tag(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let tag: i64 = sqlx::query_scalar("SELECT nextval('instance_tags')")
        .fetch_one(pool)
        .await?;
    Ok(tag.unsigned_abs())
}

/// The migrations, then the ledger's canonical functions (`sql/ledger.sql`), which a
/// migration never restates: a change to the ledger is a diff in that one file.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations").run(pool).await?;
    ledger::install(pool).await
}
