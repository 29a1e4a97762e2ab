//! Upstream adapters, each with its wire types, all calling out through the one
//! [`executor::Executor`], and the registry of those enabled (which names none).
//! Their simulators live in `crate::sandbox`.

pub mod datamart;
pub mod evolution;
pub mod executor;
pub mod fx;
pub mod latcom;
pub mod sealing;
pub mod session;
pub mod smartcall;

use crate::domain::catalog::{Product, Route};
use crate::domain::provider::Provider;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

/// The enabled upstreams, by id.
#[derive(Clone, Default)]
pub struct Providers {
    by_id: HashMap<&'static str, Arc<dyn Provider>>,
}

impl Providers {
    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.by_id.insert(provider.id(), provider);
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Provider>> {
        self.by_id.get(id)
    }

    /// The routes of a product that can deliver `amount` and whose upstream is enabled
    /// here, in order, with that upstream. A route that cannot take the amount is never
    /// a candidate, not even for failover.
    pub fn routes_for<'a>(
        &'a self,
        product: &'a Product,
        amount: Decimal,
    ) -> impl Iterator<Item = (&'a Route, &'a Arc<dyn Provider>)> {
        product
            .routes
            .iter()
            .filter(move |route| route.accepts(amount))
            .filter_map(|route| Some((route, self.get(&route.upstream)?)))
    }

    /// Whether any of the product's upstreams is enabled here (it can be offered).
    pub fn offers(&self, product: &Product) -> bool {
        product.routes.iter().any(|r| self.get(&r.upstream).is_some())
    }

    /// Every enabled upstream, by id (a stable order for health output).
    pub fn all(&self) -> Vec<&Arc<dyn Provider>> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by_key(|p| p.id());
        all
    }
}
