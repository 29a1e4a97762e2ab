//! DataMart's `/v1/products` as catalog products: data bundles in GHS at DataMart's
//! fixed price, named by network, capacity and validity so a reseller can tell them apart.

use super::wire::ProductData;
use super::ID;
use crate::domain::catalog::{Product, ProductKind, Route};

/// DataMart's product names → our operator names. The reseller API says `YELLOW`, the
/// developer API `YELLO` (providers.md §2); both are MTN.
const NETWORKS: &[(&str, &str)] = &[
    ("YELLOW", "MTN"),
    ("YELLO", "MTN"),
    ("MTN", "MTN"),
    ("TELECEL", "TELECEL"),
    ("AT_PREMIUM", "AIRTELTIGO"),
    ("AIRTELTIGO", "AIRTELTIGO"),
];

fn network(name: &str) -> Option<&'static str> {
    NETWORKS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, op)| *op)
}

/// `"30 days"` → `"30D"`, `"1 hour"` → `"1H"`; anything else is left out of the id.
fn validity_code(validity: &str) -> Option<String> {
    let mut parts = validity.split_whitespace();
    let n: u32 = parts.next()?.parse().ok()?;
    let unit = parts.next()?.chars().next()?.to_ascii_uppercase();
    Some(format!("{n}{unit}"))
}

/// One listed product as ours, or `None` when it is not for sale (inactive, not in
/// GHS, a network we do not know, a price that is not positive).
pub fn product(p: &ProductData) -> Option<Product> {
    let operator = network(&p.name)?;
    if !p.status.eq_ignore_ascii_case("active") || p.currency != "GHS" || p.price <= rust_decimal::Decimal::ZERO {
        return None;
    }
    let capacity = p.capacity.trim().to_ascii_uppercase();
    let validity = p.validity.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let id = match validity.and_then(validity_code) {
        Some(v) => format!("GH_{operator}_DATA_{capacity}_{v}"),
        None => format!("GH_{operator}_DATA_{capacity}"),
    };
    let description = match validity {
        Some(v) => format!("{operator} Ghana data bundle {capacity}, valid {v}"),
        None => format!("{operator} Ghana data bundle {capacity}"),
    };
    Some(Product {
        id,
        country: "GH".into(),
        operator: operator.into(),
        kind: ProductKind::Data,
        currency: "GHS".into(),
        description,
        fixed_amount: Some(p.price),
        min_amount: None,
        max_amount: None,
        routes: vec![Route {
            upstream: ID.into(),
            product: p.product_code.clone(),
            // What DataMart's purchase takes: its product name and the capacity.
            operator: Some(p.name.clone()),
            service: None,
            sku: Some(capacity),
            amount_divisor: None,
            fixed_amount: Some(p.price),
            upstream_min: None,
            upstream_max: None,
            network_auto_correct: false,
        }],
    })
}

/// The whole listing; a product id listed twice keeps its first entry.
pub fn products(listed: &[ProductData]) -> Vec<Product> {
    let mut seen = std::collections::HashSet::new();
    listed
        .iter()
        .filter_map(product)
        .filter(|p| seen.insert(p.id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn listed(name: &str, capacity: &str, validity: Option<&str>, status: &str) -> ProductData {
        ProductData {
            product_code: format!("{name}_{capacity}"),
            name: name.into(),
            category: Some("data".into()),
            capacity: capacity.into(),
            capacity_value: None,
            capacity_unit: None,
            validity: validity.map(str::to_string),
            price: dec!(5.50),
            currency: "GHS".into(),
            status: status.into(),
        }
    }

    #[test]
    fn products_are_named_by_network_capacity_and_validity() {
        let p = product(&listed("YELLOW", "1gb", Some("30 days"), "active")).unwrap();
        assert_eq!(p.id, "GH_MTN_DATA_1GB_30D");
        assert_eq!(p.description, "MTN Ghana data bundle 1GB, valid 30 days");
        assert_eq!((p.country.as_str(), p.currency.as_str()), ("GH", "GHS"));
        assert_eq!(p.fixed_amount, Some(dec!(5.50)));
        let route = &p.routes[0];
        assert_eq!(route.operator.as_deref(), Some("YELLOW"));
        assert_eq!(route.sku.as_deref(), Some("1GB"));
        assert!(route.accepts(dec!(5.50)) && !route.accepts(dec!(5)));
        assert_eq!(
            product(&listed("YELLOW", "500MB", None, "active")).unwrap().id,
            "GH_MTN_DATA_500MB"
        );
    }

    #[test]
    fn what_is_not_for_sale_is_left_out() {
        assert!(product(&listed("YELLOW", "1GB", None, "inactive")).is_none());
        assert!(product(&listed("GLO", "1GB", None, "active")).is_none());
        let mut cedis = listed("YELLOW", "1GB", None, "active");
        cedis.currency = "USD".into();
        assert!(product(&cedis).is_none());
        let twice = [
            listed("YELLOW", "1GB", None, "active"),
            listed("YELLO", "1GB", None, "active"),
        ];
        assert_eq!(products(&twice).len(), 1);
    }
}
