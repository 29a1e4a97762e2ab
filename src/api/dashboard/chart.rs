//! The daily volume chart, drawn on the server as inline SVG: three bar panels (count,
//! MXN face value, USD charged), one bar per business day of the range, missing days as zero.
//! No script and no network fetch; everything written here is numbers and dates.

use crate::service::volume::DayTotals;
use chrono::{Duration, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const PANEL_HEIGHT: f64 = 90.0;
const TITLE: f64 = 18.0;
const GAP: f64 = 14.0;

/// The chart for the days `first..=last`.
pub fn render(volumes: &[DayTotals], first: NaiveDate, last: NaiveDate) -> String {
    let by_day: HashMap<NaiveDate, &DayTotals> = volumes.iter().map(|v| (v.day, v)).collect();
    let days: Vec<NaiveDate> = std::iter::successors(Some(first), |d| Some(*d + Duration::days(1)))
        .take_while(|d| *d <= last)
        .collect();
    let series: [(&str, Vec<Decimal>); 3] = [
        (
            "Top-ups delivered (count)",
            pick(&days, &by_day, |v| Decimal::from(v.count)),
        ),
        ("Face value (MXN)", pick(&days, &by_day, |v| v.mxn)),
        ("Charged (USD)", pick(&days, &by_day, |v| v.usd)),
    ];
    let height = series.len() as f64 * (TITLE + PANEL_HEIGHT + GAP);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"><title>Daily volume {first} to {last}</title>"#
    );
    for (i, (title, values)) in series.iter().enumerate() {
        let top = i as f64 * (TITLE + PANEL_HEIGHT + GAP);
        panel(&mut svg, title, values, &days, top);
    }
    svg.push_str("</svg>");
    svg
}

fn pick(
    days: &[NaiveDate],
    by_day: &HashMap<NaiveDate, &DayTotals>,
    f: impl Fn(&DayTotals) -> Decimal,
) -> Vec<Decimal> {
    days.iter()
        .map(|d| by_day.get(d).map_or(Decimal::ZERO, |v| f(v)))
        .collect()
}

fn panel(svg: &mut String, title: &str, values: &[Decimal], days: &[NaiveDate], top: f64) {
    let max = values.iter().copied().max().unwrap_or_default();
    let total: Decimal = values.iter().sum();
    let _ = write!(
        svg,
        r#"<text x="0" y="{}" class="chart-title">{title}: total {total}, peak {max}</text>"#,
        top + 13.0
    );
    let base = top + TITLE + PANEL_HEIGHT;
    let _ = write!(
        svg,
        r#"<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="chart-axis"/>"#
    );
    let slot = WIDTH / values.len().max(1) as f64;
    let scale = max.to_f64().filter(|m| *m > 0.0).unwrap_or(1.0);
    for (i, (value, day)) in values.iter().zip(days).enumerate() {
        // Drawing only: a bar's height, never an amount anyone reads as money.
        let h = value.to_f64().unwrap_or(0.0) / scale * PANEL_HEIGHT;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="chart-bar"><title>{day}: {value}</title></rect>"#,
            i as f64 * slot + 1.0,
            base - h,
            (slot - 2.0).max(1.0),
            h
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_the_range_has_a_bar_and_missing_days_are_zero() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let volumes = [DayTotals {
            day: day(2),
            count: 3,
            mxn: Decimal::new(15000, 2),
            usd: Decimal::new(882, 2),
        }];
        let svg = render(&volumes, day(1), day(3));
        assert_eq!(svg.matches("<rect").count(), 9, "three days in three panels");
        assert!(svg.contains("2026-11-02: 150.00"));
        assert!(svg.contains("2026-11-01: 0"));
        assert!(svg.contains("Charged (USD): total 8.82"));
    }
}
