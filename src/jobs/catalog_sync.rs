//! The catalogue sync workers: upstream product lists merged into the live catalog.

use crate::providers::datamart::adapter::DatamartAdapter;
use crate::providers::datamart::ID as DATAMART;
use crate::providers::smartcall::adapter::{CatalogFetch, SmartcallAdapter};
use crate::providers::smartcall::ID as SMARTCALL;
use crate::service::catalog::CatalogHandle;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
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
/// when a sync fails.
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

/// Syncs Smartcall's product list into the catalog, remembering the ETag so that an
/// unchanged list costs a 304.
pub struct SmartcallSync {
    adapter: Arc<SmartcallAdapter>,
    catalog: Arc<CatalogHandle>,
    etag: Mutex<Option<String>>,
}

impl SmartcallSync {
    pub fn new(adapter: Arc<SmartcallAdapter>, catalog: Arc<CatalogHandle>) -> Self {
        Self {
            adapter,
            catalog,
            etag: Mutex::new(None),
        }
    }
}

#[async_trait]
impl CatalogSync for SmartcallSync {
    fn upstream(&self) -> &'static str {
        SMARTCALL
    }

    async fn run_once(&self) -> Result<Option<usize>, String> {
        let mut etag = self.etag.lock().await;
        match self.adapter.fetch_products(etag.as_deref()).await? {
            CatalogFetch::NotModified => Ok(None),
            CatalogFetch::Products {
                etag: new_etag,
                products,
            } => {
                let n = products.len();
                self.catalog.update(|c| c.with_synced(SMARTCALL, products));
                *etag = new_etag;
                tracing::info!(products = n, "Smartcall catalog synced");
                Ok(Some(n))
            }
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
