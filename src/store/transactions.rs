//! Purchases in the ledger: the debit (with idempotency key, balance check and daily
//! limit in one database transaction), attempts, and settlement exactly once.

use super::ledger::{self, DebitOutcome, ReviewVerdict, Settlement};
use super::StoreError;
use crate::domain::status::TxnStatus;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transaction {
    pub id: String,
    pub customer_id: String,
    pub reference: Option<String>,
    pub channel: String,
    pub mode: String,
    pub product_id: String,
    pub phone: String,
    pub operator: Option<String>,
    pub amount_local: Decimal,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
    pub business_day: NaiveDate,
    pub status: String,
    pub upstream: Option<String>,
    pub operator_transaction_id: Option<String>,
    pub failure_reason: Option<String>,
    pub response_time_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl Transaction {
    pub fn status(&self) -> TxnStatus {
        TxnStatus::parse(&self.status).unwrap_or(TxnStatus::Review)
    }
}

const TXN_COLUMNS: &str = "id, customer_id, reference, channel, mode, product_id, phone, operator, amount_local,
     currency, exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream,
     operator_transaction_id, failure_reason, response_time_ms, created_at, updated_at, processed_at";

#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub id: String,
    pub customer_id: String,
    pub reference: Option<String>,
    pub channel: &'static str,
    pub is_async: bool,
    pub product_id: String,
    pub phone: String,
    pub operator: Option<String>,
    pub amount_local: Decimal,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub cost_usd: Decimal,
    pub commission_usd: Decimal,
    pub charged_usd: Decimal,
    pub business_day: NaiveDate,
    pub daily_limit_local: Decimal,
    /// For a purchase sent at once: its first attempt, committed with the debit.
    pub first_attempt: Option<FirstAttempt>,
}

#[derive(Debug, Clone)]
pub struct FirstAttempt {
    pub upstream: &'static str,
    pub upstream_reference: String,
    pub upstream_product: String,
    pub amount_sent: Decimal,
}

#[derive(Debug, Clone)]
pub enum Created {
    New {
        txn: Transaction,
        attempt: Option<Attempt>,
        balance_before: Decimal,
        balance_after: Decimal,
    },
    /// The reference was used before for the same request: the original, untouched.
    Existing(Transaction),
}

/// What `recarga_debit` answered for one purchase (turned into its result by
/// [`interpret`]).
#[derive(Debug, sqlx::FromRow)]
pub struct Debited {
    outcome: DebitOutcome,
    balance_after: Option<Decimal>,
    used: Option<Decimal>,
    created_at: DateTime<Utc>,
    attempt_id: Option<i64>,
}

/// Debit and record purchases atomically (`recarga_debit`): for each, idempotency key,
/// balance, daily limit, ledger entries and the first attempt (a sync purchase's) commit
/// together or not at all. Each purchase's result, in order.
pub async fn create_purchases(
    pool: &PgPool,
    batch: &[NewPurchase],
) -> Result<Vec<Result<Created, StoreError>>, sqlx::Error> {
    let debited = debit_purchases(pool, batch).await?;
    let mut results = Vec::with_capacity(batch.len());
    for (p, d) in batch.iter().zip(debited) {
        results.push(interpret(pool, p, d).await);
    }
    Ok(results)
}

/// Several purchases in one statement, hence one database transaction and one round
/// trip: one commit (one WAL flush, one hold of a hot balance row) for the lot.
/// `recarga_debit` runs once per purchase, in order, each call seeing the ones before
/// it; a refused purchase writes nothing, so it leaves the others intact. An error
/// aborts them all (none committed). One answer per purchase, in order. Each row of the
/// arrays becomes one `recarga_purchase` (its columns are the composite's, in order).
pub async fn debit_purchases(pool: &PgPool, batch: &[NewPurchase]) -> Result<Vec<Debited>, sqlx::Error> {
    let attempts = || batch.iter().map(|p| p.first_attempt.as_ref());
    let debited: Vec<Debited> = sqlx::query_as(
        "SELECT d.outcome, d.balance_after, d.used, d.created_at, d.attempt_id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::numeric[], $10::text[], $11::numeric[], $12::numeric[], $13::numeric[],
                     $14::numeric[], $15::date[], $16::numeric[], $17::text[], $18::text[], $19::text[],
                     $20::numeric[])
              WITH ORDINALITY AS p(id, customer, reference, channel, mode, product, phone, operator, amount,
                                   currency, rate, cost, commission, charged, day, daily_limit,
                                   upstream, upstream_reference, upstream_product, amount_sent, n)
         CROSS JOIN LATERAL recarga_debit(ROW(p.id, p.customer, p.reference, p.channel, p.mode, p.product,
             p.phone, p.operator, p.amount, p.currency, p.rate, p.cost, p.commission, p.charged, p.day,
             p.daily_limit, p.upstream, p.upstream_reference, p.upstream_product, p.amount_sent)::recarga_purchase) AS d
         ORDER BY p.n",
    )
    .bind(batch.iter().map(|p| p.id.as_str()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.customer_id.as_str()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.reference.as_deref()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.channel).collect::<Vec<_>>())
    .bind(
        batch
            .iter()
            .map(|p| if p.is_async { "async" } else { "sync" })
            .collect::<Vec<_>>(),
    )
    .bind(batch.iter().map(|p| p.product_id.as_str()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.phone.as_str()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.operator.as_deref()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.amount_local).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.currency.as_str()).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.exchange_rate).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.cost_usd).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.commission_usd).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.charged_usd).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.business_day).collect::<Vec<_>>())
    .bind(batch.iter().map(|p| p.daily_limit_local).collect::<Vec<_>>())
    .bind(attempts().map(|a| a.map(|a| a.upstream)).collect::<Vec<_>>())
    .bind(
        attempts()
            .map(|a| a.map(|a| a.upstream_reference.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(
        attempts()
            .map(|a| a.map(|a| a.upstream_product.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(attempts().map(|a| a.map(|a| a.amount_sent)).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    if debited.len() != batch.len() {
        return Err(sqlx::Error::Protocol(format!(
            "recarga_debit answered {} times for {} purchases",
            debited.len(),
            batch.len()
        )));
    }
    Ok(debited)
}

/// Turn a committed `recarga_debit` answer into the purchase's result (a repeated
/// reference reads the original).
pub async fn interpret(pool: &PgPool, p: &NewPurchase, d: Debited) -> Result<Created, StoreError> {
    let Debited {
        outcome,
        balance_after: balance,
        used,
        created_at,
        attempt_id,
    } = d;
    let a = p.first_attempt.as_ref();
    match outcome {
        DebitOutcome::Created => {
            let balance_after = balance.ok_or(sqlx::Error::RowNotFound)?;
            let txn = p.as_created(created_at);
            let attempt = attempt_id.zip(a).map(|(id, a)| Attempt {
                id,
                transaction_id: p.id.clone(),
                attempt_no: 1,
                upstream: a.upstream.to_string(),
                upstream_reference: a.upstream_reference.clone(),
                upstream_product: a.upstream_product.clone(),
                amount_sent: a.amount_sent,
                status: "SENT".into(),
                created_at,
            });
            Ok(Created::New {
                txn,
                attempt,
                balance_before: balance_after + p.charged_usd,
                balance_after,
            })
        }
        DebitOutcome::Duplicate => {
            // Answered only for a reference found in use, so neither `ok_or` fires.
            let reference = p.reference.as_deref().ok_or(StoreError::ReferenceConflict)?;
            let original = by_reference(pool, &p.customer_id, reference)
                .await?
                .ok_or(StoreError::ReferenceConflict)?;
            match (original.id == p.id, p.same_request(&original)) {
                (true, _) => own_commit(pool, original).await,
                (false, true) => Ok(Created::Existing(original)),
                (false, false) => Err(StoreError::ReferenceConflict),
            }
        }
        DebitOutcome::IdTaken => match get(pool, &p.id).await? {
            Some(txn) if txn.customer_id == p.customer_id && txn.reference == p.reference && p.same_request(&txn) => {
                own_commit(pool, txn).await
            }
            _ => Err(StoreError::IdTaken),
        },
        DebitOutcome::Insufficient => Err(StoreError::InsufficientBalance {
            balance: balance.unwrap_or_default(),
        }),
        DebitOutcome::Inactive => Err(StoreError::CustomerInactive),
        DebitOutcome::DailyLimit => Err(StoreError::DailyLimit {
            used: used.unwrap_or_default(),
            limit: p.daily_limit_local,
            requested: p.amount_local,
        }),
    }
}

/// This very purchase, committed by an earlier try whose answer was lost (a batch
/// that failed after its commit is run again one by one): it is new to the caller.
async fn own_commit(pool: &PgPool, txn: Transaction) -> Result<Created, StoreError> {
    let attempt = latest_attempt(pool, &txn.id).await?.filter(|a| a.status == "SENT");
    let (balance_before, balance_after) = ledger::debit_balances(pool, &txn.id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Created::New {
        txn,
        attempt,
        balance_before,
        balance_after,
    })
}

impl NewPurchase {
    fn same_request(&self, t: &Transaction) -> bool {
        t.product_id == self.product_id
            && t.phone == self.phone
            && t.amount_local == self.amount_local
            && t.currency == self.currency
    }

    /// The row `recarga_debit` just wrote, without reading it back.
    fn as_created(&self, created_at: DateTime<Utc>) -> Transaction {
        Transaction {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            reference: self.reference.clone(),
            channel: self.channel.to_string(),
            mode: if self.is_async { "async" } else { "sync" }.to_string(),
            product_id: self.product_id.clone(),
            phone: self.phone.clone(),
            operator: self.operator.clone(),
            amount_local: self.amount_local,
            currency: self.currency.clone(),
            exchange_rate: self.exchange_rate,
            cost_usd: self.cost_usd,
            commission_usd: self.commission_usd,
            charged_usd: self.charged_usd,
            business_day: self.business_day,
            status: if self.first_attempt.is_some() {
                "PROCESSING"
            } else {
                "PENDING"
            }
            .to_string(),
            upstream: self.first_attempt.as_ref().map(|a| a.upstream.to_string()),
            operator_transaction_id: None,
            failure_reason: None,
            response_time_ms: None,
            created_at,
            updated_at: created_at,
            processed_at: None,
        }
    }
}

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TXN_COLUMNS} FROM transactions WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A customer's own transaction; another customer's id is simply not found.
pub async fn get_for_customer(pool: &PgPool, customer_id: &str, id: &str) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id)
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

pub async fn by_reference(
    pool: &PgPool,
    customer_id: &str,
    reference: &str,
) -> Result<Option<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions WHERE customer_id = $1 AND reference = $2"
    ))
    .bind(customer_id)
    .bind(reference)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub id: i64,
    pub transaction_id: String,
    pub attempt_no: i32,
    pub upstream: String,
    pub upstream_reference: String,
    pub upstream_product: String,
    pub amount_sent: Decimal,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewAttempt<'a> {
    pub transaction_id: &'a str,
    pub attempt_no: i32,
    pub upstream: &'a str,
    pub upstream_reference: &'a str,
    pub upstream_product: &'a str,
    pub amount_sent: Decimal,
}

/// The statement behind `lock_queued` (public so that a test can check its plan).
pub static LOCK_QUEUED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {TXN_COLUMNS} FROM transactions
         WHERE status = 'PENDING' AND mode = 'async'
         ORDER BY created_at LIMIT $1
         FOR UPDATE SKIP LOCKED"
    )
});

/// The queue: up to `limit` async purchases still PENDING, oldest first, locked in the
/// caller's database transaction, skipping those another worker holds. Nothing is
/// written; the caller begins their attempts before it commits, or rolls back and leaves
/// them queued.
pub async fn lock_queued(conn: &mut sqlx::PgConnection, limit: i64) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&LOCK_QUEUED).bind(limit).fetch_all(conn).await
}

/// Commit the attempt row and PROCESSING before anything is sent, in one statement.
/// The first attempt takes the transaction from PENDING, so only one worker can ever
/// send it; a failover attempt requires it still PROCESSING. `None`: someone else owns it.
pub async fn begin_attempt(pool: &PgPool, a: &NewAttempt<'_>) -> Result<Option<Attempt>, sqlx::Error> {
    Ok(begin_attempts(pool, std::slice::from_ref(a)).await?.pop().flatten())
}

/// `begin_attempt` for many (the queue's claimed purchases), in one statement; per
/// attempt, in order, the attempt or `None`.
pub async fn begin_attempts(
    db: impl sqlx::PgExecutor<'_>,
    batch: &[NewAttempt<'_>],
) -> Result<Vec<Option<Attempt>>, sqlx::Error> {
    let begun: Vec<Attempt> = sqlx::query_as(
        "WITH a AS (
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[])
                 AS a(transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent)),
         owned AS (
             UPDATE transactions t SET status = 'PROCESSING', upstream = a.upstream, updated_at = now()
             FROM a
             WHERE t.id = a.transaction_id
               AND t.status = CASE WHEN a.attempt_no = 1 THEN 'PENDING' ELSE 'PROCESSING' END
             RETURNING a.*)
         INSERT INTO attempts (transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status)
         SELECT transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, 'SENT' FROM owned
         RETURNING id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, created_at",
    )
    .bind(batch.iter().map(|a| a.transaction_id).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.attempt_no).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream_reference).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.upstream_product).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.amount_sent).collect::<Vec<_>>())
    .fetch_all(db)
    .await?;
    let mut by_key: std::collections::HashMap<(String, i32), Attempt> = begun
        .into_iter()
        .map(|a| ((a.transaction_id.clone(), a.attempt_no), a))
        .collect();
    Ok(batch
        .iter()
        .map(|a| by_key.remove(&(a.transaction_id.to_string(), a.attempt_no)))
        .collect())
}

pub async fn latest_attempt(pool: &PgPool, transaction_id: &str) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, created_at
         FROM attempts WHERE transaction_id = $1 ORDER BY attempt_no DESC LIMIT 1",
    )
    .bind(transaction_id)
    .fetch_optional(pool)
    .await
}

/// Record what an attempt came back with (UNKNOWN, or FAILED before a failover).
pub async fn mark_attempt(
    pool: &PgPool,
    attempt_id: i64,
    status: &str,
    code: Option<&str>,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE attempts SET status = $2, response_code = $3, message = $4, finished_at = now() WHERE id = $1")
        .bind(attempt_id)
        .bind(status)
        .bind(code)
        .bind(message)
        .execute(pool)
        .await?;
    Ok(())
}

/// A delivered top-up, to be settled.
#[derive(Debug, Clone)]
pub struct Success {
    pub attempt_id: i64,
    pub transaction_id: String,
    pub upstream_id: Option<String>,
    pub message: Option<String>,
    pub response_time_ms: Option<i64>,
}

/// The statement behind `settle_successes` (public so that a test can check its plan).
pub static SETTLE_SUCCESSES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH s AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
                 AS s(attempt_id, transaction_id, upstream_id, message, response_time_ms)),
         t AS (
             UPDATE transactions x SET status = 'SUCCESS', operator_transaction_id = s.upstream_id,
                 response_time_ms = COALESCE(s.response_time_ms, x.response_time_ms),
                 processed_at = now(), updated_at = now()
             FROM s WHERE x.id = s.transaction_id AND x.status = 'PROCESSING'
             RETURNING x.*),
         a AS (
             UPDATE attempts y SET status = 'SUCCESS', upstream_transaction_id = s.upstream_id,
                 message = s.message, finished_at = now()
             FROM s JOIN t ON t.id = s.transaction_id WHERE y.id = s.attempt_id)
         SELECT {TXN_COLUMNS} FROM t"
    )
});

/// PROCESSING → SUCCESS for each, in one statement (one commit for the lot); per
/// settlement, the settled row, or None if it was settled already (by the resolver, say).
pub async fn settle_successes(pool: &PgPool, batch: &[Success]) -> Result<Vec<Option<Transaction>>, sqlx::Error> {
    let settled: Vec<Transaction> = sqlx::query_as(&SETTLE_SUCCESSES)
        .bind(batch.iter().map(|s| s.attempt_id).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.transaction_id.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.upstream_id.as_deref()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.message.as_deref()).collect::<Vec<_>>())
        .bind(batch.iter().map(|s| s.response_time_ms).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
    let mut by_id: std::collections::HashMap<String, Transaction> =
        settled.into_iter().map(|t| (t.id.clone(), t)).collect();
    // A transaction named twice in one batch is settled once: the first asker gets it.
    Ok(batch.iter().map(|s| by_id.remove(&s.transaction_id)).collect())
}

/// → FAILED with a refund that reverses the debit's exact entries and releases the
/// daily limit on the original business day (`recarga_settle_failure`). Exactly once:
/// false if already final.
pub async fn settle_failure(
    pool: &PgPool,
    transaction_id: &str,
    attempt: Option<(&Attempt, Option<&str>)>,
    reason: &str,
    response_time_ms: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let settled: Settlement = sqlx::query_scalar("SELECT recarga_settle_failure($1, $2, $3, $4, $5)")
        .bind(transaction_id)
        .bind(reason)
        .bind(response_time_ms)
        .bind(attempt.map(|(a, _)| a.id))
        .bind(attempt.and_then(|(_, code)| code))
        .fetch_one(pool)
        .await?;
    Ok(settled == Settlement::Settled)
}

/// Unresolved too long: hold the funds and hand it to ops.
pub async fn move_to_review(pool: &PgPool, transaction_id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE transactions SET status = 'REVIEW', failure_reason = $2, updated_at = now()
         WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')",
    )
    .bind(transaction_id)
    .bind(reason)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Non-final transactions not touched for `min_age_secs`, oldest first.
pub async fn open_older_than(pool: &PgPool, min_age_secs: i64, limit: i64) -> Result<Vec<Transaction>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TXN_COLUMNS} FROM transactions
         WHERE processed_at IS NULL AND status IN ('PENDING', 'PROCESSING')
           AND updated_at < now() - make_interval(secs => $1)
         ORDER BY updated_at LIMIT $2"
    ))
    .bind(min_age_secs as f64)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Push `updated_at` so the resolver's next sweep leaves this one alone for a while.
pub async fn touch(pool: &PgPool, transaction_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE transactions SET updated_at = now() WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')")
        .bind(transaction_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ops settlement of a REVIEW transaction (`recarga_settle_review`): a failure is
/// refunded as any other, a success keeps the debit; the audit note commits with it.
pub async fn settle_review(
    pool: &PgPool,
    transaction_id: &str,
    verdict: ReviewVerdict,
    note: &str,
) -> Result<Settlement, sqlx::Error> {
    sqlx::query_scalar("SELECT recarga_settle_review($1, $2, $3)")
        .bind(transaction_id)
        .bind(verdict)
        .bind(note)
        .fetch_one(pool)
        .await
}
