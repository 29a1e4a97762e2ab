//! Smartcall's product list (`/smartload/networks`) mapped onto our catalog products,
//! with the recorded quirks (providers.md §1) handled in one place.

use super::wire::{Network, NetworkProduct, NetworksResponse, ProductType};
use super::ID;
use crate::domain::catalog::{Product, ProductKind, Route};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;

/// Result of a conditional catalog fetch.
#[derive(Debug, Clone)]
pub enum CatalogFetch {
    /// 304: the `If-None-Match` ETag is still current.
    NotModified,
    Products {
        etag: Option<String>,
        products: Vec<Product>,
        /// The answer as Smartcall sent it, to be kept for the other instances, which
        /// map it with [`products_from_listing`].
        listing: String,
    },
}

/// The `retailValue` Smartcall puts on open-amount products.
pub const OPEN_AMOUNT_MARKER: Decimal = dec!(99999.99);

/// What a (trimmed) type code sells. Codes are space-padded CHAR(2) ("A "); SMS (S),
/// vouchers (V, they return a PIN we cannot deliver), electricity (E), null and
/// anything unlisted are not ours to sell. The data codes are those of the recorded
/// listings: D/X/SD/WD/P (providers.md §1) and Cell C's bundle types P3, P6, FD, ND,
/// RH, M, L, FM, R and W (issue 18; what each letter stands for is unrecorded).
pub fn kind_for(code: &str) -> Option<ProductKind> {
    match code.trim().to_ascii_uppercase().as_str() {
        "A" => Some(ProductKind::Airtime),
        "D" | "X" | "SD" | "WD" | "P" | "P3" | "P6" | "FD" | "ND" | "RH" | "M" | "L" | "FM" | "R" | "W" => {
            Some(ProductKind::Data)
        }
        _ => None,
    }
}

/// The country a network's products are for, by its listing id (the 2018 recording,
/// providers.md §1); `None` for a network not in it, which is not sold until added.
pub fn network_country(network_id: i64) -> Option<&'static str> {
    match network_id {
        1 | 2 | 3 | 4 | 8 | 9 | 12 | 13 | 15 | 16 => Some("ZA"),
        11 => Some("MZ"), // Vodacom Mozambique
        14 => Some("ZW"), // Econet
        _ => None,
    }
}

/// We sell Smartcall's products for South African numbers only: the price, currency
/// and number rules of its cross-border products (e.g. Vodacom Mozambique) are
/// unrecorded, and a South African number must never buy them.
const SOLD_IN: &str = "ZA";

/// Our operator name: the network description upper-cased ("Cell C" → "CELL C"). The
/// same rule is applied to `/utilities/simnetwork` answers so the two always agree.
pub fn operator_name(network: &str) -> String {
    network.trim().to_uppercase()
}

/// Our product id, e.g. `ZA_VODACOM_62`, `ZA_CELL_C_189`.
pub fn product_id(operator: &str, smartcall_id: i64) -> String {
    let slug: String = operator
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    format!("ZA_{slug}_{smartcall_id}")
}

/// A `/smartload/networks` answer's sellable products.
pub fn products_from_listing(listing: &str) -> Result<Vec<Product>, String> {
    let answer: NetworksResponse =
        serde_json::from_str(listing).map_err(|e| format!("unreadable Smartcall product list: {e}"))?;
    Ok(products_from_networks(&answer.networks))
}

/// Map every sellable product, once each, sorted by id.
pub fn products_from_networks(networks: &[Network]) -> Vec<Product> {
    // Every product is listed twice, once per smsIndicator (seed FAQ 1); keep the
    // no-SMS twin (we send sendSms false) unless it is the only one.
    let mut chosen: BTreeMap<String, (bool, Product)> = BTreeMap::new();
    for network in networks {
        let Some(name) = network.description.as_deref().filter(|d| !d.trim().is_empty()) else {
            continue;
        };
        if network.id.and_then(network_country) != Some(SOLD_IN) {
            continue;
        }
        let operator = operator_name(name);
        for product_type in &network.product_types {
            for item in &product_type.products {
                let Some(product) = map_product(name, &operator, product_type, item) else {
                    continue;
                };
                let sms = item.sms_indicator.unwrap_or(false);
                match chosen.get(&product.id) {
                    Some((existing_sms, _)) if !*existing_sms || sms => {}
                    _ => {
                        chosen.insert(product.id.clone(), (sms, product));
                    }
                }
            }
        }
    }
    chosen.into_values().map(|(_, p)| p).collect()
}

fn map_product(network: &str, operator: &str, product_type: &ProductType, item: &NetworkProduct) -> Option<Product> {
    let id = item.id?;
    let code = item.type_code.as_deref().or(product_type.code.as_deref())?;
    let kind = kind_for(code)?;
    if item.pin_indicator == Some(true) || item.recharge_indicator == Some(false) {
        return None;
    }
    let description = item
        .name
        .clone()
        .or_else(|| item.description.clone())
        .unwrap_or_else(|| format!("{network} {id}"));
    let (fixed_amount, min_amount, max_amount) = if product_type.fixed_amount == Some(true) {
        let value = item
            .retail_value
            .filter(|v| *v > Decimal::ZERO && *v < OPEN_AMOUNT_MARKER)?;
        (Some(value.normalize()), None, None)
    } else {
        let (min, max) = (item.min_amount?, item.max_amount?);
        if min > max {
            return None;
        }
        (None, Some(min.normalize()), Some(max.normalize()))
    };
    Some(Product {
        id: product_id(operator, id),
        country: SOLD_IN.into(),
        operator: operator.into(),
        kind,
        currency: "ZAR".into(),
        description,
        fixed_amount,
        min_amount,
        max_amount,
        routes: vec![Route {
            upstream: ID.into(),
            product: id.to_string(),
            operator: Some(network.to_string()),
            service: None,
            sku: None,
            amount_divisor: None,
            fixed_amount: None,
            upstream_min: None,
            upstream_max: None,
            network_auto_correct: false,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::smartcall::wire::NetworksResponse;

    #[test]
    fn recorded_sample_maps_to_one_ranged_airtime_product() {
        let body = r#"{"networks":[{"id":1,"description":"Vodacom","productTypes":[{"id":1,"code":"A ",
            "description":"Airtime","fixedAmount":false,"products":[
            {"id":62,"name":"Vodacom Airtime","description":"Vodacom Airtime","typeCode":"A ","minAmount":2.0000,
             "maxAmount":1000.0000,"discountPercentage":5.5000,"retailValue":99999.9900,"pinIndicator":false,"smsIndicator":false},
            {"id":62,"name":"Vodacom Airtime","description":"Vodacom Airtime","typeCode":"A ","minAmount":2.0000,
             "maxAmount":1000.0000,"discountPercentage":5.0000,"retailValue":99999.9900,"pinIndicator":false,"smsIndicator":true}]},
            {"id":7,"code":null,"description":"Other","fixedAmount":false,"products":[
            {"id":700,"name":"Mystery","typeCode":null,"minAmount":1,"maxAmount":2,"smsIndicator":false}]},
            {"id":3,"code":"S ","description":"SMS","fixedAmount":true,"products":[
            {"id":300,"name":"100 SMS","typeCode":"S ","retailValue":"20.00","smsIndicator":false}]}]}]}"#;
        let networks: NetworksResponse = serde_json::from_str(body).unwrap();
        let products = products_from_networks(&networks.networks);
        assert_eq!(products.len(), 1);
        let p = &products[0];
        assert_eq!(p.id, "ZA_VODACOM_62");
        assert_eq!(
            (p.country.as_str(), p.currency.as_str(), p.operator.as_str()),
            ("ZA", "ZAR", "VODACOM")
        );
        assert_eq!(p.kind, ProductKind::Airtime);
        assert_eq!(
            (p.min_amount, p.max_amount, p.fixed_amount),
            (Some(dec!(2)), Some(dec!(1000)), None)
        );
        assert_eq!(
            (p.routes[0].upstream.as_str(), p.routes[0].product.as_str()),
            ("smartcall", "62")
        );
    }

    #[test]
    fn fixed_data_products_take_their_retail_value() {
        let body = r#"{"networks":[{"id":3,"description":"Cell C","productTypes":[{"id":5,"code":"WD","description":"Data",
            "fixedAmount":true,"products":[{"id":3101,"name":"Cell C 500MB","typeCode":"WD","retailValue":"49.00",
            "discountPercentage":"4.0000","smsIndicator":true},
            {"id":3102,"name":"Open","typeCode":"WD","retailValue":99999.99,"smsIndicator":false}]}]}]}"#;
        let networks: NetworksResponse = serde_json::from_str(body).unwrap();
        let products = products_from_networks(&networks.networks);
        assert_eq!(products.len(), 1, "a fixed product without a real price is skipped");
        assert_eq!(products[0].id, "ZA_CELL_C_3101");
        assert_eq!(products[0].operator, "CELL C");
        assert_eq!(products[0].kind, ProductKind::Data);
        assert_eq!(products[0].fixed_amount, Some(dec!(49)));
    }

    /// A full listing in the real shape (providers.md §1: every product twice, padded
    /// and null type codes, open amounts at 99999.99), with the networks and bundle
    /// types issue 18 reports: Cell C's data types, MTN/Cell C/Telkom airtime up to 999,
    /// Vodacom Mozambique's airtime. Unverified, built from those reports: the Cell C
    /// and Mozambique product names, ids and prices, and Econet's product.
    fn full_listing() -> Vec<Product> {
        let networks: NetworksResponse = serde_json::from_str(include_str!("testdata/networks.json")).unwrap();
        products_from_networks(&networks.networks)
    }

    #[test]
    fn a_full_listing_maps_country_bundle_types_and_limits_faithfully() {
        let products = full_listing();
        assert!(
            products
                .iter()
                .all(|p| p.country == "ZA" && p.currency == "ZAR" && !p.operator.contains("MOZAMBIQUE")),
            "only South African networks are sold: {products:?}"
        );
        assert!(!products.iter().any(|p| p.operator == "ECONET"));
        let cell_c_data: Vec<&Product> = products
            .iter()
            .filter(|p| p.operator == "CELL C" && p.kind == ProductKind::Data)
            .collect();
        assert_eq!(cell_c_data.len(), 10, "P3, P6, FD, ND, RH, M, L, FM, R, W");
        let range = |id: &str| {
            let p = products.iter().find(|p| p.id == id).unwrap();
            (p.min_amount, p.max_amount)
        };
        assert_eq!(range("ZA_VODACOM_62"), (Some(dec!(2)), Some(dec!(1000))));
        for id in ["ZA_MTN_63", "ZA_CELL_C_189", "ZA_TELKOM_MOBILE_24"] {
            assert_eq!(range(id), (Some(dec!(5)), Some(dec!(999))), "{id}");
        }
        // Vouchers, SMS, electricity and the null-coded type are not sold.
        let airtime = products.iter().filter(|p| p.kind == ProductKind::Airtime).count();
        assert_eq!((airtime, products.len()), (4, 18), "4 airtime and 14 data, each once");
    }

    #[test]
    fn ids_and_kinds() {
        assert_eq!(product_id("TELKOM MOBILE", 24), "ZA_TELKOM_MOBILE_24");
        assert_eq!(kind_for("A "), Some(ProductKind::Airtime));
        assert_eq!(kind_for("SD"), Some(ProductKind::Data));
        for code in ["S ", "V ", "E ", "  ", "ZZ"] {
            assert_eq!(kind_for(code), None, "{code:?}");
        }
    }
}
