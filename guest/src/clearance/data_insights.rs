//! Insights that know about data (issue 35 item 6).
//!
//! - **By data class**: the daily analytics runner counts requests (per month) and open grants
//!   by the data classes their request declared and by tool, inside the same bounded rollups as
//!   the rest of Insights (`rollups.rs`): the screen reads the rollups, never the requests. The
//!   audit entries of grants name the grant, not the classes, so the runner looks the classes up
//!   on the grant's request (one batched read per 25 entries it folds: cost grows with the new
//!   events, never with the history).
//! - **Profile changed after approval**: a catalog save that weakens a tool's data profile (the
//!   vendor now trains on inputs, the enterprise agreement ended, the data residency moved, an
//!   approved class was removed) records the change in the save's own transaction, audited
//!   (`tool_profile_weakened`). Insights reports the open grants of that tool approved before
//!   the change (the grant-by-tool index, a bounded page at a time) and an admin asks for their
//!   recertification: the same review issue the daily recertification creates before expiry,
//!   once per grant per change (a create-if-absent marker), never for the caller's own grant
//!   (the kernel's beneficiary rule), audited with who asked.

use super::grants::Grant;
use super::rollups::Rollups;
use super::{facts, kernel, reminders};
use crate::audit::{AuditDraft, AuditEntry};
use crate::catalog::data::{DataProfile, TrainsOnInputs};
use crate::catalog::{AlsoWrite, Tool};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// ---- Insights by data class ---------------------------------------------------------------------

/// Starts counting open grants by class, once: from the first entry on a new installation,
/// otherwise from now (grants decided before stay out of the class table, see `Rollups`).
pub fn start_counting(r: &mut Rollups, now_ms: u64) {
    if r.class_grants_since.is_none() {
        r.class_grants_since = Some(if r.last_seq == 0 {
            String::new()
        } else {
            crate::time::rfc3339(now_ms)
        });
    }
}

const GRANT_KINDS: [&str; 4] = [
    "grant_created",
    "grant_reactivated",
    "grant_expired",
    "grant_revoked",
];

/// The declared classes behind the grant entries among `entries` (by entry seq), for grants
/// whose request was decided at or after `since`: one batched read of their requests (a
/// grant's id is `g-<request issue id>`). A grant whose request is gone, or decided before
/// counting began, is left out.
pub fn grant_classes(
    store: Store<'_>,
    since: &str,
    entries: &[AuditEntry],
) -> AppResult<BTreeMap<u64, Vec<String>>> {
    let since_ms = if since.is_empty() {
        0
    } else {
        crate::time::parse(since).unwrap_or(u64::MAX)
    };
    let want: Vec<(u64, String)> = entries
        .iter()
        .filter(|e| GRANT_KINDS.contains(&e.kind.as_str()))
        .filter_map(|e| {
            let id = e.data["grantId"].as_str()?.strip_prefix("g-")?;
            let numeric =
                !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
            numeric.then(|| (e.seq, keys::request(id)))
        })
        .collect();
    let mut ks: Vec<String> = want.iter().map(|(_, k)| k.clone()).collect();
    ks.sort();
    ks.dedup();
    let requests: BTreeMap<String, Request> = store.get_many::<Request>(&ks)?.into_iter().collect();
    Ok(want
        .into_iter()
        .filter_map(|(seq, k)| {
            let r = requests.get(&k)?;
            let decided = crate::time::parse(r.decided_at.as_deref()?)?;
            (decided >= since_ms).then(|| (seq, r.data_classes.clone()))
        })
        .collect())
}

// ---- Profile changed after approval ----------------------------------------------------------------

/// One way a profile got weaker: the field, what it was, what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Weakening {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl Weakening {
    fn new(field: &str, from: impl Into<String>, to: impl Into<String>) -> Self {
        Weakening {
            field: field.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// The words a reviewer reads.
    pub fn describe(&self) -> String {
        match self.field.as_str() {
            "trainsOnInputs" => format!("trains on inputs: {} → {}", self.from, self.to),
            "enterpriseAgreement" => "the enterprise agreement is no longer in place".into(),
            "dataResidency" => format!("data residency: {} → {}", self.from, self.to),
            "approvedClasses" => format!("no longer approved for {}", self.from),
            f => format!("{f}: {} → {}", self.from, self.to),
        }
    }
}

fn trains(t: TrainsOnInputs) -> &'static str {
    match t {
        TrainsOnInputs::Yes => "yes",
        TrainsOnInputs::No => "no",
        TrainsOnInputs::OptOut => "opt-out",
        TrainsOnInputs::Unknown => "unknown",
    }
}

/// How `after` is weaker than `before` (a removed profile is every field back to nothing). A
/// tool that had no profile promised nothing, so nothing can weaken; new classes, a new
/// agreement, a residency recorded for the first time or a vendor that stopped training are
/// not weakenings.
pub fn weakenings(before: Option<&DataProfile>, after: Option<&DataProfile>) -> Vec<Weakening> {
    let Some(b) = before else {
        return Vec::new();
    };
    let none = DataProfile::default();
    let a = after.unwrap_or(&none);
    let (bt, at) = (&b.vendor_terms, &a.vendor_terms);
    let mut out = Vec::new();
    if bt.trains_on_inputs == TrainsOnInputs::No && at.trains_on_inputs != TrainsOnInputs::No {
        out.push(Weakening::new(
            "trainsOnInputs",
            "no",
            trains(at.trains_on_inputs),
        ));
    }
    if bt.enterprise_agreement && !at.enterprise_agreement {
        out.push(Weakening::new("enterpriseAgreement", "true", "false"));
    }
    let (br, ar) = (bt.data_residency.trim(), at.data_residency.trim());
    if !br.is_empty() && br != ar {
        let to = if ar.is_empty() { "not recorded" } else { ar };
        out.push(Weakening::new("dataResidency", br, to));
    }
    for c in &b.approved_classes {
        if !a.approved_classes.contains(c) {
            out.push(Weakening::new("approvedClasses", c.as_str(), ""));
        }
    }
    out
}

/// The latest change that weakened a tool's profile (`tool-profile-change:<toolId>`). A later
/// weakening replaces it: the grants approved before the later change include those before the
/// earlier one, and they are asked again (the terms changed again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileChange {
    pub tool_id: String,
    pub tool_name: String,
    pub at: String,
    pub at_ms: u64,
    pub by: String,
    pub tool_version: u64,
    pub weakened: Vec<Weakening>,
}

impl ProfileChange {
    /// Why a grant of the tool is reviewed (the review issue's first paragraph).
    pub fn reason(&self) -> String {
        let what: Vec<String> = self.weakened.iter().map(Weakening::describe).collect();
        format!(
            "The data profile of {} changed on {} after this access was approved: {}. Review whether the access should continue under the new terms.",
            self.tool_name,
            crate::time::day(self.at_ms),
            what.join("; ")
        )
    }
}

/// The catalog save's hook (`catalog::save_with`, called where `admin.catalog.upsert` is
/// dispatched): a save that weakens the tool's profile records the change and its audit entry
/// in the save's transaction; any other save writes nothing more.
pub fn on_tool_saved(who: &str, before: Option<&Tool>, after: &Tool) -> AlsoWrite {
    let weakened = weakenings(
        before.and_then(|t| t.data_profile.as_ref()),
        after.data_profile.as_ref(),
    );
    if weakened.is_empty() {
        return AlsoWrite::default();
    }
    let at_ms = crate::time::parse(&after.updated_at).unwrap_or(0);
    let change = ProfileChange {
        tool_id: after.id.clone(),
        tool_name: after.display_name.clone(),
        at: after.updated_at.clone(),
        at_ms,
        by: who.to_string(),
        tool_version: after.version,
        weakened,
    };
    let mut d = AuditDraft::new("tool_profile_weakened", who);
    d.subject = json!({"toolId": after.id});
    d.data = json!({"toolVersion": after.version, "weakened": change.weakened});
    AlsoWrite {
        drafts: vec![d],
        sets: vec![(
            keys::tool_profile_change(&after.id),
            serde_json::to_value(&change).expect("serializes"),
        )],
    }
}

/// Grants examined per call, by the report and by the recertification.
pub const GRANTS_PER_CALL: usize = 50;

/// One bounded step through a tool's open grants (`access-grant-by-tool:`): the grants approved
/// before the change, and where to continue.
struct Walk {
    grants: Vec<Grant>,
    next_cursor: Option<String>,
    examined: usize,
}

fn walk(store: Store<'_>, change: &ProfileChange, cursor: Option<&str>) -> AppResult<Walk> {
    let prefix = keys::grant_by_tool_prefix(&change.tool_id);
    let mut cursor = cursor.map(String::from);
    let mut ids: Vec<String> = Vec::new();
    loop {
        let left = (GRANTS_PER_CALL - ids.len()).min(20) as u32;
        let page = store.page::<String>(&prefix, cursor.as_deref(), left)?;
        ids.extend(page.items.into_iter().map(|(_, id)| id));
        cursor = page.next_cursor;
        if cursor.is_none() || ids.len() >= GRANTS_PER_CALL {
            break;
        }
    }
    let want: Vec<String> = ids.iter().map(|id| keys::grant(id)).collect();
    let grants = store
        .get_many::<Grant>(&want)?
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| {
            g.status.is_open()
                && crate::time::parse(&g.granted_at).is_some_and(|t| t < change.at_ms)
        })
        .collect();
    Ok(Walk {
        grants,
        next_cursor: cursor,
        examined: ids.len(),
    })
}

/// The marker of a grant's recertification for one change (create-if-absent).
fn marker(g: &Grant, change: &ProfileChange) -> String {
    keys::grant_reminder(&g.id, "profile", change.at_ms)
}

fn load_change(store: Store<'_>, p: &Value) -> AppResult<ProfileChange> {
    let tool_id = p
        .get("toolId")
        .and_then(Value::as_str)
        .filter(|t| crate::catalog::is_tool_id(t))
        .ok_or_else(|| AppError::invalid("FIELD_MISSING", "toolId is required"))?;
    store
        .get::<ProfileChange>(&keys::tool_profile_change(tool_id))?
        .ok_or_else(|| {
            AppError::not_found(
                "PROFILE_CHANGE_NOT_FOUND",
                format!("the data profile of {tool_id:?} has not been weakened"),
            )
        })
}

fn cursor_of(p: &Value) -> Option<&str> {
    p.get("cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
}

/// `admin.insights.profileChanges`: without `toolId`, a page of tools whose profile was
/// weakened (newest change first within the page); with it, a page of that tool's open grants
/// approved before the change, each with its recertification if one was asked for.
pub fn profile_changes(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    if p.get("toolId").is_none() {
        let page =
            store.page::<ProfileChange>(keys::TOOL_PROFILE_CHANGE_PREFIX, cursor_of(p), 20)?;
        let mut changes: Vec<ProfileChange> = page.items.into_iter().map(|(_, c)| c).collect();
        changes.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(a.tool_id.cmp(&b.tool_id)));
        let rows: Vec<Value> = changes
            .iter()
            .map(|c| {
                let mut v = json!(c);
                v["reason"] = json!(c.reason());
                v
            })
            .collect();
        return Ok(json!({"changes": rows, "nextCursor": page.next_cursor}));
    }
    let change = load_change(store, p)?;
    let w = walk(store, &change, cursor_of(p))?;
    let want: Vec<String> = w.grants.iter().map(|g| marker(g, &change)).collect();
    let markers: BTreeMap<String, Value> = store.get_many::<Value>(&want)?.into_iter().collect();
    let ids: Vec<&str> = w.grants.iter().map(|g| g.account_id.as_str()).collect();
    let names =
        crate::names::display_names(host, crate::names::ADMINS, &ids).map_err(AppError::from)?;
    let rows: Vec<Value> = w
        .grants
        .iter()
        .map(|g| {
            let m = markers.get(&marker(g, &change));
            json!({
                "grantId": g.id, "issueKey": g.issue_key, "accountId": g.account_id,
                "name": names.get(&g.account_id), "status": g.status.as_str(),
                "grantedAt": g.granted_at, "expiresAt": g.expires_at,
                "conditions": g.conditions, "recertification": m,
            })
        })
        .collect();
    Ok(
        json!({"change": change, "reason": change.reason(), "grants": rows,
              "examined": w.examined, "nextCursor": w.next_cursor}),
    )
}

/// `admin.insights.recertify`: asks for the recertification of up to [`GRANTS_PER_CALL`] of
/// the grants approved before the tool's profile changed (continue with `nextCursor`). Each
/// grant gets the review issue the daily recertification creates (`reminders`), once per
/// change; a grant the caller holds (in person or through a delegation) is left to another
/// admin. One audit entry per call names who asked and what was created.
pub fn recertify(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let change = load_change(store, p)?;
    let cfg = crate::intake::config::load(store)?;
    let Some((project, type_id)) = cfg
        .as_ref()
        .and_then(|c| Some((c.project_key.clone(), c.approvals.review_issue_type_id?)))
    else {
        return Err(AppError::invalid(
            "RECERTIFICATION_NOT_CONFIGURED",
            "set the review issue type in Intake & Approvals first: recertification creates review issues of that type",
        ));
    };
    let person = facts::person(host, who)?;
    let rule = kernel::manager_rule(&person, &facts::approvers(store)?)?;
    let w = walk(store, &change, cursor_of(p))?;
    let why = change.reason();
    let (mut created, mut own, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut already = 0u32;
    // Out of time (each grant is a Jira create): stop, and hand back the cursor this call
    // started from; the markers make the grants already asked for a no-op next time.
    let mut out_of_time = false;
    for g in &w.grants {
        if host.remaining_ms() < 5_000 {
            out_of_time = true;
            break;
        }
        if kernel::not_beneficiary(
            &person,
            &rule,
            &g.account_id,
            "SELF_RECERTIFICATION",
            "this is your own access; another administrator asks for its review",
        )
        .is_err()
        {
            own.push(json!({"grantId": g.id, "issueKey": g.issue_key}));
            continue;
        }
        let m = marker(g, &change);
        let claim = json!({"state": "claimed", "by": who});
        if !store.create_ttl(&m, &claim, reminders::MARKER_TTL_S)? {
            already += 1;
            continue;
        }
        match reminders::create_review_issue(host, &project, type_id, g, Some(&why)) {
            Ok(key) => {
                store.put_ttl(
                    &m,
                    &json!({"state": "created", "issueKey": key, "by": who}),
                    reminders::MARKER_TTL_S,
                )?;
                created.push(json!({"grantId": g.id, "issueKey": g.issue_key,
                                    "accountId": g.account_id, "reviewIssueKey": key}));
            }
            Err(reason) => {
                host.log(
                    Level::Warn,
                    &format!(
                        "recertification: review issue for grant {} not created ({reason})",
                        g.id
                    ),
                );
                store.delete(&m)?;
                failed.push(json!({"grantId": g.id, "issueKey": g.issue_key, "reason": reason}));
            }
        }
    }
    if !created.is_empty() || !own.is_empty() {
        let mut d = AuditDraft::new("grants_recertification_requested", who);
        d.subject = json!({"toolId": change.tool_id});
        d.data = json!({"reason": "toolProfileChanged", "changeAt": change.at,
                        "weakened": change.weakened, "created": created,
                        "leftToAnotherAdmin": own, "failed": failed.len()});
        let mac = crate::audit::mac_key(store, None)?;
        crate::audit::commit_with_audit(store, &mac, None, &[d], |_| Ok(()))?;
    }
    Ok(json!({
        "toolId": change.tool_id, "created": created, "already": already,
        "leftToAnotherAdmin": own, "failed": failed, "examined": w.examined,
        "nextCursor": if out_of_time { cursor_of(p).map(String::from) } else { w.next_cursor.clone() },
        "more": out_of_time || w.next_cursor.is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::data::VendorTerms;

    fn profile(classes: &[&str], trains: TrainsOnInputs, ea: bool, res: &str) -> DataProfile {
        DataProfile {
            approved_classes: classes.iter().map(|c| c.to_string()).collect(),
            vendor_terms: VendorTerms {
                trains_on_inputs: trains,
                enterprise_agreement: ea,
                data_residency: res.into(),
                ..VendorTerms::default()
            },
            conditions: vec![],
        }
    }

    #[test]
    fn only_weaker_terms_count_as_a_change() {
        let b = profile(&["public", "source-code"], TrainsOnInputs::No, true, "EU");
        let fields = |a: Option<&DataProfile>| -> Vec<String> {
            weakenings(Some(&b), a)
                .into_iter()
                .map(|w| w.field)
                .collect()
        };
        // The same profile, or a stronger one: nothing.
        assert!(fields(Some(&b)).is_empty());
        let stronger = profile(
            &["public", "source-code", "internal"],
            TrainsOnInputs::No,
            true,
            "EU",
        );
        assert!(fields(Some(&stronger)).is_empty());
        for t in [
            TrainsOnInputs::Yes,
            TrainsOnInputs::OptOut,
            TrainsOnInputs::Unknown,
        ] {
            let a = profile(&["public", "source-code"], t, true, "EU");
            assert_eq!(fields(Some(&a)), ["trainsOnInputs"]);
        }
        let a = profile(&["public"], TrainsOnInputs::No, false, "US");
        assert_eq!(
            fields(Some(&a)),
            ["enterpriseAgreement", "dataResidency", "approvedClasses"]
        );
        let w = weakenings(Some(&b), Some(&a));
        assert_eq!(w[2].describe(), "no longer approved for source-code");
        assert_eq!(w[1].describe(), "data residency: EU → US");
        // The profile removed: every promise is gone.
        assert_eq!(fields(None).len(), 5);
        // No profile before: nothing was promised; residency recorded for the first time is
        // not a weakening, nor is a vendor that stopped training.
        assert!(weakenings(None, Some(&a)).is_empty());
        let unrecorded = profile(&[], TrainsOnInputs::Yes, false, "");
        assert!(weakenings(Some(&unrecorded), Some(&a)).is_empty());
    }
}
