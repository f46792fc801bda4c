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

use super::request_walk::{first_month, month_bounds, month_entries};
use crate::error::AppResult;
use crate::host::Host;
use crate::jira::{Jira, MAX_BULK_USERS};
use crate::requests::Request;
use crate::storage::{keys, Store};
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
        match first_month(store)? {
            Some(m) => st.month = m,
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
