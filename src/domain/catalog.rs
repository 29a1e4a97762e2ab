//! The product catalog: data loaded from `config/products.toml`, never hard-coded.
//! Each product carries an ordered list of routes (upstream + its product code);
//! the router tries them in order, failing over only after a definite retryable failure.

use crate::domain::money::round_half_up;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// The operator of products that work out the number's network themselves.
pub const AUTO_OPERATOR: &str = "AUTO";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Airtime,
    Data,
    Bundle,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Provider id, e.g. "latcom".
    pub upstream: String,
    /// The upstream's product code.
    pub product: String,
    /// Operator name in the upstream's vocabulary.
    pub operator: Option<String>,
    pub service: Option<String>,
    pub sku: Option<String>,
    /// What the upstream is sent is face ÷ divisor (e.g. "1.16" where the upstream adds VAT).
    pub amount_divisor: Option<Decimal>,
    /// The one face value this route sells (an upstream product of a fixed denomination).
    pub fixed_amount: Option<Decimal>,
    /// The range the upstream accepts, in its own terms (after `amount_divisor`).
    pub upstream_min: Option<Decimal>,
    pub upstream_max: Option<Decimal>,
    /// Ask the upstream to switch variable airtime to the network the number is on now
    /// (Smartcall's AirtimeNetworkAutoCorrect).
    #[serde(default)]
    pub network_auto_correct: bool,
}

impl Route {
    pub fn upstream_amount(&self, face: Decimal) -> Decimal {
        match self.amount_divisor {
            Some(d) => round_half_up(face / d, 2),
            None => face,
        }
    }

    /// Whether the upstream takes this face value on this route: a route that cannot is
    /// never tried for it, not even as a failover.
    pub fn accepts(&self, face: Decimal) -> bool {
        if let Some(fixed) = self.fixed_amount {
            return face == fixed;
        }
        let sent = self.upstream_amount(face);
        self.upstream_min.is_none_or(|min| sent >= min) && self.upstream_max.is_none_or(|max| sent <= max)
    }

    /// This route's open range in face values, where it limits one (for listings:
    /// the bounds are the upstream's times the divisor).
    fn face_range(&self) -> Option<(Option<Decimal>, Option<Decimal>)> {
        if self.fixed_amount.is_some() || (self.upstream_min.is_none() && self.upstream_max.is_none()) {
            return None;
        }
        let face = |v: Decimal| round_half_up(v * self.amount_divisor.unwrap_or(Decimal::ONE), 2);
        Some((self.upstream_min.map(face), self.upstream_max.map(face)))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub operator: String,
    pub kind: ProductKind,
    pub currency: String,
    pub description: String,
    pub fixed_amount: Option<Decimal>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("this product is sold only at {0}")]
    NotFixedAmount(Decimal),
    #[error("amount must be between {0} and {1}")]
    OutOfRange(Decimal, Decimal),
    #[error("{amount} cannot be delivered: this product sells {offer}")]
    Undeliverable { amount: Decimal, offer: String },
}

/// What a product really delivers, in face values: the union of its routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Fixed denominations sold by fixed-amount routes, ascending.
    pub denominations: Vec<Decimal>,
    /// Open ranges (min, max), ascending by min.
    pub ranges: Vec<(Decimal, Decimal)>,
}

impl std::fmt::Display for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.denominations.is_empty() {
            let list: Vec<String> = self.denominations.iter().map(|d| format!("{d:.2}")).collect();
            parts.push(list.join(", "));
        }
        parts.extend(self.ranges.iter().map(|(a, b)| format!("{a:.2} to {b:.2}")));
        f.write_str(&parts.join(" or "))
    }
}

impl Product {
    pub fn check_amount(&self, amount: Decimal) -> Result<(), AmountError> {
        if let Some(fixed) = self.fixed_amount {
            return if amount == fixed {
                Ok(())
            } else {
                Err(AmountError::NotFixedAmount(fixed))
            };
        }
        let (min, max) = (
            self.min_amount.unwrap_or(Decimal::ZERO),
            self.max_amount.unwrap_or(Decimal::MAX),
        );
        if amount < min || amount > max {
            return Err(AmountError::OutOfRange(min, max));
        }
        if !self.routes.iter().any(|r| r.accepts(amount)) {
            return Err(AmountError::Undeliverable {
                amount,
                offer: self.offer().to_string(),
            });
        }
        Ok(())
    }

    /// Whether `operator` (upper case) names this product's operator, in our vocabulary
    /// or in one of its routes' (e.g. TELEFONICA for MOVISTAR). A product that detects
    /// the network per number takes any operator as a hint.
    pub fn sold_by(&self, operator: &str) -> bool {
        self.operator == AUTO_OPERATOR
            || self.operator.eq_ignore_ascii_case(operator)
            || self
                .routes
                .iter()
                .filter_map(|r| r.operator.as_deref())
                .any(|o| o.eq_ignore_ascii_case(operator))
    }

    /// The union of what the routes take, clipped to the product's own rule.
    pub fn offer(&self) -> Offer {
        if let Some(fixed) = self.fixed_amount {
            return Offer {
                denominations: vec![fixed],
                ranges: Vec::new(),
            };
        }
        let (min, max) = (
            self.min_amount.unwrap_or(Decimal::ZERO),
            self.max_amount.unwrap_or(Decimal::MAX),
        );
        let mut denominations: Vec<Decimal> = self
            .routes
            .iter()
            .filter_map(|r| r.fixed_amount)
            .filter(|a| (min..=max).contains(a))
            .map(|a| a.normalize())
            .collect();
        denominations.sort();
        denominations.dedup();
        let mut ranges: Vec<(Decimal, Decimal)> = self
            .routes
            .iter()
            .filter(|r| r.fixed_amount.is_none())
            .map(|r| match r.face_range() {
                Some((lo, hi)) => (lo.map_or(min, |l| l.max(min)), hi.map_or(max, |h| h.min(max))),
                None => (min, max),
            })
            .map(|(lo, hi)| (lo.normalize(), hi.normalize()))
            .filter(|(lo, hi)| lo <= hi)
            .collect();
        ranges.sort();
        ranges.dedup();
        // A denomination inside an open range adds nothing to the listing.
        denominations.retain(|d| !ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&d)));
        Offer { denominations, ranges }
    }
}

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("product {0}: give either fixed_amount or min_amount and max_amount")]
    AmountRule(String),
    #[error("product {0}: needs at least one route")]
    NoRoute(String),
    #[error("product {0} is defined twice")]
    Duplicate(String),
    #[error("product {0}: route to unknown upstream {1}")]
    UnknownUpstream(String, String),
    #[error("product {0}: advertises {1}, which none of its routes delivers")]
    Undeliverable(String, Decimal),
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: HashMap<String, Product>,
    /// Ids that came from an upstream's product list rather than from config.
    synced: HashSet<String>,
}

impl Catalog {
    /// Build and validate; `upstreams` are the provider ids the binary knows.
    pub fn new(products: Vec<Product>, upstreams: &[&str]) -> Result<Self, CatalogError> {
        let mut map = HashMap::new();
        for p in products {
            let ranged = p.min_amount.is_some() && p.max_amount.is_some();
            if p.fixed_amount.is_some() == ranged || (!ranged && (p.min_amount.is_some() || p.max_amount.is_some())) {
                return Err(CatalogError::AmountRule(p.id));
            }
            if p.routes.is_empty() {
                return Err(CatalogError::NoRoute(p.id));
            }
            if let Some(r) = p.routes.iter().find(|r| !upstreams.contains(&r.upstream.as_str())) {
                return Err(CatalogError::UnknownUpstream(p.id.clone(), r.upstream.clone()));
            }
            // The advertised bounds are what resellers read: each must really be deliverable.
            let edges = [p.fixed_amount, p.min_amount, p.max_amount];
            if let Some(edge) = edges
                .into_iter()
                .flatten()
                .find(|a| !p.routes.iter().any(|r| r.accepts(*a)))
            {
                return Err(CatalogError::Undeliverable(p.id, edge));
            }
            let id = p.id.clone();
            if map.insert(id.clone(), p).is_some() {
                return Err(CatalogError::Duplicate(id));
            }
        }
        Ok(Self {
            products: map,
            synced: HashSet::new(),
        })
    }

    /// This catalog with `upstream`'s synced products replaced by `synced`. Configured
    /// products win: a synced product is skipped when its id is taken or when a
    /// configured product already sells the same upstream product.
    pub fn with_synced(&self, upstream: &str, synced: Vec<Product>) -> Self {
        let from_upstream = |p: &Product| p.routes.iter().all(|r| r.upstream == upstream);
        let mut products: HashMap<String, Product> = self
            .products
            .iter()
            .filter(|(id, p)| !(self.synced.contains(*id) && from_upstream(p)))
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        let mut synced_ids: HashSet<String> = self
            .synced
            .iter()
            .filter(|id| products.contains_key(*id))
            .cloned()
            .collect();
        let covered: HashSet<String> = products
            .values()
            .filter(|p| !synced_ids.contains(&p.id))
            .flat_map(|p| {
                p.routes
                    .iter()
                    .filter(|r| r.upstream == upstream)
                    .map(|r| r.product.clone())
            })
            .collect();
        for p in synced {
            let sold = p.routes.iter().any(|r| covered.contains(&r.product));
            if sold || products.contains_key(&p.id) {
                continue;
            }
            synced_ids.insert(p.id.clone());
            products.insert(p.id.clone(), p);
        }
        Self {
            products,
            synced: synced_ids,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Product> {
        self.products.get(id)
    }

    /// All products, sorted by id for stable listings.
    pub fn all(&self) -> Vec<&Product> {
        let mut v: Vec<_> = self.products.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn product(fixed: Option<Decimal>, min: Option<Decimal>, max: Option<Decimal>) -> Product {
        Product {
            id: "P".into(),
            country: "MX".into(),
            operator: "MOVISTAR".into(),
            kind: ProductKind::Airtime,
            currency: "MXN".into(),
            description: "test".into(),
            fixed_amount: fixed,
            min_amount: min,
            max_amount: max,
            routes: vec![Route {
                upstream: "latcom".into(),
                product: "X".into(),
                operator: None,
                service: None,
                sku: None,
                amount_divisor: Some(dec!(1.16)),
                fixed_amount: None,
                upstream_min: None,
                upstream_max: None,
                network_auto_correct: false,
            }],
        }
    }

    /// LATCOM's Movistar shape: fixed XOOM 10 and 20, and TFE 20-2000 after ÷ 1.16.
    fn movistar() -> Product {
        let mut p = product(None, Some(dec!(10)), Some(dec!(2320)));
        let tfe = p.routes[0].clone();
        let xoom = |a: Decimal| Route {
            product: format!("XOOM_{a}_MXN"),
            amount_divisor: None,
            fixed_amount: Some(a),
            ..tfe.clone()
        };
        p.routes = vec![
            xoom(dec!(10)),
            xoom(dec!(20)),
            Route {
                upstream_min: Some(dec!(20)),
                upstream_max: Some(dec!(2000)),
                ..tfe.clone()
            },
        ];
        p
    }

    #[test]
    fn amounts_are_the_union_of_what_the_routes_take() {
        let mut p = movistar();
        for ok in [dec!(10), dec!(20), dec!(23.20), dec!(24), dec!(2320)] {
            assert_eq!(p.check_amount(ok), Ok(()), "{ok}");
        }
        for bad in [dec!(11), dec!(23.19)] {
            assert!(
                matches!(p.check_amount(bad), Err(AmountError::Undeliverable { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            p.check_amount(dec!(2320.01)),
            Err(AmountError::OutOfRange(..))
        ));
        p.max_amount = None;
        p.min_amount = None;
        assert!(matches!(
            p.check_amount(dec!(2320.01)),
            Err(AmountError::Undeliverable { .. })
        ));
        let p = movistar();
        assert_eq!(
            p.offer(),
            Offer {
                denominations: vec![dec!(10), dec!(20)],
                ranges: vec![(dec!(23.20), dec!(2320))]
            }
        );
        assert_eq!(
            p.check_amount(dec!(15)).unwrap_err().to_string(),
            "15 cannot be delivered: this product sells 10.00, 20.00 or 23.20 to 2320.00"
        );
        let mut overstated = movistar();
        overstated.max_amount = Some(dec!(5000));
        assert!(matches!(
            Catalog::new(vec![overstated], &["latcom"]),
            Err(CatalogError::Undeliverable(_, a)) if a == dec!(5000)
        ));
    }

    #[test]
    fn amount_rules() {
        let fixed = product(Some(dec!(30)), None, None);
        assert!(fixed.check_amount(dec!(30.00)).is_ok());
        assert_eq!(fixed.check_amount(dec!(31)), Err(AmountError::NotFixedAmount(dec!(30))));
        let ranged = product(None, Some(dec!(10)), Some(dec!(5000)));
        assert!(ranged.check_amount(dec!(10)).is_ok());
        assert!(ranged.check_amount(dec!(9.99)).is_err());
        assert!(ranged.check_amount(dec!(5000.01)).is_err());
    }

    #[test]
    fn catalog_rejects_ambiguous_amounts_and_unknown_upstreams() {
        assert!(Catalog::new(vec![product(Some(dec!(1)), Some(dec!(1)), Some(dec!(2)))], &["latcom"]).is_err());
        assert!(Catalog::new(vec![product(None, Some(dec!(1)), None)], &["latcom"]).is_err());
        assert!(Catalog::new(vec![product(Some(dec!(1)), None, None)], &["smartcall"]).is_err());
        assert!(Catalog::new(vec![product(Some(dec!(1)), None, None)], &["latcom"]).is_ok());
    }

    #[test]
    fn synced_products_replace_earlier_ones_but_never_configured_ones() {
        let mut configured = product(None, Some(dec!(2)), Some(dec!(1000)));
        configured.id = "ZA_VODACOM_AIRTIME".into();
        configured.routes[0].upstream = "smartcall".into();
        configured.routes[0].product = "62".into();
        let base = Catalog::new(vec![configured.clone()], &["smartcall"]).unwrap();
        let synced = |id: &str, code: &str| {
            let mut p = configured.clone();
            p.id = id.into();
            p.routes[0].product = code.into();
            p
        };
        let first = base.with_synced(
            "smartcall",
            vec![synced("ZA_VODACOM_62", "62"), synced("ZA_DATA_1", "900")],
        );
        assert!(
            first.get("ZA_VODACOM_62").is_none(),
            "already sold by a configured product"
        );
        assert!(first.get("ZA_DATA_1").is_some());
        let second = first.with_synced(
            "smartcall",
            vec![synced("ZA_DATA_2", "901"), synced("ZA_VODACOM_AIRTIME", "7")],
        );
        assert!(second.get("ZA_DATA_1").is_none(), "dropped from the upstream's list");
        assert!(second.get("ZA_DATA_2").is_some());
        assert_eq!(
            second.get("ZA_VODACOM_AIRTIME").unwrap().routes[0].product,
            "62",
            "configured wins"
        );
    }

    #[test]
    fn upstream_amount_divides_and_rounds_half_up() {
        let p = product(None, Some(dec!(10)), Some(dec!(5000)));
        assert_eq!(p.routes[0].upstream_amount(dec!(50)), dec!(43.10));
        assert_eq!(p.routes[0].upstream_amount(dec!(116)), dec!(100));
    }
}
