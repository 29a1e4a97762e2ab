//! Invoice periods: calendar months in the business time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The first day of the month before the one `now` falls in, in `tz`.
pub fn previous_month(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let today = now.with_timezone(&tz).date_naive();
    let this_month = today.with_day(1).expect("every month has a first day");
    this_month
        .pred_opt()
        .and_then(|d| d.with_day(1))
        .expect("the month before exists")
}

/// The first day of the month after `first_day`'s.
pub fn next_month(first_day: NaiveDate) -> NaiveDate {
    let (y, m) = if first_day.month() == 12 {
        (first_day.year() + 1, 1)
    } else {
        (first_day.year(), first_day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("a first day of a month")
}

/// Midnight starting `day` in `tz`, as a UTC instant (the earlier one if ambiguous).
pub fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.to_utc(),
        // A zone that skips midnight: the day starts an hour later.
        None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .expect("a local time an hour after a gap exists")
            .to_utc(),
    }
}

/// An invoice number: the month and the reseller, so one month is invoiced once.
pub fn number(first_day: NaiveDate, customer_id: &str) -> String {
    format!("INV-{}-{customer_id}", first_day.format("%Y%m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_month_is_taken_in_the_business_time_zone() {
        let tz: Tz = "America/Mexico_City".parse().unwrap();
        // 2025-11-01 03:00 UTC is still October 31 in Mexico City.
        let at = Utc.with_ymd_and_hms(2025, 11, 1, 3, 0, 0).unwrap();
        assert_eq!(previous_month(at, tz), NaiveDate::from_ymd_opt(2025, 9, 1).unwrap());
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(previous_month(at, tz), NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
        assert_eq!(
            next_month(NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        assert_eq!(
            start_of(NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(), tz),
            Utc.with_ymd_and_hms(2025, 10, 1, 6, 0, 0).unwrap()
        );
        assert_eq!(
            number(NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(), "SMARTBIZ_001"),
            "INV-202510-SMARTBIZ_001"
        );
    }
}
