//! `/docs`: a browsable API reference (Redoc) over `/openapi.json`, with its script
//! vendored (`assets/redoc/`) and served from the binary: no CDN, and the page's
//! Content-Security-Policy lets it load nothing from elsewhere.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};

const REDOC: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>recarga API reference</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"#;

/// Scripts, styles, images, fonts and requests from this origin only (Redoc's search
/// runs in a worker made from a blob; its styles are inline).
const POLICY: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; \
                      style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
                      connect-src 'self'";

pub async fn page() -> Response {
    ([(CONTENT_SECURITY_POLICY, POLICY)], Html(PAGE)).into_response()
}

pub async fn script() -> Response {
    (
        [
            (CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        REDOC,
    )
        .into_response()
}
