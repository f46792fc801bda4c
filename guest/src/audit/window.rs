//! Reading the trail by time: `audit-day:<YYYY-MM-DD>` names the first entry of each day (the
//! append that starts a day writes it), so an export or a search for a window starts reading at
//! the window's first day instead of at the oldest entry. Entries are appended in time order,
//! so the window ends at the first entry past it.

use super::chain::{AuditEntry, Head};
use super::verify::RetentionPoint;
use crate::storage::{keys, StorageResult, Store};

/// The first entry at or after `from_ms`'s day, if any entry was appended on or after that day
/// and no later than `to_ms`'s day. One prefix query per month looked at (at most 13 for a
/// 365-day window), usually one.
pub fn first_seq(store: Store<'_>, from_ms: u64, to_ms: u64) -> StorageResult<Option<u64>> {
    let (first_day, last_day) = (crate::time::day(from_ms), crate::time::day(to_ms));
    let mut month = first_day[..7].to_string();
    loop {
        let prefix = format!("{}{month}", keys::AUDIT_DAY_PREFIX);
        let mut cursor: Option<String> = None;
        loop {
            let page = store.page::<u64>(&prefix, cursor.as_deref(), crate::storage::MAX_PAGE)?;
            for (k, seq) in page.items {
                let day = &k[keys::AUDIT_DAY_PREFIX.len()..];
                if day > last_day.as_str() {
                    return Ok(None);
                }
                if day >= first_day.as_str() {
                    return Ok(Some(seq));
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if month.as_str() >= &last_day[..7] {
            return Ok(None);
        }
        month = next_month(&month);
    }
}

fn next_month(ym: &str) -> String {
    let (y, m): (u32, u32) = (
        ym[..4].parse().unwrap_or(1970),
        ym[5..7].parse().unwrap_or(1),
    );
    if m == 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    }
}

/// Entries with `from_ms ≤ at ≤ to_ms` starting at `next` (a seq), at most `max`; and the seq to
/// continue from, `None` once the window (or the chain) is exhausted. Reads 25 keys a call.
pub fn read(
    store: Store<'_>,
    next: u64,
    from_ms: u64,
    to_ms: u64,
    max: usize,
) -> StorageResult<(Vec<AuditEntry>, Option<u64>)> {
    let got = store.batch_get(&[
        keys::AUDIT_HEAD.to_string(),
        keys::AUDIT_RETENTION_POINT.to_string(),
    ])?;
    let head_seq = got
        .get(keys::AUDIT_HEAD)
        .map(|t| crate::storage::decode::<Head>(keys::AUDIT_HEAD, t))
        .transpose()?
        .map_or(0, |h| h.seq);
    let floor = got
        .get(keys::AUDIT_RETENTION_POINT)
        .map(|t| crate::storage::decode::<RetentionPoint>(keys::AUDIT_RETENTION_POINT, t))
        .transpose()?
        .map_or(1, |r| r.seq + 1);
    let mut seq = next.max(floor);
    let mut out = Vec::new();
    while seq <= head_seq && out.len() < max {
        let last = (seq + crate::storage::MAX_BATCH as u64 - 1).min(head_seq);
        let names: Vec<String> = (seq..=last).map(keys::audit_event).collect();
        let mut full = false;
        for (_, e) in store.get_many::<AuditEntry>(&names)? {
            let at = crate::time::parse(&e.at).unwrap_or(0);
            if at > to_ms {
                return Ok((out, None));
            }
            seq = e.seq + 1;
            if at >= from_ms {
                out.push(e);
                if out.len() >= max {
                    full = true;
                    break;
                }
            }
        }
        if !full {
            // Past this batch, gaps (pruned or missing entries) included.
            seq = last + 1;
        }
    }
    Ok((out, (seq <= head_seq).then_some(seq)))
}
