//! The errors every operation of a dialect can answer (a bad or oversized body, a body
//! not sent as JSON, credentials, rate limits, the database unreachable, an internal
//! error), added to the OpenAPI description once here instead of on every handler.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::Modify;

pub struct CommonErrors;

/// (status, description, applies to operations with a body / with credentials / all).
#[derive(Clone, Copy)]
enum When {
    WithBody,
    Authenticated,
    Always,
}

const COMMON: &[(&str, &str, When)] = &[
    ("400", "Invalid request body", When::WithBody),
    ("413", "Request body too large", When::WithBody),
    (
        "415",
        "Body not sent as Content-Type: application/json; nothing read or charged",
        When::WithBody,
    ),
    ("401", "Missing or invalid credentials", When::Authenticated),
    ("429", "Too many requests (Retry-After)", When::Authenticated),
    ("500", "Internal error", When::Always),
    (
        "503",
        "Database unreachable; nothing changed, retry later",
        When::Always,
    ),
];

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(body) = error_body(path) else { continue };
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common(op, body);
            }
        }
    }
}

/// The error schema of the dialect a path belongs to (none for the health endpoints).
fn error_body(path: &str) -> Option<&'static str> {
    if path.starts_with("/api/distributor/") {
        Some("DistributorErrorBody")
    } else if path.starts_with("/api/v1/") {
        // The notification service (seed 002) answers errors as {"detail": ...}.
        Some("Detail")
    } else if path.starts_with("/api/admin/") {
        Some("AdminErrorBody")
    } else if path.starts_with("/api/") {
        Some("RelierErrorBody")
    } else {
        None
    }
}

fn add_common(op: &mut Operation, body: &str) {
    // An error status an operation lists without a body has the dialect's error body.
    for (status, response) in op.responses.responses.iter_mut() {
        if let (false, utoipa::openapi::RefOr::T(response)) = (status.starts_with('2'), response) {
            if response.content.is_empty() {
                let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(body))).build();
                response.content.insert("application/json".into(), content);
            }
        }
    }
    let has_body = op.request_body.is_some();
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    for (status, description, when) in COMMON {
        let applies = match when {
            When::WithBody => has_body,
            When::Authenticated => authenticated,
            When::Always => true,
        };
        if applies && !op.responses.responses.contains_key(*status) {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(body))).build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/json", content)
                .build();
            op.responses.responses.insert(status.to_string(), response.into());
        }
    }
}
