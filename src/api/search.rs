//! Transaction search, shared by both dialects: the query string, its validation, and
//! the opaque cursor (where the previous page ended; clients pass it back untouched).

use crate::api::paging::next_page;
use crate::domain::status::TxnStatus;
use crate::store::transactions::{self, Position, SearchFilter, Transaction};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::PgPool;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `?reference=&phone=&status=&from=&to=&cursor=&limit=`, as sent.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Your own reference (`reference` or `distributor_transaction_id`), exactly.
    pub reference: Option<String>,
    /// The phone number as stored (normalised: 10 digits for Mexico).
    pub phone: Option<String>,
    /// PENDING, PROCESSING, SUCCESS, FAILED or REVIEW.
    pub status: Option<String>,
    /// Created at or after: RFC 3339, or a date (00:00 UTC).
    pub from: Option<String>,
    /// Created before: RFC 3339, or a date (00:00 UTC).
    pub to: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
}

/// A validated search: what to find, where to start, how many.
pub struct Search {
    pub filter: SearchFilter,
    pub after: Option<Position>,
    pub limit: i64,
}

impl SearchQuery {
    /// Every problem at once, as (parameter, message).
    pub fn validate(self) -> Result<Search, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut time = |field: &'static str, value: Option<String>| {
            value.and_then(|v| {
                let parsed = parse_time(&v);
                if parsed.is_none() {
                    errors.push((field, format!("{field} must be an RFC 3339 time or a YYYY-MM-DD date")));
                }
                parsed
            })
        };
        let from = time("from", self.from);
        let to = time("to", self.to);
        let status = self.status.and_then(|s| {
            let parsed = TxnStatus::parse(&s.trim().to_ascii_uppercase());
            if parsed.is_none() {
                errors.push((
                    "status",
                    "status must be PENDING, PROCESSING, SUCCESS, FAILED or REVIEW".into(),
                ));
            }
            parsed
        });
        let after = self.cursor.and_then(|c| {
            let parsed = decode_cursor(&c);
            if parsed.is_none() {
                errors.push(("cursor", "cursor is not one this API gave out".into()));
            }
            parsed
        });
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(("limit", format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Search {
            filter: SearchFilter {
                reference: text(self.reference),
                phone: text(self.phone),
                status,
                from,
                to,
            },
            after,
            limit,
        })
    }
}

impl Search {
    /// The customer's page, and the cursor of the next page if there is one. One row
    /// more than the page is read, to know whether a next page exists.
    pub async fn run(
        &self,
        pool: &PgPool,
        customer_id: &str,
    ) -> Result<(Vec<Transaction>, Option<String>), sqlx::Error> {
        let rows = transactions::search(pool, customer_id, &self.filter, self.after.as_ref(), self.limit + 1).await?;
        Ok(self.page(rows))
    }

    fn page(&self, mut rows: Vec<Transaction>) -> (Vec<Transaction>, Option<String>) {
        let next = next_page(&mut rows, self.limit).map(|t| encode_cursor(t.created_at, &t.id));
        (rows, next)
    }
}

fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            Some(
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()?
                    .and_hms_opt(0, 0, 0)?
                    .and_utc(),
            )
        })
}

/// Opaque to clients: base64url of "<microseconds since the epoch>:<id>".
pub fn encode_cursor(created_at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", created_at.timestamp_micros()))
}

pub fn decode_cursor(cursor: &str) -> Option<Position> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some(Position {
        created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let t = DateTime::parse_from_rfc3339("2025-10-14T10:30:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = encode_cursor(t, "RLR1");
        assert_eq!(
            decode_cursor(&c),
            Some(Position {
                created_at: t,
                id: "RLR1".into()
            })
        );
        assert_eq!(decode_cursor("not a cursor"), None);
    }

    #[test]
    fn bad_parameters_are_all_reported() {
        let q = SearchQuery {
            status: Some("DONE".into()),
            from: Some("yesterday".into()),
            limit: Some(0),
            ..Default::default()
        };
        let fields: Vec<_> = q.validate().err().unwrap().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["from", "status", "limit"]);
    }
}
