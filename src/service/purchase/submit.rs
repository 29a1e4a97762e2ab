//! Accepting a purchase: validate, price and debit (retrying a taken id, looking up a
//! debit whose answer was lost), and the synchronous flow that carries it out detached
//! from the request within the deadline.

use super::*;

impl PurchaseService {
    /// Price and debit, or replay the original for a repeated reference.
    #[tracing::instrument(skip_all, fields(customer = %req.buyer.customer_id, reference = req.reference.as_deref(), txn))]
    pub async fn submit(&self, mut req: PurchaseRequest) -> Result<Accepted, PurchaseError> {
        let product = self.validate(&mut req)?;
        let quote = self.quote_for(product, req.amount, &req.buyer)?;
        let product = &quote.product;
        if req.callback_url.is_some() {
            let endpoint = notifications::endpoint(&self.pool, &req.buyer.customer_id)
                .await
                .map_err(|e| PurchaseError::Unavailable(e.into()))?;
            if endpoint.is_none() {
                return Err(PurchaseError::NoSigningSecret);
            }
        }
        let operator = match req.operator.clone() {
            None if product.operator == AUTO_OPERATOR => self.detect_operator(product, req.amount, &req.phone).await,
            None => Some(product.operator.clone()),
            given => given,
        };
        let mut new = self.new_purchase(&req, &quote, operator);
        // An id that is somehow taken already is retried with a fresh one: the client
        // never hears of it (and it is not the reference's "duplicate").
        let mut tries = 0;
        let debited = loop {
            tries += 1;
            new.id = self.ids.next();
            new.first_attempt = self.first_attempt(&quote.product, &new);
            tracing::Span::current().record("txn", new.id.as_str());
            if let Some(url) = &req.callback_url {
                // Committed before the debit: a settlement never commits without it.
                notifications::add_callback(&self.pool, &new.customer_id, &new.id, url)
                    .await
                    .map_err(|e| PurchaseError::Unavailable(e.into()))?;
            }
            match self.debits.debit(new.clone()).await {
                Err(StoreError::IdTaken) if tries < 3 => {
                    tracing::warn!(txn = %new.id, "transaction id already taken; retrying with a fresh one");
                }
                debited => break debited,
            }
        };
        match debited {
            Ok(created) => Ok(self.accepted(created).await),
            // The debit's own answer was lost, or never came: it may have committed.
            Err(e @ (StoreError::Db(_) | StoreError::Inconsistent(_) | StoreError::Stopped)) => {
                self.after_lost_debit(&new, e).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The purchase to debit, priced by `quote` (its id and first attempt are set by
    /// the debit's caller).
    pub(super) fn new_purchase(&self, req: &PurchaseRequest, quote: &Quote, operator: Option<String>) -> NewPurchase {
        NewPurchase {
            id: String::new(),
            first_attempt: None,
            customer_id: req.buyer.customer_id.clone(),
            reference: req.reference.clone(),
            channel: req.channel,
            is_async: req.is_async,
            product_id: quote.product.id.clone(),
            phone: req.phone.clone(),
            operator,
            amount_local: req.amount,
            currency: quote.product.currency.clone(),
            exchange_rate: quote.rate.rate,
            cost_usd: quote.price.cost_usd,
            commission_usd: quote.price.commission_usd,
            charged_usd: quote.price.charged_usd,
            business_day: business_day(self.clock.now(), self.timezone),
            daily_limit_local: req.buyer.daily_limit_local.unwrap_or(self.default_daily_limit),
        }
    }

    /// What a committed debit means for its caller: a new purchase (a queued one wakes
    /// the queue), or the original of a repeated reference.
    async fn accepted(&self, created: Created) -> Accepted {
        match created {
            Created::New {
                txn,
                attempt,
                balance_before,
                balance_after,
            } => {
                if txn.status == TxnStatus::Pending {
                    if txn.mode == "async" {
                        self.origins.remember(&txn.id);
                    }
                    self.queue.notify_one();
                }
                Accepted {
                    txn,
                    attempt,
                    balances: Some((balance_before, balance_after)),
                    replay: false,
                }
            }
            Created::Existing(txn) => self.replay(txn).await,
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
    async fn after_lost_debit(&self, new: &NewPurchase, cause: StoreError) -> Result<Accepted, PurchaseError> {
        let id = new.id.as_str();
        tracing::warn!(txn = id, error = %cause, "debit failed in the database; checking whether it committed");
        let deadline = Instant::now() + self.sync_deadline;
        loop {
            match txns::committed(&self.pool, id).await {
                // Nothing was debited: a database out of reach is worth a retry later.
                Ok(None) => {
                    return Err(match &cause {
                        StoreError::Db(e) if is_unavailable(e) => PurchaseError::Unavailable(cause),
                        _ => PurchaseError::Store(cause),
                    })
                }
                Ok(Some(created)) => return Ok(self.accepted(created).await),
                Err(e) if Instant::now() >= deadline => {
                    tracing::warn!(txn = id, error = %e, "could not confirm whether the debit committed");
                    return Err(PurchaseError::Unconfirmed {
                        transaction_id: id.to_string(),
                        reference: new.reference.clone(),
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
        let span = tracing::info_span!("purchase", customer = %req.buyer.customer_id, txn = tracing::field::Empty);
        let work = tokio::spawn(async move { this.carry_out(req).await }.instrument(span));
        work.await.map_err(|e| PurchaseError::Internal(e.to_string()))?
    }

    async fn carry_out(self: Arc<Self>, req: PurchaseRequest) -> Result<Accepted, PurchaseError> {
        let started = Instant::now();
        let mut accepted = match self.submit(req).await {
            Ok(accepted) => accepted,
            Err(e) => {
                if let PurchaseError::Unconfirmed { transaction_id, .. } = &e {
                    let (this, id) = (Arc::clone(&self), transaction_id.clone());
                    tokio::spawn(async move { this.take_up_unconfirmed(&id).await }.in_current_span());
                }
                return Err(e);
            }
        };
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
                    Some(attempt) => this.send(&txn, Some(attempt), None).await,
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

    /// A debit answered "unconfirmed" may still have committed, with its first attempt:
    /// nobody else sends that attempt (the resolver only enquires, and an upstream that
    /// cannot be asked by our reference leaves it to REVIEW), so keep asking the database
    /// as a verdict is kept (`persisting`), and send it if it is there.
    async fn take_up_unconfirmed(&self, id: &str) {
        match persisting("confirm a debit", || txns::committed(&self.pool, id)).await {
            Ok(Some(created)) => {
                let accepted = self.accepted(created).await;
                let Some(attempt) = accepted.attempt else {
                    return; // queued (the queue sends it), or settled already
                };
                tracing::info!(txn = id, "the unconfirmed debit had committed; sending its purchase");
                if let Err(e) = self.send(&accepted.txn, Some(attempt), None).await {
                    tracing::warn!(txn = id, error = %e, "purchase left for the resolver");
                }
            }
            Ok(None) => tracing::info!(txn = id, "the unconfirmed debit had not committed: nothing was debited"),
            Err(e) => {
                tracing::error!(txn = id, error = %e, "could not learn whether the debit committed; left for the resolver")
            }
        }
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
    pub(super) async fn wait_for_final(&self, mut txn: Transaction, within: Duration) -> Transaction {
        let deadline = Instant::now() + within;
        loop {
            txn = self.latest(txn).await;
            if txn.status.is_final() || Instant::now() >= deadline {
                return txn;
            }
            tokio::time::sleep(Duration::from_millis(50).min(deadline - Instant::now())).await;
        }
    }
}
