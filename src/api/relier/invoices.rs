//! Monthly invoices: the list, and one invoice as JSON, CSV (its lines) or a printable
//! HTML page.

use super::auth::RelierCustomer;
use super::errors::RelierError;
use crate::api::json::{money, number, timestamp};
use crate::api::rate_limit::LimitKind;
use crate::api::AppState;
use crate::store::invoices::{self, Invoice, InvoiceLine, InvoiceTotal};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;

#[derive(Serialize)]
struct InvoiceView {
    number: String,
    customer_id: String,
    period_start: chrono::NaiveDate,
    period_end: chrono::NaiveDate,
    transactions: i32,
    #[serde(serialize_with = "money")]
    cost_usd: Decimal,
    #[serde(serialize_with = "money")]
    commission_usd: Decimal,
    /// Total USD deducted.
    #[serde(serialize_with = "money")]
    total_usd: Decimal,
    issued_at: String,
}

impl From<Invoice> for InvoiceView {
    fn from(i: Invoice) -> Self {
        Self {
            number: i.number,
            customer_id: i.customer_id,
            period_start: i.period_start,
            period_end: i.period_end,
            transactions: i.transactions,
            cost_usd: i.cost_usd,
            commission_usd: i.commission_usd,
            total_usd: i.total_usd,
            issued_at: timestamp(i.issued_at),
        }
    }
}

fn total_json(t: &InvoiceTotal) -> serde_json::Value {
    json!({"currency": t.currency, "transactions": t.transactions, "amount_local": number(t.amount_local),
           "cost_usd": number(t.cost_usd), "commission_usd": number(t.commission_usd),
           "total_usd": number(t.total_usd), "average_rate": number(t.average_rate)})
}

#[utoipa::path(get, path = "/api/invoices", tag = "relier", operation_id = "relier_invoices",
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "Your invoices, newest month first: {success, invoices: [...]}", body = Object), (status = 401, description = "Invalid API credentials")))]
pub async fn list(State(state): State<AppState>, customer: RelierCustomer) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let list: Vec<InvoiceView> = invoices::list(&state.pool, &customer.0.id)
        .await?
        .into_iter()
        .map(InvoiceView::from)
        .collect();
    Ok(Json(json!({"success": true, "invoices": list})).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Format {
    /// `json` (default), `csv` (one line per transaction) or `html` (printable).
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/invoices/{number}", tag = "relier", operation_id = "relier_invoice",
    params(("number" = String, Path, description = "Invoice number"), Format),
    security(("api_key" = [], "customer_id" = [])),
    responses((status = 200, description = "The invoice: JSON, text/csv or text/html (by format)", content((Object = "application/json"), (String = "text/csv"), (String = "text/html"))),
              (status = 400, description = "Unknown format"), (status = 401, description = "Invalid API credentials"),
              (status = 404, description = "Not found (or not yours)")))]
pub async fn get(
    State(state): State<AppState>,
    customer: RelierCustomer,
    Path(invoice_number): Path<String>,
    format: Result<Query<Format>, QueryRejection>,
) -> Result<Response, RelierError> {
    customer.rate_limit(&state, LimitKind::Api).await?;
    let Query(format) = format.map_err(|e| RelierError::Validation(vec![("query", e.body_text())]))?;
    let format = format.format.unwrap_or_else(|| "json".into());
    if !["json", "csv", "html"].contains(&format.as_str()) {
        return Err(RelierError::Validation(vec![(
            "format",
            "format is json, csv or html".into(),
        )]));
    }
    let invoice = invoices::get(&state.pool, &customer.0.id, &invoice_number)
        .await?
        .ok_or(RelierError::InvoiceNotFound)?;
    let totals = invoices::totals(&state.pool, &invoice.customer_id, &invoice.number).await?;
    let lines = invoices::lines(&state.pool, &invoice.customer_id, &invoice.number).await?;
    Ok(match format.as_str() {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.csv\"", invoice.number),
                ),
            ],
            csv(&lines),
        )
            .into_response(),
        "html" => Html(html(&invoice, &customer.0.name, &totals, &lines)).into_response(),
        _ => Json(json!({
            "success": true,
            "invoice": InvoiceView::from(invoice),
            "totals": totals.iter().map(total_json).collect::<Vec<_>>(),
            "lines": lines.len(),
        }))
        .into_response(),
    })
}

fn csv(lines: &[InvoiceLine]) -> String {
    let mut out = String::from(
        "transaction_id,reference,product_id,phone,amount_local,currency,exchange_rate,cost_usd,commission_usd,charged_usd,settled_at\r\n",
    );
    for l in lines {
        let reference = l.reference.as_deref().unwrap_or("");
        let reference = if reference.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", reference.replace('"', "\"\""))
        } else {
            reference.to_string()
        };
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            l.transaction_id,
            reference,
            l.product_id,
            l.phone,
            l.amount_local,
            l.currency,
            l.exchange_rate,
            l.cost_usd,
            l.commission_usd,
            l.charged_usd,
            timestamp(l.settled_at)
        );
    }
    out
}

/// Text for an HTML page: `&`, `<`, `>` and quotes escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(i: &Invoice, company: &str, totals: &[InvoiceTotal], lines: &[InvoiceLine]) -> String {
    let mut page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Invoice {n}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border:1px solid #999;padding:4px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         @media print{{body{{margin:0}}}}</style></head><body>\
         <h1>Invoice {n}</h1><p>{company} ({customer})<br>Period {from} to {to}<br>Issued {issued}</p>\
         <h2>Totals</h2><table><tr><th>Currency</th><th>Transactions</th><th>Total local</th><th>USD cost</th>\
         <th>Commission USD</th><th>Total USD deducted</th><th>Average rate</th></tr>",
        n = escape(&i.number),
        company = escape(company),
        customer = escape(&i.customer_id),
        from = i.period_start,
        to = i.period_end,
        issued = timestamp(i.issued_at),
    );
    for t in totals {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&t.currency),
            t.transactions,
            t.amount_local,
            t.cost_usd,
            t.commission_usd,
            t.total_usd,
            t.average_rate
        );
    }
    let _ = write!(
        page,
        "<tr><th>All</th><th>{}</th><th></th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></table>\
         <h2>Transactions</h2><table><tr><th>Transaction</th><th>Reference</th><th>Phone</th><th>Amount</th>\
         <th>Rate</th><th>USD</th><th>Settled</th></tr>",
        i.transactions, i.cost_usd, i.commission_usd, i.total_usd
    );
    for l in lines {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.transaction_id),
            escape(l.reference.as_deref().unwrap_or("")),
            escape(&l.phone),
            l.amount_local,
            escape(&l.currency),
            l.exchange_rate,
            l.charged_usd,
            timestamp(l.settled_at)
        );
    }
    page.push_str("</table></body></html>");
    page
}
