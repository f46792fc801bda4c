//! A resumable walk over the requests, oldest first, for the daily backfills that index or note
//! requests filed before a feature existed (the requests-by-tool index, the name directory's
//! requesters).
//!
//! It follows the `request-by-time:<month>:<ms>:<issue>` index a month at a time, and its place
//! is the month and the last index key walked — never a query cursor: cursors do not outlive
//! the invocation (FORGE-FACTS; host-sim expires them after 15 minutes), so a walk that kept
//! one started over every day and never finished past one day's budget.

use crate::error::AppResult;
use crate::storage::{keys, Store, MAX_PAGE};
use crate::time::{days_from_civil, MS_PER_DAY};

/// The month of the oldest request (`YYYY-MM`), if there is any: one query of one key (the
/// index sorts by month, then time).
pub fn first_month(store: Store<'_>) -> AppResult<Option<String>> {
    let first = store.page::<String>(keys::REQUEST_BY_TIME_PREFIX, None, 1)?;
    Ok(first.items.first().and_then(|(k, _)| {
        k.get(keys::REQUEST_BY_TIME_PREFIX.len()..keys::REQUEST_BY_TIME_PREFIX.len() + 7)
            .map(str::to_string)
    }))
}

pub fn month_prefix(month: &str) -> String {
    format!("{}{month}:", keys::REQUEST_BY_TIME_PREFIX)
}

/// `YYYY-MM` → the first millisecond of that month and of the next, and the next's name.
pub fn month_bounds(month: &str) -> Option<(u64, u64, String)> {
    let y: i64 = month.get(..4)?.parse().ok()?;
    let m: u32 = month.get(5..7)?.parse().ok()?;
    if !(1..=12).contains(&m) || y < 1970 {
        return None;
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let start = days_from_civil(y, m, 1) as u64 * MS_PER_DAY;
    let end = days_from_civil(ny, nm, 1) as u64 * MS_PER_DAY;
    Some((start, end, format!("{ny:04}-{nm:02}")))
}

/// The time in `request-by-time:<month>:<ms>:<issue>` (u64::MAX when malformed).
pub(crate) fn key_ms(prefix: &str, key: &str) -> u64 {
    key.get(prefix.len()..)
        .and_then(|r| r.split(':').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Up to `max` index entries of `month` after `after` and up to `upto_ms`, oldest first, and
/// whether the month may hold more.
pub fn month_entries(
    store: Store<'_>,
    month: &str,
    after: Option<&str>,
    upto_ms: u64,
    max: usize,
) -> AppResult<(Vec<(String, String)>, bool)> {
    let prefix = month_prefix(month);
    let Some((start, end, _)) = month_bounds(month) else {
        return Ok((Vec::new(), false));
    };
    let to = (end - 1).min(upto_ms);
    let mut out = Vec::new();
    match after {
        // Resuming inside the month: the entries from the last one's millisecond on (a few of
        // the same millisecond read again and skipped).
        Some(a) => {
            let from = key_ms(&prefix, a)
                .saturating_sub(1)
                .max(start.saturating_sub(1));
            let slack = 20;
            let got = store.range::<String>(&prefix, from, to, max + slack)?;
            let full = got.len() >= max + slack;
            let (mut progressed, mut left) = (false, false);
            for (k, id) in got {
                if k.as_str() > a {
                    progressed = true;
                    if out.len() < max {
                        out.push((k, id));
                    } else {
                        left = true;
                    }
                }
            }
            // Over `slack` requests in one millisecond and none new: a marker entry (no issue)
            // past that millisecond, so the walk moves on.
            if !progressed && full {
                let past = format!("{prefix}{:013}:~", key_ms(&prefix, a));
                return Ok((vec![(past, String::new())], true));
            }
            Ok((out, full || left))
        }
        None => {
            let mut cursor: Option<String> = None;
            loop {
                let page = store.page::<String>(&prefix, cursor.as_deref(), MAX_PAGE)?;
                for (k, id) in page.items {
                    if key_ms(&prefix, &k) > to {
                        return Ok((out, false));
                    }
                    if out.len() >= max {
                        return Ok((out, true));
                    }
                    out.push((k, id));
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return Ok((out, false)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_step_over_the_year_end() {
        let (s, e, next) = month_bounds("2026-12").unwrap();
        assert_eq!(crate::time::rfc3339(s), "2026-12-01T00:00:00.000Z");
        assert_eq!(crate::time::rfc3339(e), "2027-01-01T00:00:00.000Z");
        assert_eq!(next, "2027-01");
        assert!(month_bounds("2026-13").is_none());
        assert!(month_bounds("").is_none());
    }

    #[test]
    fn the_time_is_read_from_the_index_key() {
        let p = month_prefix("2026-11");
        assert_eq!(
            key_ms(&p, &format!("{p}1793000000000:10042")),
            1_793_000_000_000
        );
        assert_eq!(key_ms(&p, "request-by-time:x"), u64::MAX);
    }
}
