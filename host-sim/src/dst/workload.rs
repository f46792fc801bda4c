//! What a campaign runs: the default fixture scenario, or the default scenario followed by a
//! larger generated workload — dozens of portal requests from random people for random tools,
//! decided (single and bulk, by several approvers, sometimes contradicting each other), then
//! extended, revoked and left to expire, with the clock moving so every sweep has work.

use crate::scenario;
use crate::sim::Sim;
use crate::site::Site;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Default,
    Large,
    /// Hostile insiders at every door (`super::adversary`).
    Adversary,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "default" => Kind::Default,
            "large" => Kind::Large,
            "adversary" => Kind::Adversary,
            other => bail!("unknown workload {other:?} (default, large, adversary)"),
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Default => "default",
            Kind::Large => "large",
            Kind::Adversary => "adversary",
        }
    }
}

/// Generated requests in the large workload.
pub const LARGE_REQUESTS: usize = 40;
const FIRST_ID: u64 = 20_000;
const TOOLS: [&str; 5] = [
    "chatgpt-enterprise",
    "github-copilot",
    "claude-team",
    "gemini-enterprise",
    "cursor-business",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        crate::faults::splitmix64(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

fn key(n: usize) -> (String, String) {
    let id = FIRST_ID + n as u64;
    (id.to_string(), format!("AIR-{id}"))
}

/// The large workload adds its portal requests to the site (as customers would have filed them).
pub fn prepare_site(kind: Kind, mut site: Site, seed: u64) -> Site {
    match kind {
        Kind::Default => return site,
        Kind::Adversary => return super::adversary::prepare_site(site, seed),
        Kind::Large => {}
    }
    let Some(template) = site.issues.iter().find(|i| i.key == "AIR-1").cloned() else {
        return site;
    };
    let people: Vec<String> = site
        .users
        .iter()
        .filter(|u| u.active && u.account_type == "atlassian")
        .map(|u| u.account_id.clone())
        .collect();
    let mut rng = Rng(seed ^ 0x5851_F42D_4C95_7F2D);
    for n in 0..LARGE_REQUESTS {
        let (id, k) = key(n);
        let mut issue = template.clone();
        let who = rng.pick(&people).clone();
        let tool = *rng.pick(&TOOLS);
        issue.id = id;
        issue.key = k;
        issue.reporter = who.clone();
        issue.creator = Some(who);
        issue.summary = format!("Access to {tool}");
        issue.comments.clear();
        for v in issue.properties.values_mut() {
            if let Some(s) = v.get_mut("aiclearance.snapshot.v1") {
                s["toolId"] = json!(tool);
                s["durationDays"] = json!(7 + rng.below(24));
                s["justification"] = json!(format!("Generated request {n} for {tool}"));
            }
        }
        site.issues.push(issue);
    }
    site
}

fn created_event(sim: &Sim, key: &str) -> Option<Value> {
    let i = sim.state().site.issues.iter().find(|i| i.key == key)?;
    Some(scenario::created_event(i))
}

/// People the default scenario has deciding and administering.
fn cast(site_dir: &Path) -> Result<(String, Vec<String>)> {
    let steps = scenario::load(site_dir)?;
    let mut admin = None;
    let mut approvers = Vec::new();
    for s in &steps {
        if let scenario::Step::Invoke {
            function,
            as_account: Some(a),
            ..
        } = s
        {
            if function == "admin.intake.set" && admin.is_none() {
                admin = Some(a.clone());
            }
            if function.starts_with("clearance.approvals.") && !approvers.contains(a) {
                approvers.push(a.clone());
            }
        }
    }
    match admin {
        Some(a) if !approvers.is_empty() => Ok((a, approvers)),
        _ => bail!("the site's scenario names no admin and no approvers"),
    }
}

pub fn run(kind: Kind, site_dir: &Path, sim: &mut Sim, seed: u64, out: &mut String) -> Result<()> {
    if kind == Kind::Adversary {
        return super::adversary::run(site_dir, sim, seed, out);
    }
    let steps = scenario::load(site_dir)?;
    scenario::run(sim, &steps, out)?;
    if kind == Kind::Default {
        return Ok(());
    }
    let (admin, approvers) = cast(site_dir)?;
    let mut rng = Rng(seed ^ 0x1405_7B7E_F767_814F);
    let log = |out: &mut String, what: &str, rec: &crate::sim::InvocationRecord| {
        out.push_str(&format!("  {what}: {}\n", scenario::describe(rec)));
    };
    // Intake, in bursts of five (some delivered twice, under concurrency).
    for n in 0..LARGE_REQUESTS {
        let (_, k) = key(n);
        if let Some(ev) = created_event(sim, &k) {
            for rec in sim.deliver_maybe_twice(&ev)? {
                log(out, &format!("created {k}"), &rec);
            }
        }
        if n % 5 == 4 {
            sim.advance(5 * 60_000);
        }
    }
    // Decisions: single and bulk, from several approvers, some contradicting.
    let mut n = 0;
    while n < LARGE_REQUESTS {
        let decision = if rng.below(4) == 0 { "deny" } else { "approve" };
        let who = rng.pick(&approvers).clone();
        if rng.below(3) == 0 {
            let batch: Vec<String> = (n..(n + 1 + rng.below(4) as usize).min(LARGE_REQUESTS))
                .map(|i| key(i).1)
                .collect();
            n += batch.len();
            if n % 2 == 1 {
                // Every other bulk meets a spent minute and is queued into the next.
                super::spend_bulk_budget(sim);
            }
            let p = json!({"issueKeys": batch, "decision": decision});
            for rec in sim.resolve_maybe_alongside("clearance.approvals.bulkDecide", &p, Some(&who))
            {
                log(out, "bulk decision", &rec);
            }
        } else {
            let k = key(n).1;
            n += 1;
            for round in 0..2 {
                let who = rng.pick(&approvers).clone();
                let d = if round == 1 && rng.below(5) == 0 {
                    "deny"
                } else {
                    decision
                };
                let p = json!({"issueKey": k, "decision": d, "comment": format!("{d} ({round})")});
                for rec in sim.resolve_maybe_alongside("clearance.approvals.decide", &p, Some(&who))
                {
                    log(out, &format!("decide {k}"), &rec);
                }
            }
        }
        sim.settle();
    }
    sim.advance(10 * 60_000);
    // The lifecycle: extensions, revocations (some twice), time passing.
    for n in 0..LARGE_REQUESTS {
        let grant = format!("g-{}", key(n).0);
        let p = match rng.below(6) {
            0 => json!({"grantId": grant, "days": 7, "reason": "Project extended"}),
            1 | 2 => json!({"grantId": grant, "reason": "No longer needed"}),
            _ => continue,
        };
        let f = if p.get("days").is_some() {
            "clearance.grants.extend"
        } else {
            "clearance.grants.revoke"
        };
        for _ in 0..(1 + rng.below(2)) {
            for rec in sim.resolve_maybe_alongside(f, &p, Some(&admin)) {
                log(out, f, &rec);
            }
        }
    }
    for d in [3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000] {
        let recs = sim.advance(d);
        out.push_str(&format!(
            "  clock +{}h: {} invocation(s)\n",
            d / 3_600_000,
            recs.len()
        ));
    }
    Ok(())
}
