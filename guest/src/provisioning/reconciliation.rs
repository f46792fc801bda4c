//! Reconciliation (§8 check jobs, §13 `reconciliation-record`): keeps provider group membership
//! honest against grants.
//!
//! For each catalog tool bound to an enabled connected connector, a check compares the members of
//! the tool's entitlement group (read from ArdSaor Core page by page) with the tool's active
//! grants (read through `access-grant-by-tool:`), matching people by the identity each grant was
//! provisioned with, else by mapping or Jira email. Drift is recorded per tool and subject:
//!
//! - `orphan`: a member with no open grant (access without a grant);
//! - `missing`: an active grant whose person is not a member (a grant without access);
//! - `unknownIdentity`: an active grant whose person has no provider account the app can name.
//!
//! Pending-provision grants are neither: their job is on its way. In `repair` mode (per connector)
//! orphans are removed through Core and missing members are re-provisioned through an ordinary
//! provisioning job; each repair is an audit event. `reportOnly` records drift and changes
//! nothing. A check reads everything before it writes anything, so a Core failure mid-check
//! leaves the findings as they were and records a failed run. Checks are idempotent: findings
//! have deterministic keys, and a repeated check finds what is still true.
//!
//! The weekly trigger queues one `{"reconcileTool": id}` event per tool on the provisioning
//! queue, so each tool gets its own 900 s invocation.

use super::connectors::{self, Connector, ReconcileMode};
use super::identities;
use super::relay;
use crate::audit::{self, AuditDraft};
use crate::clearance::grants::{Grant, GrantStatus};
use crate::clearance::jobs::{self, JobKind};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::storage::{keys, StorageError, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const EVENT_FIELD: &str = "reconcileTool";
/// Bound: up to 20,000 open grants per tool (and 20,000 members: `relay::group_members`).
const MAX_GRANTS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub tool_id: String,
    pub connector_id: String,
    pub group_id: String,
    /// `orphan`, `missing` or `unknownIdentity`.
    pub kind: String,
    /// Grant id (missing, unknownIdentity) or member fingerprint (orphan).
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The member's email, masked (`j***@acme.example`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// `open`, `repaired` or `resolved`.
    pub status: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('?')),
        None => "***".into(),
    }
}

/// The connected tools to check: bound to an enabled connected connector, with a group.
fn connected_tools(store: Store<'_>) -> AppResult<Vec<(crate::catalog::Tool, Connector, String)>> {
    let mut out = Vec::new();
    let mut cache: BTreeMap<String, Option<Connector>> = BTreeMap::new();
    for t in crate::catalog::list(store)? {
        let Some(cid) = t.connector_id.clone() else {
            continue;
        };
        let c = match cache.get(&cid) {
            Some(c) => c.clone(),
            None => {
                let c = connectors::load(store, &cid)?;
                cache.insert(cid.clone(), c.clone());
                c
            }
        };
        let gid = t
            .entitlement_group
            .as_ref()
            .and_then(|g| g["groupId"].as_str())
            .map(String::from);
        if let (Some(c), Some(gid)) = (c.filter(|c| c.enabled && c.kind.is_connected()), gid) {
            out.push((t, c, gid));
        }
    }
    Ok(out)
}

/// Weekly trigger (and `admin.reconciliation.run`): queues one check per connected tool.
pub fn schedule(host: &dyn Host, only: Option<&str>) -> AppResult<u32> {
    let store = Store::new(host);
    let tools: Vec<String> = connected_tools(store)?
        .into_iter()
        .map(|(t, _, _)| t.id)
        .filter(|id| only.is_none_or(|o| o == id))
        .collect();
    for chunk in tools.chunks(50) {
        let events: Vec<String> = chunk
            .iter()
            .map(|id| json!({ EVENT_FIELD: id }).to_string())
            .collect();
        host.queue_push(jobs::QUEUE, &events, 0)?;
    }
    Ok(tools.len() as u32)
}

/// One check of one tool (queue consumer). Returns the run summary.
pub fn check_tool(host: &dyn Host, inv: &Invocation, tool_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let now = host.now_ms();
    let at = crate::time::rfc3339(now);
    // Two checks in the same millisecond keep separate history rows.
    let run_key = keys::reconciliation_run(
        now,
        tool_id,
        &crate::audit::chain::hex(&host.random_bytes(4)),
    );
    let Some((tool, c, group_id)) = connected_tools(store)?
        .into_iter()
        .find(|(t, _, _)| t.id == tool_id)
    else {
        return Ok(
            json!({"toolId": tool_id, "status": "skipped", "reason": "not bound to an enabled connected connector"}),
        );
    };
    let mut run = json!({"at": at, "toolId": tool.id, "connectorId": c.id, "groupId": group_id,
                         "mode": c.reconcile_mode});
    let fail = |run: &mut Value, code: &str, message: &str| -> AppResult<Value> {
        run["status"] = json!("failed");
        run["error"] = json!({"code": code, "message": message});
        store.put(&run_key, run)?;
        host.log(
            Level::Warn,
            &format!(
                "reconciliation {tool_id}: check failed ({code}: {message}); findings unchanged"
            ),
        );
        Ok(run.clone())
    };
    let core = match super::connected_mode(host, inv.license_active) {
        Ok(core) => core,
        Err(e) => return fail(&mut run, &e.code, &e.message),
    };
    // 1. What is: the group's members, read first, so a grant opened (and provisioned) while
    // the check runs is seen as a grant rather than its member as an orphan. Any Core failure
    // aborts before anything is written.
    let actual = match relay::group_members(host, &core, &group_id) {
        Ok(m) => m,
        Err(e) => return fail(&mut run, e.code, &e.message),
    };
    // 2. What should be: the tool's open grants and the provider account of each.
    let ids = store.scan::<String>(&keys::grant_by_tool_prefix(&tool.id), MAX_GRANTS)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::grant(id)).collect();
    let grants: Vec<Grant> = store
        .get_many::<Grant>(&want)?
        .into_iter()
        .map(|(_, g)| g)
        .collect();
    let mut expected: BTreeMap<String, Grant> = BTreeMap::new(); // email → active grant
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut unknown: Vec<(Grant, String)> = Vec::new();
    for g in grants.into_iter().filter(|g| g.status.is_open()) {
        let ident = match identities::for_grant(host, &g.id) {
            Ok(Some((_, i))) => Ok(i),
            Ok(None) => identities::resolve(host, &c, &g.account_id).map(|(i, _)| i),
            Err(e) => Err(e),
        };
        match ident {
            Ok(i) if g.status == GrantStatus::Active => {
                expected.insert(i.email.to_lowercase(), g);
            }
            Ok(i) => {
                pending.insert(i.email.to_lowercase());
            }
            Err(e) if e.retryable => return fail(&mut run, e.code, &e.message),
            Err(e) if g.status == GrantStatus::Active => {
                unknown.push((g, format!("{}: {}", e.code, e.message)))
            }
            Err(_) => {}
        }
    }
    let fp_key = super::fingerprint_key(host)?;
    // 3. The findings.
    let mut found: Vec<(Finding, Option<String>)> = Vec::new(); // (finding, orphan email)
    let base = |kind: &str, subject: String| Finding {
        tool_id: tool.id.clone(),
        connector_id: c.id.clone(),
        group_id: group_id.clone(),
        kind: kind.into(),
        subject,
        account_id: None,
        grant_id: None,
        member: None,
        status: "open".into(),
        first_seen_at: at.clone(),
        last_seen_at: at.clone(),
        closed_at: None,
        repair: None,
        reason: None,
    };
    for email in actual
        .iter()
        .filter(|e| !expected.contains_key(*e) && !pending.contains(*e))
    {
        let mut f = base("orphan", super::fingerprint(&fp_key, email));
        f.member = Some(mask(email));
        found.push((f, Some(email.clone())));
    }
    for (email, g) in expected.iter().filter(|(e, _)| !actual.contains(*e)) {
        let mut f = base("missing", g.id.clone());
        f.account_id = Some(g.account_id.clone());
        f.grant_id = Some(g.id.clone());
        f.member = Some(mask(email));
        found.push((f, None));
    }
    for (g, why) in &unknown {
        let mut f = base("unknownIdentity", g.id.clone());
        f.account_id = Some(g.account_id.clone());
        f.grant_id = Some(g.id.clone());
        f.reason = Some(why.clone());
        found.push((f, None));
    }
    // 4. Repairs (repair mode), then the records.
    let existing: BTreeMap<String, Finding> = store
        .scan::<Finding>(
            &format!("{}{}:", keys::RECONCILIATION_RECORD_PREFIX, tool.id),
            5_000,
        )?
        .into_iter()
        .collect();
    let mut repaired = 0;
    let mut seen = BTreeSet::new();
    for (mut f, orphan_email) in found {
        let key = keys::reconciliation_record(&tool.id, &f.kind, &f.subject);
        seen.insert(key.clone());
        if let Some(prev) = existing.get(&key).filter(|p| p.status == "open") {
            f.first_seen_at = prev.first_seen_at.clone();
        }
        if c.reconcile_mode == ReconcileMode::Repair {
            match repair(host, inv, &core, &c, &f, orphan_email.as_deref(), now) {
                Ok(Some(r)) => {
                    f.status = "repaired".into();
                    f.closed_at = Some(at.clone());
                    f.repair = Some(r);
                    repaired += 1;
                }
                Ok(None) => {}
                Err(e) => f.repair = Some(json!({"error": e.to_string()})),
            }
        }
        store.put(&key, &f)?;
    }
    // Open findings no longer observed are resolved.
    for (key, mut f) in existing {
        if f.status == "open" && !seen.contains(&key) {
            f.status = "resolved".into();
            f.closed_at = Some(at.clone());
            store.put(&key, &f)?;
        }
    }
    let counts = |k: &str| {
        seen.iter()
            .filter(|s| s.contains(&format!(":{k}:")))
            .count()
    };
    run["status"] = json!("ok");
    run["members"] = json!(actual.len());
    run["activeGrants"] = json!(expected.len() + unknown.len());
    run["orphans"] = json!(counts("orphan"));
    run["missing"] = json!(counts("missing"));
    run["unknownIdentity"] = json!(counts("unknownIdentity"));
    run["repaired"] = json!(repaired);
    store.put(&run_key, &run)?;
    let mut d = AuditDraft::new("reconciliation_checked", "app");
    d.subject = json!({"toolId": tool.id, "connectorId": c.id});
    d.data = json!({"orphans": run["orphans"], "missing": run["missing"],
                    "unknownIdentity": run["unknownIdentity"], "repaired": repaired, "mode": c.reconcile_mode});
    let mac = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &mac, None, &[d], |_| Ok(()))?;
    host.log(
        Level::Info,
        &format!(
            "reconciliation {}: {} member(s), {} orphan(s), {} missing, {} unknown identity, {repaired} repaired",
            tool.id, actual.len(), run["orphans"], run["missing"], run["unknownIdentity"]
        ),
    );
    Ok(run)
}

/// One repair: remove an orphan through Core, or queue a provision job for a missing member.
/// `Ok(None)` when there is nothing to do for this kind (unknown identities need a mapping).
fn repair(
    host: &dyn Host,
    inv: &Invocation,
    core: &relay::CoreConfig,
    c: &Connector,
    f: &Finding,
    orphan_email: Option<&str>,
    now: u64,
) -> AppResult<Option<Value>> {
    let store = Store::new(host);
    let mut d = AuditDraft::new("drift_repaired", "app");
    d.subject = json!({"toolId": f.tool_id, "kind": f.kind, "subject": f.subject});
    match (f.kind.as_str(), orphan_email) {
        ("orphan", Some(email)) => {
            let target = format!(
                "/v1/groups/{}/members/{}",
                relay::segment(&f.group_id),
                relay::segment(email)
            );
            let body = json!({"cloudId": inv.cloud_id,
                              "connector": {"id": c.id, "type": c.kind.as_str(), "provider": c.kind.provider()},
                              "externalIdentity": {"email": email},
                              "context": {"operation": "reconciliation-repair", "toolId": f.tool_id}});
            let idem = format!(
                "reconcile:{}:{}:{}",
                f.tool_id,
                f.subject,
                crate::time::day(now)
            );
            relay::call(host, core, "DELETE", &target, Some(&body), Some(&idem))
                .map_err(|e| connectors::relay_app_error(&e))?;
            let r = json!({"action": "removed", "member": f.member});
            d.data = r.clone();
            let mac = audit::mac_key(store, None)?;
            audit::commit_with_audit(store, &mac, None, &[d], |_| Ok(()))?;
            Ok(Some(r))
        }
        ("missing", _) => {
            let grant_id = f.grant_id.as_deref().unwrap_or("");
            let gkey = keys::grant(grant_id);
            let Some(raw) = store.get_raw(&gkey)? else {
                return Ok(None);
            };
            let mut g: Grant = crate::storage::decode(&gkey, &raw)?;
            let mut job_id = String::new();
            let mac = audit::mac_key(store, None)?;
            let res = audit::commit_with_audit(store, &mac, None, std::slice::from_ref(&d), |tx| {
                let mut gg = g.clone();
                let job = jobs::stage_new(tx, &mut gg, JobKind::Provision, now)?;
                job_id = job.id.clone();
                tx.set_if_current(&gkey, &gg, Some(&raw))?;
                g = gg;
                Ok(())
            });
            match res {
                Ok(_) => {
                    jobs::push(host, std::slice::from_ref(&job_id));
                    Ok(Some(json!({"action": "reprovision", "jobId": job_id})))
                }
                // A provision job is already open for this grant: the repair is under way.
                Err(StorageError::Conflict(k)) if k.starts_with("provisioning-job-open:") => {
                    Ok(None)
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => Ok(None),
    }
}

/// `admin.reconciliation.drift {toolId?}`: open findings.
pub fn drift(store: Store<'_>, p: &Value) -> AppResult<Value> {
    let prefix = match p.get("toolId").and_then(Value::as_str) {
        Some(t) if crate::catalog::is_tool_id(t) => {
            format!("{}{t}:", keys::RECONCILIATION_RECORD_PREFIX)
        }
        Some(_) => {
            return Err(AppError::invalid(
                "FIELD_INVALID",
                "toolId must be a tool id",
            ))
        }
        None => keys::RECONCILIATION_RECORD_PREFIX.to_string(),
    };
    let open: Vec<Finding> = store
        .scan::<Finding>(&prefix, 5_000)?
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| f.status == "open")
        .collect();
    Ok(json!({"drift": open}))
}

/// `admin.reconciliation.history {limit?}`: checks newest first, and closed findings.
pub fn history(store: Store<'_>, p: &Value) -> AppResult<Value> {
    let limit = p
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(50)
        .clamp(1, 200) as usize;
    let runs: Vec<Value> = store
        .scan::<Value>(keys::RECONCILIATION_RUN_PREFIX, limit)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let closed: Vec<Finding> = store
        .scan::<Finding>(keys::RECONCILIATION_RECORD_PREFIX, 5_000)?
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| f.status != "open")
        .take(limit)
        .collect();
    Ok(json!({"runs": runs, "closed": closed}))
}
