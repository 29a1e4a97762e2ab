//! The export's CSV (RFC 4180): a header line, then one line per transaction, written
//! straight into the output buffer (no allocation per row).

use crate::store::reconcile::ExportRow;
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::io::Write;

pub const HEADER: &str = "transaction_id,customer_id,reference,upstream,upstream_reference,product_id,phone,\
amount_local,currency,cost_usd,commission_usd,charged_usd,exchange_rate,status,created_at,settled_at\r\n";

/// Append one row. Writing into a Vec cannot fail.
pub fn write_row(r: &ExportRow<'_>, out: &mut Vec<u8>) {
    text(out, r.id);
    out.push(b',');
    text(out, r.customer_id);
    out.push(b',');
    text(out, r.reference.unwrap_or(""));
    out.push(b',');
    text(out, r.upstream.unwrap_or(""));
    out.push(b',');
    text(out, r.upstream_reference.unwrap_or(""));
    out.push(b',');
    text(out, r.product_id);
    out.push(b',');
    text(out, r.phone);
    let _ = write!(
        out,
        ",{},{},{},{},{},{},",
        r.amount_local, r.currency, r.cost_usd, r.commission_usd, r.charged_usd, r.exchange_rate
    );
    text(out, r.status);
    out.push(b',');
    time(out, r.created_at);
    out.push(b',');
    if let Some(t) = r.settled_at {
        time(out, t);
    }
    out.extend_from_slice(b"\r\n");
}

/// A text field, quoted (quotes doubled) only when it holds a comma, quote or line break.
fn text(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// RFC 3339 in UTC with microseconds, as the database keeps them.
fn time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_row_is_quoted_where_it_must_be_and_exact() {
        let created = DateTime::parse_from_rfc3339("2025-10-14T10:30:00.5Z").unwrap().to_utc();
        let row = ExportRow {
            id: "RLR1",
            customer_id: "SMARTBIZ_001",
            reference: Some("ORDER \"12\", rush"),
            upstream: Some("latcom"),
            upstream_reference: None,
            product_id: "MOVISTAR_TAE",
            phone: "5512345678",
            amount_local: dec!(50.00),
            currency: "MXN",
            cost_usd: dec!(2.94),
            commission_usd: dec!(0.00),
            charged_usd: dec!(2.94),
            exchange_rate: dec!(17.006800),
            status: "SUCCESS",
            created_at: created,
            settled_at: None,
        };
        let mut out = Vec::new();
        write_row(&row, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "RLR1,SMARTBIZ_001,\"ORDER \"\"12\"\", rush\",latcom,,MOVISTAR_TAE,5512345678,50.00,MXN,2.94,0.00,2.94,\
             17.006800,SUCCESS,2025-10-14T10:30:00.500000Z,\r\n"
        );
    }
}
