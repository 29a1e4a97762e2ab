//! The live catalog: configured products plus what upstreams' product lists add,
//! swapped atomically when a sync brings changes.

use crate::domain::catalog::Catalog;
use std::sync::{Arc, RwLock};

pub struct CatalogHandle {
    current: RwLock<Arc<Catalog>>,
}

impl CatalogHandle {
    pub fn new(catalog: Catalog) -> Self {
        Self {
            current: RwLock::new(Arc::new(catalog)),
        }
    }

    /// A consistent snapshot.
    pub fn current(&self) -> Arc<Catalog> {
        Arc::clone(&self.current.read().expect("catalog lock"))
    }

    /// Replace the catalog with `f` of the current one (an upstream sync's changes).
    pub fn update(&self, f: impl FnOnce(&Catalog) -> Catalog) {
        let mut guard = self.current.write().expect("catalog lock");
        *guard = Arc::new(f(&guard));
    }
}
