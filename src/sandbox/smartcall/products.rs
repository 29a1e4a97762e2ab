//! The product list (`/smartload/networks`) with the recorded quirks and its ETag.

use super::answers::number;
use super::auth::check_bearer;
use super::state::SimState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// One product of the simulated list; `code` is the raw space-padded type code.
pub(super) struct SimProduct {
    pub(super) network_id: i64,
    pub(super) network: &'static str,
    pub(super) type_id: i64,
    pub(super) code: Option<&'static str>,
    pub(super) type_name: &'static str,
    pub(super) fixed: bool,
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) min: Decimal,
    pub(super) max: Decimal,
    pub(super) discount: Decimal,
    pub(super) retail: Decimal,
    pub(super) pin: bool,
}

#[rustfmt::skip]
pub(super) fn sim_products(revision: u32) -> Vec<SimProduct> {
    let open = dec!(99999.99);
    let p = |network_id, network, type_id, code, type_name, fixed, id, name: &str, min, max, discount, retail, pin| SimProduct {
        network_id, network, type_id, code, type_name, fixed, id, name: name.to_string(), min, max, discount, retail, pin,
    };
    let mut list = vec![
        // Pinless airtime product ids as recorded: 62 Vodacom, 63 MTN, 189 Cell C, 24 Telkom Mobile.
        p(1, "Vodacom", 1, Some("A "), "Airtime", false, 62, "Vodacom Airtime", dec!(2), dec!(1000), dec!(5.5), open, false),
        p(1, "Vodacom", 5, Some("D "), "Data", true, 1101, "Vodacom 1GB Data", dec!(0), dec!(0), dec!(4), dec!(99), false),
        p(1, "Vodacom", 5, Some("D "), "Data", true, 1102, "Vodacom 100MB Data", dec!(0), dec!(0), dec!(4), dec!(29), false),
        p(1, "Vodacom", 3, Some("S "), "SMS", true, 1201, "Vodacom 100 SMS", dec!(0), dec!(0), dec!(3), dec!(20), false),
        p(1, "Vodacom", 9, None, "Other", false, 1301, "Vodacom Other", dec!(1), dec!(100), dec!(1), open, false),
        // MTN, Cell C and Telkom airtime stop at 999 in the real listing (issue 18).
        p(2, "MTN", 1, Some("A "), "Airtime", false, 63, "MTN Airtime", dec!(5), dec!(999), dec!(5), open, false),
        p(2, "MTN", 6, Some("SD"), "Social Data", true, 2101, "MTN 1GB Data", dec!(0), dec!(0), dec!(4), dec!(99), false),
        p(2, "MTN", 7, Some("V "), "Voucher", true, 2201, "MTN R12 Voucher", dec!(0), dec!(0), dec!(3), dec!(12), true),
        p(3, "Cell C", 1, Some("A "), "Airtime", false, 189, "Cell C Airtime", dec!(5), dec!(999), dec!(6), open, false),
        p(3, "Cell C", 8, Some("WD"), "WhatsApp Data", true, 3101, "Cell C 500MB Data", dec!(0), dec!(0), dec!(4), dec!(49), false),
        // Cell C's data bundle types as listed (issue 18); names, ids and prices unverified.
        p(3, "Cell C", 20, Some("P3"), "Data 3 day", true, 3200, "Cell C 300MB 3 days", dec!(0), dec!(0), dec!(4), dec!(15), false),
        p(3, "Cell C", 21, Some("P6"), "Data 6 day", true, 3201, "Cell C 600MB 6 days", dec!(0), dec!(0), dec!(4), dec!(29), false),
        p(3, "Cell C", 22, Some("FD"), "Data Daily", true, 3202, "Cell C 100MB Daily", dec!(0), dec!(0), dec!(4), dec!(7), false),
        p(3, "Cell C", 23, Some("ND"), "Night Data", true, 3203, "Cell C 1GB Night", dec!(0), dec!(0), dec!(4), dec!(19), false),
        p(3, "Cell C", 24, Some("RH"), "Data Hourly", true, 3204, "Cell C 500MB 1 hour", dec!(0), dec!(0), dec!(4), dec!(9), false),
        p(3, "Cell C", 25, Some("M "), "Data Monthly", true, 3205, "Cell C 2GB Monthly", dec!(0), dec!(0), dec!(4), dec!(149), false),
        p(3, "Cell C", 26, Some("L "), "Data LTE", true, 3206, "Cell C 5GB LTE", dec!(0), dec!(0), dec!(4), dec!(249), false),
        p(3, "Cell C", 27, Some("FM"), "Data FM", true, 3207, "Cell C 1GB FM", dec!(0), dec!(0), dec!(4), dec!(59), false),
        p(3, "Cell C", 28, Some("R "), "Data Roaming", true, 3208, "Cell C 1GB Roaming", dec!(0), dec!(0), dec!(4), dec!(199), false),
        p(3, "Cell C", 29, Some("W "), "Data Weekly", true, 3209, "Cell C 1GB Weekly", dec!(0), dec!(0), dec!(4), dec!(69), false),
        p(9, "Telkom Mobile", 1, Some("A "), "Airtime", false, 24, "Telkom Mobile Airtime", dec!(5), dec!(999), dec!(6), open, false),
        p(9, "Telkom Mobile", 10, Some("X "), "Data", true, 9101, "Telkom 2GB Data", dec!(0), dec!(0), dec!(4), dec!(149), false),
        // Listed alongside the South African networks; prices unverified.
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1501, "Vodacom Mozambique 50 MT", dec!(0), dec!(0), dec!(3), dec!(50), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1502, "Vodacom Mozambique 100 MT", dec!(0), dec!(0), dec!(3), dec!(100), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1503, "Vodacom Mozambique 200 MT", dec!(0), dec!(0), dec!(3), dec!(200), false),
        p(11, "Vodacom Mozambique", 1, Some("A "), "Airtime", true, 1504, "Vodacom Mozambique 500 MT", dec!(0), dec!(0), dec!(3), dec!(500), false),
        p(13, "Electricity-Eskom", 11, Some("E "), "Electricity", false, 1300, "Eskom Prepaid", dec!(20), dec!(3000), dec!(1), open, false),
    ];
    for r in 1..=revision {
        let name = format!("Vodacom Promo {r}GB");
        list.push(p(1, "Vodacom", 5, Some("D "), "Data", true, 1190 + i64::from(r), &name, dec!(0), dec!(0), dec!(4), Decimal::from(50 * r), false));
    }
    list
}

/// The product list with the recorded quirks: every product twice (smsIndicator false
/// then true, the SMS twin at a lower discount), space-padded and null type codes,
/// airtime money as 4-decimal numbers, fixed products' money as strings.
/// Products of one type: (code, description, fixedAmount, products), by type id.
type Types = BTreeMap<i64, (Option<&'static str>, &'static str, bool, Vec<Value>)>;

fn networks_body(revision: u32) -> Value {
    let mut networks: BTreeMap<i64, (&str, Types)> = BTreeMap::new();
    for p in sim_products(revision) {
        let entry = networks.entry(p.network_id).or_insert((p.network, BTreeMap::new()));
        let types = entry
            .1
            .entry(p.type_id)
            .or_insert((p.code, p.type_name, p.fixed, Vec::new()));
        for sms in [false, true] {
            let discount = if sms { p.discount - dec!(0.5) } else { p.discount };
            let money = |d: Decimal| {
                if p.fixed {
                    Value::String(format!("{d:.2}"))
                } else {
                    let mut d = d;
                    d.rescale(4);
                    number(d)
                }
            };
            types.3.push(json!({
                "id": p.id, "name": p.name, "description": p.name, "typeCode": p.code,
                "minAmount": money(p.min), "maxAmount": money(p.max), "discountPercentage": money(discount),
                "retailValue": money(p.retail), "pinIndicator": p.pin, "smsIndicator": sms,
            }));
        }
    }
    let list: Vec<Value> = networks
        .into_iter()
        .map(|(id, (name, types))| {
            let types: Vec<Value> = types
                .into_iter()
                .map(|(tid, (code, desc, fixed, products))| {
                    json!({"id": tid, "code": code, "description": desc, "fixedAmount": fixed, "products": products})
                })
                .collect();
            json!({"id": id, "description": name, "productTypes": types})
        })
        .collect();
    json!({ "networks": list })
}

pub(super) async fn networks(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(response) = check_bearer(&state, &headers) {
        return response.into_response();
    }
    state.catalog_fetches.fetch_add(1, Ordering::SeqCst);
    let revision = state.lock().catalog_revision;
    let body = networks_body(revision).to_string();
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(body.as_bytes())[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::ETAG, etag), (header::CONTENT_TYPE, "application/json".into())],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_list_has_the_recorded_quirks() {
        let body = networks_body(0);
        let vodacom = &body["networks"][0];
        assert_eq!(vodacom["description"], "Vodacom");
        let airtime = &vodacom["productTypes"][0];
        assert_eq!(airtime["code"], "A ");
        let products = airtime["products"].as_array().unwrap();
        assert_eq!(products.len(), 2, "each product twice");
        assert_eq!(
            (
                products[0]["smsIndicator"].as_bool(),
                products[1]["smsIndicator"].as_bool()
            ),
            (Some(false), Some(true))
        );
        assert_eq!(products[0]["retailValue"].to_string(), "99999.9900");
        assert_eq!(products[0]["minAmount"].to_string(), "2.0000");
        let types = vodacom["productTypes"].as_array().unwrap();
        let data = &types.iter().find(|t| t["code"] == "D ").unwrap()["products"][0];
        assert_eq!(data["retailValue"], "99.00", "fixed products' money as strings");
        let text = body.to_string();
        assert!(text.contains(r#""code":null"#));
    }
}
