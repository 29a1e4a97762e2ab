//! The purchase flow: price, debit (atomically with idempotency key and daily limit),
//! then route to upstreams with no database transaction open during the call.
//! Failover only after a definite retryable failure; an unknown outcome keeps the
//! funds held for the resolver.

use crate::domain::catalog::{AmountError, Catalog, Product, Route, AUTO_OPERATOR};
use crate::domain::clock::Clock;
use crate::domain::limits::business_day;
use crate::domain::money::price;
use crate::domain::phone::{normalize_for_country, PhoneError};
use crate::domain::provider::{Enquiry, Outcome, ProviderHealth, UpstreamTopup};
use crate::domain::refusal::Refusal;
use crate::domain::status::{AttemptStatus, TxnStatus};
use crate::providers::Providers;
use crate::service::catalog::CatalogHandle;
use crate::service::fx::{FxError, FxService};
use crate::service::ids::TransactionIds;
use crate::store::attempts;
use crate::store::group_commit::{DebitBatcher, SettleBatcher};
use crate::store::transactions::{
    self as txns, Attempt, Created, FirstAttempt, NewAttempt, NewPurchase, Success, Transaction,
};
use crate::store::{is_unavailable, StoreError};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::Notify;
use tracing::Instrument;

#[derive(Debug, Error)]
pub enum PurchaseError {
    #[error("unknown product {0}")]
    UnknownProduct(String),
    #[error(transparent)]
    Amount(#[from] AmountError),
    #[error(transparent)]
    Phone(#[from] PhoneError),
    #[error("operator {operator} does not match product {product} ({product_operator})")]
    OperatorMismatch {
        operator: String,
        product: String,
        product_operator: String,
    },
    #[error(transparent)]
    Fx(#[from] FxError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database could not be reached before anything was debited.
    #[error("database unavailable; nothing was debited")]
    Unavailable(#[source] StoreError),
    /// The debit's answer was lost and the database could not be asked in time whether
    /// it committed: the purchase may exist under this id.
    #[error("could not confirm whether purchase {transaction_id} was recorded")]
    Unconfirmed {
        transaction_id: String,
        #[source]
        cause: StoreError,
    },
    #[error("storage failure")]
    Store(#[source] StoreError),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl From<StoreError> for PurchaseError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(refusal) => Self::Refused(refusal),
            other => Self::Store(other),
        }
    }
}

impl From<sqlx::Error> for PurchaseError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// Who is buying, with the settings that shape the purchase.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub customer_id: String,
    pub commission_rate: Decimal,
    pub daily_limit_local: Option<Decimal>,
}

#[derive(Debug, Clone)]
pub struct PurchaseRequest {
    pub buyer: Buyer,
    pub channel: &'static str,
    pub product_id: String,
    /// As the buyer gave it; validated and normalised for the product's country by the service.
    pub phone: String,
    pub operator: Option<String>,
    pub amount: Decimal,
    pub reference: Option<String>,
    pub is_async: bool,
}

/// A purchase that exists in the ledger.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub txn: Transaction,
    /// The first attempt, when it was committed with the debit (sync purchases).
    pub attempt: Option<Attempt>,
    /// Balance before and after this purchase's debit; None when they could not be
    /// read back (a replay while the database fails), so an answer that needs them
    /// must not claim the purchase is settled.
    pub balances: Option<(Decimal, Decimal)>,
    /// True when this request repeated an earlier reference.
    pub replay: bool,
}

pub struct PurchaseService {
    pool: PgPool,
    debits: DebitBatcher,
    settlements: SettleBatcher,
    catalog: Arc<CatalogHandle>,
    providers: Providers,
    fx: Arc<FxService>,
    clock: Arc<dyn Clock>,
    timezone: Tz,
    default_daily_limit: Decimal,
    sync_deadline: Duration,
    review_after: chrono::Duration,
    queue: Arc<Notify>,
    ids: TransactionIds,
}

pub struct PurchaseConfig {
    pub debits: DebitBatcher,
    pub settlements: SettleBatcher,
    pub timezone: Tz,
    pub default_daily_limit: Decimal,
    pub sync_deadline: Duration,
    pub review_after: chrono::Duration,
    /// This process's tag for transaction ids (from the database: `store::instance_tag`).
    pub instance_tag: u64,
}

impl PurchaseService {
    pub fn new(
        pool: PgPool,
        catalog: Arc<CatalogHandle>,
        providers: Providers,
        fx: Arc<FxService>,
        clock: Arc<dyn Clock>,
        config: PurchaseConfig,
        queue: Arc<Notify>,
    ) -> Self {
        Self {
            pool,
            debits: config.debits,
            settlements: config.settlements,
            catalog,
            providers,
            fx,
            timezone: config.timezone,
            default_daily_limit: config.default_daily_limit,
            sync_deadline: config.sync_deadline,
            review_after: config.review_after,
            queue,
            ids: TransactionIds::new(config.instance_tag, Arc::clone(&clock)),
            clock,
        }
    }

    /// The catalog as it is now (it changes when upstream product lists sync).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.current()
    }

    pub fn fx(&self) -> &FxService {
        &self.fx
    }

    /// Whether any of the product's upstreams is enabled here (it can be offered).
    pub fn offers(&self, product: &Product) -> bool {
        self.providers.offers(product)
    }

    /// Each enabled upstream's health, asked now.
    pub async fn upstream_health(&self) -> Vec<ProviderHealth> {
        futures::future::join_all(self.providers.all().into_iter().map(|p| p.health())).await
    }

    /// Price and debit, or replay the original for a repeated reference.
    #[tracing::instrument(skip_all, fields(customer = %req.buyer.customer_id, reference = req.reference.as_deref(), txn))]
    pub async fn submit(&self, mut req: PurchaseRequest) -> Result<Accepted, PurchaseError> {
        let product = self.validate(&mut req)?;
        let rate = self.fx.current(&product.currency)?;
        let operator = match req.operator.clone() {
            None if product.operator == AUTO_OPERATOR => self.detect_operator(&product, req.amount, &req.phone).await,
            None => Some(product.operator.clone()),
            given => given,
        };
        let price = price(req.amount, rate.rate, req.buyer.commission_rate);
        let mut new = NewPurchase {
            id: String::new(),
            first_attempt: None,
            customer_id: req.buyer.customer_id.clone(),
            reference: req.reference.clone(),
            channel: req.channel,
            is_async: req.is_async,
            product_id: product.id.clone(),
            phone: req.phone.clone(),
            operator,
            amount_local: req.amount,
            currency: product.currency.clone(),
            exchange_rate: rate.rate,
            cost_usd: price.cost_usd,
            commission_usd: price.commission_usd,
            charged_usd: price.charged_usd,
            business_day: business_day(self.clock.now(), self.timezone),
            daily_limit_local: req.buyer.daily_limit_local.unwrap_or(self.default_daily_limit),
        };
        // An id that is somehow taken already is retried with a fresh one: the client
        // never hears of it (and it is not the reference's "duplicate").
        let mut tries = 0;
        let debited = loop {
            tries += 1;
            new.id = self.ids.next();
            new.first_attempt = self.first_attempt(&product, &new);
            tracing::Span::current().record("txn", new.id.as_str());
            match self.debits.debit(new.clone()).await {
                Err(StoreError::IdTaken) if tries < 3 => {
                    tracing::warn!(txn = %new.id, "transaction id already taken; retrying with a fresh one");
                }
                debited => break debited,
            }
        };
        let id = new.id;
        match debited {
            Ok(Created::New {
                txn,
                attempt,
                balance_before,
                balance_after,
            }) => {
                if req.is_async {
                    self.queue.notify_one();
                }
                Ok(Accepted {
                    txn,
                    attempt,
                    balances: Some((balance_before, balance_after)),
                    replay: false,
                })
            }
            Ok(Created::Existing(txn)) => Ok(self.replay(txn).await),
            // The debit's own answer was lost, or never came: it may have committed.
            Err(e @ (StoreError::Db(_) | StoreError::Inconsistent(_) | StoreError::Stopped)) => {
                self.after_lost_debit(&id, e).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A synchronous purchase commits its first attempt with the debit: one commit less.
    fn first_attempt(&self, product: &Product, new: &NewPurchase) -> Option<FirstAttempt> {
        if new.is_async {
            return None;
        }
        let (route, provider) = self.providers.routes_for(product, new.amount_local).next()?;
        Some(FirstAttempt {
            upstream: provider.id(),
            upstream_reference: upstream_reference(&new.id, 1),
            upstream_product: route.product.clone(),
            amount_sent: route.upstream_amount(new.amount_local),
        })
    }

    /// A repeated reference: the original, with its balances if they can be read.
    async fn replay(&self, txn: Transaction) -> Accepted {
        let balances = match crate::store::ledger::debit_balances(&self.pool, &txn.id).await {
            Ok(balances) => balances,
            Err(e) => {
                tracing::warn!(txn = %txn.id, error = %e, "replay: balances could not be read");
                None
            }
        };
        Accepted {
            txn,
            attempt: None,
            balances,
            replay: true,
        }
    }

    /// The debit failed in the database. Whether it committed is not always known (a
    /// connection lost during the statement may have lost only the answer), so ask
    /// for the transaction by its id, which nobody else uses, until the sync deadline:
    /// found, it is this purchase, already debited (its first attempt is taken up again
    /// and sent); not found, nothing was debited.
    async fn after_lost_debit(&self, id: &str, cause: StoreError) -> Result<Accepted, PurchaseError> {
        tracing::warn!(txn = id, error = %cause, "debit failed in the database; checking whether it committed");
        let deadline = Instant::now() + self.sync_deadline;
        loop {
            match txns::get(&self.pool, id).await {
                // Nothing was debited: a database out of reach is worth a retry later.
                Ok(None) => {
                    return Err(match &cause {
                        StoreError::Db(e) if is_unavailable(e) => PurchaseError::Unavailable(cause),
                        _ => PurchaseError::Store(cause),
                    })
                }
                Ok(Some(txn)) => {
                    let attempt = txns::latest_attempt(&self.pool, id).await.ok().flatten();
                    let balances = crate::store::ledger::debit_balances(&self.pool, id)
                        .await
                        .ok()
                        .flatten();
                    if txn.status == TxnStatus::Pending {
                        self.queue.notify_one();
                    }
                    return Ok(Accepted {
                        txn,
                        attempt: attempt.filter(|a| a.status == AttemptStatus::Sent),
                        balances,
                        replay: false,
                    });
                }
                Err(e) if Instant::now() >= deadline => {
                    tracing::warn!(txn = id, error = %e, "could not confirm whether the debit committed");
                    return Err(PurchaseError::Unconfirmed {
                        transaction_id: id.to_string(),
                        cause,
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Submit and carry it out within the synchronous deadline. All of it (debit, send,
    /// settlement) runs in a task of its own, so a client that hangs up stops nothing
    /// half-way. Once the debit has committed every outcome is an `Accepted` (a later
    /// failure of the database, the upstream or the deadline leaves it open, to be
    /// answered as "pending"), never an error.
    pub async fn purchase_sync(self: &Arc<Self>, req: PurchaseRequest) -> Result<Accepted, PurchaseError> {
        let this = Arc::clone(self);
        let span = tracing::info_span!("purchase", txn = tracing::field::Empty);
        let work = tokio::spawn(async move { this.carry_out(req).await }.instrument(span));
        work.await.map_err(|e| PurchaseError::Internal(e.to_string()))?
    }

    async fn carry_out(self: Arc<Self>, req: PurchaseRequest) -> Result<Accepted, PurchaseError> {
        let started = Instant::now();
        let mut accepted = self.submit(req).await?;
        let within = self.sync_deadline.saturating_sub(started.elapsed());
        tracing::Span::current().record("txn", accepted.txn.id.as_str());
        if accepted.replay {
            accepted.txn = self.wait_for_final(accepted.txn, within).await;
            return Ok(accepted);
        }
        let this = Arc::clone(&self);
        let (txn, attempt) = (accepted.txn.clone(), accepted.attempt.take());
        // Its own task: the send goes on past the deadline.
        let send = tokio::spawn(
            async move {
                match attempt {
                    Some(attempt) => this.send(&txn, Some(attempt)).await,
                    None => this.process(&txn.id).await.map(|()| None),
                }
            }
            .in_current_span(),
        );
        match tokio::time::timeout(within, send).await {
            // A delivered top-up comes back settled: no need to read it again.
            Ok(Ok(Ok(Some(settled)))) => {
                accepted.txn = settled;
                return Ok(accepted);
            }
            Ok(Ok(Ok(None))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "purchase left for the resolver"),
            Ok(Err(e)) => tracing::error!(error = %e, "purchase task failed; left for the resolver"),
            Err(_) => {}
        }
        // Failed, pending or unknown: the resolver may still settle it before the deadline.
        let within = self.sync_deadline.saturating_sub(started.elapsed());
        accepted.txn = self.wait_for_final(accepted.txn, within).await;
        Ok(accepted)
    }

    /// The transaction as the database has it now, or `known` if it cannot be read.
    async fn latest(&self, known: Transaction) -> Transaction {
        match txns::get(&self.pool, &known.id).await {
            Ok(Some(txn)) => txn,
            Ok(None) => known,
            Err(e) => {
                tracing::warn!(txn = %known.id, error = %e, "could not read the transaction's state");
                known
            }
        }
    }

    /// Poll until the transaction is final or `within` has passed; its latest known state.
    async fn wait_for_final(&self, mut txn: Transaction, within: Duration) -> Transaction {
        let deadline = Instant::now() + within;
        loop {
            txn = self.latest(txn).await;
            if txn.status.is_final() || Instant::now() >= deadline {
                return txn;
            }
            tokio::time::sleep(Duration::from_millis(50).min(deadline - Instant::now())).await;
        }
    }

    /// Open transactions untouched for `min_age_secs`, oldest first: the resolver's work.
    pub async fn open_older_than(&self, min_age_secs: i64, limit: i64) -> Result<Vec<Transaction>, PurchaseError> {
        Ok(txns::open_older_than(&self.pool, min_age_secs, limit).await?)
    }

    /// Move a transaction forward: send a PENDING one, enquire about a PROCESSING one.
    #[tracing::instrument(skip(self), err)]
    pub async fn process(&self, id: &str) -> Result<(), PurchaseError> {
        let Some(txn) = txns::get(&self.pool, id).await? else {
            return Ok(());
        };
        match txn.status {
            TxnStatus::Pending => self.send(&txn, None).await.map(|_| ()),
            TxnStatus::Processing => self.resolve(&txn).await,
            _ => Ok(()),
        }
    }

    /// Take up to `limit` purchases from the queue: lock the oldest PENDING async ones,
    /// begin their first attempts in one statement, and commit both together. Returns
    /// those this worker now owns, with their attempt, and those no upstream can take
    /// now, without one (`send_queued` fails and refunds them). A worker that dies
    /// before the commit leaves them queued; one that dies after it leaves them
    /// PROCESSING with an attempt, for the resolver to enquire about.
    pub async fn claim_queued(&self, limit: i64) -> Result<Vec<(Transaction, Option<Attempt>)>, PurchaseError> {
        let mut tx = self.pool.begin().await?;
        let claimed = txns::lock_queued(&mut tx, limit).await?;
        if claimed.is_empty() {
            // Hand the connection back clean now, not at its next use.
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let catalog = self.catalog.current();
        let (mut routed, mut ready) = (Vec::new(), Vec::new());
        for txn in claimed {
            let first = catalog.get(&txn.product_id).and_then(|product| {
                let (route, provider) = self.providers.routes_for(product, txn.amount_local).next()?;
                Some((
                    upstream_request(&txn, route, upstream_reference(&txn.id, 1)),
                    provider.id(),
                ))
            });
            match first {
                Some(first) => routed.push((txn, first)),
                None => ready.push((txn, None)),
            }
        }
        let attempts: Vec<NewAttempt> = routed
            .iter()
            .map(|(txn, (request, upstream))| new_attempt(txn, 1, upstream, request))
            .collect();
        let begun = txns::begin_attempts(&mut *tx, &attempts).await?;
        drop(attempts);
        tx.commit().await?;
        // A purchase begun by someone else (the resolver, another instance) is theirs.
        let owned = routed
            .into_iter()
            .zip(begun)
            .filter_map(|((txn, _), a)| Some((txn, Some(a?))));
        ready.extend(owned);
        Ok(ready)
    }

    /// Send a purchase taken from the queue, its first attempt begun by `claim_queued`.
    #[tracing::instrument(skip_all, fields(txn = %txn.id))]
    pub async fn send_queued(&self, txn: &Transaction, begun: Option<Attempt>) -> Result<(), PurchaseError> {
        self.send(txn, begun).await.map(|_| ())
    }

    /// Ask the first enabled upstream that can tell which network the number is on.
    async fn detect_operator(&self, product: &Product, amount: Decimal, phone: &str) -> Option<String> {
        for (_, provider) in self.providers.routes_for(product, amount) {
            if let Some(operator) = provider.detect_operator(phone).await {
                return Some(operator);
            }
        }
        None
    }

    /// The one place a purchase is checked against the catalog: the product exists, one
    /// of its routes can deliver the amount, the number is valid for the product's
    /// country (normalised here), and an operator named with it does not contradict it.
    fn validate(&self, req: &mut PurchaseRequest) -> Result<Product, PurchaseError> {
        let product = self.product(&req.product_id)?;
        product.check_amount(req.amount)?;
        req.phone = normalize_for_country(&product.country, &req.phone)?;
        if let Some(operator) = req.operator.as_deref().filter(|o| !product.sold_by(o)) {
            return Err(PurchaseError::OperatorMismatch {
                operator: operator.to_string(),
                product: product.id.clone(),
                product_operator: product.operator.clone(),
            });
        }
        Ok(product)
    }

    fn product(&self, id: &str) -> Result<Product, PurchaseError> {
        self.catalog
            .current()
            .get(id)
            .cloned()
            .ok_or_else(|| PurchaseError::UnknownProduct(id.into()))
    }

    /// Try the product's routes in order. Each try commits its attempt row first;
    /// `begun` is a first attempt already committed with the debit. Returns the
    /// transaction when this call settled it as delivered.
    async fn send(&self, txn: &Transaction, mut begun: Option<Attempt>) -> Result<Option<Transaction>, PurchaseError> {
        let started = Instant::now();
        let Ok(product) = self.product(&txn.product_id) else {
            txns::settle_failure(&self.pool, &txn.id, None, "product no longer offered", None).await?;
            return Ok(None);
        };
        let mut attempt_no = 0;
        let mut last_failure = "no upstream is enabled for this product".to_string();
        for (route, provider) in self.providers.routes_for(&product, txn.amount_local) {
            attempt_no += 1;
            let request = upstream_request(txn, route, upstream_reference(&txn.id, attempt_no));
            let attempt = match begun.take() {
                Some(attempt) => attempt,
                None => match txns::begin_attempt(&self.pool, &new_attempt(txn, attempt_no, provider.id(), &request))
                    .await?
                {
                    Some(attempt) => attempt,
                    None => return Ok(None), // another worker owns this transaction
                },
            };
            let outcome = provider.topup(&request).await;
            let elapsed = Some(started.elapsed().as_millis() as i64);
            match outcome {
                Outcome::Failed {
                    retryable: true,
                    code,
                    message,
                } => {
                    txns::mark_attempt(
                        &self.pool,
                        attempt.id,
                        AttemptStatus::Failed,
                        code.as_deref(),
                        Some(&message),
                    )
                    .await?;
                    last_failure = message;
                    continue;
                }
                Outcome::Unknown { reason } => {
                    txns::mark_attempt(&self.pool, attempt.id, AttemptStatus::Unknown, None, Some(&reason)).await?;
                    // The one immediate enquiry (adapters never make their own, seed 004
                    // §10f: "immediately perform a Transaction Enquiry"); if it does not
                    // settle it, the resolver will. Never the next route.
                    return match provider.enquire(&request).await {
                        Enquiry::Known(outcome) => self.apply(&attempt, outcome, elapsed).await,
                        // Sent again under its own reference (the upstream refuses a
                        // second request with it). Only a verdict settles it: failing to
                        // send or to read the answer does not show that the first will
                        // never arrive, so that is left to the resolver.
                        Enquiry::NotFound if provider.resend_when_not_found() => {
                            tracing::info!(txn = %txn.id, "upstream has no record of the request; sending it again");
                            match provider.topup(&request).await {
                                Outcome::Failed { retryable: true, .. } | Outcome::Unknown { .. } => Ok(None),
                                outcome => {
                                    let elapsed = Some(started.elapsed().as_millis() as i64);
                                    self.apply(&attempt, outcome, elapsed).await
                                }
                            }
                        }
                        Enquiry::NotFound => Ok(None),
                    };
                }
                outcome => return self.apply(&attempt, outcome, elapsed).await,
            }
        }
        txns::settle_failure(
            &self.pool,
            &txn.id,
            None,
            &last_failure,
            Some(started.elapsed().as_millis() as i64),
        )
        .await?;
        Ok(None)
    }

    /// Settle from a definite outcome; leave pending/unknown ones as they are.
    async fn apply(
        &self,
        attempt: &Attempt,
        outcome: Outcome,
        elapsed_ms: Option<i64>,
    ) -> Result<Option<Transaction>, PurchaseError> {
        match outcome {
            Outcome::Success { upstream_id, message } => {
                let success = Success {
                    attempt_id: attempt.id,
                    transaction_id: attempt.transaction_id.clone(),
                    upstream_id,
                    message,
                    response_time_ms: elapsed_ms,
                };
                Ok(self.settlements.settle(success).await?)
            }
            Outcome::Failed { code, message, .. } => {
                let failed = Some((attempt, code.as_deref()));
                txns::settle_failure(&self.pool, &attempt.transaction_id, failed, &message, elapsed_ms).await?;
                Ok(None)
            }
            // The upstream holds the request: a later "not found" can no longer mean it
            // never arrived, and its id (LATCOM's transId) is what enquiries go by.
            Outcome::Pending { upstream_id } => {
                attempts::acknowledge(&self.pool, attempt.id, upstream_id.as_deref()).await?;
                Ok(None)
            }
            Outcome::Unknown { .. } => Ok(None),
        }
    }

    /// Ask the upstream what became of the last attempt, never guessing.
    async fn resolve(&self, txn: &Transaction) -> Result<(), PurchaseError> {
        let attempt = txns::latest_attempt(&self.pool, &txn.id).await?;
        let catalog = self.catalog.current();
        let found = attempt.as_ref().and_then(|a| {
            let provider = self.providers.get(&a.upstream)?;
            let routes = &catalog.get(&txn.product_id)?.routes;
            // The route the attempt took (a product may have several to one upstream).
            let route = routes
                .iter()
                .find(|r| r.upstream == a.upstream && r.product == a.upstream_product)
                .or_else(|| routes.iter().find(|r| r.upstream == a.upstream))?;
            Some((a, provider, route))
        });
        let Some((attempt, provider, route)) = found else {
            return self
                .hold_or_review(txn, "no way to ask the upstream about this attempt")
                .await;
        };
        let told = attempts::acknowledgement(&self.pool, attempt.id).await?;
        let mut request = upstream_request(txn, route, attempt.upstream_reference.clone());
        request.upstream_product = attempt.upstream_product.clone();
        request.amount = attempt.amount_sent;
        request.upstream_transaction_id = told.upstream_transaction_id;
        match provider.enquire(&request).await {
            Enquiry::Known(outcome @ (Outcome::Success { .. } | Outcome::Failed { .. })) => {
                self.apply(attempt, outcome, None).await.map(|_| ())
            }
            Enquiry::Known(outcome @ Outcome::Pending { .. }) => {
                self.apply(attempt, outcome, None).await?;
                self.hold_or_review(txn, "the upstream holds the request, not settled yet")
                    .await
            }
            Enquiry::NotFound => {
                let grace = provider.not_found_is_final_after();
                let age = self.clock.now() - attempt.created_at;
                match grace.and_then(|g| chrono::Duration::from_std(g).ok()) {
                    // It said it held the request: losing it is for ops, never a refund.
                    Some(g) if age > g && told.acknowledged_at.is_some() => {
                        let reason = "the upstream acknowledged the request, then had no record of it";
                        tracing::warn!(txn = %txn.id, reason, "moved to REVIEW with funds held");
                        txns::move_to_review(&self.pool, &txn.id, reason).await?;
                        Ok(())
                    }
                    Some(g) if age > g => {
                        let failure = Outcome::Failed {
                            retryable: false,
                            code: None,
                            message: "the upstream never received the request".into(),
                        };
                        self.apply(attempt, failure, None).await.map(|_| ())
                    }
                    _ => {
                        self.hold_or_review(txn, "upstream has no record of the request yet")
                            .await
                    }
                }
            }
            Enquiry::Known(Outcome::Unknown { reason }) => {
                self.hold_or_review(txn, &format!("upstream outcome still unknown: {reason}"))
                    .await
            }
        }
    }

    async fn hold_or_review(&self, txn: &Transaction, reason: &str) -> Result<(), PurchaseError> {
        if self.clock.now() - txn.created_at > self.review_after {
            tracing::warn!(txn = %txn.id, reason, "unresolved too long; moved to REVIEW with funds held");
            txns::move_to_review(&self.pool, &txn.id, reason).await?;
        } else {
            txns::touch(&self.pool, &txn.id).await?;
        }
        Ok(())
    }
}

/// What we send as the client reference for attempt `attempt_no`: the transaction id,
/// then `-2`, `-3` for failover attempts, so that an enquiry always names the same request.
fn upstream_reference(transaction_id: &str, attempt_no: i32) -> String {
    if attempt_no == 1 {
        transaction_id.to_string()
    } else {
        format!("{transaction_id}-{attempt_no}")
    }
}

/// The attempt row committed before `request` is sent.
fn new_attempt<'a>(
    txn: &'a Transaction,
    attempt_no: i32,
    upstream: &'a str,
    request: &'a UpstreamTopup,
) -> NewAttempt<'a> {
    NewAttempt {
        transaction_id: &txn.id,
        attempt_no,
        upstream,
        upstream_reference: &request.upstream_reference,
        upstream_product: &request.upstream_product,
        amount_sent: request.amount,
    }
}

fn upstream_request(txn: &Transaction, route: &Route, upstream_reference: String) -> UpstreamTopup {
    UpstreamTopup {
        upstream_reference,
        msisdn: txn.phone.clone(),
        upstream_product: route.product.clone(),
        amount: route.upstream_amount(txn.amount_local),
        currency: txn.currency.clone(),
        operator: route.operator.clone(),
        service: route.service.clone(),
        sku: route.sku.clone(),
        network_auto_correct: route.network_auto_correct,
        upstream_transaction_id: None,
    }
}
