//! Resolving: the resolver's view of open transactions, and the enquiry that settles
//! an unknown outcome (never a guess; REVIEW when it cannot be settled in time).

use super::*;

/// What a notification from an upstream (a webhook) led to. It is a hint only: the
/// transaction is settled, if at all, by the enquiry it triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// No such upstream is enabled here.
    UnknownUpstream,
    /// The body names no reference this upstream's notifications carry.
    Unreadable,
    /// No request of ours was sent under the reference it names.
    UnknownReference,
    /// The transaction was looked up upstream; its status now.
    Confirmed { transaction_id: String, status: TxnStatus },
}

impl PurchaseService {
    /// Claim open transactions untouched for `min_age_secs`, oldest first: one sweep's
    /// work, held from other instances' sweeps for the resolver lease (or until
    /// [`Self::release`]).
    pub async fn claim_open(
        &self,
        min_age_secs: i64,
        limit: i64,
    ) -> Result<(uuid::Uuid, Vec<Transaction>), PurchaseError> {
        let claim = uuid::Uuid::new_v4();
        let lease = self.resolver_lease.as_secs() as i64;
        Ok((
            claim,
            txns::claim_open(&self.pool, claim, min_age_secs, lease, limit).await?,
        ))
    }

    /// Give back a sweep's claim (what it did not settle may be taken by the next sweep).
    pub async fn release(&self, claim: uuid::Uuid) -> Result<(), PurchaseError> {
        Ok(txns::release(&self.pool, claim).await?)
    }

    /// An upstream says something happened to a request: ask it (never believe the
    /// notification: anyone can post one), and settle from the answer. Runs in a task
    /// of its own, so a sender that hangs up stops nothing half-way.
    #[tracing::instrument(skip(self, body), err)]
    pub async fn notified(self: &Arc<Self>, upstream: &str, body: &[u8]) -> Result<Notified, PurchaseError> {
        let Some(provider) = self.providers.get(upstream) else {
            return Ok(Notified::UnknownUpstream);
        };
        let Some(reference) = provider.notification_reference(body) else {
            return Ok(Notified::Unreadable);
        };
        let Some(attempt) = txns::attempt_by_reference(&self.pool, provider.id(), &reference).await? else {
            tracing::warn!(upstream, reference, "notification about a reference we never sent");
            return Ok(Notified::UnknownReference);
        };
        let service = Arc::clone(self);
        let id = attempt.transaction_id;
        let span = tracing::info_span!("notification", txn = %id, upstream);
        tokio::spawn(
            async move {
                tracing::info!("upstream notification: confirming by enquiry");
                service.process(&id).await?;
                let status = txns::get(&service.pool, &id).await?.map(|t| t.status);
                Ok(Notified::Confirmed {
                    transaction_id: id,
                    status: status.unwrap_or(TxnStatus::Processing),
                })
            }
            .instrument(span),
        )
        .await
        .map_err(|e| PurchaseError::Internal(format!("notification task: {e}")))?
    }

    /// Move a transaction forward: send a PENDING one, enquire about a PROCESSING one.
    /// Its lines name the transaction as every purchase line does (`txn`); a failure
    /// here leaves it open for the next sweep, hence a warning.
    #[tracing::instrument(skip_all, fields(txn = id), err(level = "warn"))]
    pub async fn process(&self, id: &str) -> Result<(), PurchaseError> {
        let Some(txn) = txns::get(&self.pool, id).await? else {
            return Ok(());
        };
        match txn.status {
            TxnStatus::Pending => self.send(&txn, None, None).await.map(|_| ()),
            TxnStatus::Processing => self.resolve(&txn).await,
            _ => Ok(()),
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
                let overdue = self.clock.now() - txn.created_at > self.review_after;
                if overdue || !provider.enquire_pending_with_backoff() {
                    return self
                        .hold_or_review(txn, "the upstream holds the request, not settled yet")
                        .await;
                }
                // Asked again with backoff (its webhook may settle it sooner).
                let b = self.pending_backoff;
                txns::defer_enquiry(&self.pool, &txn.id, b.first.as_secs_f64(), b.max.as_secs_f64()).await?;
                Ok(())
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
