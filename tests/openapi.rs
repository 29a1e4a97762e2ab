//! The API description as served: unique operation ids, every response's body and
//! every error status described, money as exact decimal numbers (never `double`), and
//! every route the router serves described. (`.ci/run` also passes it through an
//! OpenAPI 3.1 validator.)

mod common;

use common::{send, TestApp};
use serde_json::Value;
use std::collections::HashSet;

async fn document() -> (TestApp, Value) {
    let app = TestApp::spawn().await;
    let (status, doc) = send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(status, 200);
    (app, doc)
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.to_uppercase(), path.clone(), op));
        }
    }
    ops
}

#[tokio::test]
async fn operation_ids_are_unique_and_every_response_has_a_described_body() {
    let (_app, doc) = document().await;
    assert_eq!(doc["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "{} operations", ops.len());
    let mut ids = HashSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(
            ids.insert(id.to_string()),
            "{method} {path}: operationId {id} used twice"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success"
        );
        for (status, response) in responses {
            // JSON mostly; an export or a printable page says its own media type.
            let described = response["content"]
                .as_object()
                .is_some_and(|media| !media.is_empty() && media.values().all(|m| m["schema"].is_object()));
            assert!(described, "{method} {path} {status}: body not described");
        }
        let errors: Vec<_> = responses.keys().filter(|s| !s.starts_with('2')).collect();
        if !path.starts_with("/health") {
            assert!(!errors.is_empty(), "{method} {path}: no error status described");
        }
    }
}

#[tokio::test]
async fn money_is_described_as_an_exact_decimal_number() {
    let (_app, doc) = document().await;
    let text = doc.to_string();
    assert!(!text.contains("\"double\""), "a number is described as a binary float");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["DecimalNumber"]["type"], "number");
    assert!(schemas["DecimalNumber"].get("format").is_none());
    for body in ["TopupBody", "QuoteBody", "PurchaseBody", "ProductQuoteBody"] {
        assert_eq!(
            schemas[body]["properties"]["amount"]["$ref"], "#/components/schemas/DecimalNumber",
            "{body}"
        );
    }
    // Every reference resolves.
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(schemas[name].is_object(), "dangling $ref {name}");
    }
}

#[tokio::test]
async fn every_described_route_is_served_and_errors_match_their_description() {
    let (app, doc) = document().await;
    // Unauthenticated calls to every operation: the answer's status is one the
    // description lists, with a JSON body (never an empty one, nor plain text unless
    // described so).
    for (method, path, op) in operations(&doc) {
        let concrete = path.replace("{phone}", "5512345678").replace("{upstream}", "datamart");
        // Any other path parameter: a value nothing has.
        let concrete = concrete
            .split('/')
            .map(|part| if part.starts_with('{') { "X" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let request = app
            .client
            .request(method.parse().unwrap(), app.url(&concrete))
            .header("content-type", "application/json")
            .body("{}");
        let (status, body) = send(request).await;
        assert!(
            status != 404 && status != 405,
            "{method} {path} is not served: {status}"
        );
        assert!(
            op["responses"].get(status.to_string()).is_some(),
            "{method} {path} answered {status}, which is not described: {body}"
        );
        // JSON, unless the description says this answer is plain text (/metrics).
        let plain_text = op["responses"][status.to_string()]["content"]
            .as_object()
            .is_some_and(|media| media.keys().any(|m| m.starts_with("text/plain")));
        assert!(
            body.get("raw").is_none() || plain_text,
            "{method} {path}: not JSON: {body}"
        );
    }
}
