//! Many purchases at once (a bulk request): each accepted exactly as alone (validated,
//! debited under its own reference), then those whose first route goes to an upstream
//! that takes several requests in one call are sent together, the rest one by one.
//! After the upstream's answers, each purchase goes on as alone (failover, enquiry).

use super::*;
use futures::future::join_all;
use std::collections::HashMap;

/// What comes after accepting a purchase.
enum Next {
    /// New, with its first attempt: to send.
    Send(Box<Ready>),
    /// Answered as it is (a replay), or carried out alone (no attempt begun).
    AsIs(Box<Accepted>),
}

/// A new purchase with its first attempt, ready to send.
struct Ready {
    accepted: Accepted,
    attempt: Attempt,
    request: UpstreamTopup,
}

impl PurchaseService {
    /// Carry out `requests`, each answered as `purchase_sync` would (within the deadline).
    pub async fn purchase_many(
        self: &Arc<Self>,
        requests: Vec<PurchaseRequest>,
    ) -> Vec<Result<Accepted, PurchaseError>> {
        let started = Instant::now();
        let submitted = join_all(requests.into_iter().map(|req| self.submit(req))).await;
        let mut answers: Vec<Result<Accepted, PurchaseError>> = Vec::new();
        let mut groups: HashMap<String, Vec<(usize, Ready)>> = HashMap::new();
        let mut unrouted = Vec::new();
        for (i, result) in submitted.into_iter().enumerate() {
            answers.push(match result.map(|a| self.next(a)) {
                Ok(Next::Send(ready)) => {
                    let answer = Ok(Accepted {
                        attempt: None,
                        ..ready.accepted.clone()
                    });
                    groups
                        .entry(ready.attempt.upstream.clone())
                        .or_default()
                        .push((i, *ready));
                    answer
                }
                Ok(Next::AsIs(accepted)) => {
                    if !accepted.replay {
                        unrouted.push(accepted.txn.id.clone());
                    }
                    Ok(*accepted)
                }
                Err(e) => Err(e),
            });
        }
        // New, but with no attempt begun (no upstream can take it now): carried out as
        // alone (it fails and is refunded).
        for id in unrouted {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.process(&id).await }.in_current_span());
        }
        // Each group in a task of its own: a client that hangs up stops nothing, and
        // the sends go on past the deadline.
        let sends = groups.into_values().map(|group| {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.send_group(group).await }.in_current_span())
        });
        let within = self.sync_deadline.saturating_sub(started.elapsed());
        let done = tokio::time::timeout(within, join_all(sends)).await.unwrap_or_default();
        for (i, txn) in done.into_iter().flat_map(Result::unwrap_or_default) {
            if let Ok(accepted) = &mut answers[i] {
                accepted.txn = txn;
            }
        }
        // Failed, pending or unknown: the resolver may still settle them before the deadline.
        let within = self.sync_deadline.saturating_sub(started.elapsed());
        join_all(answers.into_iter().map(|answer| async move {
            match answer {
                Ok(mut accepted) if !accepted.replay || !accepted.txn.status.is_final() => {
                    accepted.txn = self.wait_for_final(accepted.txn, within).await;
                    Ok(accepted)
                }
                other => other,
            }
        }))
        .await
    }

    /// A new purchase with its first attempt, or the accepted one as it is (a replay, a
    /// purchase no upstream can take now).
    fn next(&self, mut accepted: Accepted) -> Next {
        let Some(attempt) = accepted.attempt.take().filter(|_| !accepted.replay) else {
            return Next::AsIs(Box::new(accepted));
        };
        let route = self.catalog.current().get(&accepted.txn.product_id).and_then(|p| {
            self.providers
                .routes_for(p, accepted.txn.amount_local)
                .next()
                .map(|(route, _)| route.clone())
        });
        match route {
            Some(route) => Next::Send(Box::new(Ready {
                request: upstream_request(&accepted.txn, &route, attempt.upstream_reference.clone()),
                accepted,
                attempt,
            })),
            None => {
                accepted.attempt = Some(attempt);
                Next::AsIs(Box::new(accepted))
            }
        }
    }

    /// Send one upstream's purchases: together where it can, else one by one; each
    /// then goes on as alone. Each one's transaction as that left it, by its index.
    async fn send_group(self: Arc<Self>, group: Vec<(usize, Ready)>) -> Vec<(usize, Transaction)> {
        let provider = group
            .first()
            .and_then(|(_, r)| self.providers.get(&r.attempt.upstream))
            .cloned();
        let requests: Vec<UpstreamTopup> = group.iter().map(|(_, r)| r.request.clone()).collect();
        let together = match provider {
            Some(p) if group.len() > 1 => p.topup_together(&requests).await.filter(|o| o.len() == group.len()),
            _ => None,
        };
        let mut answered: Vec<Option<Outcome>> =
            together.map(|o| o.into_iter().map(Some).collect()).unwrap_or_default();
        answered.resize(group.len(), None);
        let sends = group.into_iter().zip(answered).map(|((i, ready), outcome)| {
            let this = Arc::clone(&self);
            let txn = &ready.accepted.txn;
            let span = tracing::info_span!("purchase", customer = %txn.customer_id, txn = %txn.id);
            async move {
                let Ready { accepted, attempt, .. } = ready;
                let txn = match this.send(&accepted.txn, Some(attempt), outcome).await {
                    Ok(Some(settled)) => settled,
                    Ok(None) => accepted.txn,
                    Err(e) => {
                        tracing::warn!(txn = %accepted.txn.id, error = %e, "purchase left for the resolver");
                        accepted.txn
                    }
                };
                (i, txn)
            }
            .instrument(span)
        });
        join_all(sends).await
    }
}
