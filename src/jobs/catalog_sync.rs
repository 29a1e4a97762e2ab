//! The catalogue sync workers: upstream product lists merged into the live catalog.

use crate::domain::catalog::Product;
use crate::domain::upstream_catalogue::{CatalogueStore, CatalogueStoreError, Claim};
use crate::providers::datamart::adapter::DatamartAdapter;
use crate::providers::datamart::ID as DATAMART;
use crate::providers::smartcall::adapter::{CatalogFetch, SmartcallAdapter};
use crate::providers::smartcall::catalog::products_from_listing;
use crate::providers::smartcall::ID as SMARTCALL;
use crate::service::catalog::CatalogHandle;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// One upstream's product list, synced on demand.
#[async_trait]
pub trait CatalogSync: Send + Sync + 'static {
    fn upstream(&self) -> &'static str;
    /// One sync; how many products the upstream listed (None: unchanged).
    async fn run_once(&self) -> Result<Option<usize>, String>;
}

/// Sync every `interval` (the first sync is start-up's), keeping the current catalog
/// when a sync fails. For Smartcall the interval is the reload interval: most runs only
/// look at the shared listing's revision.
pub fn spawn(sync: Arc<dyn CatalogSync>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = sync.run_once().await {
                tracing::warn!(upstream = sync.upstream(), error = %e, "catalog sync failed; keeping the current catalog");
            }
        }
    })
}

/// How often an instance with no listing yet looks for the one another is fetching.
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Keeps Smartcall's product list in the catalog from the listing every instance
/// shares (issue 24): each run re-reads the stored listing if its revision moved, and
/// when it is older than `max_age`, whichever instance takes the fetch lease fetches it
/// (with its ETag, so that an unchanged list costs a 304) and stores it for the others.
pub struct SmartcallSync {
    adapter: Arc<SmartcallAdapter>,
    catalog: Arc<CatalogHandle>,
    store: Arc<dyn CatalogueStore>,
    max_age: Duration,
    lease: Duration,
    /// The revision this instance's catalog holds (0: none yet).
    loaded: Mutex<i64>,
}

impl SmartcallSync {
    /// `max_age`: how old the stored listing may get before it is fetched again.
    pub fn new(
        adapter: Arc<SmartcallAdapter>,
        catalog: Arc<CatalogHandle>,
        store: Arc<dyn CatalogueStore>,
        max_age: Duration,
    ) -> Self {
        Self {
            lease: adapter.fetch_lease(),
            adapter,
            catalog,
            store,
            max_age,
            loaded: Mutex::new(0),
        }
    }

    fn take_up(&self, products: Vec<Product>) -> usize {
        let n = products.len();
        self.catalog.update(|c| c.with_synced(SMARTCALL, products));
        n
    }

    /// Fetch under the lease just taken and store what came. A failed fetch keeps the
    /// lease until it lapses, so an unreachable Smartcall is tried once a lease by the
    /// deployment, not by every instance at each reload.
    async fn fetch(&self, claim: Claim, loaded: &mut i64) -> Result<Option<usize>, String> {
        let store = |e: CatalogueStoreError| e.to_string();
        match self.adapter.fetch_products(claim.etag.as_deref()).await? {
            CatalogFetch::NotModified => {
                self.store
                    .confirm(SMARTCALL, claim.etag.as_deref())
                    .await
                    .map_err(store)?;
                Ok(None)
            }
            CatalogFetch::Products {
                etag,
                products,
                listing,
            } => {
                *loaded = self
                    .store
                    .publish(SMARTCALL, &listing, etag.as_deref())
                    .await
                    .map_err(store)?;
                let n = self.take_up(products);
                tracing::info!(products = n, "Smartcall catalog fetched and shared");
                Ok(Some(n))
            }
        }
    }
}

#[async_trait]
impl CatalogSync for SmartcallSync {
    fn upstream(&self) -> &'static str {
        SMARTCALL
    }

    /// An instance that has no listing yet (at start) waits up to a lease for the one
    /// another instance is fetching, rather than starting without Smartcall's products.
    async fn run_once(&self) -> Result<Option<usize>, String> {
        let store = |e: CatalogueStoreError| e.to_string();
        let mut loaded = self.loaded.lock().await;
        let give_up = Instant::now() + self.lease;
        loop {
            let stored = self
                .store
                .stored(SMARTCALL, *loaded, self.max_age)
                .await
                .map_err(store)?;
            let mut synced = None;
            if let Some(listing) = stored.listing {
                let n = self.take_up(products_from_listing(&listing)?);
                *loaded = stored.revision;
                tracing::info!(
                    products = n,
                    revision = *loaded,
                    "Smartcall catalog read from the shared listing"
                );
                synced = Some(n);
            }
            if stored.due {
                if let Some(claim) = self
                    .store
                    .claim_fetch(SMARTCALL, self.max_age, self.lease)
                    .await
                    .map_err(store)?
                {
                    return Ok(self.fetch(claim, &mut loaded).await?.or(synced));
                }
            }
            if *loaded > 0 || Instant::now() >= give_up {
                return Ok(synced);
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }
}

/// Syncs DataMart's `/v1/products` (no ETag: the whole list each time).
pub struct DatamartSync {
    adapter: Arc<DatamartAdapter>,
    catalog: Arc<CatalogHandle>,
}

impl DatamartSync {
    pub fn new(adapter: Arc<DatamartAdapter>, catalog: Arc<CatalogHandle>) -> Self {
        Self { adapter, catalog }
    }
}

#[async_trait]
impl CatalogSync for DatamartSync {
    fn upstream(&self) -> &'static str {
        DATAMART
    }

    async fn run_once(&self) -> Result<Option<usize>, String> {
        let products = self.adapter.fetch_products().await?;
        let n = products.len();
        self.catalog.update(|c| c.with_synced(DATAMART, products));
        tracing::info!(products = n, "DataMart catalog synced");
        Ok(Some(n))
    }
}
