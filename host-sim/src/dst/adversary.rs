//! The adversary workload (`host-sim dst --workload adversary`): hostile insiders on the default
//! site. After the scenario, random people — requesters, approvers, delegates, admins, JSM
//! customers, a deactivated account — call every door with well-formed payloads, often aimed at
//! their own access: decide their own requests, pass both steps of a path, hand-start or cancel
//! governance paths, rewrite the definitions governance names, loosen governance and
//! auto-approval, stack extensions, review their own exceptions, attest their own provisioning.
//! Some accounts are deactivated in Jira along the way.
//!
//! What must hold is checked by [`check`] from the emulator's state and the audit trail alone,
//! recomputed independently of the app's own flags and of its kernel.

use super::invariants::Break;
use crate::scenario;
use crate::sim::Sim;
use crate::site::Site;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const REQUESTS: usize = 24;
const ACTIONS: usize = 160;
const FIRST_ID: u64 = 30_000;
const TOOLS: [&str; 6] = [
    "chatgpt-enterprise",
    "github-copilot",
    "claude-team",
    "gemini-enterprise",
    "cursor-business",
    "perplexity-enterprise",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        crate::faults::splitmix64(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[self.below(v.len() as u64) as usize])
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn key(n: usize) -> (String, String) {
    let id = FIRST_ID + n as u64;
    (id.to_string(), format!("AIR-{id}"))
}

/// The adversary's portal requests, filed by anyone: staff, approvers and admins (who will try to
/// approve their own), JSM customers, and the deactivated Derek.
pub fn prepare_site(mut site: Site, seed: u64) -> Site {
    let Some(template) = site.issues.iter().find(|i| i.key == "AIR-1").cloned() else {
        return site;
    };
    let people: Vec<String> = site.users.iter().map(|u| u.account_id.clone()).collect();
    let mut rng = Rng(seed ^ 0xA5A5_5A5A_0F0F_F0F0);
    for n in 0..REQUESTS {
        let (id, k) = key(n);
        let mut issue = template.clone();
        let who = rng.pick(&people).cloned().unwrap_or_default();
        let tool = *rng.pick(&TOOLS).expect("tools");
        issue.id = id;
        issue.key = k;
        issue.reporter = who.clone();
        issue.creator = Some(who);
        issue.summary = format!("Access to {tool}");
        issue.comments.clear();
        for v in issue.properties.values_mut() {
            if let Some(s) = v.get_mut("aiclearance.snapshot.v1") {
                s["toolId"] = json!(tool);
                s["durationDays"] = json!(3 + rng.below(12));
                s["justification"] = json!(format!("Adversary request {n}"));
            }
        }
        site.issues.push(issue);
    }
    site
}

/// Who is who on the site.
struct Cast {
    admins: Vec<String>,
    approvers: Vec<String>,
    everyone: Vec<String>,
}

impl Cast {
    fn of(site: &Site) -> Cast {
        let members = |g: &str| -> Vec<String> {
            site.groups
                .iter()
                .find(|x| x.name == g)
                .map(|x| x.members.clone())
                .unwrap_or_default()
        };
        let mut approvers = members("ai-approvers");
        approvers.extend(members("security-reviewers"));
        approvers.push("5dcd5fe52bbec7f9dfdb4be0".into()); // Priya, the named approver
        approvers.sort();
        approvers.dedup();
        Cast {
            admins: members("jira-administrators"),
            approvers,
            everyone: site.users.iter().map(|u| u.account_id.clone()).collect(),
        }
    }
}

fn records(sim: &Sim, prefix: &str) -> Vec<(String, Value)> {
    sim.state()
        .kvs
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter_map(|(k, v)| Some((k.clone(), serde_json::from_str(&v.value).ok()?)))
        .collect()
}

fn s<'a>(v: &'a Value, f: &str) -> &'a str {
    v.get(f).and_then(Value::as_str).unwrap_or("")
}

fn created_event(sim: &Sim, key: &str) -> Option<Value> {
    let i = sim.state().site.issues.iter().find(|i| i.key == key)?;
    Some(json!({
        "eventType": "avi:jira:created:issue",
        "issue": {"id": i.id, "key": i.key, "fields": {
            "summary": i.summary, "issuetype": {"id": i.issue_type_id},
            "project": {"key": i.project}, "creator": {"accountId": i.reporter},
            "reporter": {"accountId": i.reporter}, "created": i.created, "status": {"id": i.status}
        }},
        "atlassianId": i.reporter
    }))
}

pub fn run(site_dir: &Path, sim: &mut Sim, seed: u64, out: &mut String) -> Result<()> {
    let steps = scenario::load(site_dir)?;
    scenario::run(sim, &steps, out)?;
    let cast = Cast::of(&sim.state().site);
    let mut rng = Rng(seed ^ 0x00DD_BA11_C0FF_EE00);
    let call = |sim: &mut Sim, out: &mut String, f: &str, p: Value, who: &str| {
        for rec in sim.resolve_maybe_alongside(f, &p, Some(who)) {
            out.push_str(&format!("  {f} as {who}: {}\n", scenario::describe(&rec)));
        }
    };
    let mut filed = 0usize;
    for step in 0..ACTIONS {
        let pending: Vec<(String, Value)> = records(sim, "request:")
            .into_iter()
            .filter(|(_, r)| s(r, "decision") == "pending")
            .collect();
        let target = rng.pick(&pending).cloned();
        let requester = target
            .as_ref()
            .map(|(_, r)| s(r, "requesterAccountId").to_string());
        let issue_key = target.as_ref().map(|(_, r)| s(r, "issueKey").to_string());
        // A hostile actor: half the time the person the act concerns.
        let hostile = |rng: &mut Rng, beneficiary: Option<&String>, pool: &[String]| -> String {
            match beneficiary {
                Some(b) if rng.chance(45) => b.clone(),
                _ => rng.pick(pool).cloned().unwrap_or_default(),
            }
        };
        match rng.below(20) {
            // New portal requests.
            0 | 1 if filed < REQUESTS => {
                let k = key(filed).1;
                filed += 1;
                if let Some(ev) = created_event(sim, &k) {
                    for rec in sim.deliver_maybe_twice(&ev)? {
                        out.push_str(&format!("  created {k}: {}\n", scenario::describe(&rec)));
                    }
                }
            }
            // Direct decisions through every door.
            2 | 3 => {
                let Some(k) = &issue_key else { continue };
                let who = hostile(&mut rng, requester.as_ref(), &cast.everyone);
                let d = if rng.chance(75) { "approve" } else { "deny" };
                let (f, p) = match rng.below(3) {
                    0 => (
                        "clearance.approvals.decide",
                        json!({"issueKey": k, "decision": d}),
                    ),
                    1 => {
                        // The budget is spent: an approver's bulk decision is queued.
                        super::spend_bulk_budget(sim);
                        (
                            "clearance.approvals.bulkDecide",
                            json!({"issueKeys": [k], "decision": d}),
                        )
                    }
                    _ => (
                        "admin.requests.decide",
                        json!({"issueKey": k, "decision": d}),
                    ),
                };
                call(sim, out, f, p, &who);
            }
            // A path step from the issue panel, by whoever: the requester, a second step by the
            // same approver, an admin override.
            4 | 5 => {
                let tasks = records(sim, "approval-task:");
                let Some((_, t)) = rng.pick(&tasks).cloned() else {
                    continue;
                };
                let subject = records(sim, &format!("approval:{}", s(&t, "approvalId")))
                    .first()
                    .map(|(_, a)| a["link"]["requester"].as_str().unwrap_or("").to_string());
                let who = hostile(&mut rng, subject.as_ref(), &cast.approvers);
                let p = json!({"approvalId": t["approvalId"], "stepId": t["stepId"],
                               "decision": if rng.chance(85) { "approve" } else { "reject" },
                               "reason": "override"});
                call(sim, out, "approvals.decide", p, &who);
            }
            // Hand-started paths on a pending request: governance's own, a laxer one, or an
            // automation-only one an admin just wrote.
            6 => {
                let Some(k) = &issue_key else { continue };
                let who = hostile(&mut rng, requester.as_ref(), &cast.admins);
                if rng.chance(50) {
                    call(
                        sim,
                        out,
                        "admin.definitions.save",
                        json!({"definition": {
                        "id": "rubber-stamp", "name": "Rubber stamp", "starters": {"mode": "anyone"},
                        "steps": [{"name": "Note", "type": "AUTOMATION", "comment": "ok"}]}}),
                        &who,
                    );
                }
                let def = *rng
                    .pick(&["rubber-stamp", "standard-ai-access", "security-review"])
                    .expect("defs");
                call(
                    sim,
                    out,
                    "approvals.start",
                    json!({"definitionId": def, "issueKey": k}),
                    &who,
                );
            }
            // Cancel or restart a governance path.
            7 => {
                let approvals = records(sim, "approval:");
                let open: Vec<&Value> = approvals
                    .iter()
                    .map(|(_, a)| a)
                    .filter(|a| s(a, "status") == "RUNNING" && a.get("link").is_some())
                    .collect();
                let Some(a) = rng.pick(&open) else { continue };
                let who = rng.pick(&cast.admins).cloned().unwrap_or_default();
                let f = if rng.chance(60) {
                    "approvals.cancel"
                } else {
                    "approvals.restart"
                };
                call(
                    sim,
                    out,
                    f,
                    json!({"approvalId": a["id"], "reason": "adversary"}),
                    &who,
                );
                if rng.chance(50) {
                    if let Some(k) = a.pointer("/issue/key").and_then(Value::as_str) {
                        call(
                            sim,
                            out,
                            "admin.requests.reroute",
                            json!({"issueKey": k, "reason": "again"}),
                            &who,
                        );
                    }
                }
            }
            // Rewrite a definition governance names, or loosen governance.
            8 => {
                let who = rng.pick(&cast.admins).cloned().unwrap_or_default();
                if rng.chance(50) {
                    let def = *rng
                        .pick(&["standard-ai-access", "security-review"])
                        .expect("defs");
                    let steps = if rng.chance(50) {
                        json!([{"name": "Anyone", "type": "GROUP", "group": "all-employees"}])
                    } else {
                        json!([{"name": "Note", "type": "AUTOMATION", "comment": "ok"}])
                    };
                    call(
                        sim,
                        out,
                        "admin.definitions.save",
                        json!({"definition": {
                        "id": def, "name": format!("{def} (rewritten)"), "steps": steps}}),
                        &who,
                    );
                } else {
                    let auto = rng.chance(30);
                    let mut g = json!({"autoApproval": {"high": auto, "critical": auto}});
                    if rng.chance(40) {
                        g["high"] = json!({"approvalDefinitionId": "rubber-stamp"});
                    }
                    if rng.chance(30) {
                        g["medium"] = json!({"approvalDefinitionId": null});
                    }
                    call(sim, out, "admin.governance.save", g, &who);
                }
            }
            // An all-tools auto-approval policy.
            9 => {
                let who = rng.pick(&cast.admins).cloned().unwrap_or_default();
                call(
                    sim,
                    out,
                    "admin.policies.save",
                    json!({"id": "everything", "name": "Everything",
                    "projectKey": "AIR", "autoApprove": true, "allowedGroups": ["all-employees"],
                    "maxDays": 180}),
                    &who,
                );
            }
            // Stack extensions, by anyone, on anyone's grant.
            10 | 11 => {
                let grants = records(sim, "access-grant:");
                let Some((_, g)) = rng.pick(&grants).cloned() else {
                    continue;
                };
                let holder = s(&g, "accountId").to_string();
                let who = hostile(&mut rng, Some(&holder), &cast.approvers);
                for _ in 0..(1 + rng.below(6)) {
                    call(
                        sim,
                        out,
                        "clearance.grants.extend",
                        json!({"grantId": g["id"], "days": 1 + rng.below(20), "reason": "more"}),
                        &who,
                    );
                }
            }
            // Exceptions: for an admin's own access, reviewed by that admin.
            12 => {
                let a = rng.pick(&cast.admins).cloned().unwrap_or_default();
                let b = rng.pick(&cast.admins).cloned().unwrap_or_default();
                let for_whom = if rng.chance(50) {
                    b.clone()
                } else {
                    rng.pick(&cast.everyone).cloned().unwrap_or_default()
                };
                call(
                    sim,
                    out,
                    "admin.governance.exceptions.create",
                    json!({"toolId": "cursor-business",
                    "accountId": for_whom, "reason": "adversary", "maxDays": 90, "validDays": 30}),
                    &a,
                );
                let ex = records(sim, "governance-exception:");
                if let Some((_, e)) = rng.pick(&ex).cloned() {
                    let reviewer = if rng.chance(60) {
                        s(&e, "accountId").to_string()
                    } else {
                        b
                    };
                    call(
                        sim,
                        out,
                        "admin.governance.exceptions.review",
                        json!({"id": e["id"]}),
                        &reviewer,
                    );
                }
            }
            // Attest manual provisioning, often of one's own access.
            13 | 14 => {
                let jobs: Vec<Value> = records(sim, "provisioning-job:")
                    .into_iter()
                    .map(|(_, j)| j)
                    .filter(|j| s(j, "status") == "manualPending")
                    .collect();
                let Some(j) = rng.pick(&jobs).cloned() else {
                    continue;
                };
                let holder = s(&j, "accountId").to_string();
                let who = hostile(&mut rng, Some(&holder), &cast.approvers);
                let action = match s(&j, "kind") {
                    "provision" => "fulfilled",
                    "deprovision" => "deprovisioned",
                    _ => "verified",
                };
                let f = if rng.chance(50) {
                    "clearance.jobs.complete"
                } else {
                    "admin.jobs.complete"
                };
                call(
                    sim,
                    out,
                    f,
                    json!({"jobId": j["id"], "action": action}),
                    &who,
                );
            }
            // Jira deactivates someone who holds or asks for access.
            15 => {
                let Some(r) = &requester else { continue };
                if rng.chance(40) {
                    if let Some(u) = sim
                        .state_mut()
                        .site
                        .users
                        .iter_mut()
                        .find(|u| &u.account_id == r)
                    {
                        u.active = false;
                        out.push_str(&format!("  (Jira) {r} deactivated\n"));
                    }
                }
            }
            // Approver settings change: admin fallback on/off, a group added.
            16 => {
                let who = rng.pick(&cast.admins).cloned().unwrap_or_default();
                let cfg = sim.resolve("admin.intake.get", &json!({}), Some(&who));
                if let Some(mut c) = cfg.ok().map(|v| v["config"].clone()) {
                    c["approvals"]["adminFallback"] = json!(rng.chance(50));
                    call(sim, out, "admin.intake.set", c, &who);
                }
            }
            _ => {
                let ms = [60_000, 15 * 60_000, 3_600_000, 6 * 3_600_000][rng.below(4) as usize];
                sim.advance(ms);
            }
        }
        if step % 10 == 9 {
            sim.settle();
        }
    }
    // A day on: the daily pass (deactivated accounts) and every sweep run.
    sim.advance(25 * 3_600_000);
    Ok(())
}

fn brk(out: &mut Vec<Break>, invariant: &'static str, detail: String) {
    out.push(Break { invariant, detail });
}

fn kv(state: &crate::emulator::SimState, key: &str) -> Option<Value> {
    state
        .kvs
        .get(key)
        .and_then(|s| serde_json::from_str(&s.value).ok())
}

/// Intake & Approvals' approver settings in force after each audit seq (replayed from the trail).
fn approvers_at(audit: &[Value], seq: u64) -> Value {
    audit
        .iter()
        .rfind(|e| s(e, "type") == "intake_config_updated" && e["seq"].as_u64() < Some(seq))
        .map(|e| e["data"]["approvals"].clone())
        .unwrap_or(Value::Null)
}

/// Governance in force at an audit seq (the version the last `governance_updated` before it
/// produced), read from its immutable version record.
fn governance_at(state: &crate::emulator::SimState, audit: &[Value], seq: u64) -> Value {
    let v = audit
        .iter()
        .rfind(|e| s(e, "type") == "governance_updated" && e["seq"].as_u64() < Some(seq))
        .and_then(|e| e["data"]["to"].as_u64())
        .unwrap_or(0);
    kv(state, &format!("governance-policy-version:{v:08}")).unwrap_or(json!({
        "autoApproval": {"low": true, "medium": true, "high": false, "critical": false},
        "low": {"maxDays": 180}, "medium": {"maxDays": 90}, "high": {"maxDays": 30}, "critical": {"maxDays": 14}
    }))
}

fn auto_allowed(gov: &Value, risk: &str) -> bool {
    gov.pointer(&format!("/autoApproval/{risk}"))
        .and_then(Value::as_bool)
        .unwrap_or(matches!(risk, "low" | "medium"))
}

/// The governance invariants, recomputed from storage, Jira and the audit trail (issue 30).
pub fn check(state: &crate::emulator::SimState) -> Vec<Break> {
    let mut out = Vec::new();
    let mut audit: Vec<Value> = state
        .kvs
        .range("audit-event:".to_string()..)
        .take_while(|(k, _)| k.starts_with("audit-event:"))
        .filter_map(|(_, v)| serde_json::from_str(&v.value).ok())
        .collect();
    audit.sort_by_key(|e| e["seq"].as_u64());
    let site = &state.site;
    let member = |who: &str, group: &str| {
        site.groups
            .iter()
            .any(|g| g.name == group && g.members.iter().any(|m| m == who))
    };
    let admin = |who: &str| member(who, "jira-administrators");
    let request_by_key: BTreeMap<String, Value> = state
        .kvs
        .range("request:".to_string()..)
        .take_while(|(k, _)| k.starts_with("request:"))
        .filter_map(|(_, v)| serde_json::from_str::<Value>(&v.value).ok())
        .map(|r| (s(&r, "issueKey").to_string(), r))
        .collect();

    for e in audit.iter().filter(|e| s(e, "type") == "request_approved") {
        let seq = e["seq"].as_u64().unwrap_or(0);
        let key = s(e, "issueKey");
        let Some(r) = request_by_key.get(key) else {
            continue;
        };
        let requester = s(r, "requesterAccountId");
        let risk = e["data"]["riskLevel"].as_str().unwrap_or("high");
        let actor = s(e, "actor");
        let rule = &e["data"]["rule"];
        let route = &r["route"];
        let gov = governance_at(state, &audit, seq);
        let fail = |out: &mut Vec<Break>, why: String| {
            brk(
                out,
                "every approval is justified under its pinned governance",
                format!("{key} (#{seq}): {why}"),
            );
        };
        match s(rule, "rule") {
            r#"directApprover"# | "approverGroup" | "delegate" | "adminFallback" => {
                let cfg = approvers_at(&audit, seq);
                let principals: Vec<&str> = match s(rule, "rule") {
                    "delegate" => rule["onBehalfOf"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .chain([actor])
                        .collect(),
                    _ => vec![actor],
                };
                if principals.contains(&requester) {
                    fail(&mut out, format!("{actor} decided their own request"));
                }
                if s(route, "kind") != "direct" {
                    fail(
                        &mut out,
                        format!("a person approved a request routed {:?}", s(route, "kind")),
                    );
                }
                let has = |list: &str, who: &str| {
                    cfg[list]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|x| x.as_str() == Some(who))
                };
                let eligible = match s(rule, "rule") {
                    "directApprover" => has("approverAccountIds", actor),
                    "approverGroup" => cfg["approverGroups"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .any(|g| member(actor, g)),
                    "delegate" => rule["onBehalfOf"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .all(|b| {
                            has("approverAccountIds", b)
                                && cfg["delegates"][b]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .any(|d| d.as_str() == Some(actor))
                        }),
                    _ => admin(actor) && cfg["adminFallback"].as_bool().unwrap_or(true),
                };
                if !eligible {
                    fail(
                        &mut out,
                        format!("{actor} was not an eligible approver ({})", s(rule, "rule")),
                    );
                }
            }
            "path" => {
                let approval_id = s(rule, "approvalId");
                let a = kv(state, &format!("approval:{approval_id}")).unwrap_or(Value::Null);
                if s(route, "approvalId") != approval_id
                    || s(&a, "originator") != "app"
                    || a.pointer("/link/subject").and_then(Value::as_str) != r["issueId"].as_str()
                {
                    fail(
                        &mut out,
                        format!("path {approval_id} is not the request's pinned governance path"),
                    );
                }
                let pinned = kv(
                    state,
                    &format!(
                        "governance-policy-version:{:08}",
                        route["governanceVersion"].as_u64().unwrap_or(0)
                    ),
                );
                let def = s(&a, "definitionId");
                if let Some(g) = &pinned {
                    let names = g
                        .pointer(&format!("/{risk}/approvalDefinitionId"))
                        .and_then(Value::as_str);
                    let tool_rule = g["toolRules"]
                        .as_object()
                        .and_then(|m| m.values().find(|d| d.as_str() == Some(def)));
                    if names != Some(def) && tool_rule.is_none() {
                        fail(
                            &mut out,
                            format!("governance v{} does not name {def}", g["version"]),
                        );
                    }
                    if let Some(v) = g["definitionVersions"].get(def).and_then(Value::as_u64) {
                        if a["definitionVersion"].as_u64() != Some(v) {
                            fail(
                                &mut out,
                                format!(
                                    "{def} v{} ran, governance pinned v{v}",
                                    a["definitionVersion"]
                                ),
                            );
                        }
                    }
                }
                let mut seen = BTreeSet::new();
                let mut humans = 0;
                let distinct = a["distinctDeciders"].as_bool().unwrap_or(false);
                for st in a["steps"].as_array().into_iter().flatten() {
                    for d in st["decisions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|d| s(d, "decision") == "APPROVE")
                    {
                        humans += 1;
                        let who = s(d, "decider");
                        if who == requester || s(d, "onBehalfOf") == requester {
                            fail(
                                &mut out,
                                format!("the requester approved step {:?}", s(st, "name")),
                            );
                        }
                        if !seen.insert(who.to_string()) && distinct {
                            fail(&mut out, format!("{who} approved two steps"));
                        }
                    }
                }
                if humans == 0 && !auto_allowed(&gov, risk) {
                    fail(&mut out, format!("no person approved a {risk} request"));
                }
            }
            "autoPolicy" => {
                if !auto_allowed(&gov, risk) {
                    fail(
                        &mut out,
                        format!("auto-approved at {risk} risk, which governance does not allow"),
                    );
                }
            }
            other => fail(&mut out, format!("no recognised rule ({other:?})")),
        }
    }

    // Extensions: never the holder; the lifetime since the decision within the risk maximum.
    let grants: BTreeMap<String, Value> = state
        .kvs
        .range("access-grant:".to_string()..)
        .take_while(|(k, _)| k.starts_with("access-grant:"))
        .filter_map(|(_, v)| serde_json::from_str::<Value>(&v.value).ok())
        .map(|g| (s(&g, "id").to_string(), g))
        .collect();
    for e in audit
        .iter()
        .filter(|e| matches!(s(e, "type"), "grant_extended" | "grant_reactivated"))
    {
        let seq = e["seq"].as_u64().unwrap_or(0);
        let Some(g) = grants.get(s(&e["subject"], "grantId")) else {
            continue;
        };
        if s(e, "actor") == s(g, "accountId") {
            brk(
                &mut out,
                "nobody extends their own access",
                format!("{} #{seq}", s(g, "id")),
            );
        }
        let granted = aiclearance::time::parse(s(g, "grantedAt")).unwrap_or(0);
        let to = aiclearance::time::parse(s(&e["data"], "expiresAt")).unwrap_or(0);
        let days = to.saturating_sub(granted).div_ceil(86_400_000);
        let gov = governance_at(state, &audit, seq);
        let risk = s(g, "riskLevel");
        let max = gov
            .pointer(&format!("/{risk}/maxDays"))
            .and_then(Value::as_u64)
            .unwrap_or(180);
        let exception = audit.iter().any(|x| {
            s(x, "type") == "exception_reviewed" && x["subject"]["accountId"] == g["accountId"]
        });
        if days > max && !exception {
            brk(
                &mut out,
                "extensions stay within the reviewed lifetime",
                format!(
                    "{} extended to {days} days at {risk} risk (max {max}) #{seq}",
                    s(g, "id")
                ),
            );
        }
    }

    // Attestations and exception reviews: never by whom they concern.
    for e in audit.iter().filter(|e| {
        s(e, "type") == "provisioning_job_succeeded" && e["data"]["connector"] == "manual"
    }) {
        if let Some(g) = grants.get(s(&e["subject"], "grantId")) {
            if s(e, "actor") == s(g, "accountId") {
                brk(
                    &mut out,
                    "nobody attests their own provisioning",
                    format!("{} #{}", s(g, "id"), e["seq"]),
                );
            }
        }
    }
    for e in audit
        .iter()
        .filter(|e| s(e, "type") == "exception_reviewed")
    {
        if s(e, "actor") == s(&e["subject"], "accountId") {
            brk(
                &mut out,
                "nobody reviews their own exception",
                format!("#{}", e["seq"]),
            );
        }
    }

    // Every governance version and every definition version has its audit entry (config changes
    // are audited).
    for (k, v) in state
        .kvs
        .range("governance-policy-version:".to_string()..)
        .take_while(|(k, _)| k.starts_with("governance-policy-version:"))
    {
        let n = serde_json::from_str::<Value>(&v.value)
            .ok()
            .and_then(|g| g["version"].as_u64());
        if !audit
            .iter()
            .any(|e| s(e, "type") == "governance_updated" && e["data"]["to"].as_u64() == n)
        {
            brk(
                &mut out,
                "every configuration change is audited",
                format!("{k} has no governance_updated entry"),
            );
        }
    }

    // No open grant for a deactivated account (the daily pass has run).
    for g in grants.values() {
        let open = matches!(s(g, "status"), "pendingProvision" | "active");
        let inactive = site.user(s(g, "accountId")).is_none_or(|u| !u.active);
        if open && inactive {
            brk(
                &mut out,
                "no open grant for a deactivated account",
                format!("{} of {}", s(g, "id"), s(g, "accountId")),
            );
        }
    }
    out
}
