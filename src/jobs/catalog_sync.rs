//! The catalogue sync worker: upstream product lists merged into the live catalog.

use crate::providers::smartcall::adapter::{CatalogFetch, SmartcallAdapter};
use crate::providers::smartcall::ID as SMARTCALL;
use crate::service::catalog::CatalogHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

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

    /// One sync; how many products the upstream listed (None: unchanged).
    pub async fn run_once(&self) -> Result<Option<usize>, String> {
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

    pub fn spawn(self: Arc<Self>, interval: Duration) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if let Err(e) = self.run_once().await {
                    tracing::warn!(error = %e, "Smartcall catalog sync failed; keeping the current catalog");
                }
            }
        })
    }
}
