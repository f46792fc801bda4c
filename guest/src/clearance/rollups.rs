//! Insights rollups folded from the audit trail.
//!
//! The daily analytics runner reads the audit entries it has not seen yet (after `last_seq`) and
//! folds each into these counters, so a run costs in proportion to the new events, never to the
//! whole history. Insights are then read from the rollups alone. Folding is idempotent per entry:
//! an entry at or below `last_seq` is ignored, so a retried run cannot count anything twice.

use crate::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Months of insights kept (the screen shows at most this many); older month records are
/// pruned by the daily analytics runner.
pub const MONTHS_KEPT: usize = 36;
/// Months one analytics run may touch: their records and the head go in one transaction.
pub const MONTHS_PER_RUN: usize = 20;

/// Distinct requesters tracked per month; later newcomers are counted under `other`, which
/// keeps a month's record bounded in size.
pub const MAX_REQUESTERS_PER_MONTH: usize = 500;
/// The bucket for requesters over the per-month cap.
const OTHER: &str = "other";
/// The bucket for requests naming a tool that is not in the catalog.
const NEW_TOOL: &str = "new-tool";
const TOP: usize = 10;

/// The class a request that declares no data classes counts under (issue 35).
pub const UNDECLARED: &str = "undeclared";
/// Data classes kept per record: the site list holds at most 24, plus `undeclared`; a class
/// beyond them (the list changed within the month) counts under `other`.
pub const MAX_CLASS_KEYS: usize = crate::catalog::data::MAX_CLASSES + 1;
/// Tools kept per class per record (a catalog is tens of tools); a tool beyond them counts under
/// `other`. With the class cap this bounds a month's class table to 26 x 41 counters: with the
/// longest names (40-character classes, 64-character tool ids) under 100 KiB.
pub const MAX_TOOLS_PER_CLASS: usize = 40;

/// Data class → tool → count.
pub type ClassTool<N> = BTreeMap<String, BTreeMap<String, N>>;

/// One calendar month (UTC, keyed `YYYY-MM`) of activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Month {
    pub requests: u64,
    pub approved: u64,
    pub auto_approved: u64,
    pub denied: u64,
    pub grants_created: u64,
    pub grants_activated: u64,
    pub grants_expired: u64,
    pub grants_revoked: u64,
    pub by_risk: BTreeMap<String, u64>,
    pub by_tool: BTreeMap<String, u64>,
    pub requesters: BTreeMap<String, u64>,
    /// Requests by declared data class and tool (issue 35): a request declaring three classes
    /// counts once under each; one declaring none under `undeclared`. Bounded by
    /// [`MAX_CLASS_KEYS`] x [`MAX_TOOLS_PER_CLASS`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_class_tool: ClassTool<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rollups {
    /// The last audit entry folded in.
    pub last_seq: u64,
    /// The months loaded for this fold or view. Each lives in its own record
    /// (`analytics-month:YYYY-MM`) so no record grows with the app's age; the head never
    /// stores them (a record from before the split still carries them and is migrated).
    #[serde(default, skip_serializing)]
    pub months: BTreeMap<String, Month>,
    /// Grants not yet expired or revoked (pending provisioning or active).
    pub open_grants_by_risk: BTreeMap<String, i64>,
    pub open_grants_by_tool: BTreeMap<String, i64>,
    pub active_grants: i64,
    pub pending_provision: i64,
    /// Open grants by their request's declared data class and tool (issue 35), counted for
    /// grants decided at or after `class_grants_since`; bounded like a month's class table.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub open_grants_by_class_tool: ClassTool<i64>,
    /// When the runner began counting open grants by class: `""` (an installation that had it
    /// from its first entry) or the time of the first run that knew about classes. Grants
    /// decided before it are left out of the class table for their whole life, so a grant that
    /// was never counted is never subtracted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_grants_since: Option<String>,
}

impl Rollups {
    /// Folds one audit entry in. Entries must arrive in `seq` order; older ones are ignored.
    pub fn apply(&mut self, e: &AuditEntry) {
        self.apply_with(e, None);
    }

    /// [`Rollups::apply`], with the declared data classes of the request behind a grant entry
    /// (`None`: the grant is not counted by class; empty: it declared none). The daily runner
    /// looks them up (`data_insights::grant_classes`); the audit entries of grants do not carry
    /// them.
    pub fn apply_with(&mut self, e: &AuditEntry, grant_classes: Option<&[String]>) {
        if e.seq <= self.last_seq {
            return;
        }
        self.last_seq = e.seq;
        let data = &e.data;
        match e.kind.as_str() {
            "request_created" => {
                let tool = &data["tool"];
                let tool_id = if tool["kind"] == "new" {
                    Some(NEW_TOOL)
                } else {
                    tool["id"].as_str()
                };
                let risk = tool["riskLevel"].as_str().unwrap_or("unassessed");
                if let Some(m) = self.month(&e.at) {
                    m.requests += 1;
                    if let Some(id) = tool_id {
                        *m.by_tool.entry(id.to_string()).or_default() += 1;
                    }
                    *m.by_risk.entry(risk.to_string()).or_default() += 1;
                    if !e.actor.is_empty() {
                        count_requester(&mut m.requesters, &e.actor);
                    }
                    if let Some(id) = tool_id {
                        for class in declared(data) {
                            bump_class(&mut m.by_class_tool, &class, id, 1u64);
                        }
                    }
                }
            }
            "request_approved" => {
                if let Some(m) = self.month(&e.at) {
                    m.approved += 1;
                    if data["source"] == "auto-policy" {
                        m.auto_approved += 1;
                    }
                }
            }
            "request_denied" => {
                if let Some(m) = self.month(&e.at) {
                    m.denied += 1;
                }
            }
            "grant_created" => {
                if let Some(m) = self.month(&e.at) {
                    m.grants_created += 1;
                }
                self.pending_provision += 1;
                self.open(data, 1, grant_classes);
            }
            "grant_activated" => {
                if let Some(m) = self.month(&e.at) {
                    m.grants_activated += 1;
                }
                self.pending_provision -= 1;
                self.active_grants += 1;
            }
            kind @ ("grant_expired" | "grant_revoked") => {
                if let Some(m) = self.month(&e.at) {
                    if kind == "grant_expired" {
                        m.grants_expired += 1;
                    } else {
                        m.grants_revoked += 1;
                    }
                }
                // Only a grant that was open leaves the open counts; an entry without
                // `fromStatus` is taken to close an open grant.
                let was_open = match data["fromStatus"].as_str() {
                    Some("active") => {
                        self.active_grants -= 1;
                        true
                    }
                    Some("pendingProvision") => {
                        self.pending_provision -= 1;
                        true
                    }
                    Some(_) => false,
                    None => true,
                };
                if was_open {
                    self.open(data, -1, grant_classes);
                }
            }
            "grant_reactivated" => {
                self.pending_provision += 1;
                self.open(data, 1, grant_classes);
            }
            _ => {}
        }
    }

    /// The month an entry falls in, or `None` when `at` does not start with `YYYY-MM`.
    fn month(&mut self, at: &str) -> Option<&mut Month> {
        let key = month_of(at)?;
        Some(self.months.entry(key.to_string()).or_default())
    }

    /// Moves a grant into (`delta` 1) or out of (-1) the open counts by risk and tool, and by
    /// data class when its classes are known.
    fn open(&mut self, data: &Value, delta: i64, classes: Option<&[String]>) {
        if let Some(risk) = data["riskLevel"].as_str() {
            bump(&mut self.open_grants_by_risk, risk, delta);
        }
        if let Some(tool) = data["toolId"].as_str() {
            bump(&mut self.open_grants_by_tool, tool, delta);
            if let Some(classes) = classes {
                let undeclared = [UNDECLARED.to_string()];
                let classes = if classes.is_empty() {
                    &undeclared[..]
                } else {
                    classes
                };
                for class in classes {
                    bump_class(&mut self.open_grants_by_class_tool, class, tool, delta);
                }
            }
        }
    }

    /// The insights view over the newest `months` months that have activity.
    pub fn insights(&self, months: usize) -> Value {
        let mut requesters: BTreeMap<&str, u64> = BTreeMap::new();
        let mut tools: BTreeSet<&str> = BTreeSet::new();
        let (mut requests, mut approved, mut auto_approved, mut denied) = (0u64, 0u64, 0u64, 0u64);
        let mut monthly = Vec::new();
        let mut requests_by_class: ClassTool<u64> = BTreeMap::new();
        for (key, m) in self.months.iter().rev().take(months) {
            for (class, tools) in &m.by_class_tool {
                let row = requests_by_class.entry(class.clone()).or_default();
                for (tool, n) in tools {
                    *row.entry(tool.clone()).or_default() += n;
                }
            }
            requests += m.requests;
            approved += m.approved;
            auto_approved += m.auto_approved;
            denied += m.denied;
            for (who, n) in &m.requesters {
                *requesters.entry(who.as_str()).or_default() += n;
            }
            tools.extend(
                m.by_tool
                    .iter()
                    .filter(|(id, n)| **n > 0 && id.as_str() != NEW_TOOL)
                    .map(|(id, _)| id.as_str()),
            );
            let mut row = match serde_json::to_value(m) {
                Ok(Value::Object(o)) => o,
                _ => Map::new(),
            };
            row.remove("requesters");
            row.remove("byClassTool");
            row.insert("month".into(), json!(key));
            row.insert(
                "topRequesters".into(),
                top_requesters(m.requesters.iter().map(|(k, v)| (k.as_str(), *v))),
            );
            monthly.push(Value::Object(row));
        }
        let approval_rate = if approved + denied == 0 {
            Value::Null
        } else {
            let rate = approved as f64 / (approved + denied) as f64;
            json!((rate * 100.0).round() / 100.0)
        };
        let distinct_requesters = requesters.keys().filter(|k| **k != OTHER).count();
        json!({
            "monthly": monthly,
            "adoption": {"requesters": distinct_requesters, "tools": tools.len()},
            "activeAccess": {
                "active": self.active_grants,
                "pendingProvision": self.pending_provision,
                "byTool": self.open_grants_by_tool,
            },
            "riskMix": self.open_grants_by_risk,
            "people": {"topRequesters": top_requesters(requesters.into_iter())},
            // Issue 35: requests in the period and open grants, by declared data class and tool.
            "byDataClass": {
                "requests": requests_by_class,
                "openGrants": self.open_grants_by_class_tool,
                "grantsCountedSince": self.class_grants_since.as_deref().filter(|s| !s.is_empty()),
            },
            "counters": {
                "requests": requests,
                "approved": approved,
                "autoApproved": auto_approved,
                "denied": denied,
                "approvalRate": approval_rate,
            },
            "throughSeq": self.last_seq,
        })
    }
}

/// Audit entries a read of Insights folds in beyond the daily run (two batched reads).
pub const CATCH_UP_ENTRIES: usize = 2 * crate::storage::rules::MAX_BATCH;

/// Folds into `r` — in memory, for one answer; nothing is written — the audit entries the daily
/// runner has not folded yet, at most [`CATCH_UP_ENTRIES`], so Insights counts what Requests
/// lists at the same moment (issue 33 item 5: "1 awaiting provisioning" beside a list of 2
/// because an extension landed after the night's run). Returns whether `r` now reaches the
/// newest entry; when it does not, the screen says how far it counts. Cost: one batched read
/// per 25 newer entries (one when there are none), plus the requests behind new grant entries.
pub fn catch_up(
    store: crate::storage::Store<'_>,
    r: &mut Rollups,
) -> crate::error::AppResult<bool> {
    use crate::storage::keys;
    let batch = crate::storage::rules::MAX_BATCH;
    let mut read = 0;
    while read < CATCH_UP_ENTRIES {
        let want: Vec<String> = (r.last_seq + 1..=r.last_seq + batch as u64)
            .map(keys::audit_event)
            .collect();
        let found = store.batch_get(&want)?;
        let mut entries: Vec<AuditEntry> = Vec::with_capacity(want.len());
        for k in &want {
            let Some(t) = found.get(k) else { break };
            entries.push(crate::storage::decode(k, t)?);
        }
        let complete = entries.len() == want.len();
        // Open grants by class only where the runner counts them (it has started counting).
        let classes = match &r.class_grants_since {
            Some(since) => Some(super::data_insights::grant_classes(store, since, &entries)?),
            None => None,
        };
        read += entries.len();
        for e in &entries {
            r.apply_with(
                e,
                classes
                    .as_ref()
                    .and_then(|c| c.get(&e.seq).map(Vec::as_slice)),
            );
        }
        if !complete {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `YYYY-MM` an RFC 3339 time falls in, or `None` when it does not start with one.
pub fn month_of(at: &str) -> Option<&str> {
    at.get(..7).filter(|k| {
        let b = k.as_bytes();
        b[4] == b'-' && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
    })
}

/// The `n` calendar months ending with the one `day` (`YYYY-MM-DD…`) falls in, newest first.
pub fn months_back(day: &str, n: usize) -> Vec<String> {
    let Some(m) = month_of(day) else {
        return Vec::new();
    };
    let (mut y, mut mo): (i64, i64) = (m[..4].parse().unwrap_or(1970), m[5..].parse().unwrap_or(1));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(format!("{y:04}-{mo:02}"));
        mo -= 1;
        if mo == 0 {
            mo = 12;
            y -= 1;
        }
    }
    out
}

/// Counts one request for `actor`, under `other` once the month tracks the maximum.
fn count_requester(requesters: &mut BTreeMap<String, u64>, actor: &str) {
    let key = if requesters.contains_key(actor) || requesters.len() < MAX_REQUESTERS_PER_MONTH {
        actor
    } else {
        OTHER
    };
    *requesters.entry(key.to_string()).or_default() += 1;
}

/// Adds `delta` to `map[key]`, dropping the key when it reaches zero.
fn bump(map: &mut BTreeMap<String, i64>, key: &str, delta: i64) {
    let n = map.entry(key.to_string()).or_default();
    *n += delta;
    if *n == 0 {
        map.remove(key);
    }
}

/// The classes a `request_created` entry declares, or `undeclared`.
fn declared(data: &Value) -> Vec<String> {
    let classes: Vec<String> = data["dataClasses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(crate::catalog::data::MAX_CLASSES)
        .map(String::from)
        .collect();
    if classes.is_empty() {
        vec![UNDECLARED.to_string()]
    } else {
        classes
    }
}

/// Adds `delta` to `map[class][tool]` within the caps (newcomers past them go under `other`);
/// a count never goes below zero and is dropped at zero, so the table stays bounded.
fn bump_class<N>(map: &mut ClassTool<N>, class: &str, tool: &str, delta: N)
where
    N: Copy + Default + PartialOrd + std::ops::Add<Output = N>,
{
    let class = if map.contains_key(class) || map.len() < MAX_CLASS_KEYS {
        class
    } else {
        OTHER
    };
    let zero = N::default();
    if delta < zero && !map.contains_key(class) {
        return;
    }
    let row = map.entry(class.to_string()).or_default();
    let tool = if row.contains_key(tool) || row.len() < MAX_TOOLS_PER_CLASS {
        tool
    } else {
        OTHER
    };
    let n = *row.get(tool).unwrap_or(&zero) + delta;
    if n > zero {
        row.insert(tool.to_string(), n);
    } else {
        row.remove(tool);
    }
    if row.is_empty() {
        map.remove(class);
    }
}

/// The ten biggest requesters, most requests first (ties by account id); `other` is not a person.
fn top_requesters<'a>(counts: impl Iterator<Item = (&'a str, u64)>) -> Value {
    let mut v: Vec<(&str, u64)> = counts.filter(|(k, _)| *k != OTHER).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Value::Array(
        v.into_iter()
            .take(TOP)
            .map(|(id, n)| json!({"accountId": id, "requests": n}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, kind: &str, at: &str, actor: &str, data: Value) -> AuditEntry {
        AuditEntry {
            seq,
            kind: kind.into(),
            at: at.into(),
            actor: actor.into(),
            issue_key: Some(format!("AI-{seq}")),
            subject: Value::Null,
            data,
            policy_version: None,
            mac_key_id: "k1".into(),
            prev_hash: "p".into(),
            entry_hash: "h".into(),
            entry_mac: "m".into(),
        }
    }

    fn catalog_request(seq: u64, at: &str, actor: &str, tool: &str, risk: &str) -> AuditEntry {
        let tool = json!({"kind": "catalog", "id": tool, "displayName": tool, "riskLevel": risk});
        entry(seq, "request_created", at, actor, json!({ "tool": tool }))
    }

    fn grant(
        seq: u64,
        kind: &str,
        at: &str,
        tool: &str,
        risk: &str,
        from: Option<&str>,
    ) -> AuditEntry {
        let mut data = json!({"toolId": tool, "riskLevel": risk});
        if let Some(f) = from {
            data["fromStatus"] = json!(f);
        }
        entry(seq, kind, at, "app", data)
    }

    /// A small history over two months.
    fn history() -> Vec<AuditEntry> {
        vec![
            catalog_request(
                1,
                "2026-01-05T09:00:00.000Z",
                "alice",
                "claude-team",
                "medium",
            ),
            catalog_request(
                2,
                "2026-01-06T09:00:00.000Z",
                "bob",
                "cursor-business",
                "high",
            ),
            entry(
                3,
                "request_created",
                "2026-01-07T09:00:00.000Z",
                "alice",
                json!({"tool": {"kind": "new", "name": "Foo AI", "url": "https://foo.example"}}),
            ),
            entry(
                4,
                "request_approved",
                "2026-01-07T10:00:00.000Z",
                "app",
                json!({"source": "auto-policy"}),
            ),
            entry(
                5,
                "request_approved",
                "2026-01-08T10:00:00.000Z",
                "carol",
                json!({"source": "approver"}),
            ),
            entry(
                6,
                "request_denied",
                "2026-01-08T11:00:00.000Z",
                "carol",
                Value::Null,
            ),
            grant(
                7,
                "grant_created",
                "2026-01-08T12:00:00.000Z",
                "claude-team",
                "medium",
                None,
            ),
            grant(
                8,
                "grant_created",
                "2026-01-08T12:00:01.000Z",
                "cursor-business",
                "high",
                None,
            ),
            grant(
                9,
                "grant_activated",
                "2026-01-09T08:00:00.000Z",
                "claude-team",
                "medium",
                None,
            ),
            entry(
                10,
                "comment_posted",
                "2026-01-09T08:00:00.000Z",
                "app",
                Value::Null,
            ),
            // February: the cursor grant is revoked before provisioning, the claude grant expires.
            grant(
                11,
                "grant_revoked",
                "2026-02-01T00:00:00.000Z",
                "cursor-business",
                "high",
                Some("pendingProvision"),
            ),
            grant(
                12,
                "grant_expired",
                "2026-02-10T00:00:00.000Z",
                "claude-team",
                "medium",
                Some("active"),
            ),
            catalog_request(
                13,
                "2026-02-11T09:00:00.000Z",
                "bob",
                "claude-team",
                "medium",
            ),
        ]
    }

    fn folded(entries: &[AuditEntry]) -> Rollups {
        let mut r = Rollups::default();
        for e in entries {
            r.apply(e);
        }
        r
    }

    #[test]
    fn folds_requests_decisions_and_grants_by_month() {
        let r = folded(&history());
        assert_eq!(r.last_seq, 13);
        assert_eq!(r.months.keys().collect::<Vec<_>>(), ["2026-01", "2026-02"]);

        let jan = &r.months["2026-01"];
        assert_eq!(
            (jan.requests, jan.approved, jan.auto_approved, jan.denied),
            (3, 2, 1, 1)
        );
        assert_eq!((jan.grants_created, jan.grants_activated), (2, 1));
        assert_eq!((jan.grants_expired, jan.grants_revoked), (0, 0));
        assert_eq!(jan.by_tool["claude-team"], 1);
        assert_eq!(jan.by_tool["cursor-business"], 1);
        assert_eq!(jan.by_tool["new-tool"], 1);
        assert_eq!(jan.by_risk["unassessed"], 1);
        assert_eq!(jan.by_risk["high"], 1);
        assert_eq!(jan.requesters["alice"], 2);
        assert_eq!(jan.requesters["bob"], 1);

        let feb = &r.months["2026-02"];
        assert_eq!(
            (feb.requests, feb.grants_expired, feb.grants_revoked),
            (1, 1, 1)
        );
        assert_eq!(feb.grants_created, 0);

        // Both grants closed: nothing open, the counters are back to zero and keys removed.
        assert_eq!((r.active_grants, r.pending_provision), (0, 0));
        assert!(
            r.open_grants_by_risk.is_empty(),
            "{:?}",
            r.open_grants_by_risk
        );
        assert!(r.open_grants_by_tool.is_empty());
    }

    #[test]
    fn open_counts_track_grant_lifecycle() {
        let h = history();
        // Stop after activation: one active, one pending.
        let r = folded(&h[..9]);
        assert_eq!((r.active_grants, r.pending_provision), (1, 1));
        assert_eq!(r.open_grants_by_risk["medium"], 1);
        assert_eq!(r.open_grants_by_risk["high"], 1);
        assert_eq!(r.open_grants_by_tool["cursor-business"], 1);

        // Revoked while pending provisioning: pending drops, active does not.
        let r = folded(&h[..11]);
        assert_eq!((r.active_grants, r.pending_provision), (1, 0));
        assert!(!r.open_grants_by_tool.contains_key("cursor-business"));
        assert_eq!(r.open_grants_by_tool["claude-team"], 1);
    }

    #[test]
    fn reactivation_reopens_and_closed_grants_do_not_close_twice() {
        let mut r = folded(&history());
        r.apply(&grant(
            14,
            "grant_reactivated",
            "2026-02-12T00:00:00.000Z",
            "claude-team",
            "medium",
            None,
        ));
        assert_eq!((r.active_grants, r.pending_provision), (0, 1));
        assert_eq!(r.open_grants_by_tool["claude-team"], 1);
        r.apply(&grant(
            15,
            "grant_activated",
            "2026-02-12T01:00:00.000Z",
            "claude-team",
            "medium",
            None,
        ));
        assert_eq!((r.active_grants, r.pending_provision), (1, 0));

        // Revoking a grant that had already expired leaves the open counts alone.
        r.apply(&grant(
            16,
            "grant_revoked",
            "2026-02-13T00:00:00.000Z",
            "cursor-business",
            "high",
            Some("expired"),
        ));
        assert_eq!((r.active_grants, r.pending_provision), (1, 0));
        assert!(!r.open_grants_by_tool.contains_key("cursor-business"));
        assert_eq!(r.months["2026-02"].grants_revoked, 2);
    }

    #[test]
    fn replayed_entries_are_ignored() {
        let h = history();
        let mut r = folded(&h);
        let before = r.clone();
        for e in &h {
            r.apply(e);
        }
        assert_eq!(r, before);
        // A newer entry still counts.
        r.apply(&entry(
            14,
            "request_denied",
            "2026-02-12T00:00:00.000Z",
            "carol",
            Value::Null,
        ));
        assert_eq!(r.months["2026-02"].denied, 1);
        assert_eq!(r.last_seq, 14);
    }

    #[test]
    fn missing_fields_never_panic() {
        let mut r = Rollups::default();
        r.apply(&entry(1, "request_created", "bad", "", Value::Null));
        r.apply(&entry(
            2,
            "grant_created",
            "2026-03-01T00:00:00Z",
            "app",
            json!({"toolId": 7}),
        ));
        r.apply(&entry(
            3,
            "grant_expired",
            "2026-03-02T00:00:00Z",
            "app",
            json!("odd"),
        ));
        assert_eq!(r.last_seq, 3);
        assert!(!r.months.contains_key("bad"));
        assert_eq!(r.months["2026-03"].grants_created, 1);
        assert_eq!(r.months["2026-03"].grants_expired, 1);
        // No fromStatus: the grant leaves the open counts, but which counter it left is unknown.
        assert_eq!((r.active_grants, r.pending_provision), (0, 1));
        assert!(r.open_grants_by_tool.is_empty() && r.open_grants_by_risk.is_empty());
    }

    #[test]
    fn months_back_crosses_years_and_head_never_stores_months() {
        assert_eq!(
            months_back("2026-02-14T00:00:00.000Z", 4),
            ["2026-02", "2026-01", "2025-12", "2025-11"]
        );
        assert!(months_back("bad", 3).is_empty());
        // The head record is bounded: months are never serialised into it.
        let r = folded(&history());
        assert!(!r.months.is_empty());
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains("months"), "{text}");
        // A record from before the split still loads its months (to be migrated).
        let legacy = r#"{"lastSeq":3,"months":{"2026-01":{"requests":2}}}"#;
        let old: Rollups = serde_json::from_str(legacy).unwrap();
        assert_eq!(old.months["2026-01"].requests, 2);
    }

    #[test]
    fn requesters_are_capped_per_month() {
        let mut r = Rollups::default();
        let at = "2026-04-01T00:00:00.000Z";
        let mut seq = 0;
        for i in 0..MAX_REQUESTERS_PER_MONTH + 2 {
            seq += 1;
            r.apply(&catalog_request(
                seq,
                at,
                &format!("user-{i:04}"),
                "claude-team",
                "medium",
            ));
        }
        seq += 1;
        r.apply(&catalog_request(
            seq,
            at,
            "user-0000",
            "claude-team",
            "medium",
        ));
        let april = &r.months["2026-04"];
        assert_eq!(april.requests, MAX_REQUESTERS_PER_MONTH as u64 + 3);
        assert_eq!(april.requesters.len(), MAX_REQUESTERS_PER_MONTH + 1);
        assert_eq!(april.requesters[OTHER], 2);
        assert_eq!(april.requesters["user-0000"], 2);
        // A new month starts with a fresh allowance.
        seq += 1;
        r.apply(&catalog_request(
            seq,
            "2026-05-01T00:00:00Z",
            "user-0999",
            "claude-team",
            "medium",
        ));
        assert_eq!(r.months["2026-05"].requesters["user-0999"], 1);

        let v = r.insights(1);
        assert_eq!(v["adoption"]["requesters"], 1);
        let v = r.insights(2);
        let top = v["people"]["topRequesters"].as_array().unwrap();
        assert_eq!(top.len(), 10);
        assert_eq!(top[0], json!({"accountId": "user-0000", "requests": 2}));
        assert!(top.iter().all(|t| t["accountId"] != OTHER));
        assert_eq!(v["adoption"]["requesters"], MAX_REQUESTERS_PER_MONTH + 1);
    }

    #[test]
    fn insights_newest_first_with_counters() {
        let mut r = folded(&history());
        r.apply(&catalog_request(
            14,
            "2025-12-20T00:00:00Z",
            "dave",
            "notion-ai",
            "medium",
        ));
        // Out-of-order months still sort by key; ask for the two newest.
        let v = r.insights(2);
        let monthly = v["monthly"].as_array().unwrap();
        assert_eq!(monthly.len(), 2);
        assert_eq!(monthly[0]["month"], "2026-02");
        assert_eq!(monthly[1]["month"], "2026-01");
        assert_eq!(monthly[1]["autoApproved"], 1);
        assert_eq!(monthly[1]["byTool"]["new-tool"], 1);
        assert!(monthly[1].get("requesters").is_none());
        assert_eq!(
            monthly[1]["topRequesters"],
            json!([{"accountId": "alice", "requests": 2}, {"accountId": "bob", "requests": 1}])
        );
        assert_eq!(
            v["counters"],
            json!({
                "requests": 4,
                "approved": 2,
                "autoApproved": 1,
                "denied": 1,
                "approvalRate": 0.67
            })
        );
        assert_eq!(v["adoption"], json!({"requesters": 2, "tools": 2}));
        assert_eq!(
            v["people"]["topRequesters"],
            json!([{"accountId": "alice", "requests": 2}, {"accountId": "bob", "requests": 2}])
        );
        assert_eq!(
            v["activeAccess"],
            json!({"active": 0, "pendingProvision": 0, "byTool": {}})
        );
        assert_eq!(v["riskMix"], json!({}));
        assert_eq!(v["throughSeq"], 14);

        // All three months: dave and notion-ai join; no decisions means no rate.
        let v = r.insights(12);
        assert_eq!(v["monthly"].as_array().unwrap().len(), 3);
        assert_eq!(v["adoption"], json!({"requesters": 3, "tools": 3}));
        let none = r.insights(0);
        assert_eq!(none["monthly"], json!([]));
        assert_eq!(none["counters"]["approvalRate"], Value::Null);
    }

    fn classes_request(seq: u64, tool: &str, classes: &[&str]) -> AuditEntry {
        let mut e = catalog_request(seq, "2026-03-02T09:00:00.000Z", "alice", tool, "low");
        if !classes.is_empty() {
            e.data["dataClasses"] = json!(classes);
        }
        e
    }

    // covers: CL-137
    #[test]
    fn requests_and_open_grants_count_by_declared_class_and_tool() {
        let mut r = Rollups::default();
        r.apply(&classes_request(1, "copilot", &["source-code", "internal"]));
        r.apply(&classes_request(2, "copilot", &[]));
        r.apply(&classes_request(3, "claude", &["internal"]));
        let m = &r.months["2026-03"];
        assert_eq!(m.by_class_tool["source-code"]["copilot"], 1);
        assert_eq!(m.by_class_tool["internal"]["copilot"], 1);
        assert_eq!(m.by_class_tool["internal"]["claude"], 1);
        assert_eq!(m.by_class_tool[UNDECLARED]["copilot"], 1);

        let classes = vec!["source-code".to_string(), "internal".to_string()];
        let g = |seq, kind, from| grant(seq, kind, "2026-03-03T00:00:00Z", "copilot", "low", from);
        r.apply_with(&g(4, "grant_created", None), Some(&classes));
        r.apply_with(&g(5, "grant_created", None), Some(&[]));
        // A grant decided before counting began: known to the open counts, not to the classes.
        r.apply_with(&g(6, "grant_created", None), None);
        assert_eq!(r.open_grants_by_class_tool["internal"]["copilot"], 1);
        assert_eq!(r.open_grants_by_class_tool[UNDECLARED]["copilot"], 1);
        assert_eq!(r.open_grants_by_tool["copilot"], 3);
        let v = r.insights(12);
        assert_eq!(
            v["byDataClass"]["requests"]["internal"],
            json!({"claude": 1, "copilot": 1})
        );
        assert_eq!(
            v["byDataClass"]["openGrants"]["source-code"],
            json!({"copilot": 1})
        );
        assert!(v["monthly"][0].get("byClassTool").is_none());

        r.apply_with(
            &g(7, "grant_revoked", Some("pendingProvision")),
            Some(&classes),
        );
        r.apply_with(&g(8, "grant_expired", Some("pendingProvision")), None);
        assert_eq!(
            serde_json::to_value(&r.open_grants_by_class_tool).unwrap(),
            json!({"undeclared": {"copilot": 1}})
        );
        // Never below zero: closing a grant the table never counted changes nothing.
        r.apply_with(&g(9, "grant_revoked", Some("active")), Some(&classes));
        assert!(!r.open_grants_by_class_tool.contains_key("internal"));
    }

    #[test]
    fn the_class_table_is_bounded_whatever_is_declared() {
        let mut r = Rollups::default();
        let mut seq = 0;
        // The longest names there are: 40-character classes, 64-character tool ids.
        for c in 0..40 {
            for t in 0..150 {
                seq += 1;
                let class = format!("class-{c:02}-{}", "x".repeat(31));
                let tool = format!("tool-{t:03}-{}", "y".repeat(55));
                r.apply(&classes_request(seq, &tool, &[class.as_str()]));
            }
        }
        let m = &r.months["2026-03"];
        assert_eq!(m.by_class_tool.len(), MAX_CLASS_KEYS + 1);
        assert!(m
            .by_class_tool
            .values()
            .all(|t| t.len() <= MAX_TOOLS_PER_CLASS + 1));
        let total: u64 = m.by_class_tool.values().flat_map(|t| t.values()).sum();
        assert_eq!(total, 40 * 150);
        // Forge's limit is 240 KiB a value: the worst-case month stays well under it.
        let size = serde_json::to_string(m).unwrap().len();
        assert!(size < 100 * 1024, "{size}");
    }
}
