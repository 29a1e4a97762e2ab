//! Reconciliation reads: the keys that open them, the row-per-transaction export
//! (streamed, never held whole in memory) and the per-day summary.

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tokio::sync::mpsc;

/// Whose rows a reconcile key sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An ops key: every reseller's.
    All,
    Customer(String),
}

/// The reseller whose reconcile key hashes to `key_hash`: the key comes alone, so this
/// reads `customers_reconcile_key`, a plain index (under Citus, on every shard).
pub async fn customer_by_key_hash(pool: &PgPool, key_hash: &[u8]) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM customers WHERE reconcile_key_hash = $1")
        .bind(key_hash)
        .fetch_optional(pool)
        .await
}

/// Whether `key_hash` is a live (not revoked) ops reconcile key.
pub async fn ops_key_exists(pool: &PgPool, key_hash: &[u8]) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ops_reconcile_keys WHERE key_hash = $1 AND revoked_at IS NULL)")
        .bind(key_hash)
        .fetch_one(pool)
        .await
}

/// Record a new ops reconcile key (its hash); its id.
pub async fn create_ops_key(pool: &PgPool, name: &str, key_hash: &[u8]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO ops_reconcile_keys (name, key_hash) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(key_hash)
        .fetch_one(pool)
        .await
}

/// One exported transaction, borrowed from the database row it was read from (no
/// allocation per row).
pub struct ExportRow<'r> {
    pub id: &'r str,
    pub customer_id: &'r str,
    pub reference: Option<&'r str>,
    pub upstream: Option<&'r str>,
    /// The upstream's own id for the top-up.
    pub upstream_reference: Option<&'r str>,
    pub product_id: &'r str,
    pub phone: &'r str,
    pub amount_local: Decimal,
    pub currency: &'r str,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
    pub exchange_rate: Decimal,
    pub status: &'r str,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

impl<'r> ExportRow<'r> {
    fn read(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            customer_id: row.try_get(1)?,
            reference: row.try_get(2)?,
            upstream: row.try_get(3)?,
            upstream_reference: row.try_get(4)?,
            product_id: row.try_get(5)?,
            phone: row.try_get(6)?,
            amount_local: row.try_get(7)?,
            currency: row.try_get(8)?,
            cost_usd: row.try_get(9)?,
            commission_usd: row.try_get(10)?,
            charged_usd: row.try_get(11)?,
            exchange_rate: row.try_get(12)?,
            status: row.try_get(13)?,
            created_at: row.try_get(14)?,
            settled_at: row.try_get(15)?,
        })
    }
}

const EXPORT_COLUMNS: &str = "id, customer_id, reference, upstream, operator_transaction_id, product_id, phone,
     amount_local, currency, cost_usd, commission_usd, charged_usd, exchange_rate, status, created_at, processed_at";

/// Stream the transactions created in [from, to) in `scope`, oldest first (per reseller
/// for an ops key), through `write` into chunks of about `chunk_bytes`, each sent on
/// `out` as soon as it is full. The channel is bounded, so a slow client slows the
/// read instead of filling memory. Stops early, without error, when the receiver is
/// gone (the client hung up). The number of rows written.
pub async fn export(
    pool: &PgPool,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    chunk_bytes: usize,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    mut write: impl FnMut(&ExportRow<'_>, &mut Vec<u8>),
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The pool's connections avoid sequential scans for the hot path's generic plans
    // (store::connect); a bulk read of a long range is better served by one.
    sqlx::query("SET LOCAL enable_seqscan = on").execute(&mut *tx).await?;
    let (sql, customer) = match scope {
        Scope::All => (
            format!(
                "SELECT {EXPORT_COLUMNS} FROM transactions WHERE created_at >= $1 AND created_at < $2
                 ORDER BY customer_id, created_at, id"
            ),
            None,
        ),
        Scope::Customer(id) => (
            format!(
                "SELECT {EXPORT_COLUMNS} FROM transactions
                 WHERE customer_id = $3 AND created_at >= $1 AND created_at < $2 ORDER BY created_at, id"
            ),
            Some(id.as_str()),
        ),
    };
    let mut query = sqlx::query(&sql).bind(from).bind(to);
    if let Some(id) = customer {
        query = query.bind(id);
    }
    let mut rows = query.fetch(&mut *tx);
    let mut buf = Vec::with_capacity(chunk_bytes + 1024);
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        write(&ExportRow::read(&row)?, &mut buf);
        count += 1;
        if buf.len() >= chunk_bytes {
            let chunk = Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(chunk_bytes + 1024)));
            if out.send(Ok(chunk)).await.is_err() {
                return Ok(count);
            }
        }
    }
    drop(rows);
    if !buf.is_empty() {
        let _ = out.send(Ok(Bytes::from(buf))).await;
    }
    tx.commit().await?;
    Ok(count)
}

/// Totals for one business day, status and currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DaySummary {
    pub day: NaiveDate,
    pub status: String,
    pub currency: String,
    pub transactions: i64,
    pub amount_local: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
}

/// The export's range summed per day (in `timezone`), status and currency.
pub async fn daily_summary(
    pool: &PgPool,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    timezone: &str,
) -> Result<Vec<DaySummary>, sqlx::Error> {
    let customer = match scope {
        Scope::All => None,
        Scope::Customer(id) => Some(id.as_str()),
    };
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = on").execute(&mut *tx).await?;
    let rows = sqlx::query_as(
        "SELECT (created_at AT TIME ZONE $3)::date AS day, status, currency, count(*) AS transactions,
                sum(amount_local) AS amount_local, sum(cost_usd) AS cost_usd,
                sum(commission_usd) AS commission_usd, sum(charged_usd) AS charged_usd
         FROM transactions
         WHERE created_at >= $1 AND created_at < $2 AND ($4::text IS NULL OR customer_id = $4)
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .bind(timezone)
    .bind(customer)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}
