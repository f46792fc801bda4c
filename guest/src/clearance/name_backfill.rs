//! People on record before the name directory existed (issue 34 item 2, D-242): the requesters
//! (who are also the grantees: a grant's holder is its request's requester) of requests the app
//! ingested before intake noted requesters for the AI Prompt scrubber.
//!
//! A daily task walks the `request-by-time:<month>:<ms>:<issue>` index oldest first, a bounded
//! step at a time: at most `budget` requests and [`PEOPLE`] distinct requesters a run, their names
//! from one Jira bulk call, written as one sighting (`names::directory::seen`) that the fold takes
//! into the directory. Its place is the month and the last index key walked, kept in
//! [`STATE`] (never a query cursor: those do not outlive the invocation). It walks requests filed
//! up to the moment it first ran (later ones were noted at intake), then records `done` and costs
//! one read a day.

use crate::error::AppResult;
use crate::host::Host;
use crate::jira::{Jira, MAX_BULK_USERS};
use crate::requests::Request;
use crate::storage::{keys, Store, MAX_PAGE};
use crate::time::{days_from_civil, MS_PER_DAY};
use serde::{Deserialize, Serialize};

/// Where the walk stands.
pub const STATE: &str = "name-directory-backfill";
/// Distinct requesters a run names (one Jira bulk call).
pub const PEOPLE: usize = MAX_BULK_USERS;
/// Empty months a run steps over at most (one query each).
const MONTHS: usize = 12;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Backfill {
    pub done: bool,
    /// Requests filed up to this time are walked; later ones were noted at intake.
    pub upto_ms: u64,
    /// The month being walked (`YYYY-MM`); empty before the first run found the oldest.
    #[serde(default)]
    pub month: String,
    /// The last index key walked in `month` (none: the month starts from its beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Requests walked and requesters named so far.
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub people: u64,
}

fn month_prefix(month: &str) -> String {
    format!("{}{month}:", keys::REQUEST_BY_TIME_PREFIX)
}

/// `YYYY-MM` → the first millisecond of that month and of the next, and the next's name.
fn month_bounds(month: &str) -> Option<(u64, u64, String)> {
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
fn key_ms(prefix: &str, key: &str) -> u64 {
    key.get(prefix.len()..)
        .and_then(|r| r.split(':').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Up to `max` index entries of `month` after `after` and up to `upto_ms`, oldest first, and
/// whether the month may hold more.
fn month_entries(
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

/// One step of the walk: at most `budget` requests and [`PEOPLE`] requesters. Returns the
/// requests walked (0 once done).
pub fn backfill(host: &dyn Host, budget: usize) -> AppResult<u64> {
    let store = Store::new(host);
    let now = host.now_ms();
    let mut st = store.get::<Backfill>(STATE)?.unwrap_or(Backfill {
        upto_ms: now,
        ..Backfill::default()
    });
    if st.done || budget == 0 {
        return Ok(0);
    }
    if st.month.is_empty() {
        // The oldest request's month (the index sorts by month, then time).
        let first = store.page::<String>(keys::REQUEST_BY_TIME_PREFIX, None, 1)?;
        match first.items.first() {
            Some((k, _)) => {
                st.month = k
                    .get(keys::REQUEST_BY_TIME_PREFIX.len()..keys::REQUEST_BY_TIME_PREFIX.len() + 7)
                    .unwrap_or_default()
                    .to_string();
            }
            None => st.done = true,
        }
    }
    let upto_month = crate::time::rfc3339(st.upto_ms)[..7].to_string();
    let mut people: Vec<String> = Vec::new();
    let mut walked = 0u64;
    let mut months = 0;
    while !st.done && (walked as usize) < budget && months < MONTHS && host.remaining_ms() > 10_000
    {
        if st.month > upto_month || month_bounds(&st.month).is_none() {
            st.done = true;
            break;
        }
        let want = budget - walked as usize;
        let (entries, more) =
            month_entries(store, &st.month, st.after.as_deref(), st.upto_ms, want)?;
        let ids: Vec<String> = entries
            .iter()
            .filter(|(_, id)| !id.is_empty())
            .map(|(_, id)| keys::request(id))
            .collect();
        let requests: std::collections::BTreeMap<String, Request> =
            store.get_many::<Request>(&ids)?.into_iter().collect();
        let mut capped = false;
        for (k, id) in &entries {
            if id.is_empty() {
                st.after = Some(k.clone());
                continue;
            }
            if let Some(r) = requests.get(&keys::request(id)) {
                let who = r.requester_account_id.trim();
                if !who.is_empty() && !people.iter().any(|p| p == who) {
                    if people.len() >= PEOPLE {
                        capped = true;
                        break;
                    }
                    people.push(who.to_string());
                }
            }
            st.after = Some(k.clone());
            walked += 1;
        }
        if capped {
            break;
        }
        if !more {
            // The month is walked: the next one from its start.
            months += 1;
            let (_, _, next) = month_bounds(&st.month).expect("checked above");
            st.month = next;
            st.after = None;
        }
    }
    if st.month > upto_month {
        st.done = true;
    }
    if !people.is_empty() {
        let refs: Vec<&str> = people.iter().map(String::as_str).collect();
        let names = Jira::new(host)
            .display_names(&refs)
            .map_err(crate::error::AppError::from)?;
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(|(a, n)| (a.as_str(), n.as_str()))
            .collect();
        crate::names::directory::seen(host, now, &pairs);
    }
    st.requests += walked;
    st.people += people.len() as u64;
    store.put(STATE, &st)?;
    Ok(walked)
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
