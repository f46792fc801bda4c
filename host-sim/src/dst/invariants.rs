//! What must hold after any run, whatever the platform did to it: read from the emulator's state
//! (the app's records, Jira's comments, the providers' billing), never from the app's own views.

use crate::emulator::{Emulator, SimState};
use crate::faults::{FaultPlan, Service};
use crate::runtime::native::NativeHost;
use crate::runtime::RawOutcome;
use crate::sim::InvocationRecord;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    pub invariant: &'static str,
    pub detail: String,
}

fn brk(out: &mut Vec<Break>, invariant: &'static str, detail: String) {
    out.push(Break { invariant, detail });
}

/// Records under a prefix, decoded (undecodable ones are a break of their own).
fn records(state: &SimState, prefix: &str, out: &mut Vec<Break>) -> Vec<(String, Value)> {
    let mut v = Vec::new();
    for (k, s) in state.kvs.range(prefix.to_string()..) {
        if !k.starts_with(prefix) {
            break;
        }
        if s.expires_at_ms.is_some_and(|t| t <= state.clock_ms) {
            continue;
        }
        match serde_json::from_str::<Value>(&s.value) {
            Ok(x) => v.push((k.clone(), x)),
            Err(e) => brk(out, "records decode", format!("{k}: {e}")),
        }
    }
    v
}

fn live(state: &SimState, key: &str) -> bool {
    state
        .kvs
        .get(key)
        .is_some_and(|s| s.expires_at_ms.is_none_or(|t| t > state.clock_ms))
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

const OPEN_GRANT: [&str; 2] = ["pendingProvision", "active"];
const OPEN_JOB: [&str; 3] = ["queued", "retrying", "manualPending"];

/// Every invariant; `history` and `plans` (the campaign's plans, in invocation order) bound how
/// often the provider may have billed twice.
pub fn check(emu: &mut Emulator, history: &[InvocationRecord], plans: &[FaultPlan]) -> Vec<Break> {
    let mut out = Vec::new();
    audit_chain(emu, &mut out);
    let state = &emu.state;
    let requests = records(state, "request:", &mut out);
    let grants = records(state, "access-grant:", &mut out);
    let jobs = records(state, "provisioning-job:", &mut out);
    let audit = records(state, "audit-event:", &mut out);

    // At most one open grant per person and tool.
    let mut open: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (_, g) in &grants {
        if OPEN_GRANT.contains(&s(g, "status")) {
            open.entry((s(g, "accountId").into(), s(g, "toolKey").into()))
                .or_default()
                .push(s(g, "id").into());
        }
    }
    for ((who, tool), ids) in &open {
        if ids.len() > 1 {
            brk(
                &mut out,
                "one open grant per person and tool",
                format!("{who} holds {ids:?} for {tool}"),
            );
        }
    }

    // Every approved request has exactly one grant; a denied one has none.
    let mut by_issue: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for (_, g) in &grants {
        by_issue.entry(s(g, "issueKey").into()).or_default().push(g);
    }
    for (_, r) in &requests {
        let key = s(r, "issueKey");
        let n = by_issue.get(key).map_or(0, Vec::len);
        match s(r, "decision") {
            "approved" => {
                if n != 1 {
                    brk(
                        &mut out,
                        "approved request has exactly one grant",
                        format!("{key}: {n} grants"),
                    );
                } else if by_issue[key][0].get("id") != r.get("grantId") {
                    brk(
                        &mut out,
                        "approved request has exactly one grant",
                        format!(
                            "{key}: the request names {} but the grant is {}",
                            r["grantId"], by_issue[key][0]["id"]
                        ),
                    );
                }
            }
            "denied" if n > 0 => brk(
                &mut out,
                "denied request has no grant",
                format!("{key}: {n} grants"),
            ),
            _ => {}
        }
    }

    // No request both approved and denied, created twice, or granted twice (the audit trail).
    let mut events: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (_, e) in &audit {
        if !s(e, "issueKey").is_empty() {
            *events
                .entry((s(e, "issueKey").into(), s(e, "type").into()))
                .or_default() += 1;
        }
    }
    let count = |k: &str, t: &str| {
        events
            .get(&(k.to_string(), t.to_string()))
            .copied()
            .unwrap_or(0)
    };
    let issues: BTreeSet<&String> = events.keys().map(|(k, _)| k).collect();
    for k in issues {
        let (a, d) = (count(k, "request_approved"), count(k, "request_denied"));
        if a > 0 && d > 0 {
            brk(
                &mut out,
                "no request both approved and denied",
                format!("{k}: approved ×{a}, denied ×{d}"),
            );
        }
        for t in [
            "request_created",
            "request_approved",
            "request_denied",
            "grant_created",
        ] {
            if count(k, t) > 1 {
                brk(
                    &mut out,
                    "each lifecycle event once",
                    format!("{k}: {t} ×{}", count(k, t)),
                );
            }
        }
    }

    // No job lost (every job is findable under its status) or duplicated (one open job per
    // grant and kind).
    let mut open_jobs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut jobs_of: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for (_, j) in &jobs {
        let (id, st) = (s(j, "id"), s(j, "status"));
        if !live(state, &format!("provisioning-job-by-status:{st}:{id}")) {
            brk(
                &mut out,
                "no job lost",
                format!("job {id} ({st}) is missing from the {st} index"),
            );
        }
        for other in [
            "queued",
            "retrying",
            "manualPending",
            "succeeded",
            "deadLetter",
            "cancelled",
        ] {
            if other != st && live(state, &format!("provisioning-job-by-status:{other}:{id}")) {
                brk(
                    &mut out,
                    "no job lost",
                    format!("job {id} is {st} but also indexed as {other}"),
                );
            }
        }
        if OPEN_JOB.contains(&st) {
            open_jobs
                .entry((s(j, "grantId").into(), s(j, "kind").into()))
                .or_default()
                .push(id.into());
        }
        jobs_of.entry(s(j, "grantId").into()).or_default().push(j);
    }
    for ((grant, kind), ids) in &open_jobs {
        if ids.len() > 1 {
            brk(
                &mut out,
                "no job duplicated",
                format!("grant {grant} has open {kind} jobs {ids:?}"),
            );
        }
    }

    // Every open grant has a path to active or closed: an active grant is there; a pending one
    // has its provision job open, or dead-lettered where an admin retries it, takes it over or
    // revokes the grant.
    for (_, g) in &grants {
        if s(g, "status") != "pendingProvision" {
            continue;
        }
        let id = s(g, "id");
        let path = jobs_of.get(id).into_iter().flatten().any(|j| {
            s(j, "kind") == "provision"
                && (OPEN_JOB.contains(&s(j, "status")) || s(j, "status") == "deadLetter")
        });
        if !path {
            let have: Vec<String> = jobs_of
                .get(id)
                .into_iter()
                .flatten()
                .map(|j| format!("{} {}", s(j, "kind"), s(j, "status")))
                .collect();
            brk(
                &mut out,
                "open grant has a path",
                format!(
                    "{id} ({}) is pendingProvision with jobs {have:?}",
                    s(g, "issueKey")
                ),
            );
        }
    }

    // Usage counts exactly the execution rows that called a provider.
    let rows = records(state, "prompt-exec:", &mut out);
    let usage: u64 = records(state, "ai-usage:", &mut out)
        .iter()
        .map(|(_, u)| u.get("executions").and_then(Value::as_u64).unwrap_or(0))
        .sum();
    let called = rows
        .iter()
        .filter(|(_, r)| r.get("latencyMs").is_some_and(|l| !l.is_null()))
        .count() as u64;
    if usage != called {
        brk(
            &mut out,
            "usage equals execution rows",
            format!("usage counts {usage} executions; {called} execution rows called a provider"),
        );
    }

    // No AI step billed twice outside the documented window: every provider call the provider
    // billed has its execution row (a try that timed out or lost its answer included), except
    // for a prompt job that died, or lost a storage write, between the call and the row (the
    // worker reuses a row it finds; it cannot reuse one never written).
    let billed = state.llm.calls.iter().filter(|c| c.status == 200).count() as u64;
    let ok_rows = called;
    let window = history
        .iter()
        .enumerate()
        .filter(|(_, r)| r.label.starts_with("queue prompt"))
        .filter(|(i, r)| {
            matches!(
                r.outcome,
                RawOutcome::Crashed { .. } | RawOutcome::Trapped(_)
            ) || plans
                .get(*i)
                .is_some_and(|p| p.service_faults.iter().any(|f| f.service == Service::Kvs))
        })
        .count() as u64;
    if billed > ok_rows + window {
        brk(&mut out, "no AI step billed twice", format!("{billed} billed provider calls for {ok_rows} execution rows ({window} in the crash window)"));
    }

    // No duplicate comments: the same text on the same issue twice from one cause. A comment the
    // app posts carries what caused it (an approval effect, a decision notice); two different
    // causes may say the same thing (two paths whose automation says "ok"), one cause never twice.
    for issue in &state.site.issues {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &issue.comments {
            let cause = c
                .properties
                .get("aiclearance.effect")
                .and_then(|v| v.get("id"))
                .map(|id| format!(" from {id}"))
                .unwrap_or_default();
            seen.entry(format!("{}{cause}", c.body))
                .or_default()
                .push(format!(
                    "comment {} at {} {}",
                    c.id,
                    c.created,
                    serde_json::to_string(&c.properties).unwrap_or_default()
                ));
        }
        for (body, copies) in seen {
            if copies.len() > 1 {
                let text: String = body.chars().take(120).collect();
                brk(
                    &mut out,
                    "no duplicate comments",
                    format!(
                        "{} has {} copies of {text}: {copies:?}",
                        issue.key,
                        copies.len()
                    ),
                );
            }
        }
    }
    approver_inbox(state, &mut out);
    pending_counter(state, &mut out);
    out
}

/// The admin overview's pending counter (D-250) equals the pending index once its deltas and
/// the decision notices still to run are counted: `count + Σ deltas − leaving notices`.
fn pending_counter(state: &SimState, out: &mut Vec<Break>) {
    let mut ignore = Vec::new();
    let Some((_, c)) = records(state, "pending-count", &mut ignore)
        .into_iter()
        .find(|(k, _)| k == "pending-count")
    else {
        return;
    };
    let count = c.get("count").and_then(Value::as_i64).unwrap_or(0);
    let deltas: i64 = records(state, "pending-delta:", &mut ignore)
        .iter()
        .map(|(_, d)| d.as_i64().unwrap_or(0))
        .sum();
    let leaving = records(state, "decision-notice:", &mut ignore)
        .iter()
        .filter(|(_, n)| n.get("leavesPending") == Some(&Value::Bool(true)))
        .count() as i64;
    let pending = records(state, "request-by-decision:pending:", &mut ignore).len() as i64;
    if count + deltas - leaving != pending {
        brk(
            out,
            "the pending counter equals the pending requests",
            format!(
                "count {count} + deltas {deltas} - leaving notices {leaving} != {pending} pending"
            ),
        );
    }
}

/// Every open human step is in the inbox of everyone it names (the Approvals tab and the
/// approver's list read only the inbox): the app's entries may be stale, never missing.
fn approver_inbox(state: &SimState, out: &mut Vec<Break>) {
    use sha2::{Digest, Sha256};
    let mut ignore = Vec::new();
    for (key, t) in records(state, "approval-task:", &mut ignore) {
        let tail = format!(":{}:{}", s(&t, "approvalId"), s(&t, "stepId"));
        let mut parts: Vec<String> = ["approvers", "delegates"]
            .iter()
            .flat_map(|f| {
                t.get(*f)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|a| a.as_str().map(|a| format!("u.{a}")))
            .collect();
        if let Some(g) = t.get("group").and_then(Value::as_str) {
            let h = Sha256::digest(g.as_bytes());
            let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
            parts.push(format!("g.{hex}"));
        }
        for p in parts {
            if !live(state, &format!("approval-inbox:{p}{tail}")) {
                brk(
                    out,
                    "open steps are in their approvers' inbox",
                    format!("{key} is missing from the inbox of {p}"),
                );
            }
        }
    }
}

/// The audit chain verifies (hash links, MACs, the head), read with the app's own verifier over
/// an unfaulted host.
fn audit_chain(emu: &mut Emulator, out: &mut Vec<Break>) {
    let outages = std::mem::take(&mut emu.state.outages);
    emu.begin("dst-verify", None, 900, FaultPlan::default());
    let report = {
        let host = NativeHost::new(emu);
        aiclearance::audit::verify(aiclearance::storage::Store::new(&host), usize::MAX)
    };
    emu.end();
    emu.state.outages = outages;
    match report.map(|r| serde_json::to_value(r).unwrap_or_default()) {
        Ok(v) if v["ok"].as_bool() == Some(true) => {}
        Ok(v) => brk(
            out,
            "audit chain verifies",
            v.to_string().chars().take(300).collect(),
        ),
        Err(e) => brk(out, "audit chain verifies", format!("{e:?}")),
    }
}
