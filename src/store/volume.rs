//! The per-day rollup of transactions (migration 0024, functions in `sql/ledger.sql`):
//! rolling up a closed business day, and reading a range of days from the rollup where
//! a day is rolled up and live from `transactions_customer_created` where it is not
//! (today), in one statement so that a day rolled up meanwhile is counted once.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, QueryBuilder};

/// A business day and a window of `created_at` that holds all of its transactions.
#[derive(Debug, Clone, Copy)]
pub struct DayWindow {
    pub day: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Transactions of one business day, currency and status (of one reseller, or all).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayStatusVolume {
    pub day: NaiveDate,
    pub currency: String,
    pub status: String,
    pub count: i64,
    pub amount_local: Decimal,
    pub charged_usd: Decimal,
}

/// Delivered top-ups whose upstream response time fell in the bucket up to `le_ms`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatencyBucket {
    pub le_ms: i64,
    pub count: i64,
}

/// Roll up `day` (`recarga_volume_roll_up`): false if it was already, or if some of its
/// transactions are not sent or answered yet.
pub async fn roll_up(pool: &PgPool, day: &DayWindow) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT recarga_volume_roll_up($1, $2, $3)")
        .bind(day.day)
        .bind(day.from)
        .bind(day.to)
        .fetch_one(pool)
        .await
}

/// Which of `days` are not rolled up yet.
pub async fn not_rolled_up(pool: &PgPool, days: &[NaiveDate]) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT d FROM unnest($1::date[]) AS d
         WHERE NOT EXISTS (SELECT 1 FROM volume_days v WHERE v.business_day = d) ORDER BY d",
    )
    .bind(days)
    .fetch_all(pool)
    .await
}

/// Per day, currency and status over `days`, for one reseller or (None) all of them.
pub async fn by_day(
    pool: &PgPool,
    customer_id: Option<&str>,
    days: &[DayWindow],
) -> Result<Vec<DayStatusVolume>, sqlx::Error> {
    let q = rolled_up_or_live(
        customer_id,
        days,
        "business_day AS day, currency, status",
        "1, 2, 3",
        "sum(count)::bigint AS count, sum(amount_local) AS amount_local, sum(charged_usd) AS charged_usd",
        "daily_volume",
        "recarga_day_volume",
    );
    fetch_without_jit(pool, q).await
}

/// The latency buckets of delivered top-ups over `days`, summed, smallest first.
pub async fn latency(
    pool: &PgPool,
    customer_id: Option<&str>,
    days: &[DayWindow],
) -> Result<Vec<LatencyBucket>, sqlx::Error> {
    let q = rolled_up_or_live(
        customer_id,
        days,
        "le_ms",
        "1",
        "sum(count)::bigint AS count",
        "daily_latency",
        "recarga_day_latency",
    );
    fetch_without_jit(pool, q).await
}

/// Run a read with PostgreSQL's JIT off: the planner's estimate of the live part (a
/// function per reseller and day) passes JIT's threshold, and compiling the plan took
/// a second where running it takes milliseconds (bench/dashboard/rollup.sql).
async fn fetch_without_jit<T>(pool: &PgPool, mut q: QueryBuilder<'_, sqlx::Postgres>) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    let rows = q.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// `SELECT <keys>, <sums>` over the rollup `table` for the rolled-up days of `days`, and
/// over the live `function` (the same columns) for the others, grouped and ordered by
/// the keys' positions (`by`).
fn rolled_up_or_live<'a>(
    customer_id: Option<&'a str>,
    days: &[DayWindow],
    keys: &str,
    by: &str,
    sums: &str,
    table: &str,
    function: &str,
) -> QueryBuilder<'a, sqlx::Postgres> {
    let mut q = QueryBuilder::new("WITH days AS (SELECT * FROM unnest(");
    q.push_bind(days.iter().map(|d| d.day).collect::<Vec<_>>())
        .push("::date[], ")
        .push_bind(days.iter().map(|d| d.from).collect::<Vec<_>>())
        .push("::timestamptz[], ")
        .push_bind(days.iter().map(|d| d.to).collect::<Vec<_>>())
        .push("::timestamptz[]) AS d(day, from_at, to_at)), ")
        .push("rolled AS (SELECT day FROM days WHERE EXISTS (SELECT 1 FROM volume_days v WHERE v.business_day = days.day)) ")
        .push(format!("SELECT {keys}, {sums} FROM ("))
        .push(format!(
            "SELECT r.* FROM {table} r WHERE r.business_day IN (SELECT day FROM rolled)"
        ));
    if let Some(c) = customer_id {
        q.push(" AND r.customer_id = ").push_bind(c);
    }
    q.push(format!(
        " UNION ALL SELECT c.id, d.day, l.* FROM days d CROSS JOIN customers c \
         CROSS JOIN LATERAL {function}(c.id, d.day, d.from_at, d.to_at) l \
         WHERE d.day NOT IN (SELECT day FROM rolled)"
    ));
    if let Some(c) = customer_id {
        q.push(" AND c.id = ").push_bind(c);
    }
    q.push(format!(") x GROUP BY {by} ORDER BY {by}"));
    q
}
