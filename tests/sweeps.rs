//! The scheduled sweeps of AI Clearance (§10, §14) end to end: the hourly job runner (due jobs,
//! expiry, job pruning, expiry notices), approval escalation, recertification, audit and
//! external-identity retention. Each is run twice where a duplicate run could do harm, and the
//! cost of a sweep is asserted on the simulator's call counts.

mod common;

use common::*;
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

fn logs(sim: &Sim) -> String {
    sim.state()
        .logs
        .iter()
        .map(|l| l.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

// covers: CL-131, CL-132, CL-133, CL-136
#[test]
fn the_manifest_schedules_the_sweeps_hourly_and_daily_within_five_triggers() {
    let m = std::fs::read_to_string(root().join("manifest.yml")).unwrap();
    let block = m
        .split("scheduledTrigger:")
        .nth(1)
        .unwrap()
        .split("consumer:")
        .next()
        .unwrap();
    let keys: Vec<&str> = block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- key: "))
        .collect();
    assert!(keys.len() <= 5, "{keys:?}");
    let interval = |key: &str| -> String {
        let after = block.split(&format!("- key: {key}")).nth(1).unwrap();
        after
            .lines()
            .find_map(|l| l.trim().strip_prefix("interval: "))
            .unwrap()
            .to_string()
    };
    assert_eq!(interval("job-runner"), "hour");
    assert_eq!(interval("escalation-sweep"), "hour");
    assert_eq!(interval("daily-maintenance"), "day");
}

// covers: CL-132
#[test]
fn a_request_pending_past_its_sla_is_escalated_once_with_a_comment_and_audit() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006"]); // two low-risk Copilot requests, decided directly
    ok(
        &mut sim,
        "clearance.approvals.decide",
        json!({"issueKey": "AIR-6", "decision": "approve"}),
        MARCUS,
    );
    sim.settle();
    // 47 hours: nothing is due yet.
    sim.state_mut().clock_ms += 47 * HOUR;
    assert_eq!(
        scheduled(&mut sim, "escalation-sweep")["requestsEscalated"],
        0
    );
    sim.state_mut().clock_ms += 2 * HOUR;
    assert_eq!(
        scheduled(&mut sim, "escalation-sweep")["requestsEscalated"],
        1,
        "only AIR-2 is still pending"
    );
    sim.settle();
    assert_eq!(
        scheduled(&mut sim, "escalation-sweep")["requestsEscalated"],
        0,
        "a duplicate run does nothing"
    );
    sim.settle();
    let rec = kvs_value(&sim, "request-escalation:10101").expect("breach recorded");
    assert_eq!(rec["afterHours"], 48);
    assert!(
        kvs_value(&sim, "request-escalation:10105").is_none(),
        "decided in time"
    );
    assert_eq!(audit_of(&sim, "request_escalated").len(), 1);
    let comments: Vec<String> = issue_comments(&sim, "AIR-2")
        .into_iter()
        .filter(|c| c.contains("escalated"))
        .collect();
    assert_eq!(comments.len(), 1, "{comments:?}");
    // The escalation targets are @-mentioned (Jira notifies them).
    let issue = sim.state().site.issue("AIR-2").unwrap();
    let body = issue.comments.last().unwrap().body.to_string();
    let targets =
        kvs_value(&sim, "site-intake-config").unwrap()["approvals"]["escalationTargets"].clone();
    for t in targets.as_array().unwrap() {
        assert!(
            body.contains(&format!("\"id\":{t}")),
            "mention of {t} in {body}"
        );
    }
}

/// Makes `grant_id` active and sets its expiry `days` from now.
fn expire_in(sim: &mut Sim, grant_id: &str, days: u64) {
    let at = sim.state().clock_ms + days * DAY;
    set_grant_expiry(sim, grant_id, at, true);
}

// covers: CL-133, CL-134, CL-135
#[test]
fn recertification_creates_one_review_issue_per_grant_entering_the_window() {
    let mut sim = wasm();
    approve_air2(&mut sim);
    expire_in(&mut sim, "g-10101", 20);
    let issues = |sim: &Sim| {
        sim.state()
            .site
            .issues
            .iter()
            .filter(|i| i.labels.iter().any(|l| l == "ai-clearance-recertification"))
            .count()
    };
    // Unset issue type: logged, nothing created.
    let mut cfg = kvs_value(&sim, "site-intake-config").unwrap();
    let review_days = cfg["approvals"]["reviewBeforeExpiryDays"].as_u64().unwrap();
    assert!(
        review_days > 0 && review_days < 20,
        "fixture reviews {review_days} days before expiry"
    );
    let type_id = cfg["approvals"]["reviewIssueTypeId"].clone();
    cfg["approvals"]["reviewIssueTypeId"] = Value::Null;
    sim.state_mut()
        .kvs
        .get_mut("site-intake-config")
        .unwrap()
        .value = cfg.to_string();
    sim.state_mut().clock_ms += (20 - review_days + 1) * DAY;
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["recertificationIssues"],
        0
    );
    assert!(logs(&sim).contains("no review-before-expiry issue type is set"));
    // An invalid type: Jira refuses, the failure is logged, no issue.
    cfg["approvals"]["reviewIssueTypeId"] = json!(99999);
    sim.state_mut()
        .kvs
        .get_mut("site-intake-config")
        .unwrap()
        .value = cfg.to_string();
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["recertificationIssues"],
        0
    );
    assert!(
        logs(&sim).contains("review issue for grant g-10101 not created (Jira answered 400"),
        "{}",
        logs(&sim)
    );
    assert_eq!(issues(&sim), 0);
    // A valid type: one issue, and a second run (or the next day) creates no other.
    cfg["approvals"]["reviewIssueTypeId"] = type_id.clone();
    sim.state_mut()
        .kvs
        .get_mut("site-intake-config")
        .unwrap()
        .value = cfg.to_string();
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["recertificationIssues"],
        1
    );
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["recertificationIssues"],
        0
    );
    sim.state_mut().clock_ms += DAY;
    scheduled(&mut sim, "daily-maintenance");
    assert_eq!(issues(&sim), 1);
    let issue = sim
        .state()
        .site
        .issues
        .iter()
        .find(|i| i.labels.iter().any(|l| l == "ai-clearance-recertification"))
        .unwrap();
    assert_eq!(issue.issue_type_id, type_id.to_string().trim_matches('"'));
    assert!(
        issue.summary.contains("GitHub Copilot") && issue.summary.contains("AIR-2"),
        "{}",
        issue.summary
    );
}

// Expiry notices are an issue requirement (issue 5), not a ledger line.
#[test]
fn expiry_notices_go_out_seven_days_and_one_day_before_the_end_once_each() {
    let mut sim = wasm();
    approve_air2(&mut sim);
    expire_in(&mut sim, "g-10101", 10);
    let count = |sim: &Sim, text: &str| {
        issue_comments(sim, "AIR-2")
            .iter()
            .filter(|c| c.contains(text))
            .count()
    };
    for _ in 0..(10 * 24) {
        sim.advance(HOUR);
    }
    assert_eq!(count(&sim, "access ends in 7 days"), 1);
    assert_eq!(count(&sim, "access ends in 1 day"), 1);
    scheduled(&mut sim, "job-runner");
    sim.settle();
    assert_eq!(
        count(&sim, "access ends in 1 day"),
        1,
        "a duplicate run posts nothing"
    );
}

// covers: CL-150, CL-151, CL-153, CL-136
#[test]
fn retention_prunes_old_audit_entries_and_identities_and_the_chain_still_verifies() {
    let mut sim = wasm();
    let total = count_prefix(&sim, "audit-event:");
    assert!(total > 0);
    // A year and a bit later, a few new entries.
    sim.state_mut().clock_ms += 366 * DAY;
    deliver(&mut sim, &["002"]);
    let newer = count_prefix(&sim, "audit-event:") - total;
    // The analytics runner has not folded the old entries yet: it runs first in the same sweep.
    let out = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(out["auditEntriesPruned"].as_u64().unwrap() as usize, total);
    assert_eq!(
        out["auditEntriesFolded"].as_u64().unwrap() as usize,
        total + newer
    );
    assert_eq!(count_prefix(&sim, "audit-event:"), newer);
    let cp = kvs_value(&sim, "audit-retention-point").expect("signed retention point");
    assert_eq!(cp["seq"].as_u64().unwrap() as usize, total);
    let report = verify(&mut sim);
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.from_checkpoint, Some(total as u64));
    // The indexes of what was pruned go with it: every issue index names an entry that is
    // still there, and no signed checkpoint or day key describes only pruned entries.
    let kvs = &sim.state().kvs;
    for (k, v) in kvs
        .range("audit-issue:".to_string()..)
        .take_while(|(k, _)| k.starts_with("audit-issue:"))
    {
        let seqs: Vec<u64> = serde_json::from_str(&v.value).unwrap();
        assert!(
            kvs.contains_key(&format!("audit-event:{:012}", seqs[0])),
            "{k} outlived its entries"
        );
    }
    for k in kvs.keys().filter(|k| k.starts_with("audit-checkpoint:")) {
        assert!(
            k["audit-checkpoint:".len()..].parse::<usize>().unwrap() > total,
            "{k}"
        );
    }
    let first_left = aiclearance::time::day(sim.state().clock_ms - 365 * DAY);
    for k in kvs.keys().filter(|k| k.starts_with("audit-day:")) {
        assert!(k["audit-day:".len()..] >= *first_left, "{k}");
    }
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["auditEntriesPruned"],
        0,
        "duplicate run"
    );
    // A tampered checkpoint is caught.
    let mut bad = cp.clone();
    bad["seq"] = json!(total - 1);
    sim.state_mut()
        .kvs
        .get_mut("audit-retention-point")
        .unwrap()
        .value = bad.to_string();
    assert!(!verify(&mut sim).ok);
    sim.state_mut()
        .kvs
        .get_mut("audit-retention-point")
        .unwrap()
        .value = cp.to_string();
    // The retention period comes from the environment: 30 days prunes the rest (but the head).
    sim.state_mut()
        .env
        .insert("AICLEARANCE_AUDIT_RETENTION_DAYS".into(), "30".into());
    sim.state_mut().clock_ms += 31 * DAY;
    scheduled(&mut sim, "daily-maintenance");
    assert_eq!(
        count_prefix(&sim, "audit-event:"),
        1,
        "the head entry stays"
    );
    assert!(verify(&mut sim).ok);
    // Identity metadata released longer ago than the audit period is pruned with its secret.
    let st = sim.state_mut();
    let released = st.clock_ms - 40 * DAY;
    st.kvs.insert(
        format!("external-identity-released:{released:013}:g-1"),
        host_sim::emulator::Stored {
            value: "\"g-1\"".into(),
            expires_at_ms: None,
        },
    );
    st.kvs.insert(
        "external-identity:g-1".into(),
        host_sim::emulator::Stored {
            value: "{\"grantId\":\"g-1\"}".into(),
            expires_at_ms: None,
        },
    );
    st.secrets.insert(
        "external-identity:g-1".into(),
        "{\"email\":\"x@y.example\"}".into(),
    );
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["identitiesPruned"],
        1
    );
    assert!(kvs_value(&sim, "external-identity:g-1").is_none());
    assert!(!sim.state().secrets.contains_key("external-identity:g-1"));
}

/// A copy of `template` as grant `id`, expiring at `expires_ms`, with its expiry index.
fn inject_grant(sim: &mut Sim, template: &Value, n: u64, expires_ms: u64) {
    let id = format!("g-bulk{n}");
    let mut g = template.clone();
    g["id"] = json!(id);
    g["accountId"] = json!(format!("acct-{n}"));
    g["expiresAt"] = json!(aiclearance::time::rfc3339(expires_ms));
    g["status"] = json!("active");
    g["jobsCreated"] = json!(1);
    let st = sim.state_mut();
    let put = |st: &mut host_sim::emulator::SimState, k: String, v: String| {
        st.kvs.insert(
            k,
            host_sim::emulator::Stored {
                value: v,
                expires_at_ms: None,
            },
        );
    };
    put(st, format!("access-grant:{id}"), g.to_string());
    put(
        st,
        format!("access-grant-expiry:{expires_ms:013}:{id}"),
        format!("\"{id}\""),
    );
    put(
        st,
        format!("access-grant-open:acct-{n}:github-copilot"),
        format!("\"{id}\""),
    );
    put(
        st,
        format!("access-grant-by-status:active:{id}"),
        format!("\"{id}\""),
    );
}

/// Grants `total` grants of which `due` are overdue; returns the job runner's kvs calls.
pub fn sweep_cost(total: u64, due: u64) -> (u64, Value) {
    let mut sim = wasm();
    approve_air2(&mut sim);
    let template = kvs_value(&sim, "access-grant:g-10101").unwrap();
    let now = sim.state().clock_ms;
    for n in 0..total {
        let at = if n < due {
            now - HOUR - n
        } else {
            now + 30 * DAY + n * 1_000
        };
        inject_grant(&mut sim, &template, n, at);
    }
    let rec = sim.run_scheduled("job-runner").unwrap();
    let out = match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        other => panic!("{other:?}"),
    };
    (
        rec.counts
            .by_service
            .get(&host_sim::Service::Kvs)
            .copied()
            .unwrap_or(0),
        out,
    )
}

// covers: CL-131, CL-152
#[test]
fn the_job_runner_reads_only_the_due_grants_among_100k() {
    let (small, out_small) = sweep_cost(1_000, 100);
    assert_eq!(out_small["grantsExpired"], 100, "{out_small}");
    let (large, out_large) = sweep_cost(100_000, 100);
    assert_eq!(out_large["grantsExpired"], 100);
    // Expiring 100 grants costs a few calls each; 99,900 grants that are not due cost nothing.
    assert!(
        large <= small + 10,
        "cost grew with the data: 1k → {small} calls, 100k → {large}"
    );
    assert!(large < 100 * 12, "{large} kvs calls for 100 due grants");
}

// covers: CL-152
#[test]
fn finished_jobs_are_pruned_after_thirty_days() {
    let mut sim = wasm();
    approve_air2(&mut sim);
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let job_id = tab["manualActions"][0]["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": job_id, "action": "fulfilled"}),
        MARCUS,
    );
    assert!(kvs_value(&sim, &format!("provisioning-job:{job_id}")).is_some());
    sim.state_mut().clock_ms += 29 * DAY;
    assert_eq!(scheduled(&mut sim, "job-runner")["jobsPruned"], 0);
    sim.state_mut().clock_ms += 2 * DAY;
    assert_eq!(scheduled(&mut sim, "job-runner")["jobsPruned"], 1);
    assert!(kvs_value(&sim, &format!("provisioning-job:{job_id}")).is_none());
    assert_eq!(
        count_prefix(&sim, "provisioning-job-by-status:succeeded:"),
        0
    );
    assert_eq!(
        scheduled(&mut sim, "job-runner")["jobsPruned"],
        0,
        "duplicate run"
    );
}
