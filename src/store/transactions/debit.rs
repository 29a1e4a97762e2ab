//! The debit: purchases priced and recorded with their idempotency key, balance check,
//! daily limit, ledger entries and first attempt, in one statement for a batch.

use super::{by_reference, get, latest_attempt, Attempt, Transaction};
use crate::domain::refusal::Refusal;
use crate::domain::status::{AttemptStatus, TxnStatus};
use crate::store::ledger::{self, DebitOutcome};
use crate::store::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

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
) -> Result<Vec<Result<Created, StoreError>>, StoreError> {
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
pub async fn debit_purchases(pool: &PgPool, batch: &[NewPurchase]) -> Result<Vec<Debited>, StoreError> {
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
        return Err(StoreError::Inconsistent(format!(
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
            let balance_after =
                balance.ok_or_else(|| StoreError::Inconsistent("a debit answered without its balance".into()))?;
            let txn = p.as_created(created_at);
            let attempt = attempt_id.zip(a).map(|(id, a)| Attempt {
                id,
                transaction_id: p.id.clone(),
                attempt_no: 1,
                upstream: a.upstream.to_string(),
                upstream_reference: a.upstream_reference.clone(),
                upstream_product: a.upstream_product.clone(),
                amount_sent: a.amount_sent,
                status: AttemptStatus::Sent,
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
            let reference = p.reference.as_deref().ok_or(Refusal::ReferenceConflict)?;
            let original = by_reference(pool, &p.customer_id, reference)
                .await?
                .ok_or(Refusal::ReferenceConflict)?;
            match (original.id == p.id, p.same_request(&original)) {
                (true, _) => own_commit(pool, original).await,
                (false, true) => Ok(Created::Existing(original)),
                (false, false) => Err(Refusal::ReferenceConflict.into()),
            }
        }
        DebitOutcome::IdTaken => match get(pool, &p.id).await? {
            Some(txn) if txn.customer_id == p.customer_id && txn.reference == p.reference && p.same_request(&txn) => {
                own_commit(pool, txn).await
            }
            _ => Err(StoreError::IdTaken),
        },
        DebitOutcome::Insufficient => Err(Refusal::InsufficientBalance {
            balance: balance.unwrap_or_default(),
            required_usd: p.charged_usd,
            rate: p.exchange_rate,
            requested: p.amount_local,
        }
        .into()),
        DebitOutcome::Inactive => Err(Refusal::CustomerInactive.into()),
        DebitOutcome::DailyLimit => Err(Refusal::DailyLimit {
            used: used.unwrap_or_default(),
            limit: p.daily_limit_local,
            requested: p.amount_local,
        }
        .into()),
    }
}

/// What a debit of `p` would do now, read without writing or locking anything (a
/// validate-only request): the same refusals `recarga_debit` gives, in its order (a
/// repeated reference answers first, with its original), or the balance it would leave.
/// Concurrent purchases may change the answer before a real debit: it is a preview.
pub async fn preview(pool: &PgPool, p: &NewPurchase) -> Result<Preview, StoreError> {
    if let Some(reference) = p.reference.as_deref() {
        if let Some(original) = by_reference(pool, &p.customer_id, reference).await? {
            return match p.same_request(&original) {
                true => Ok(Preview::Existing(Box::new(original))),
                false => Err(Refusal::ReferenceConflict.into()),
            };
        }
    }
    let (status, balance, used): (String, Decimal, Decimal) = sqlx::query_as(
        "SELECT c.status, c.balance_usd,
                COALESCE((SELECT d.amount_local FROM daily_usage d
                          WHERE d.customer_id = c.id AND d.phone = $2 AND d.currency = $3
                            AND d.business_day = $4), 0)
         FROM customers c WHERE c.id = $1",
    )
    .bind(&p.customer_id)
    .bind(&p.phone)
    .bind(&p.currency)
    .bind(p.business_day)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::CustomerNotFound)?;
    if status != "active" {
        return Err(Refusal::CustomerInactive.into());
    }
    if balance < p.charged_usd {
        return Err(Refusal::InsufficientBalance {
            balance,
            required_usd: p.charged_usd,
            rate: p.exchange_rate,
            requested: p.amount_local,
        }
        .into());
    }
    if used + p.amount_local > p.daily_limit_local {
        return Err(Refusal::DailyLimit {
            used,
            limit: p.daily_limit_local,
            requested: p.amount_local,
        }
        .into());
    }
    Ok(Preview::WouldDebit {
        balance_before: balance,
        balance_after: balance - p.charged_usd,
    })
}

/// What [`preview`] found a debit would do.
#[derive(Debug, Clone)]
pub enum Preview {
    /// Debited, leaving this balance.
    WouldDebit {
        balance_before: Decimal,
        balance_after: Decimal,
    },
    /// The reference was used before for this same request: a purchase returns it.
    Existing(Box<Transaction>),
}

/// The purchase with this id as `recarga_debit` committed it, if it did: for a debit
/// whose answer was lost, which only its caller can know to be its own.
pub async fn committed(pool: &PgPool, id: &str) -> Result<Option<Created>, StoreError> {
    match get(pool, id).await? {
        Some(txn) => own_commit(pool, txn).await.map(Some),
        None => Ok(None),
    }
}

/// This very purchase, committed by an earlier try whose answer was lost (a batch
/// that failed after its commit is run again one by one): it is new to the caller.
async fn own_commit(pool: &PgPool, txn: Transaction) -> Result<Created, StoreError> {
    let attempt = latest_attempt(pool, &txn.id)
        .await?
        .filter(|a| a.status == AttemptStatus::Sent);
    let (balance_before, balance_after) = ledger::debit_balances(pool, &txn.id)
        .await?
        .ok_or_else(|| StoreError::Inconsistent(format!("purchase {} has no debit entries", txn.id)))?;
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
                TxnStatus::Processing
            } else {
                TxnStatus::Pending
            },
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
