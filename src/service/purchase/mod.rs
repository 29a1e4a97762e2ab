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
use crate::service::breaker::Breakers;
use crate::service::catalog::CatalogHandle;
use crate::service::fx::{FxError, FxService};
use crate::service::ids::TransactionIds;
use crate::store::attempts;
use crate::store::group_commit::{DebitBatcher, SettleBatcher};
use crate::store::transactions::{
    self as txns, Attempt, Created, FirstAttempt, NewAttempt, NewPurchase, Success, Transaction,
};
use crate::store::webhooks as notifications;
use crate::store::{is_unavailable, StoreError};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

mod many;
mod offers;
mod resolve;
mod send;
mod submit;

pub use offers::{DryRun, Lookup, PricedProduct, ProductFilter, Quote, QuoteRequest};
pub use resolve::Notified;

use send::{persisting, upstream_reference, upstream_request};
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
    /// A `callback_url` from a reseller with no signing secret (`recarga webhook set`).
    #[error("callback_url needs a webhook signing secret: ask us to set one up")]
    NoSigningSecret,
    /// The database could not be reached before anything was debited.
    #[error("database unavailable; nothing was debited")]
    Unavailable(#[source] StoreError),
    /// The debit's answer was lost and the database could not be asked in time whether
    /// it committed: the purchase may exist under this id (or, if a twin request with
    /// the same reference won, under the reference alone).
    #[error("could not confirm whether purchase {transaction_id} was recorded")]
    Unconfirmed {
        transaction_id: String,
        reference: Option<String>,
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
    /// Where the final state is posted (already validated: `domain::callback`).
    pub callback_url: Option<String>,
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
    resolver_lease: Duration,
    pending_backoff: PendingBackoff,
    queue: Arc<Notify>,
    ids: TransactionIds,
    breakers: Breakers,
    origins: Origins,
}

/// Async purchases accepted here and not sent yet, by transaction id, with the span
/// they were accepted in. Bounded: those another instance sends are never taken here,
/// so past [`Origins::MAX`] the map starts again (lines of purchases then queued lose
/// only their request id; the transaction id is always there).
#[derive(Default)]
struct Origins(std::sync::Mutex<std::collections::HashMap<String, tracing::Span>>);

impl Origins {
    const MAX: usize = 10_000;

    fn remember(&self, transaction_id: &str) {
        let mut origins = self.0.lock().expect("origins lock");
        if origins.len() >= Self::MAX {
            origins.clear();
        }
        origins.insert(transaction_id.to_string(), tracing::Span::current());
    }
}

/// How often an upstream is asked again about a request it holds as pending: after
/// `first`, then twice as long each time, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct PendingBackoff {
    pub first: Duration,
    pub max: Duration,
}

pub struct PurchaseConfig {
    pub debits: DebitBatcher,
    pub settlements: SettleBatcher,
    pub timezone: Tz,
    pub default_daily_limit: Decimal,
    pub sync_deadline: Duration,
    pub review_after: chrono::Duration,
    /// How long a resolver sweep's claim on a transaction holds if never released
    /// (longer than any upstream call it makes).
    pub resolver_lease: Duration,
    pub pending_backoff: PendingBackoff,
    /// This process's tag for transaction ids (from the database: `store::instance_tag`).
    pub instance_tag: u64,
    pub breakers: Breakers,
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
            resolver_lease: config.resolver_lease,
            pending_backoff: config.pending_backoff,
            queue,
            ids: TransactionIds::new(config.instance_tag, Arc::clone(&clock)),
            breakers: config.breakers,
            origins: Origins::default(),
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

    /// Whether purchases are skipping this upstream (its circuit is open).
    pub fn circuit_open(&self, upstream: &str) -> bool {
        self.breakers.is_open(upstream)
    }

    /// Each enabled upstream's health, asked now.
    pub async fn upstream_health(&self) -> Vec<ProviderHealth> {
        futures::future::join_all(self.providers.all().into_iter().map(|p| p.health())).await
    }

    /// Ask the first enabled upstream that can tell which network the number is on.
    pub(super) async fn detect_operator(&self, product: &Product, amount: Decimal, phone: &str) -> Option<String> {
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
    pub(super) fn validate(&self, req: &mut PurchaseRequest) -> Result<Product, PurchaseError> {
        let product = self.product(&req.product_id)?;
        product.check_amount(req.amount)?;
        req.phone = normalize_for_country(&product.country, &product.operator, &req.phone)?;
        offers::check_operator(&product, req.operator.as_deref())?;
        Ok(product)
    }

    /// The span an async purchase was accepted in (its request's), once: the queue
    /// worker that sends it logs under it, so those lines carry the request id too.
    /// None when it was accepted by another instance or before a restart.
    pub fn take_origin(&self, transaction_id: &str) -> Option<tracing::Span> {
        self.origins.0.lock().expect("origins lock").remove(transaction_id)
    }

    pub(super) fn product(&self, id: &str) -> Result<Product, PurchaseError> {
        self.catalog
            .current()
            .get(id)
            .cloned()
            .ok_or_else(|| PurchaseError::UnknownProduct(id.into()))
    }
}
