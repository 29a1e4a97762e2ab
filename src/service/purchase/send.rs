//! Sending: the async queue's claims, and the routes tried in order, each attempt
//! committed before its send; failover only after a definite retryable failure.

use super::*;
use crate::telemetry::series;

impl PurchaseService {
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
        self.send(txn, begun, None).await.map(|_| ())
    }

    /// Try the product's routes in order. Each try commits its attempt row first;
    /// `begun` is a first attempt already committed with the debit, and `answered` what
    /// the upstream already said to it (it was sent with others in one call). Returns the
    /// transaction when this call settled it as delivered.
    pub(super) async fn send(
        &self,
        txn: &Transaction,
        mut begun: Option<Attempt>,
        mut answered: Option<Outcome>,
    ) -> Result<Option<Transaction>, PurchaseError> {
        let started = Instant::now();
        let Ok(product) = self.product(&txn.product_id) else {
            metrics::counter!(series::PURCHASES_UNROUTED).increment(1);
            txns::settle_failure(&self.pool, &txn.id, None, "product no longer offered", None).await?;
            return Ok(None);
        };
        let mut attempt_no = 0;
        let mut last_failure = "no upstream is enabled for this product".to_string();
        for (route, provider) in self.providers.routes_for(&product, txn.amount_local) {
            attempt_no += 1;
            if !self.breakers.admit(provider.id()) {
                last_failure = format!("{} unavailable (circuit open); not sent", provider.id());
                tracing::info!(txn = %txn.id, upstream = provider.id(), "circuit open: route skipped");
                count_purchase(provider.id(), "skipped");
                // An attempt committed with the debit for this route was never sent.
                if let Some(unsent) = begun.take() {
                    txns::mark_attempt(&self.pool, unsent.id, AttemptStatus::Failed, None, Some(&last_failure)).await?;
                }
                continue;
            }
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
            let outcome = match answered.take() {
                Some(outcome) => outcome,
                None => provider.topup(&request).await,
            };
            let elapsed = Some(started.elapsed().as_millis() as i64);
            count_purchase(provider.id(), outcome_label(&outcome));
            match &outcome {
                Outcome::Failed { retryable: true, .. } | Outcome::Unknown { .. } => {
                    self.breakers.failed(provider.id())
                }
                _ => self.breakers.answered(provider.id()),
            }
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
                            let outcome = provider.topup(&request).await;
                            count_purchase(provider.id(), outcome_label(&outcome));
                            match outcome {
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
        metrics::counter!(series::PURCHASES_UNROUTED).increment(1);
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
    pub(super) async fn apply(
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
                let settled = persisting("settle a delivery", || self.settlements.settle(success.clone())).await?;
                Ok(settled)
            }
            Outcome::Failed { code, message, .. } => {
                let failed = Some((attempt, code.as_deref()));
                persisting("refund a failure", || async {
                    Ok(txns::settle_failure(&self.pool, &attempt.transaction_id, failed, &message, elapsed_ms).await?)
                })
                .await?;
                Ok(None)
            }
            // The upstream holds the request: a later "not found" can no longer mean it
            // never arrived, and its id (LATCOM's transId) is what enquiries go by.
            Outcome::Pending { upstream_id } => {
                persisting("record an acknowledgement", || async {
                    Ok(attempts::acknowledge(&self.pool, attempt.id, upstream_id.as_deref()).await?)
                })
                .await?;
                Ok(None)
            }
            Outcome::Unknown { .. } => Ok(None),
        }
    }
}

/// One purchase sent to (or skipped at) an upstream, in `/metrics`.
fn count_purchase(upstream: &'static str, outcome: &'static str) {
    metrics::counter!(series::PURCHASES, "upstream" => upstream, "outcome" => outcome).increment(1);
}

/// An upstream's answer as the `outcome` label of [`series::PURCHASES`].
fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Success { .. } => "success",
        Outcome::Failed { retryable: true, .. } => "retryable",
        Outcome::Failed { .. } => "failed",
        Outcome::Pending { .. } => "pending",
        Outcome::Unknown { .. } => "unknown",
    }
}

/// How long an upstream's verdict (or a purchase's own question) keeps trying to reach
/// the database.
const PERSIST_OUTCOME_FOR: Duration = Duration::from_secs(300);

/// Record an upstream's verdict even if the database fails for a while: only this task
/// knows it, and without it a delivered top-up waits, funds held, for an enquiry (or
/// for REVIEW where the upstream cannot be asked). Settlements happen exactly once, so a
/// write that committed before its answer was lost is harmless to repeat, and any
/// database error is worth another try. Also a read only this task will act on: whether
/// its own unconfirmed debit committed.
pub(super) async fn persisting<T, W, F>(what: &str, mut write: W) -> Result<T, StoreError>
where
    W: FnMut() -> F,
    F: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        match write().await {
            Err(StoreError::Db(e)) if started.elapsed() < PERSIST_OUTCOME_FOR => {
                tracing::warn!(error = ?e, "{what}: the database failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            done => return done,
        }
    }
}

/// What we send as the client reference for attempt `attempt_no`: the transaction id,
/// then `-2`, `-3` for failover attempts, so that an enquiry always names the same request.
pub(super) fn upstream_reference(transaction_id: &str, attempt_no: i32) -> String {
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

pub(super) fn upstream_request(txn: &Transaction, route: &Route, upstream_reference: String) -> UpstreamTopup {
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
