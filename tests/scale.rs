//! Issue 32: the app stays inside Forge's budgets at any age and size.
//!
//! - Direct requests nobody decides expire at governance's decision deadline (the pending
//!   backlog, which every approver screen lists, stays bounded), with a comment to the
//!   requester and an audit entry naming the rule.
//! - Insights rollups live one record per month, old months pruned: no record grows with time.
//! - The emulator meters KVS read and write units per minute as Forge does and answers 429
//!   past the budget; the app defers and loses nothing.
//! - Cost grows with the work: the same screens and jobs at two data sizes cost the same.

mod common;

use common::*;
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

fn request(sim: &Sim, id: &str) -> Value {
    kvs_value(sim, &format!("request:{id}")).unwrap()
}

#[test]
fn an_undecided_direct_request_expires_at_the_deadline_told_and_audited() {
    let mut sim = basic();
    deliver(&mut sim, &["002"]); // AIR-2: Wei, GitHub Copilot, decided directly
    assert_eq!(count_prefix(&sim, "request-decision-deadline:"), 1);
    // Day 29: nothing is due.
    sim.state_mut().clock_ms += 29 * DAY;
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsExpiredUndecided"],
        0
    );
    assert_eq!(request(&sim, "10101")["decision"], "pending");
    // Day 31: expired by the app, on the deadline rule, and the requester is told.
    sim.state_mut().clock_ms += 2 * DAY;
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsExpiredUndecided"],
        1
    );
    sim.settle();
    let r = request(&sim, "10101");
    assert_eq!(r["decision"], "denied");
    assert_eq!(r["decisionSource"], "decision-deadline");
    assert_eq!(r["decidedBy"], "app");
    let denied = audit_of(&sim, "request_denied");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["actor"], "app");
    assert_eq!(
        denied[0]["data"]["rule"],
        json!({"rule": "decisionDeadline", "days": 30})
    );
    let comments = issue_comments(&sim, "AIR-2").join("\n");
    assert!(
        comments.contains("nobody decided this request within 30 days"),
        "{comments}"
    );
    // The index entry is gone; a second run does nothing.
    assert_eq!(count_prefix(&sim, "request-decision-deadline:"), 0);
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsExpiredUndecided"],
        0
    );
    assert!(verify(&mut sim).ok);
}

#[test]
fn a_request_decided_in_time_is_not_touched_and_its_deadline_entry_is_dropped() {
    let mut sim = basic();
    approve_air2(&mut sim);
    let before = request(&sim, "10101");
    assert_eq!(before["decision"], "approved");
    sim.state_mut().clock_ms += 31 * DAY;
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsExpiredUndecided"],
        0
    );
    assert_eq!(request(&sim, "10101"), before);
    assert_eq!(count_prefix(&sim, "request-decision-deadline:"), 0);
    assert!(audit_of(&sim, "request_denied").is_empty());
}

#[test]
fn a_path_decided_request_is_left_to_its_path() {
    // The full setup routes medium risk through the standard path: the deadline pass never
    // ends a request a path decides (the path has its own timeout).
    let mut sim = wasm();
    deliver(&mut sim, &["001"]);
    let r = request(&sim, "10100");
    assert_eq!(r["route"]["kind"], "path", "{r}");
    sim.state_mut().clock_ms += 31 * DAY;
    let out = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(out["requestsExpiredUndecided"], 0, "{out}");
    assert_eq!(count_prefix(&sim, "request-decision-deadline:"), 0);
}

#[test]
fn the_deadline_is_a_governance_setting_validated_and_pinned_at_intake() {
    let mut sim = wasm();
    for bad in [json!(0), json!(366), json!("30")] {
        let rec = sim.resolve(
            "admin.governance.save",
            &json!({"decisionDeadlineDays": bad}),
            Some(ADMIN),
        );
        match &rec.outcome {
            RawOutcome::Err(e) => {
                assert_eq!(e.code, "GOVERNANCE_INVALID");
                assert_eq!(
                    e.details.as_ref().unwrap()["decisionDeadlineDays"],
                    "1-365 days"
                );
            }
            o => panic!("{bad}: {o:?}"),
        }
    }
    let g = ok(&mut sim, "admin.governance.get", json!({}), ADMIN)["governance"].clone();
    assert_eq!(g["decisionDeadlineDays"], 30);
    let saved = ok(
        &mut sim,
        "admin.governance.save",
        json!({"decisionDeadlineDays": 7}),
        ADMIN,
    );
    assert_eq!(saved["governance"]["decisionDeadlineDays"], 7);
    // The change is a governance version in the audit trail.
    assert!(audit_of(&sim, "governance_updated")
        .iter()
        .any(|e| e.to_string().contains("decisionDeadlineDays")));
    deliver(&mut sim, &["002"]);
    let r = request(&sim, "10101");
    let requested = aiclearance::time::parse(r["ingestedAt"].as_str().unwrap()).unwrap();
    let due: Vec<String> = sim
        .state()
        .kvs
        .keys()
        .filter(|k| k.starts_with("request-decision-deadline:"))
        .cloned()
        .collect();
    assert_eq!(
        due,
        [format!(
            "request-decision-deadline:{:013}:10101",
            requested + 7 * DAY
        )]
    );
}

// covers: CL-137, CL-186
#[test]
fn insights_rollups_are_one_record_per_month_and_old_months_are_pruned() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "002"]);
    scheduled(&mut sim, "daily-maintenance");
    let head = kvs_value(&sim, "analytics-rollups").unwrap();
    assert!(head.get("months").is_none(), "{head}");
    assert!(head["lastSeq"].as_u64().unwrap() > 0);
    let month = &aiclearance::time::day(sim.state().clock_ms)[..7];
    let m = kvs_value(&sim, &format!("analytics-month:{month}")).unwrap();
    assert_eq!(m["requests"], 2, "{m}");
    let insights = ok(&mut sim, "admin.insights", json!({"months": 12}), ADMIN);
    assert_eq!(insights["counters"]["requests"], 2);

    // A head written before the split (months inside it) is migrated on the next run, and a
    // month older than the 36 the screen can show is pruned.
    let mut legacy = head.clone();
    legacy["months"] = json!({
        "2020-01": {"requests": 5},
        "2026-06": {"requests": 3}
    });
    sim.state_mut()
        .kvs
        .get_mut("analytics-rollups")
        .unwrap()
        .value = legacy.to_string();
    scheduled(&mut sim, "daily-maintenance");
    let head = kvs_value(&sim, "analytics-rollups").unwrap();
    assert!(head.get("months").is_none(), "{head}");
    assert_eq!(
        kvs_value(&sim, "analytics-month:2026-06").unwrap()["requests"],
        3
    );
    assert!(kvs_value(&sim, "analytics-month:2020-01").is_none());
    let insights = ok(&mut sim, "admin.insights", json!({"months": 12}), ADMIN);
    assert_eq!(insights["counters"]["requests"], 5, "{insights}");
}

#[test]
fn over_the_kvs_write_budget_the_emulator_answers_429_and_intake_defers_without_loss() {
    let mut sim = basic();
    // Another invocation spent the minute's write units.
    let minute = sim.state().clock_ms / 60_000;
    {
        let b = &mut sim.state_mut().kvs_budget;
        assert!(b.enforced);
        b.minute = minute;
        b.write_units = host_sim::emulator::KVS_UNITS_PER_MINUTE;
    }
    let rec = sim.deliver(&event("002")).unwrap();
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "intake must defer, not fail: {:?}",
        rec.outcome
    );
    assert!(kvs_value(&sim, "request:10101").is_none());
    assert!(sim.state().kvs_budget.throttled > 0);
    // A minute later the budget is back; the retry ingests the request once.
    sim.advance(2 * 60_000);
    sim.settle();
    assert_eq!(request(&sim, "10101")["decision"], "pending");
    assert_eq!(audit_of(&sim, "request_created").len(), 1);
    assert!(verify(&mut sim).ok);
}

#[test]
fn kvs_units_are_metered_per_ten_kilobytes_and_reads_and_writes_separately() {
    use host_sim::emulator::kvs_units;
    assert_eq!(kvs_units(0), 1);
    assert_eq!(kvs_units(10 * 1024), 1);
    assert_eq!(kvs_units(10 * 1024 + 1), 2);
    let mut sim = basic();
    let before = sim.state().kvs_budget.clone();
    deliver(&mut sim, &["002"]);
    let after = sim.state().kvs_budget.clone();
    assert!(after.peak_write_units > before.peak_write_units);
    assert!(after.peak_read_units > 0);
    assert_eq!(after.throttled, 0);
}

// ---- Cost grows with the work, not with the data ----------------------------------------------

mod growth {
    use super::*;
    use host_sim::emulator::SimState;
    use host_sim::manifest::Manifest;
    use host_sim::sim::{default_component, default_manifest, make_engine, EngineKind};
    use host_sim::site::Site;

    const FIRST_ID: u64 = 30_000;
    const STEP_MS: u64 = 10 * 60_000;
    /// Requests left pending at the end (the same at both sizes).
    pub const PENDING: usize = 12;

    /// A site whose history holds `n` decided direct requests, filed and decided through the
    /// app's entry points over simulated time (every scheduled trigger firing as declared), and
    /// `PENDING` requests still waiting.
    pub fn site(n: usize, pending: usize) -> Sim {
        let mut site = Site::load(&site_dir()).unwrap();
        let template = site
            .issues
            .iter()
            .find(|i| i.key == "AIR-2")
            .cloned()
            .unwrap();
        let people: Vec<String> = site
            .users
            .iter()
            .filter(|u| u.active && u.account_type == "atlassian" && u.account_id != MARCUS)
            .map(|u| u.account_id.clone())
            .collect();
        let start = aiclearance::time::parse(&site.now).unwrap();
        // The requests still pending come from people of their own (a large org's backlog):
        // employees cloned from one fixture account.
        let employee = site
            .users
            .iter()
            .find(|u| u.account_id == JONAS)
            .cloned()
            .unwrap();
        for i in 0..pending {
            site.users.push(host_sim::site::User {
                account_id: format!("712020:employee-{i:05}"),
                display_name: format!("Employee {i:05}"),
                ..employee.clone()
            });
        }
        for i in 0..n + pending {
            let mut issue = template.clone();
            let who = if i < n {
                people[i % people.len()].clone()
            } else {
                format!("712020:employee-{:05}", i - n)
            };
            issue.id = (FIRST_ID + i as u64).to_string();
            issue.key = format!("AIR-{}", FIRST_ID + i as u64);
            issue.reporter = who.clone();
            issue.creator = Some(who);
            let later = if i >= n { 200 * 24 * HOUR } else { 0 };
            issue.created = aiclearance::time::rfc3339(start + i as u64 * STEP_MS + later);
            issue.comments.clear();
            site.issues.push(issue);
        }
        let state = SimState::new(site, 7).unwrap();
        let engine = make_engine(EngineKind::Native, &default_component()).unwrap();
        let mut sim = Sim::new(state, Manifest::load(&default_manifest()).unwrap(), engine);
        let steps = host_sim::scenario::intake_and_catalog_steps(
            &host_sim::scenario::load(&site_dir()).unwrap(),
        );
        let mut t = String::new();
        host_sim::scenario::run(&mut sim, &steps, &mut t).unwrap();
        for i in 0..n + pending {
            let id = FIRST_ID + i as u64;
            let issue = sim
                .state()
                .site
                .issues
                .iter()
                .find(|x| x.id == id.to_string())
                .unwrap()
                .clone();
            let ev = host_sim::scenario::created_event(&issue);
            sim.deliver(&ev).unwrap();
            if i < n {
                // Most are denied; every fifth approved (its grant lives, expires and ends). An
                // approval the kernel refuses (the requester still holds the tool) is denied,
                // so the history leaves nothing pending.
                let decide = |sim: &mut Sim, d: &str| {
                    sim.resolve(
                        "clearance.approvals.decide",
                        &json!({"issueKey": issue.key, "decision": d}),
                        Some(MARCUS),
                    )
                };
                let approved =
                    i % 5 == 0 && matches!(decide(&mut sim, "approve").outcome, RawOutcome::Ok(_));
                if !approved {
                    let rec = decide(&mut sim, "deny");
                    assert!(
                        matches!(rec.outcome, RawOutcome::Ok(_)),
                        "{:?}",
                        rec.outcome
                    );
                }
            }
            sim.settle();
            sim.advance(STEP_MS);
            if i + 1 == n {
                // The history's grants all run out (their longest life is 180 days) and its
                // follow-ups finish before the pending requests of today arrive.
                sim.advance(200 * 24 * HOUR);
                sim.settle();
            }
        }
        sim
    }

    /// Host calls and KVS read units of one call, measured from the start of a fresh minute.
    pub fn cost(sim: &mut Sim, what: &str, p: Value, who: Option<&str>) -> (u64, u64) {
        let c = sim.state().clock_ms;
        sim.state_mut().clock_ms = c - c % 60_000 + 60_000;
        let before = sim.state().kvs_budget.clone();
        let rec = match what.strip_prefix("scheduled:") {
            Some(key) => sim.run_scheduled(key).unwrap(),
            None => sim.resolve(what, &p, who),
        };
        assert!(
            matches!(rec.outcome, RawOutcome::Ok(_)),
            "{what}: {:?}",
            rec.outcome
        );
        let after = sim.state().kvs_budget.clone();
        assert_eq!(after.throttled, before.throttled, "{what} was throttled");
        (rec.counts.total, after.read_units)
    }

    pub fn measures(requester: &str) -> Vec<(&'static str, Value, Option<String>)> {
        let a = Some(ADMIN.to_string());
        vec![
            (
                "clearance.approvals.tab",
                json!({}),
                Some(MARCUS.to_string()),
            ),
            ("admin.overview", json!({}), a.clone()),
            ("admin.insights", json!({"months": 12}), a.clone()),
            ("admin.requests.list", json!({}), a.clone()),
            ("admin.audit.search", json!({}), a.clone()),
            ("page.history", json!({}), Some(requester.to_string())),
            ("page.myAccess", json!({}), Some(requester.to_string())),
            ("page.context", json!({}), Some(MARCUS.to_string())),
            ("scheduled:job-runner", json!({}), None),
            ("scheduled:escalation-sweep", json!({}), None),
            ("scheduled:daily-maintenance", json!({}), None),
        ]
    }

    pub fn table(n: usize) -> Vec<(String, u64, u64)> {
        let mut sim = site(n, PENDING);
        // Someone with a long history (one request in a dozen of the history is theirs).
        let requester = sim
            .state()
            .site
            .issues
            .iter()
            .find(|i| i.id == FIRST_ID.to_string())
            .unwrap()
            .reporter
            .clone();
        // One quiet day first: the day's maintenance has folded what the history wrote.
        sim.advance(24 * HOUR);
        sim.settle();
        measures(&requester)
            .into_iter()
            .map(|(f, p, who)| {
                let (calls, units) = cost(&mut sim, f, p, who.as_deref());
                (f.to_string(), calls, units)
            })
            .collect()
    }
}

#[test]
fn screens_and_jobs_cost_the_same_at_ten_times_the_history() {
    let small = growth::table(300);
    let large = growth::table(3_000);
    let mut report = String::new();
    let mut grew = Vec::new();
    for ((f, c1, u1), (_, c2, u2)) in small.iter().zip(&large) {
        report.push_str(&format!(
            "{f:32} calls {c1:>4} → {c2:>4}   read units {u1:>4} → {u2:>4}\n"
        ));
        // Cost grows with the work (the same pending items, the same page, the same due
        // entries), never with the history: 10x the requests may cost at most 1.2x.
        if *c2 as f64 > 1.2 * *c1 as f64 || *u2 as f64 > 1.2 * *u1 as f64 + 1.0 {
            grew.push(f.clone());
        }
    }
    eprintln!("{report}");
    assert!(
        grew.is_empty(),
        "cost grew with the data: {grew:?}\n{report}"
    );
}

// covers: CL-050, CL-168
#[test]
fn the_approvals_tab_reads_a_page_whatever_the_backlog() {
    let page = |sim: &mut Sim, p: Value| {
        let rec = sim.resolve("clearance.approvals.tab", &p, Some(MARCUS));
        match &rec.outcome {
            RawOutcome::Ok(v) => (v.clone(), rec.counts.total),
            o => panic!("{o:?}"),
        }
    };
    let mut small = growth::site(0, 45);
    let (first, calls_small) = page(&mut small, json!({}));
    assert_eq!(first["pending"].as_array().unwrap().len(), 20);
    // Every row, page by page, exactly once.
    let mut seen: Vec<String> = Vec::new();
    let mut v = first;
    loop {
        seen.extend(
            v["pending"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["issueKey"].as_str().unwrap().to_string()),
        );
        match v["pendingNext"].as_str() {
            Some(c) => v = page(&mut small, json!({"more": "pending", "cursor": c})).0,
            None => break,
        }
        assert!(v["manualActions"].as_array().unwrap().is_empty());
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (45, 45));
    // A decided request leaves the list; the manual table lists the approved one's job.
    let first_key = seen[0].clone();
    let rec = small.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": first_key, "decision": "approve"}),
        Some(MARCUS),
    );
    assert!(rec.ok().is_some(), "{:?}", rec.outcome);
    small.settle();
    let (after, _) = page(&mut small, json!({}));
    assert!(!after["pending"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["issueKey"] == json!(first_key)));
    assert!(after["manualActions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["issueKey"] == json!(first_key)));
    // Ten times the backlog: the first page costs the same host calls.
    let mut large = growth::site(0, 450);
    let (first, calls_large) = page(&mut large, json!({}));
    assert_eq!(first["pending"].as_array().unwrap().len(), 20);
    assert!(first["pendingNext"].is_string());
    assert_eq!(
        calls_large, calls_small,
        "the tab's first page grew with the backlog"
    );
    // Opened cold (no names cached for the viewer, no admin check cached): the caller's
    // approvers and admin-cache record, the page's query and its requests, the manual table's
    // query, the facts batch; Jira for the caller's groups and the page's names; and the names
    // layer's two writes (the viewer's cache, the scrubber directory's sighting). No admin
    // check: Marcus is a named approver (D-251).
    let mut cold = growth::site(0, 45);
    let rec = cold.resolve("clearance.approvals.tab", &json!({}), Some(MARCUS));
    let ops: Vec<(String, u64)> = rec.counts.by_op.clone().into_iter().collect();
    assert_eq!(
        ops,
        vec![
            ("jira.GET /rest/api/3/user/bulk".to_string(), 1),
            ("jira.GET /rest/api/3/user/groups".to_string(), 1),
            ("kvs.batch-get".to_string(), 3),
            ("kvs.query".to_string(), 2),
            ("kvs.set".to_string(), 2),
        ],
        "the tab's cold first page"
    );
    // The admin check's cache gone but the names cached (the usual first open of the hour):
    // six host calls, no Jira permission check and no cache write.
    let access = format!("access-cache:{MARCUS}");
    cold.state_mut().kvs.remove(&access);
    let rec = cold.resolve("clearance.approvals.tab", &json!({}), Some(MARCUS));
    assert!(rec.counts.total <= 6, "{:?}", rec.counts.by_op);
    // Opened again (the admin check cached for the hour): the caller's facts in one batch read
    // and one Jira call, one query and one batch read of the page, the manual table's query,
    // and the names: six host calls at any backlog size.
    let (_, warm) = page(&mut large, json!({}));
    assert!(warm <= 6, "the tab's first page took {warm} host calls");
    // A made-up or stale cursor is a typed error, not a crash.
    let rec = large.resolve(
        "clearance.approvals.tab",
        &json!({"more": "pending", "cursor": "0000000000000000zz"}),
        Some(MARCUS),
    );
    assert_eq!(rec.error_code(), Some("CURSOR_EXPIRED"));
    let rec = large.resolve(
        "clearance.approvals.tab",
        &json!({"more": "everything"}),
        Some(MARCUS),
    );
    assert_eq!(rec.error_code(), Some("PAGE_INVALID"));
}

#[test]
fn requests_closed_longer_than_the_retention_are_deleted_with_their_grants_and_audited() {
    let mut sim = basic();
    // AIR-2 approved (its grant will end), AIR-6 denied.
    approve_air2(&mut sim);
    deliver(&mut sim, &["006"]);
    ok(
        &mut sim,
        "clearance.approvals.decide",
        json!({"issueKey": "AIR-6", "decision": "deny"}),
        MARCUS,
    );
    sim.settle();
    let grant = request(&sim, "10101")["grantId"]
        .as_str()
        .unwrap()
        .to_string();
    let keys_of = |sim: &Sim, id: &str| -> Vec<String> {
        sim.state()
            .kvs
            .iter()
            .filter(|(k, v)| {
                (k.starts_with("request") || k.starts_with("access-grant"))
                    && (k.contains(id) || v.value == format!("\"{id}\""))
            })
            .map(|(k, _)| k.clone())
            .collect()
    };
    assert!(!keys_of(&sim, "10105").is_empty());
    // A year on: the grant has expired (the runner ends it), nothing is old enough yet (the
    // default keeps closed requests 730 days).
    sim.state_mut().clock_ms += 365 * DAY;
    scheduled(&mut sim, "job-runner");
    scheduled(&mut sim, "escalation-sweep"); // drops the decided requests' escalation entries
    sim.settle();
    let g = kvs_value(&sim, &format!("access-grant:{grant}")).unwrap();
    assert!(
        !matches!(
            g["status"].as_str(),
            Some("active") | Some("pendingProvision")
        ),
        "{g}"
    );
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsPruned"],
        0
    );
    // 765 days after the decisions: the denied request goes with every index key; the approved
    // one stays, its grant ended only 400 days ago.
    sim.state_mut().clock_ms += 400 * DAY;
    let out = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(out["requestsPruned"], 1, "{out}");
    assert!(
        keys_of(&sim, "10105").is_empty(),
        "{:?}",
        keys_of(&sim, "10105")
    );
    assert!(kvs_value(&sim, "request:10101").is_some());
    // And 730 days after the grant ended, it goes too, with the grant and its index keys.
    sim.state_mut().clock_ms += 340 * DAY;
    let out = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(out["requestsPruned"], 1, "{out}");
    assert!(
        keys_of(&sim, "10101").is_empty(),
        "{:?}",
        keys_of(&sim, "10101")
    );
    assert!(kvs_value(&sim, &format!("access-grant:{grant}")).is_none());
    assert_eq!(count_prefix(&sim, "access-grant-by-account:"), 0);
    // The evidence stays: one audit entry names what went, and the trail still verifies.
    let pruned = audit_of(&sim, "requests_pruned");
    assert_eq!(pruned.len(), 2);
    let named: Vec<&Value> = pruned.iter().map(|e| &e["data"]["issueKeys"][0]).collect();
    assert_eq!(named, [&json!("AIR-6"), &json!("AIR-2")]);
    assert_eq!(pruned[0]["data"]["retentionDays"], 730);
    assert!(verify(&mut sim).ok);
    // Nothing left to do the next day.
    sim.state_mut().clock_ms += DAY;
    assert_eq!(
        scheduled(&mut sim, "daily-maintenance")["requestsPruned"],
        0
    );
}

// covers: CL-061, CL-051
#[test]
fn clearing_a_backlog_at_the_bulk_limit_meets_forges_write_budget_and_loses_nothing() {
    clear_backlog("approve", "approved");
}

// covers: CL-061, CL-055
#[test]
fn denying_a_backlog_at_the_bulk_limit_meets_forges_write_budget_and_loses_nothing() {
    clear_backlog("deny", "denied");
}

fn clear_backlog(verdict: &str, outcome: &str) {
    // 250 pending requests; the approver clears them at the allowed five bulks of 50 a minute.
    // Bulk decisions spend the installation's write budget (D-210): what fits this minute is
    // decided now, the rest is queued into the next minutes, and no minute passes 3,000 write
    // units (Forge refuses past 4,000).
    let mut sim = growth::site(0, 250);
    let keys: Vec<String> = sim
        .state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("request:"))
        .filter_map(|(_, v)| serde_json::from_str::<Value>(&v.value).ok())
        .filter(|r| r["decision"] == "pending")
        .map(|r| r["issueKey"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 250);
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000;
    let minute = sim.state().clock_ms / 60_000;
    let peak_before = sim.state().kvs_budget.peak_write_units;
    let (mut now, mut queued, mut held, mut units) = (0, 0, 0, Vec::new());
    let mut batches = Vec::new();
    let mut held_keys = Vec::new();
    for chunk in keys.chunks(50) {
        let before = sim.state().kvs_budget.write_units;
        let rec = sim.resolve(
            "clearance.approvals.bulkDecide",
            &json!({"issueKeys": chunk, "decision": verdict}),
            Some(MARCUS),
        );
        units.push(sim.state().kvs_budget.write_units.saturating_sub(before));
        let out = rec
            .ok()
            .unwrap_or_else(|| panic!("the bulk itself is never refused: {:?}", rec.outcome))
            .clone();
        if let Some(b) = out["batchId"].as_str() {
            batches.push(b.to_string());
        }
        for r in out["results"].as_array().unwrap() {
            match (r["ok"].as_bool(), r["outcome"].as_str()) {
                (Some(true), Some(o)) if o == outcome => now += 1,
                (Some(true), Some("queued")) => {
                    queued += 1;
                    // The approver is told when it will be recorded.
                    let n = r["withinMinutes"].as_u64().unwrap();
                    assert!((2..=16).contains(&n), "{r}");
                    assert!(
                        r["message"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("will be recorded within {n} minutes")),
                        "{r}"
                    );
                }
                // The site has a dozen requesters: a person who already holds the tool is
                // refused on their own, with a code a person can act on, and nothing written.
                _ => match r["error"]["code"].as_str() {
                    Some("GRANT_CONFLICT") => {
                        held += 1;
                        held_keys.push(r["issueKey"].as_str().unwrap().to_string());
                    }
                    _ => panic!("refused, neither decided nor queued: {r}"),
                },
            }
        }
    }
    let b = sim.state().kvs_budget.clone();
    assert_eq!(b.minute, minute, "the five bulks ran inside one minute");
    assert_eq!(now + queued + held, 250);
    assert!(queued > 0 && now > 0, "{now} decided now, {queued} queued");
    assert_eq!(b.throttled, 0, "no KVS request was refused with 429");
    // Minute by minute: the queued decisions run in the minutes they were given, and the
    // follow-ups (notices, provisioning jobs) with them.
    // Sampled at second 59 of each minute (the queued groups run at its first second).
    let mut per_minute = Vec::new();
    sim.advance(59_000);
    for m in 0..=17u64 {
        if m > 0 {
            sim.advance(60_000);
        }
        let b = &sim.state().kvs_budget;
        if b.minute == minute + m {
            per_minute.push((m, b.write_units));
        }
    }
    sim.settle();
    let b = sim.state().kvs_budget.clone();
    eprintln!(
        "{verdict}: write units per 50-key bulk: {units:?}; {now} decided at once, {queued} queued, {held} already held; \
         write units by minute: {per_minute:?}; busiest minute {} write units (before the bulks: {peak_before}); {} KVS requests throttled",
        b.peak_write_units, b.throttled
    );
    // covers the issue's bound: no minute over ~3,000 write units (Forge's limit is 4,000).
    assert!(
        b.peak_write_units <= 3_000,
        "busiest minute {} write units: {per_minute:?}",
        b.peak_write_units
    );
    assert_eq!(b.throttled, 0, "nothing met Forge's 429");
    // Every request is decided, with its grant; only the ones already held stay pending.
    for k in &keys {
        let id = k.trim_start_matches("AIR-");
        let r = kvs_value(&sim, &format!("request:{id}")).unwrap();
        match r["decision"].as_str() {
            Some("denied") if verdict == "deny" => {
                assert!(r["grantId"].is_null(), "{k}");
                assert_eq!(r["decidedBy"], MARCUS, "{k}");
                assert_eq!(r["decisionSource"], "bulk", "{k}");
            }
            Some("approved") if verdict == "approve" => {
                let g = r["grantId"].as_str().unwrap();
                assert!(
                    kvs_value(&sim, &format!("access-grant:{g}")).is_some(),
                    "{k}"
                );
                assert_eq!(r["decidedBy"], MARCUS, "{k}");
                assert_eq!(r["decisionSource"], "bulk", "{k}");
            }
            Some("pending") => {
                assert!(r["grantId"].is_null(), "{k}");
                assert!(
                    held_keys.contains(k)
                        || batches.iter().any(|b| {
                            let s = ok(
                                &mut sim,
                                "clearance.approvals.bulkStatus",
                                json!({"batchId": b}),
                                MARCUS,
                            );
                            s["items"].as_array().unwrap().iter().any(|i| {
                                i["issueKey"] == k.as_str()
                                    && i["error"]["code"] == "GRANT_CONFLICT"
                            })
                        }),
                    "{k} was neither decided nor refused for a reason of its own"
                );
            }
            other => panic!("{k}: {other:?}"),
        }
    }
    // The approver can see what became of every queued key: nothing is still queued.
    let mut seen = 0;
    for b in &batches {
        let s = ok(
            &mut sim,
            "clearance.approvals.bulkStatus",
            json!({"batchId": b}),
            MARCUS,
        );
        assert_eq!(s["queued"], 0, "{s}");
        seen += s["items"].as_array().unwrap().len();
        for i in s["items"].as_array().unwrap() {
            match i["status"].as_str() {
                Some("decided") => assert_eq!(i["outcome"], outcome, "{i}"),
                Some("refused") => assert_eq!(i["error"]["code"], "GRANT_CONFLICT", "{i}"),
                other => panic!("{other:?}: {i}"),
            }
        }
    }
    assert_eq!(seen, queued);
    assert_eq!(
        count_prefix(&sim, "decision-notice:"),
        0,
        "decision notices still waiting"
    );
    assert!(sim.state().dropped.is_empty(), "{:?}", sim.state().dropped);
    // The budget is a ring of 16 records, whatever the traffic.
    assert!(count_prefix(&sim, "write-budget:") <= 16);
    assert!(verify(&mut sim).ok);
}

/// A site with the full setup (medium risk decided by the "Standard AI access" path) and `n`
/// path-routed requests waiting, each from an employee of their own.
fn path_backlog(n: usize) -> Sim {
    path_backlog_from(40_000, n)
}

fn path_backlog_from(first_id: usize, n: usize) -> Sim {
    use host_sim::emulator::SimState;
    use host_sim::manifest::Manifest;
    use host_sim::sim::{default_component, default_manifest, make_engine, EngineKind};
    use host_sim::site::Site;
    let mut site = Site::load(&site_dir()).unwrap();
    let template = site
        .issues
        .iter()
        .find(|i| i.key == "AIR-1")
        .cloned()
        .unwrap();
    let employee = site
        .users
        .iter()
        .find(|u| u.account_id == JONAS)
        .cloned()
        .unwrap();
    let start = aiclearance::time::parse(&site.now).unwrap();
    for i in 0..n {
        let who = format!("712020:path-employee-{i:05}");
        site.users.push(host_sim::site::User {
            account_id: who.clone(),
            display_name: format!("Path Employee {i:05}"),
            ..employee.clone()
        });
        let mut issue = template.clone();
        issue.id = (first_id + i).to_string();
        issue.key = format!("AIR-{}", first_id + i);
        issue.reporter = who.clone();
        issue.creator = Some(who);
        issue.created = aiclearance::time::rfc3339(start + i as u64 * 60_000);
        issue.comments.clear();
        site.issues.push(issue);
    }
    let state = SimState::new(site, 7).unwrap();
    let engine = make_engine(EngineKind::Native, &default_component()).unwrap();
    let mut sim = Sim::new(state, Manifest::load(&default_manifest()).unwrap(), engine);
    let steps = host_sim::scenario::setup_steps(&host_sim::scenario::load(&site_dir()).unwrap());
    let mut t = String::new();
    host_sim::scenario::run(&mut sim, &steps, &mut t).unwrap();
    for i in 0..n {
        let issue = sim
            .state()
            .site
            .issues
            .iter()
            .find(|x| x.id == (first_id + i).to_string())
            .unwrap()
            .clone();
        let rec = sim
            .deliver(&host_sim::scenario::created_event(&issue))
            .unwrap();
        assert!(
            matches!(rec.outcome, RawOutcome::Ok(_)),
            "{:?}",
            rec.outcome
        );
        sim.settle();
        sim.advance(60_000);
    }
    sim.advance(60_000);
    sim
}

const SOFIA: &str = "5d610bd609501844143739a4"; // security-reviewers only
const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0"; // the standard path's team lead

fn context(sim: &mut Sim, who: &str) -> (bool, u64) {
    let rec = sim.resolve("page.context", &json!({}), Some(who));
    match &rec.outcome {
        RawOutcome::Ok(v) => (v["showApprovals"].as_bool().unwrap(), rec.counts.total),
        o => panic!("{o:?}"),
    }
}

// covers: CL-167
#[test]
fn who_sees_the_approvals_tab_is_read_from_the_approver_inbox_not_the_task_backlog() {
    // An employee with no role, at 20 and 250 open path tasks: the same host calls (the old
    // scan read every open task, a page of 100 at a time).
    let mut small = path_backlog(20);
    let mut large = path_backlog(250);
    let (shown, _) = context(&mut small, JONAS);
    assert!(!shown, "an employee with no role sees no Approvals tab");
    let (_, calls_small) = context(&mut small, JONAS);
    context(&mut large, JONAS); // the same warm admin-check cache at both sizes
    let (shown, calls_large) = context(&mut large, JONAS);
    assert!(!shown);
    assert_eq!(
        calls_large, calls_small,
        "page.context grew with the open path tasks"
    );
    // The path's team lead has an inbox page whatever the backlog.
    let tasks = ok(&mut large, "approvals.pending", json!({}), PRIYA)["tasks"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(tasks, aiclearance::approvals::inbox::PAGE as usize);

    // A group step opens the tab for its members (and only while it is open).
    let mut sim = small;
    assert!(!context(&mut sim, SOFIA).0);
    deliver(&mut sim, &["005"]); // AIR-5: Cursor Business, high risk → Security review
    assert!(
        context(&mut sim, SOFIA).0,
        "a security reviewer sees the tab"
    );
    let mine = ok(&mut sim, "approvals.pending", json!({}), SOFIA)["tasks"].clone();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["issueKey"], "AIR-5");
    let rec = sim.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": "AIR-5", "decision": "approve"}),
        Some(SOFIA),
    );
    assert!(rec.ok().is_some(), "{:?}", rec.outcome);
    sim.settle();
    // The step closed: its inbox entries are gone and the tab with them.
    assert!(!context(&mut sim, SOFIA).0);
    assert!(ok(&mut sim, "approvals.pending", json!({}), SOFIA)["tasks"]
        .as_array()
        .unwrap()
        .is_empty());
    let sofia_entries = sim
        .state()
        .kvs
        .keys()
        .filter(|k| k.starts_with("approval-inbox:u.") && k.contains(SOFIA))
        .count();
    assert_eq!(sofia_entries, 0);
}

#[test]
fn a_stale_inbox_entry_is_verified_away_and_deleted_by_its_reader() {
    let mut sim = path_backlog(1);
    // An entry whose task does not exist (a crash between the entry and the transition, or a
    // transition that lost a conflict): the reader checks the task and drops the entry.
    let stale = format!("approval-inbox:u.{JONAS}:no-such-approval:step-1");
    sim.state_mut().kvs.insert(
        stale.clone(),
        host_sim::emulator::Stored {
            value: json!("approval-task:no-such-approval:step-1").to_string(),
            expires_at_ms: None,
        },
    );
    assert!(!context(&mut sim, JONAS).0, "a stale entry gave the tab");
    assert!(!sim.state().kvs.contains_key(&stale), "the reader drops it");
}

// ---- Search reads the matching rows' pages (issue 32 item 3) ------------------------------------

fn audit_entries(sim: &Sim) -> Vec<Value> {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("audit-event:"))
        .map(|(_, s)| serde_json::from_str(&s.value).unwrap())
        .collect()
}

/// The sequence numbers of the stored entries `keep` picks, newest first (the search's truth).
fn newest_first(entries: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<u64> {
    let mut seqs: Vec<u64> = entries
        .iter()
        .filter(|e| keep(e))
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    seqs.sort_unstable_by(|a, b| b.cmp(a));
    seqs
}

fn seqs_of(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect()
}

/// Every page of a governance-log search, following its cursors.
fn audit_pages(sim: &mut Sim, p: Value) -> (Vec<u64>, Vec<u64>) {
    let (mut seqs, mut examined) = (Vec::new(), Vec::new());
    let mut p = p;
    for _ in 0..200 {
        let v = ok(sim, "admin.audit.search", p.clone(), ADMIN);
        seqs.extend(seqs_of(&v));
        examined.push(v["examined"].as_u64().unwrap());
        match v["nextCursor"].as_str() {
            Some(c) => p["cursor"] = json!(c),
            None => return (seqs, examined),
        }
    }
    panic!("search did not end");
}

// covers: CL-143
#[test]
fn governance_log_search_by_actor_or_issue_reads_that_index_newest_first() {
    let mut sim = growth::site(300, 0);
    let all = audit_entries(&sim);
    let marcus = newest_first(&all, |e| e["actor"] == MARCUS);
    assert!(marcus.len() > 100, "{}", marcus.len());
    // One page: 20 of his entries, newest first, and only his entries were read.
    let v = ok(
        &mut sim,
        "admin.audit.search",
        json!({"actor": MARCUS, "limit": 20}),
        ADMIN,
    );
    let first = seqs_of(&v);
    assert_eq!(first, marcus[..20].to_vec());
    assert_eq!(v["examined"], 20, "the search read entries of other actors");
    // Every page: all of his entries, each once, in order.
    let (seqs, examined) = audit_pages(&mut sim, json!({"actor": MARCUS, "limit": 50}));
    assert_eq!(seqs, marcus);
    assert!(examined.iter().all(|n| *n <= 50), "{examined:?}");
    // With a type as well: only what matches both.
    let (approved, _) = audit_pages(
        &mut sim,
        json!({"actor": MARCUS, "type": "request_approved", "limit": 50}),
    );
    let truth = all
        .iter()
        .filter(|e| e["actor"] == MARCUS && e["type"] == "request_approved")
        .count();
    assert_eq!(approved.len(), truth);
    // One issue: exactly its entries.
    let key = "AIR-30005";
    let of_issue = newest_first(&all, |e| e["issueKey"] == key);
    let v = ok(
        &mut sim,
        "admin.audit.search",
        json!({"issueKey": key}),
        ADMIN,
    );
    let got = seqs_of(&v);
    assert_eq!(got, of_issue);
    assert_eq!(v["examined"].as_u64().unwrap() as usize, of_issue.len());
}

#[test]
fn a_log_from_before_the_actor_index_is_searched_the_old_way_and_backfilled_daily() {
    let mut sim = growth::site(300, 0);
    let marcus = newest_first(&audit_entries(&sim), |e| e["actor"] == MARCUS);
    // A log written before the index: no actor keys, no mark.
    sim.state_mut()
        .kvs
        .retain(|k, _| !k.starts_with("audit-actor"));
    let (seqs, examined) = audit_pages(&mut sim, json!({"actor": MARCUS, "limit": 50}));
    assert_eq!(seqs, marcus, "the scan below the mark finds every entry");
    assert!(
        examined.iter().any(|n| *n > 50),
        "it read the log: {examined:?}"
    );
    // The daily backfill (the simulated days fire it) indexes the old entries, lowering the
    // mark to the first entry; then the index answers again.
    for _ in 0..10 {
        sim.advance(DAY);
        if kvs_value(&sim, "audit-actor-index-from") == Some(json!(1)) {
            break;
        }
    }
    assert_eq!(kvs_value(&sim, "audit-actor-index-from"), Some(json!(1)));
    assert!(count_prefix(&sim, &format!("audit-actor:{MARCUS}:")) > 0);
    let v = ok(
        &mut sim,
        "admin.audit.search",
        json!({"actor": MARCUS, "limit": 20}),
        ADMIN,
    );
    assert_eq!(v["examined"], 20);
    let first = seqs_of(&v);
    assert_eq!(first, marcus[..20].to_vec());
}

fn listed(sim: &mut Sim, p: Value) -> Vec<String> {
    let v = ok(sim, "admin.requests.list", p, ADMIN);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issueKey"].as_str().unwrap().to_string())
        .collect()
}

// covers: CL-175
#[test]
fn the_requests_search_finds_by_issue_key_tool_or_person_through_their_indexes() {
    let mut sim = basic();
    deliver(&mut sim, &["001", "002", "003", "004", "005"]);
    let pending = listed(&mut sim, json!({"category": "pending"}));
    assert!(pending.len() >= 4, "{pending:?}");
    // An issue key.
    assert_eq!(
        listed(&mut sim, json!({"category": "pending", "q": "air-2"})),
        vec!["AIR-2"]
    );
    // A tool by part of its name: only that tool's requests.
    let copilot = listed(&mut sim, json!({"category": "pending", "q": "copilot"}));
    assert_eq!(copilot, vec!["AIR-2"]);
    // A person by name (Jira's user search): Wei Chen filed AIR-2.
    assert_eq!(
        listed(&mut sim, json!({"category": "pending", "q": "Wei"})),
        vec!["AIR-2"]
    );
    // Nothing matches: no rows, not the whole category.
    assert!(listed(&mut sim, json!({"category": "pending", "q": "zzzz-nobody"})).is_empty());
    // Decided: the tool's index moves with the decision.
    approve_air2(&mut sim);
    assert!(listed(
        &mut sim,
        json!({"category": "pending", "tool": "github-copilot"})
    )
    .is_empty());
    assert_eq!(
        listed(
            &mut sim,
            json!({"category": "approved", "tool": "github-copilot"})
        ),
        vec!["AIR-2"]
    );
    assert_eq!(
        listed(
            &mut sim,
            json!({"category": "pendingProvision", "q": "Copilot"})
        ),
        vec!["AIR-2"]
    );
    // Bad input is a typed error.
    assert_eq!(
        err(
            &mut sim,
            "admin.requests.list",
            json!({"category": "pending", "tool": "a b\u{7}"}),
            ADMIN
        ),
        "SEARCH_INVALID"
    );
}

#[test]
fn requests_filed_before_the_tool_index_are_indexed_by_the_daily_backfill() {
    let mut sim = basic();
    deliver(&mut sim, &["001", "002", "003", "004", "005"]);
    let search = |sim: &mut Sim| {
        ok(
            sim,
            "admin.requests.list",
            json!({"category": "pending", "q": "copilot"}),
            ADMIN,
        )
    };
    let v = search(&mut sim);
    assert_eq!(
        v["searched"]["complete"], true,
        "a new installation starts indexed"
    );
    // An installation from before the index: no tool entries, no backfill record.
    sim.state_mut()
        .kvs
        .retain(|k, _| !k.starts_with("request-by-tool"));
    let v = search(&mut sim);
    assert_eq!(
        v["searched"]["complete"], false,
        "the search says it may miss requests"
    );
    assert!(v["items"].as_array().unwrap().is_empty());
    sim.advance(DAY); // the daily maintenance runs
    let v = search(&mut sim);
    assert_eq!(v["searched"]["complete"], true);
    let keys: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issueKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["AIR-2"]);

    // The backfill's place is the month and the last index key walked, never a query cursor
    // (cursors expire; one kept overnight made every day start over, so an installation with
    // more requests than a day's budget never finished). Resuming from a kept place indexes
    // only what follows it.
    let mut by_time: Vec<String> = sim
        .state()
        .kvs
        .keys()
        .filter(|k| k.starts_with("request-by-time:"))
        .cloned()
        .collect();
    by_time.sort();
    assert_eq!(by_time.len(), 5, "{by_time:?}");
    let month = by_time[0]["request-by-time:".len().."request-by-time:".len() + 7].to_string();
    let place = |v: serde_json::Value, sim: &mut Sim| {
        let kvs = &mut sim.state_mut().kvs;
        kvs.retain(|k, _| !k.starts_with("request-by-tool"));
        kvs.insert(
            "request-by-tool-backfill".into(),
            host_sim::emulator::Stored {
                value: v.to_string(),
                expires_at_ms: None,
            },
        );
    };
    let now = aiclearance::time::parse(&sim.state().site.now).unwrap_or(0) + 10 * DAY;
    place(
        json!({"done": false, "uptoMs": now, "month": month, "after": by_time[2]}),
        &mut sim,
    );
    sim.advance(DAY);
    let indexed = count_prefix(&sim, "request-by-tool:");
    assert_eq!(indexed, 2, "only the two requests after the kept place");
    let st: serde_json::Value =
        serde_json::from_str(&sim.state().kvs["request-by-tool-backfill"].value).unwrap();
    assert_eq!(st["done"], true, "{st}");
    // An older version's place (a query cursor, long expired): the walk starts over and ends.
    place(
        json!({"done": false, "cursor": "c2Vlbi15ZXN0ZXJkYXk"}),
        &mut sim,
    );
    sim.advance(DAY);
    assert_eq!(count_prefix(&sim, "request-by-tool:"), 5);
    assert_eq!(search(&mut sim)["searched"]["complete"], true);
}

// covers: CL-168
#[test]
fn the_approvals_tab_names_people_from_a_one_day_cache_not_a_jira_call_per_open() {
    let mut sim = growth::site(0, 5);
    sim.advance(60_000); // a fresh minute's KVS budget (building the site spent this one's)
    let bulk_calls = |rec: &host_sim::InvocationRecord| -> u64 {
        rec.counts
            .by_op
            .iter()
            .filter(|(k, _)| k.contains("/user/bulk"))
            .map(|(_, n)| *n)
            .sum()
    };
    let open = |sim: &mut Sim| {
        let rec = sim.resolve("clearance.approvals.tab", &json!({}), Some(MARCUS));
        let people = rec.ok().expect("the tab opens")["people"].clone();
        (people, bulk_calls(&rec))
    };
    let (first, asked) = open(&mut sim);
    assert_eq!(asked, 1, "a cold page asks Jira once for its names");
    assert_eq!(first.as_object().unwrap().len(), 5, "{first}");
    assert_eq!(
        count_prefix(&sim, "person-names:"),
        1,
        "one record for this approver"
    );
    let (again, asked) = open(&mut sim);
    assert_eq!(asked, 0, "a warm page asks Jira for no names");
    assert_eq!(again, first);
    // A rename reaches the screen within a day (the cache's TTL), and no name outlives it.
    let who = first.as_object().unwrap().keys().next().unwrap().clone();
    for u in sim.state_mut().site.users.iter_mut() {
        if u.account_id == who {
            u.display_name = "Renamed Person".into();
        }
    }
    assert_ne!(open(&mut sim).0[&who], "Renamed Person");
    sim.advance(25 * HOUR);
    let (later, asked) = open(&mut sim);
    assert_eq!(asked, 1);
    assert_eq!(later[&who], "Renamed Person");
}

// covers: CL-050, CL-168
#[test]
fn a_path_only_approver_sees_their_steps_first_whatever_the_pending_backlog() {
    // Sixty medium requests wait on the standard path and sort before AIR-5 in the pending
    // index; AIR-5 (high risk) waits on the security reviewers' group step.
    let mut sim = path_backlog_from(100_000, 60);
    deliver(&mut sim, &["005"]);
    sim.advance(60_000);
    let v = ok(&mut sim, "clearance.approvals.tab", json!({}), SOFIA);
    let keys: Vec<&str> = v["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["issueKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["AIR-5"], "{v}");
    assert!(v["pendingNext"].is_null());
    assert!(v["manualActions"].as_array().unwrap().is_empty());
    // A direct approver still pages the whole backlog.
    let v = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    assert!(v["pendingNext"].is_string());
}

/// The overview's cost at a backlog: host calls and KVS read units, from a fresh minute.
fn overview_cost(sim: &mut Sim) -> (u64, u64, Value) {
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000;
    let rec = sim.resolve("admin.overview", &json!({}), Some(ADMIN));
    let v = match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        o => panic!("{o:?}"),
    };
    (rec.counts.total, sim.state().kvs_budget.read_units, v)
}

// covers: CL-169, CL-170
#[test]
fn the_overviews_pending_counter_costs_the_same_at_ten_times_the_backlog_and_stays_exact() {
    let mut small = growth::site(0, 45);
    let mut large = growth::site(0, 450);
    for sim in [&mut small, &mut large] {
        // The runner has folded what intake wrote (an hour passes; its run is hint-driven).
        sim.advance(2 * HOUR);
        sim.settle();
    }
    let (calls_small, units_small, v) = overview_cost(&mut small);
    assert_eq!(v["counters"]["pendingApprovals"], 45, "{v}");
    let (calls_large, units_large, v) = overview_cost(&mut large);
    assert_eq!(v["counters"]["pendingApprovals"], 450, "{v}");
    assert_eq!(
        (calls_large, units_large),
        (calls_small, units_small),
        "the overview's cost grew with the pending backlog"
    );
    assert!(kvs_value(&large, "pending-count").is_some());
    // Exact between folds: a decision counts at once (its notice still to run, then its delta),
    // before any runner folds it.
    let key = large
        .state()
        .kvs
        .range("request-by-decision:pending:".to_string()..)
        .next()
        .map(|(_, s)| s.value.trim_matches('"').to_string())
        .unwrap();
    let issue_key = request(&large, &key)["issueKey"]
        .as_str()
        .unwrap()
        .to_string();
    let rec = large.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": issue_key, "decision": "deny"}),
        Some(MARCUS),
    );
    assert!(rec.ok().is_some(), "{:?}", rec.outcome);
    let (_, _, v) = overview_cost(&mut large);
    assert_eq!(
        v["counters"]["pendingApprovals"], 449,
        "notice not run yet: {v}"
    );
    large.settle();
    assert_eq!(
        count_prefix(&large, "pending-delta:"),
        1,
        "the decision's delta"
    );
    let (_, _, v) = overview_cost(&mut large);
    assert_eq!(
        v["counters"]["pendingApprovals"], 449,
        "delta not folded yet: {v}"
    );
    let out = scheduled(&mut large, "job-runner");
    assert_eq!(out["pendingCountFolded"], 1, "{out}");
    assert_eq!(count_prefix(&large, "pending-delta:"), 0);
    assert_eq!(kvs_value(&large, "pending-count").unwrap()["count"], 449);
    let (_, _, v) = overview_cost(&mut large);
    assert_eq!(v["counters"]["pendingApprovals"], 449, "{v}");
}

// covers: CL-061, CL-050
#[test]
fn keys_a_bulk_queued_show_as_queued_and_a_lost_event_is_applied_once_by_the_runner() {
    use host_sim::emulator::Stored;
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006", "007", "028"]);
    // This minute's bulk write budget is spent (D-210): Priya's denial of AIR-2 is queued.
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000 + 5_000;
    let minute = sim.state().clock_ms / 60_000;
    sim.state_mut().kvs.insert(
        format!("write-budget:{}", minute % 16),
        Stored {
            value: json!({"minute": minute, "units": 2_400}).to_string(),
            expires_at_ms: None,
        },
    );
    sim.resolve("clearance.approvals.tab", &json!({}), Some(MARCUS));
    let warm = sim
        .resolve("clearance.approvals.tab", &json!({}), Some(MARCUS))
        .counts
        .total;
    let out = ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": ["AIR-2"], "decision": "deny"}),
        PRIYA,
    );
    assert_eq!(out["queued"], 1, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_string();
    // Its event is lost.
    sim.state_mut()
        .queue
        .retain(|e| !e.body.contains(batch.as_str()));
    // Another approver sees the row as queued (no decision of its own), in the same host calls.
    let rec = sim.resolve("clearance.approvals.tab", &json!({}), Some(MARCUS));
    let tab = rec.ok().unwrap().clone();
    let row = |tab: &Value, k: &str| {
        tab["pending"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["issueKey"] == k)
            .cloned()
    };
    assert_eq!(
        row(&tab, "AIR-2").unwrap()["queued"],
        json!({"withinMinutes": 2}),
        "{tab}"
    );
    assert!(row(&tab, "AIR-6").unwrap().get("queued").is_none());
    assert_eq!(rec.counts.total, warm, "{:?}", rec.counts.by_op);
    // The minute passes without the event: the row is a pending row again after the grace.
    sim.state_mut().clock_ms += 4 * 60_000;
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    assert!(row(&tab, "AIR-2").unwrap().get("queued").is_none(), "{tab}");
    assert_eq!(request(&sim, "10101")["decision"], "pending");
    // The runner's sweep applies it (as Priya, her rights read again), exactly once.
    sim.state_mut().clock_ms += 3 * 60_000;
    let out = scheduled(&mut sim, "job-runner");
    assert_eq!(out["queuedBulkKeysApplied"], 1, "{out}");
    assert!(out.get("failed").is_none(), "{out}");
    let r = request(&sim, "10101");
    assert_eq!(
        (&r["decision"], &r["decidedBy"], &r["decisionSource"]),
        (&json!("denied"), &json!(PRIYA), &json!("bulk"))
    );
    sim.settle();
    let denied = |sim: &Sim| {
        audit_of(sim, "request_denied")
            .iter()
            .filter(|e| e["issueKey"] == "AIR-2")
            .count()
    };
    assert_eq!(denied(&sim), 1);
    let s = ok(
        &mut sim,
        "clearance.approvals.bulkStatus",
        json!({"batchId": batch}),
        PRIYA,
    );
    assert_eq!((&s["queued"], &s["decided"]), (&json!(0), &json!(1)), "{s}");
    // The lost event arriving late, and the runner again: nothing more.
    let id = format!("{batch}:{}", minute + 1);
    let rec = sim.deliver_queue("decisions", &json!({"bulkQueue": id}));
    assert!(rec.ok().is_some(), "{:?}", rec.outcome);
    sim.state_mut().clock_ms += HOUR;
    let out = scheduled(&mut sim, "job-runner");
    assert!(out.get("queuedBulkKeysApplied").is_none(), "{out}");
    sim.settle();
    assert_eq!(denied(&sim), 1, "decided exactly once");
    assert!(
        kvs_value(&sim, "bulk-queued").is_none(),
        "the sweep forgot the done group"
    );
}
