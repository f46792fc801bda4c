//! Deterministic simulation testing (`host-sim dst`): run a workload under seeded fault plans and
//! interleavings, let the platform recover, check the invariants, and print a reproducer for each
//! break. Same seed, same run — on the native and the wasm engine alike — because every source
//! of nondeterminism (ids, faults, interleavings, the clock) is drawn from the seed.

pub mod adversary;
pub mod chaos;
pub mod invariants;
pub mod workload;

use crate::emulator::SimState;
use crate::faults::FaultPlan;
use crate::manifest::Manifest;
use crate::runtime::{Engine, RawOutcome};
use crate::sim::{Concurrency, Sim};
use crate::site::Site;
use anyhow::Result;
use chaos::Chaos;
use invariants::Break;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How long the platform runs fault-free after the workload, so retries, sweeps and cleanups
/// can finish before the invariants are read.
pub const RECOVERY_MS: u64 = 3 * 3_600_000;
/// The KVS budget (units a minute) a third of the faulted seeds run under instead of Forge's
/// 4,000, so the app's own bursts meet real 429s from the meter (D-135).
pub const SQUEEZED_UNITS_PER_MINUTE: u64 = 300;

#[derive(Debug, Clone)]
pub struct Options {
    pub site: PathBuf,
    pub manifest: PathBuf,
    pub workload: workload::Kind,
    /// Percent of invocations that get a fault.
    pub rate_pct: u64,
    /// Interleave invocations and deliver some twice.
    pub interleave: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub seed: u64,
    pub invocations: usize,
    pub faults: usize,
    pub crashed: usize,
    pub interleavings: u64,
    pub dropped: usize,
    /// KVS requests the emulator's per-minute budget answered 429 (a third of the seeds squeeze
    /// the budget so the app's own traffic meets them).
    #[serde(default)]
    pub throttled: u64,
    /// The run's sustained outage, if it had one (`SERVICE=KIND@FROM..UNTIL`).
    pub outage: Option<String>,
    /// A digest of everything the run left behind (storage, Jira, queue, billing): equal
    /// fingerprints mean the same run.
    pub fingerprint: String,
    pub breaks: Vec<Break>,
    /// `(label#N, plan)` for every faulted invocation, in order.
    #[serde(skip)]
    pub plans: Vec<(String, FaultPlan)>,
    #[serde(skip)]
    pub transcript: String,
}

/// Other traffic has taken this minute's write budget for bulk decisions (D-214): the next
/// bulk decision by an approver is queued into the following minute, so the campaigns exercise
/// the queued path (a consumer deciding as the person, later, under the same faults).
pub fn spend_bulk_budget(sim: &mut Sim) {
    use aiclearance::clearance::write_budget::{slot_key, UNITS_PER_MINUTE};
    let minute = sim.state().clock_ms / 60_000;
    let value = serde_json::json!({"minute": minute, "units": UNITS_PER_MINUTE}).to_string();
    sim.state_mut().kvs.insert(
        slot_key(minute),
        crate::emulator::Stored {
            value,
            expires_at_ms: None,
        },
    );
}

/// One seed: the workload under chaos, a fault-free recovery period, the invariants.
pub fn run_seed(
    opts: &Options,
    engine: Box<dyn Engine>,
    seed: u64,
) -> Result<(RunReport, Box<dyn Engine>)> {
    let site = Site::load(&opts.site)?;
    let site = workload::prepare_site(opts.workload, site, seed);
    let mut state = SimState::new(site, seed)?;
    if opts.rate_pct > 0 && seed % 3 == 2 {
        // The installation's budget squeezed: the app's own bursts meet Forge's 429s.
        state.kvs_budget.limit = SQUEEZED_UNITS_PER_MINUTE;
    }
    let mut sim = Sim::new(state, Manifest::load(&opts.manifest)?, engine);
    let chaos = Rc::new(RefCell::new(Chaos::new(seed, opts.rate_pct)));
    let start = sim.state().clock_ms;
    let outage = if opts.rate_pct > 0 {
        chaos.borrow_mut().outage(start)
    } else {
        None
    };
    if let Some(o) = &outage {
        sim.state_mut().outages.push(o.clone());
    }
    let c2 = chaos.clone();
    sim.chaos = Some(Box::new(move |f, l| c2.borrow_mut().plan(f, l)));
    if opts.interleave {
        sim.concurrency = Some(Concurrency::new(seed));
    }
    let mut transcript = String::new();
    let run = workload::run(opts.workload, &opts.site, &mut sim, seed, &mut transcript);
    // Recovery: the platform stops misbehaving; queued retries, sweeps and cleanups run.
    sim.chaos = None;
    let interleavings = sim.concurrency.take().map_or(0, |c| c.interleavings);
    sim.state_mut().outages.clear();
    let plans: Vec<FaultPlan> = chaos.borrow().log.iter().map(|(_, p)| p.clone()).collect();
    // The adversary's deactivations are settled by the daily pass: it recovers a day.
    sim.advance(if opts.workload == workload::Kind::Adversary {
        RECOVERY_MS + 24 * 3_600_000
    } else {
        RECOVERY_MS
    });
    let mut breaks = Vec::new();
    if let Err(e) = run {
        breaks.push(Break {
            invariant: "the workload runs",
            detail: format!("{e:#}"),
        });
    }
    let history = sim.history.clone();
    breaks.extend(invariants::check(sim.emu_mut(), &history, &plans));
    if opts.workload == workload::Kind::Adversary {
        breaks.extend(adversary::check(sim.state()));
    }
    for r in &history {
        if let RawOutcome::Trapped(m) = &r.outcome {
            // A trap the plan did not cause is a bug in the app (a panic, a runaway loop).
            if !m.contains("deadline") && !m.contains("interrupt") {
                breaks.push(Break {
                    invariant: "no invocation traps",
                    detail: format!("{}: {}", r.label, m.chars().take(300).collect::<String>()),
                });
            }
        }
    }
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    let mut faulted = Vec::new();
    for (label, plan) in chaos.borrow().log.iter() {
        let n = counts.entry(label.clone()).or_default();
        *n += 1;
        if !plan.is_empty() {
            faulted.push((format!("{label}#{n}"), plan.clone()));
        }
    }
    let report = RunReport {
        seed,
        invocations: history.len(),
        faults: faulted.len(),
        crashed: history
            .iter()
            .filter(|r| matches!(r.outcome, RawOutcome::Crashed { .. }))
            .count(),
        interleavings,
        dropped: sim.state().dropped.len(),
        throttled: sim.state().kvs_budget.throttled,
        outage: outage.map(|o| {
            format!(
                "{:?}={}@{}m..{}m",
                o.service,
                crate::faults::FaultPlan::service(o.service, 1, o.fault.clone())
                    .notation()
                    .rsplit('=')
                    .next()
                    .unwrap_or(""),
                (o.from_ms - start) / 60_000,
                (o.until_ms - start) / 60_000
            )
            .to_lowercase()
        }),
        fingerprint: fingerprint(sim.state()),
        breaks,
        plans: faulted,
        transcript,
    };
    Ok((report, sim.into_engine()))
}

fn fingerprint(state: &SimState) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in &state.kvs {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.value.as_bytes());
        h.update([1]);
    }
    for i in &state.site.issues {
        h.update(i.key.as_bytes());
        h.update(i.status.as_bytes());
        for c in &i.comments {
            h.update(c.body.to_string().as_bytes());
        }
    }
    h.update(
        serde_json::to_string(&state.queue)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update(
        serde_json::to_string(&state.llm.calls)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update(
        serde_json::to_string(&state.hook_inbox)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update(state.clock_ms.to_le_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The command that replays one seed exactly, and (when nothing ran interleaved) the same faults
/// as `--fault` flags on an ordinary `run`.
pub fn reproducer(opts: &Options, engine: &str, r: &RunReport) -> String {
    let mut s = format!(
        "host-sim --engine {engine} dst --seeds {}..{} --workload {} --rate {}{} --verbose",
        r.seed,
        r.seed + 1,
        opts.workload.name(),
        opts.rate_pct,
        if opts.interleave {
            ""
        } else {
            " --no-interleave"
        }
    );
    if r.interleavings == 0 && opts.workload == workload::Kind::Default && r.plans.len() <= 40 {
        s.push_str(&format!(
            "\n    or: host-sim --engine {engine} --seed {} --state .sim-repro",
            r.seed
        ));
        if let Some(o) = &r.outage {
            s.push_str(&format!(" --outage '{o}'"));
        }
        for (target, plan) in &r.plans {
            s.push_str(&format!(
                " \\\n        --fault '{target} => {}'",
                plan.notation()
            ));
        }
        s.push_str(" run");
    }
    s
}

#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub runs: u64,
    pub invocations: u64,
    pub faults: u64,
    pub crashed: u64,
    pub interleavings: u64,
    pub dropped: u64,
    pub throttled: u64,
    pub broken_runs: u64,
    pub breaks_by_invariant: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
}

impl Summary {
    pub fn add(&mut self, r: &RunReport) {
        self.runs += 1;
        self.invocations += r.invocations as u64;
        self.faults += r.faults as u64;
        self.crashed += r.crashed as u64;
        self.interleavings += r.interleavings;
        self.dropped += r.dropped as u64;
        self.throttled += r.throttled;
        if !r.breaks.is_empty() {
            self.broken_runs += 1;
        }
        for b in &r.breaks {
            *self
                .breaks_by_invariant
                .entry(b.invariant.to_string())
                .or_default() += 1;
        }
    }
    pub fn runs_per_minute(&self) -> f64 {
        if self.seconds > 0.0 {
            self.runs as f64 * 60.0 / self.seconds
        } else {
            0.0
        }
    }
}

/// Seeds `from..to` over `jobs` threads, each with its own engine (made by `make`). `each` sees
/// every report as it completes (in seed order within a thread).
pub fn campaign(
    opts: &Options,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    make: &(dyn Fn() -> Result<Box<dyn Engine>> + Sync),
    each: &(dyn Fn(&RunReport) + Sync),
) -> Result<Summary> {
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicU64::new(seeds.start);
    let total = std::sync::Mutex::new(Summary::default());
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let mut engine = make()?;
                    loop {
                        let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if seed >= seeds.end {
                            return Ok(());
                        }
                        let (report, e) = run_seed(opts, engine, seed)?;
                        engine = e;
                        each(&report);
                        total.lock().expect("summary").add(&report);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a campaign thread panicked"))??;
        }
        Ok(())
    })?;
    let mut sum = total.into_inner().expect("summary");
    sum.seconds = started.elapsed().as_secs_f64();
    Ok(sum)
}

/// The default fixture folder and manifest, as the CLI resolves them.
pub fn default_options(site: &Path, manifest: &Path) -> Options {
    Options {
        site: site.to_path_buf(),
        manifest: manifest.to_path_buf(),
        workload: workload::Kind::Default,
        rate_pct: 20,
        interleave: true,
    }
}
