//! Notification endpoints.

use super::auth::KeyHolder;
use super::errors::NotificationsError;
use super::types::{Detail, InstanceView, MessageEntry, MessageLog, NotificationAccepted, SendNotificationBody};
use crate::api::json::{parse_body, BodyError, JsonBody};
use crate::api::{AppState, REQUEST_ID};
use crate::domain::notification::request::BillingRequest;
use crate::domain::notification::{MessageStatus, Permission};
use crate::store::notifications::messages::LogFilter;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use std::collections::HashMap;
use uuid::Uuid;

/// The query string's parameters; a malformed one is a 400.
fn params(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, NotificationsError> {
    query
        .map(|Query(params)| params)
        .map_err(|e| NotificationsError::BadRequest(e.body_text()))
}

/// An instance id as given: anything that is not one of ours is not found.
fn instance_id(raw: &str) -> Result<Uuid, NotificationsError> {
    Uuid::parse_str(raw.trim()).map_err(|_| NotificationsError::InstanceNotFound)
}

#[utoipa::path(post, path = "/api/v1/billing/send-notification", tag = "notifications",
    operation_id = "notifications_send_billing_notification",
    params(("instance_id" = String, Query, description = "Your billing instance id")),
    request_body = SendNotificationBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored and queued for WhatsApp (a repeat of the same invoice_id and message_type within the window answers the first message)", body = NotificationAccepted),
        (status = 400, description = "Missing or invalid fields, or \"Instance is not connected\"", body = Detail),
        (status = 401, description = "Invalid or missing API key", body = Detail),
        (status = 403, description = "The API key lacks the send_message permission", body = Detail),
        (status = 404, description = "Instance not found (or not your account's)", body = Detail),
        (status = 500, description = "Evolution API error, or WhatsApp sending not configured", body = Detail)))]
pub async fn send_notification(
    State(state): State<AppState>,
    key: KeyHolder,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Json<NotificationAccepted>, NotificationsError> {
    key.require(Permission::SendMessage)?;
    let raw_id = params(query)?
        .remove("instance_id")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| NotificationsError::BadRequest("instance_id query parameter is required".into()))?;
    let instance = instance_id(&raw_id)?;
    let value: serde_json::Value = parse_body(body).map_err(|e| match e {
        BodyError::TooLarge => NotificationsError::PayloadTooLarge,
        // Seed 002 lists 400 for a request it cannot read (it knows no 415).
        BodyError::NotJson => {
            NotificationsError::BadRequest("invalid JSON body: send it with Content-Type: application/json".into())
        }
        BodyError::Invalid(m) => NotificationsError::BadRequest(m),
    })?;
    let request = BillingRequest::from_json(&value).map_err(NotificationsError::BadRequest)?;
    let request_id = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok());
    let message_id = state
        .notifications
        .send_billing(&key.0, instance, &request, request_id)
        .await?;
    Ok(Json(NotificationAccepted {
        success: true,
        message_id,
        invoice_id: request.invoice_id,
    }))
}

#[utoipa::path(get, path = "/api/v1/instances/{id}/messages", tag = "notifications",
    operation_id = "notifications_message_log",
    params(("id" = String, Path, description = "Instance id"),
           ("status" = Option<String>, Query, description = "queued, sent, delivered or failed"),
           ("direction" = Option<String>, Query, description = "outgoing or incoming"),
           ("limit" = Option<i64>, Query, description = "At most this many, newest first (1-500, default 100)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The instance's messages, newest first", body = MessageLog),
        (status = 400, description = "Invalid filter", body = Detail),
        (status = 401, description = "Invalid or missing API key", body = Detail),
        (status = 404, description = "Instance not found (or not your account's)", body = Detail)))]
pub async fn messages(
    State(state): State<AppState>,
    key: KeyHolder,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<MessageLog>, NotificationsError> {
    let instance = instance_id(&id)?;
    let mut query = params(query)?;
    let status = query.remove("status");
    if status.as_deref().is_some_and(|s| MessageStatus::parse(s).is_none()) {
        return Err(NotificationsError::BadRequest(
            "status must be queued, sent, delivered or failed".into(),
        ));
    }
    let direction = query.remove("direction");
    if direction
        .as_deref()
        .is_some_and(|d| !["outgoing", "incoming"].contains(&d))
    {
        return Err(NotificationsError::BadRequest(
            "direction must be outgoing or incoming".into(),
        ));
    }
    let limit = match query.remove("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| NotificationsError::BadRequest("limit must be a whole number from 1 to 500".into()))?,
    };
    let filter = LogFilter {
        status: status.as_deref(),
        direction: direction.as_deref(),
        limit,
    };
    let log = state
        .notifications
        .message_log(&key.0.account_id, instance, filter)
        .await?;
    Ok(Json(MessageLog {
        instance_id: instance,
        messages: log.into_iter().map(MessageEntry::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "notifications",
    operation_id = "notifications_instance",
    params(("id" = String, Path, description = "Instance id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The instance and its connection, checked with Evolution now", body = InstanceView),
        (status = 401, description = "Invalid or missing API key", body = Detail),
        (status = 404, description = "Instance not found (or not your account's)", body = Detail)))]
pub async fn instance(
    State(state): State<AppState>,
    key: KeyHolder,
    Path(id): Path<String>,
) -> Result<Json<InstanceView>, NotificationsError> {
    let status = state
        .notifications
        .instance_status(&key.0.account_id, instance_id(&id)?)
        .await?;
    Ok(Json(status.into()))
}
