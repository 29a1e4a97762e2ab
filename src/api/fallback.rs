//! Unknown routes (404) and known routes asked with another method (405) answer a JSON
//! error in the shape of the dialect the path belongs to, never an empty body.

use super::admin::errors::AdminError;
use super::distributor::errors::DistributorError;
use super::relier::errors::RelierError;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub async fn not_found(uri: Uri) -> Response {
    no_route(&uri, StatusCode::NOT_FOUND)
}

pub async fn method_not_allowed(uri: Uri) -> Response {
    no_route(&uri, StatusCode::METHOD_NOT_ALLOWED)
}

fn no_route(uri: &Uri, status: StatusCode) -> Response {
    let path = uri.path();
    if path.starts_with("/api/distributor/") {
        DistributorError::NoRoute(status).into_response()
    } else if path.starts_with("/api/admin/") {
        AdminError::NoRoute(status).into_response()
    } else {
        RelierError::NoRoute(status).into_response()
    }
}
