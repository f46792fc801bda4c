//! The AI Prompt scrubber's name directory, recorded out of band (issue 34, D-240..D-242):
//! screens and intake write a small sighting and never read the directory; the daily fold is its
//! one writer, bounded by its page; a PROMPT run reads the directory and one page of sightings;
//! requesters ingested with no screen opened are scrubbed; people on record before are backfilled.

mod common;

use aiclearance::names::directory::{self, shard_of, Shard, FOLD_RECORDS, PER_SHARD, SHARDS};
use common::prompt::*;
use common::*;
use host_sim::emulator::Stored;
use host_sim::sim::{EngineKind, InvocationRecord, Sim};
use serde_json::{json, Value};

const DAY: u64 = 86_400_000;
const WEI: &str = "712020:6d7314cd-429c-5163-a056-f0c8e2524635";

fn put(sim: &mut Sim, key: &str, value: String) {
    sim.state_mut().kvs.insert(
        key.to_string(),
        Stored {
            value,
            expires_at_ms: None,
        },
    );
}

/// A full directory: 10,000 names, 625 in each of the 16 records, seen today.
fn fill_directory(sim: &mut Sim) {
    let today = (sim.state().clock_ms / DAY) as u32;
    let mut shards: Vec<Shard> = vec![Shard::default(); SHARDS];
    let mut i = 0u64;
    while shards.iter().any(|s| s.e.len() < PER_SHARD) {
        let id = format!("557058:{i:08x}-5c1e-4d2a-9b7f-0a1b2c3d4e5f");
        let s = &mut shards[shard_of(&id)];
        if s.e.len() < PER_SHARD {
            s.e.push((
                id,
                format!("Directory Person-{i:05} Lindgren-Okafor"),
                today,
            ));
        }
        i += 1;
    }
    for (n, s) in shards.iter().enumerate() {
        put(sim, &directory::key(n), serde_json::to_string(s).unwrap());
    }
}

/// `n` sightings of two people each, the newest at `newest_ms`, one a second apart (the same
/// records whatever `n`: the newest `k` of two calls are equal).
fn fill_inbox(sim: &mut Sim, n: usize, newest_ms: u64) {
    let today = (sim.state().clock_ms / DAY) as u32;
    for i in 0..n {
        let people: Vec<(String, String)> = (0..2)
            .map(|j| {
                (
                    format!("712020:seen-{i:05}-{j}"),
                    format!("Seen Person{i:05} Number{j}"),
                )
            })
            .collect();
        let key = directory::inbox_key(newest_ms - i as u64 * 1000, &people);
        put(
            sim,
            &key,
            serde_json::to_string(&directory::Sighting {
                d: today,
                e: people,
            })
            .unwrap(),
        );
    }
}

fn directory_text(sim: &Sim) -> String {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with(directory::PREFIX))
        .map(|(_, v)| v.value.clone())
        .collect()
}

fn inbox_text(sim: &Sim) -> String {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with(directory::INBOX_PREFIX))
        .map(|(_, v)| v.value.clone())
        .collect()
}

/// What one invocation cost: host calls, KVS read and write units.
fn measured(
    sim: &mut Sim,
    run: impl FnOnce(&mut Sim) -> InvocationRecord,
) -> (InvocationRecord, u64, u64) {
    // A fresh minute: the budget is never what differs.
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000;
    let (r0, w0) = {
        let b = &sim.state().kvs_budget;
        (b.total_read_units, b.total_write_units)
    };
    let rec = run(sim);
    let b = &sim.state().kvs_budget;
    assert_eq!(b.throttled, 0, "throttled");
    (rec, b.total_read_units - r0, b.total_write_units - w0)
}

fn jira_user_calls(rec: &InvocationRecord) -> u64 {
    rec.counts
        .by_op
        .iter()
        .filter(|(k, _)| k.contains("/user"))
        .map(|(_, n)| *n)
        .sum()
}

/// Adds a comment by Jonas to `issue`.
fn comment_on(sim: &mut Sim, issue: &str, text: &str) {
    let issue = sim
        .state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == issue)
        .unwrap();
    issue.comments.push(host_sim::site::Comment {
        id: "99101".into(),
        author: JONAS.into(),
        body: json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": text}]}]}),
        created: "2026-11-02T10:00:00.000+0000".into(),
        properties: Default::default(),
    });
}

/// Wei Chen's request ingested on the AI-configured site, nobody having looked at anything.
/// `fold`: the daily maintenance then runs; otherwise his sighting is dropped (the control).
fn wei_ingested_then(fold: bool) -> Sim {
    let mut sim = configured();
    let rec = sim.deliver(&event("002")).unwrap();
    assert_eq!(outcome(&rec)["outcome"], "ingested");
    // The name came with the issue intake read: no Jira user call.
    assert_eq!(jira_user_calls(&rec), 0, "{:?}", rec.counts.by_op);
    sim.settle();
    // No PROMPT run and no screen named him: only intake did.
    assert!(exec_rows(&sim).is_empty());
    assert!(
        inbox_text(&sim).contains("Wei Chen"),
        "{}",
        inbox_text(&sim)
    );
    assert!(!directory_text(&sim).contains("Wei Chen"));
    if fold {
        let out = scheduled(&mut sim, "daily-maintenance");
        assert!(out["nameSightingsFolded"].as_u64().unwrap() >= 1, "{out}");
        assert!(out.get("failed").is_none(), "{out}");
    } else {
        sim.state_mut()
            .kvs
            .retain(|k, _| !k.starts_with(directory::INBOX_PREFIX));
    }
    sim
}

/// The prompt AIR-1's risk read sent, with a comment naming Wei Chen.
fn air1_prompt(sim: &mut Sim) -> String {
    comment_on(
        sim,
        "AIR-1",
        "Wei Chen set this up for his team; WEI CHEN can show you the workspace",
    );
    let id = start(sim, "AIR-1");
    sim.settle();
    let row = exec_rows(sim)
        .into_iter()
        .find(|r| r["approvalId"] == json!(id) || r.to_string().contains(&id))
        .expect("AIR-1's execution row");
    row["prompt"].as_str().unwrap().to_string()
}

/// Whether `text` has "Wei" or "Chen" as a word, in any case.
fn names_wei(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("wei") || w.eq_ignore_ascii_case("chen"))
}

// covers: AP-130, AP-132
#[test]
fn a_requester_ingested_with_no_screen_opened_is_scrubbed_on_an_unrelated_issue() {
    let mut sim = wei_ingested_then(true);
    // The fold took intake's sighting into the directory and emptied the inbox.
    assert!(directory_text(&sim).contains("Wei Chen"));
    assert!(
        directory_text(&sim).contains(WEI),
        "by account id: {}",
        directory_text(&sim)
    );
    assert_eq!(count_prefix(&sim, directory::INBOX_PREFIX), 0);
    let prompt = air1_prompt(&mut sim);
    assert!(prompt.contains("set this up for his team"), "{prompt}");
    assert!(!names_wei(&prompt), "{prompt}");
    let at = prompt.find(" set this up for his team").unwrap();
    let token = &prompt[prompt[..at].rfind('<').unwrap()..at];
    assert!(token.starts_with("<user-"), "{token}");
    assert!(
        prompt.contains(&format!("{token} can show you the workspace")),
        "one token for both spellings: {prompt}"
    );
    // The control: without intake's sighting nobody told the scrubber, and the name leaves.
    let mut control = wei_ingested_then(false);
    assert!(air1_prompt(&mut control).contains("Wei Chen"));
}

// covers: AP-132
#[test]
fn a_sighting_not_folded_yet_is_scrubbed_too() {
    // The PROMPT run reads the newest page of sightings: no need to wait for the fold.
    let mut sim = configured();
    deliver(&mut sim, &["002"]);
    assert!(!directory_text(&sim).contains("Wei Chen"));
    let prompt = air1_prompt(&mut sim);
    assert!(prompt.contains("set this up for his team"), "{prompt}");
    assert!(!names_wei(&prompt), "{prompt}");
}

/// The default site with its happy-path requests filed, a day on; no directory, or (`full`) a
/// 10,000-name one.
fn screen_site(full: bool) -> Sim {
    let mut sim = setup(EngineKind::Native);
    deliver(
        &mut sim,
        &["001", "002", "003", "004", "005", "006", "007", "008"],
    );
    sim.advance(DAY);
    sim.settle();
    // The day's fold took intake's sightings in: start from no directory at all, or a full one.
    sim.state_mut()
        .kvs
        .retain(|k, _| !k.starts_with(directory::PREFIX));
    if full {
        fill_directory(&mut sim);
    }
    sim
}

// covers: CL-168, AP-132
#[test]
fn a_screens_cold_name_lookup_costs_the_same_with_an_empty_or_a_full_directory() {
    let mut costs = Vec::new();
    for full in [false, true] {
        let mut sim = screen_site(full);
        let before = count_prefix(&sim, directory::INBOX_PREFIX);
        let shards: Vec<(String, String)> = sim
            .state()
            .kvs
            .iter()
            .filter(|(k, _)| k.starts_with(directory::PREFIX))
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        assert_eq!(shards.len(), if full { SHARDS } else { 0 });
        // The admin's requests list, cold: nobody's names cached for the admins yet.
        assert_eq!(count_prefix(&sim, "person-names:"), 0);
        let (rec, reads, writes) = measured(&mut sim, |s| {
            s.resolve("admin.requests.list", &json!({}), Some(ADMIN))
        });
        let v = rec.ok().expect("the list opens").clone();
        assert!(jira_user_calls(&rec) == 1, "{:?}", rec.counts.by_op);
        assert!(v.to_string().contains("Wei Chen"), "names shown");
        // One sighting written; no directory record read or written.
        assert_eq!(count_prefix(&sim, directory::INBOX_PREFIX), before + 1);
        let after: Vec<(String, String)> = sim
            .state()
            .kvs
            .iter()
            .filter(|(k, _)| k.starts_with(directory::PREFIX))
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        assert_eq!(after, shards, "the screen wrote no directory record");
        costs.push((rec.counts.total, reads, writes, rec.counts.by_op.clone()));
    }
    eprintln!(
        "cold admin.requests.list: empty directory {} calls, {} read / {} write units; \
         full (10,000 names) {} calls, {} read / {} write units",
        costs[0].0, costs[0].1, costs[0].2, costs[1].0, costs[1].1, costs[1].2
    );
    assert_eq!(costs[0].3, costs[1].3, "the same host calls");
    assert_eq!(
        (costs[0].1, costs[0].2),
        (costs[1].1, costs[1].2),
        "KVS units grew with the directory"
    );
}

/// A site with a full directory and `n` sightings waiting (older than anything intake wrote).
fn fold_site(n: usize) -> Sim {
    let mut sim = screen_site(true);
    // The day's maintenance already ran (intake's sightings folded, the backfill done).
    assert_eq!(count_prefix(&sim, directory::INBOX_PREFIX), 0);
    let newest = sim.state().clock_ms - DAY;
    fill_inbox(&mut sim, n, newest);
    sim
}

// covers: AP-132
#[test]
fn the_fold_costs_its_page_whatever_the_inbox_holds() {
    let mut costs = Vec::new();
    for n in [FOLD_RECORDS + 100, FOLD_RECORDS + 700] {
        let mut sim = fold_site(n);
        let (rec, reads, writes) =
            measured(&mut sim, |s| s.run_scheduled("daily-maintenance").unwrap());
        let out = rec.ok().expect("maintenance runs").clone();
        assert!(out.get("failed").is_none(), "{out}");
        assert_eq!(out["nameSightingsFolded"], FOLD_RECORDS as u64, "{out}");
        assert_eq!(
            count_prefix(&sim, directory::INBOX_PREFIX),
            n - FOLD_RECORDS,
            "the newest {FOLD_RECORDS} folded, the rest left for tomorrow"
        );
        // The newest sightings are in the directory now (their people, in the directory's
        // place of the oldest-seen).
        let text = directory_text(&sim);
        assert!(text.contains("Seen Person00000 Number0"), "the newest");
        assert!(!text.contains(&format!("Seen Person{:05} Number0", FOLD_RECORDS)));
        costs.push((rec.counts.total, reads, writes));
        // The next run takes the rest (at most its page again).
        let next = scheduled(&mut sim, "daily-maintenance");
        assert_eq!(
            next["nameSightingsFolded"],
            (n - FOLD_RECORDS).min(FOLD_RECORDS) as u64
        );
    }
    eprintln!(
        "daily maintenance with {} / {} sightings waiting: calls {} → {}, read units {} → {}, \
         write units {} → {}",
        FOLD_RECORDS + 100,
        FOLD_RECORDS + 700,
        costs[0].0,
        costs[1].0,
        costs[0].1,
        costs[1].1,
        costs[0].2,
        costs[1].2
    );
    assert_eq!(costs[0], costs[1], "the fold's cost grew with the inbox");
}

// covers: AP-132
#[test]
fn a_prompt_run_reads_the_directory_once_and_one_page_of_sightings() {
    let run = |fill: bool| {
        let mut sim = configured();
        if fill {
            fill_directory(&mut sim);
            let newest = sim.state().clock_ms - 1000;
            fill_inbox(&mut sim, 1_200, newest);
        }
        let id = start(&mut sim, "AIR-1");
        let recs = sim.settle();
        let worker: Vec<&InvocationRecord> = recs
            .iter()
            .filter(|r| {
                r.counts
                    .by_op
                    .keys()
                    .any(|k| k.contains("llm") || k.contains("anthropic"))
            })
            .collect();
        assert_eq!(
            worker.len(),
            1,
            "one provider call: {:?}",
            recs.iter().map(|r| &r.label).collect::<Vec<_>>()
        );
        assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "SUCCESS");
        if !fill {
            // The run's people went to a sighting; the directory's records are the fold's.
            assert_eq!(count_prefix(&sim, directory::PREFIX), 0);
            assert!(
                inbox_text(&sim).contains("Jonas Lindqvist"),
                "{}",
                inbox_text(&sim)
            );
        }
        worker[0].counts.clone()
    };
    let empty = run(false);
    let full = run(true);
    eprintln!(
        "PROMPT run: empty directory {} calls {:?}; full directory and 1,200 sightings {} calls {:?}",
        empty.total, empty.by_op, full.total, full.by_op
    );
    assert_eq!(
        empty.by_op, full.by_op,
        "the same calls whatever the directory holds"
    );
}

/// A site of `n` requests from `people` employees of their own (request `i` from employee
/// `i % people`), filed a day apart over the months before the site's now; then the
/// installation forgets what intake noted, as one from before the directory would be.
fn history(n: usize, people: usize) -> Sim {
    use host_sim::emulator::SimState;
    use host_sim::manifest::Manifest;
    use host_sim::runtime::RawOutcome;
    use host_sim::sim::{default_component, default_manifest, make_engine};
    use host_sim::site::Site;
    let mut site = Site::load(&site_dir()).unwrap();
    let template = site
        .issues
        .iter()
        .find(|i| i.key == "AIR-2")
        .cloned()
        .unwrap();
    let employee = site
        .users
        .iter()
        .find(|u| u.account_id == JONAS)
        .cloned()
        .unwrap();
    for p in 0..people {
        site.users.push(host_sim::site::User {
            account_id: format!("712020:employee-{p:05}"),
            display_name: format!("Employee {p:05} Okonkwo"),
            ..employee.clone()
        });
    }
    let now = aiclearance::time::parse(&site.now).unwrap();
    for i in 0..n {
        let mut issue = template.clone();
        issue.id = (50_000 + i).to_string();
        issue.key = format!("AIR-{}", 50_000 + i);
        issue.reporter = format!("712020:employee-{:05}", i % people);
        issue.creator = Some(issue.reporter.clone());
        issue.created = aiclearance::time::rfc3339(now - (n - i) as u64 * DAY);
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
    for i in 0..n {
        let issue = sim
            .state()
            .site
            .issue(&format!("AIR-{}", 50_000 + i))
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
    }
    sim.settle();
    sim.state_mut().kvs.retain(|k, _| {
        !k.starts_with(directory::INBOX_PREFIX)
            && !k.starts_with(directory::PREFIX)
            && !k.starts_with(aiclearance::clearance::name_backfill::STATE)
    });
    sim
}

// covers: AP-132
#[test]
fn requesters_on_record_before_the_directory_are_backfilled_a_bounded_step_a_day() {
    let (n, people) = (130, 65);
    let mut sim = history(n, people);
    let mut runs = Vec::new();
    loop {
        // A fresh minute's KVS budget (building the site spent this one's).
        sim.advance(60_000);
        let rec = sim.run_scheduled("daily-maintenance").unwrap();
        let out = rec.ok().expect("maintenance runs").clone();
        assert!(out.get("failed").is_none(), "{out}");
        let walked = out["requestersNamedForTheScrubber"].as_u64().unwrap();
        // One Jira bulk call a run at most, 100 requests at most.
        assert!(jira_user_calls(&rec) <= 1, "{:?}", rec.counts.by_op);
        assert!(walked <= 100);
        if walked == 0 {
            assert_eq!(jira_user_calls(&rec), 0, "done: no Jira call");
            break;
        }
        runs.push(walked);
        assert!(runs.len() < 10, "the walk ends: {runs:?}");
    }
    // 50 people a run (one bulk call): the first run stops at the 51st requester.
    assert_eq!(runs, vec![50, 50, 30], "requests walked per run");
    let state = kvs_value(&sim, aiclearance::clearance::name_backfill::STATE).unwrap();
    assert_eq!(state["done"], true, "{state}");
    assert_eq!(state["requests"], n as u64, "{state}");
    let text = directory_text(&sim);
    for p in 0..people {
        assert!(
            text.contains(&format!("Employee {p:05} Okonkwo")),
            "employee {p} missing"
        );
    }
    // Done: one read a day.
    sim.advance(60_000);
    let rec = sim.run_scheduled("daily-maintenance").unwrap();
    assert_eq!(rec.ok().unwrap()["requestersNamedForTheScrubber"], 0);
    assert_eq!(jira_user_calls(&rec), 0);
}

// covers: AP-132
#[test]
fn the_backfill_of_an_installation_with_no_requests_ends_at_once() {
    let mut sim = basic();
    let v: Value = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(v["requestersNamedForTheScrubber"], 0, "{v}");
    let state = kvs_value(&sim, aiclearance::clearance::name_backfill::STATE).unwrap();
    assert_eq!(state["done"], true, "{state}");
}
