//! Keyset pages: a query reads one row more than the page, and whether that row came
//! back says whether a next page exists.

/// Drop the row read beyond `limit`; the page's last row when there is a next page.
pub fn next_page<T>(rows: &mut Vec<T>, limit: i64) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
    } else {
        None
    }
}
