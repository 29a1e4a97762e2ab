//! The answer shapes Smartcall gives: the auth body, `{code, message}` errors, the v2
//! recharge error, and JBoss HTML pages.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(super) fn number(d: Decimal) -> Value {
    Value::Number(serde_json::Number::from_str(&d.to_string()).expect("decimal is a JSON number"))
}

pub(super) fn auth_answer(status: StatusCode, description: &str, token: Option<(&str, Option<i64>)>) -> Response {
    let body = json!({
        "responseDescription": description,
        "accessToken": token.map(|t| t.0),
        "tokenType": token.map(|_| "Bearer"),
        "expiresAt": token.map(|t| t.1),
        "scope": token.map(|_| "WEBSERVICE_SMARTLOAD_FULL,WEBSERVICE_SMARTRICA_FULL"),
    });
    (status, Json(body)).into_response()
}

pub(super) fn error_body(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

pub(super) fn html(status: StatusCode) -> Response {
    let page = format!(
        "<html><head><title>JBoss Web/7.0.13.Final - Error report</title></head><body>\
         <h1>HTTP Status {} - </h1><hr/><p><b>type</b> Status report</p></body></html>",
        status.as_u16()
    );
    (status, Html(page)).into_response()
}

/// A synchronous recharge error in the v2 shape: `error` populated, statusCode set.
pub(super) fn v2_error(http: StatusCode, status_code: i64, code: i64, message: &str, status_message: &str) -> Response {
    let body = json!({
        "error": {"code": code, "message": message, "statusMessage": status_message},
        "responseCode": if status_code == 1 { "SYS_ERROR" } else { "APP_ERROR" },
        "statusCode": status_code,
        "statusMessage": status_message,
        "recharge": null,
    });
    (http, Json(body)).into_response()
}
