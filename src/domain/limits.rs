//! Daily limits are counted per business day in the configured time zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The business day that `at` falls on in `tz`.
pub fn business_day(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn mexico_city_day_starts_at_six_utc() {
        let tz: Tz = "America/Mexico_City".parse().unwrap();
        let before = Utc.with_ymd_and_hms(2026, 11, 24, 5, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap();
        assert_eq!(business_day(before, tz), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(business_day(after, tz), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    }
}
