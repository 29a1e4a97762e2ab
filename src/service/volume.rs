//! Volume, success rates and latency percentiles over a range of business days, for
//! one reseller or all: read from the per-day rollup for closed days and live for the
//! rest (`store::volume`), and the job's step that rolls up the closed days.
//!
//! Why a job and not the settlement: the settlement batch is the purchase's hot path,
//! and a rollup row per (reseller, day) written in it would be one more row every
//! concurrent settlement of a reseller waits on. A closed day changes afterwards only
//! when a transaction leaves REVIEW or is reversed, rare paths whose ledger functions
//! recount that reseller's day in the same transaction (docs/decisions.md).

use crate::domain::clock::Clock;
use crate::domain::limits::business_day;
use crate::store::volume::{self, DayStatusVolume, DayWindow, LatencyBucket};
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::sync::Arc;

/// How far back the job rolls up: the longest range a page shows.
pub const MAX_RANGE_DAYS: i64 = 90;

/// A day is rolled up once it has been over this long: a debit priced just before
/// midnight may commit a little after it, on the day before.
const CLOSED_FOR: Duration = Duration::hours(1);

/// How far a transaction's `created_at` (its debit's commit) may stray from its business
/// day's bounds: the debit's queueing, and clock skew between gateway and database.
const SLACK: Duration = Duration::hours(1);

pub struct VolumeService {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    timezone: Tz,
}

/// What the pages show for a range of days.
#[derive(Debug, Clone)]
pub struct VolumeSummary {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// Delivered (SUCCESS) top-ups per day that had any, in order.
    pub delivered_by_day: Vec<DayTotals>,
    pub delivered: i64,
    pub failed: i64,
    /// Delivered, then reversed by the upstream (refunded).
    pub reversed: i64,
    /// Not final yet: PENDING, PROCESSING or REVIEW.
    pub open: i64,
    pub latency: Percentiles,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    pub day: NaiveDate,
    pub count: i64,
    /// Face value of the day's MXN top-ups.
    pub mxn: Decimal,
    pub usd: Decimal,
}

/// Upstream response times of delivered top-ups, in ms: each the upper bound of the
/// latency bucket the percentile falls in (at most 10 % above the exact value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: Option<i64>,
    pub p95: Option<i64>,
    pub p99: Option<i64>,
    /// How many top-ups they are taken over.
    pub of: i64,
}

impl VolumeService {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, timezone: Tz) -> Self {
        Self { pool, clock, timezone }
    }

    /// The business day now.
    fn today(&self) -> NaiveDate {
        business_day(self.clock.now(), self.timezone)
    }

    /// `day` with its bounds in the business time zone, widened by `SLACK`.
    fn window(&self, day: NaiveDate) -> DayWindow {
        let start = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
            // A midnight skipped by a DST change: the day starts at the first instant it has.
            (0..3)
                .find_map(|h| {
                    (midnight + Duration::hours(h))
                        .and_local_timezone(self.timezone)
                        .earliest()
                })
                .map(|t| t.to_utc())
                .unwrap_or_else(|| midnight.and_utc())
        };
        DayWindow {
            day,
            from: start(day) - SLACK,
            to: start(day + Duration::days(1)) + SLACK,
        }
    }

    /// The job's step: roll up every closed day of the last `MAX_RANGE_DAYS` that is not
    /// yet (a day with a transaction still open waits for a later run). How many were.
    pub async fn roll_up_closed_days(&self) -> Result<usize, sqlx::Error> {
        let last_closed = business_day(self.clock.now() - CLOSED_FOR, self.timezone) - Duration::days(1);
        let candidates: Vec<NaiveDate> = (0..MAX_RANGE_DAYS)
            .rev()
            .map(|back| last_closed - Duration::days(back))
            .collect();
        let mut rolled = 0;
        for day in volume::not_rolled_up(&self.pool, &candidates).await? {
            if volume::roll_up(&self.pool, &self.window(day)).await? {
                rolled += 1;
            }
        }
        Ok(rolled)
    }

    /// The last `days` business days (today included) of one reseller, or (None) of all.
    pub async fn summary(&self, customer_id: Option<&str>, days: i64) -> Result<VolumeSummary, sqlx::Error> {
        let last = self.today();
        let first = last - Duration::days(days - 1);
        let windows: Vec<DayWindow> = first.iter_days().take(days as usize).map(|d| self.window(d)).collect();
        let rows = volume::by_day(&self.pool, customer_id, &windows).await?;
        let buckets = volume::latency(&self.pool, customer_id, &windows).await?;
        Ok(summarise(first, last, &rows, &buckets))
    }
}

fn summarise(first: NaiveDate, last: NaiveDate, rows: &[DayStatusVolume], buckets: &[LatencyBucket]) -> VolumeSummary {
    let count = |status: &str| rows.iter().filter(|r| r.status == status).map(|r| r.count).sum::<i64>();
    let mut delivered_by_day: Vec<DayTotals> = Vec::new();
    for r in rows.iter().filter(|r| r.status == "SUCCESS") {
        let mxn = if r.currency == "MXN" {
            r.amount_local
        } else {
            Decimal::ZERO
        };
        match delivered_by_day.last_mut() {
            Some(d) if d.day == r.day => {
                d.count += r.count;
                d.mxn += mxn;
                d.usd += r.charged_usd;
            }
            _ => delivered_by_day.push(DayTotals {
                day: r.day,
                count: r.count,
                mxn,
                usd: r.charged_usd,
            }),
        }
    }
    VolumeSummary {
        first,
        last,
        delivered_by_day,
        delivered: count("SUCCESS"),
        failed: count("FAILED"),
        reversed: count("REVERSED"),
        open: count("PENDING") + count("PROCESSING") + count("REVIEW"),
        latency: percentiles(buckets),
    }
}

/// p50, p95 and p99 of the bucketed times (`buckets` smallest first): for each, the
/// first bucket by which that share of the top-ups is reached.
fn percentiles(buckets: &[LatencyBucket]) -> Percentiles {
    let of: i64 = buckets.iter().map(|b| b.count).sum();
    let at = |per_mille: i64| {
        // The rank of the percentile, rounded up: 95 % of 20 is the 19th.
        let rank = ((of * per_mille + 999) / 1000).max(1);
        let mut seen = 0;
        buckets.iter().find_map(|b| {
            seen += b.count;
            (seen >= rank).then_some(b.le_ms)
        })
    };
    Percentiles {
        p50: at(500),
        p95: at(950),
        p99: at(990),
        of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(le_ms: i64, count: i64) -> LatencyBucket {
        LatencyBucket { le_ms, count }
    }

    #[test]
    fn percentiles_are_the_buckets_their_rank_falls_in() {
        assert_eq!(percentiles(&[]), Percentiles::default());
        // 100 top-ups: 50 within 107 ms, 45 more within 1,052, 4 more within 3,000, 1 slower.
        let p = percentiles(&[bucket(107, 50), bucket(1052, 45), bucket(3000, 4), bucket(9000, 1)]);
        assert_eq!((p.p50, p.p95, p.p99, p.of), (Some(107), Some(1052), Some(3000), 100));
        let one = percentiles(&[bucket(12, 1)]);
        assert_eq!((one.p50, one.p99), (Some(12), Some(12)));
    }
}
