//! The simulated site as one object: an emulator, an engine (wasm or native), the clock and the
//! scheduler. `run`, `replay`, `invoke`, `tick` and the tests all drive the app through here.

use crate::emulator::{DroppedEvent, Emulator, SimState};
use crate::faults::{ArmedPlan, CallCounts, FaultPlan};
use crate::manifest::{Manifest, INTERACTIVE_TIMEOUT_S};
use crate::runtime::{
    native::NativeEngine, node::NodeEngine, wasm::WasmEngine, Engine, Export, RawOutcome,
};
use crate::site::Site;
use aiclearance::host::Invocation;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Bounds on the scheduler: a tick never loops forever.
const MAX_DELIVERIES_PER_SETTLE: usize = 10_000;
/// Forge redelivers an async event whose invocation crashed or asked for a retry, up to four
/// retries; after the fifth delivery the event is dropped (D-73). Public for tests.
pub const MAX_QUEUE_DELIVERIES: u32 = 5;
/// How long the platform waits before redelivering an event whose invocation died.
pub const CRASH_REDELIVERY_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Wasm,
    Native,
    /// The jco-transpiled component behind the Forge adapter, on Node 24 (`forge/dist`).
    Node,
}

/// The record of one invocation.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub function: String,
    pub label: String,
    pub outcome: RawOutcome,
    pub counts: CallCounts,
    pub wall_ns: u64,
    pub host_ns: u64,
}

impl InvocationRecord {
    pub fn ok(&self) -> Option<&Value> {
        match &self.outcome {
            RawOutcome::Ok(v) => Some(v),
            _ => None,
        }
    }
    pub fn error_code(&self) -> Option<&str> {
        match &self.outcome {
            RawOutcome::Err(e) => Some(&e.code),
            _ => None,
        }
    }
}

/// When the simulated platform runs invocations at once, all drawn from one seed: due queue
/// events delivered together, a sweep firing while someone uses a screen, a product event or a
/// scheduled trigger delivered twice (Forge's documented "small chance of duplicate invocations").
#[derive(Debug, Clone)]
pub struct Concurrency {
    rng: u64,
    /// Percent chance that two or three due queue events run interleaved.
    pub batch_pct: u64,
    /// Percent chance that a resolver call runs alongside a scheduled sweep.
    pub companion_pct: u64,
    /// Percent chance that a product event or scheduled trigger is delivered twice, at once.
    pub duplicate_pct: u64,
    /// Interleavings run so far.
    pub interleavings: u64,
}

impl Concurrency {
    pub fn new(seed: u64) -> Self {
        Concurrency {
            rng: seed ^ 0x2545_F491_4F6C_DD1D,
            batch_pct: 30,
            companion_pct: 15,
            duplicate_pct: 10,
            interleavings: 0,
        }
    }
    pub fn draw(&mut self) -> u64 {
        crate::faults::splitmix64(&mut self.rng)
    }
    pub fn roll(&mut self, pct: u64) -> bool {
        self.draw() % 100 < pct
    }
}

/// Picks a fault plan for an invocation from its function key and label.
pub type ChaosFn = Box<dyn FnMut(&str, &str) -> FaultPlan>;

/// An invocation described but not yet run: what `interleave` runs several of at once.
#[derive(Debug, Clone)]
pub struct Pending {
    pub function: String,
    pub label: String,
    pub inv: Invocation,
    pub timeout_s: u64,
    pub export: Export,
    /// For queue deliveries: the event, so redelivery rules apply after it ran.
    pub event: Option<crate::emulator::QueuedEvent>,
}

pub struct Sim {
    emu: Option<Emulator>,
    engine: Box<dyn Engine>,
    /// Faults armed for the next invocation only.
    pub next_plan: FaultPlan,
    /// Faults waiting for a named invocation (`--fault 'queue approval-effects#2 => …'`).
    pub armed: Vec<ArmedPlan>,
    /// Picks a plan for every invocation nothing else planned for (the `dst` campaign).
    pub chaos: Option<ChaosFn>,
    /// Runs some invocations at once and delivers some twice (the `dst` campaign).
    pub concurrency: Option<Concurrency>,
    pub history: Vec<InvocationRecord>,
}

/// The component host-sim's build script built (override with the AICLEARANCE_COMPONENT variable).
pub fn default_component() -> PathBuf {
    std::env::var_os("AICLEARANCE_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("AICLEARANCE_COMPONENT")))
}

/// The deployable package `node forge/build.mjs` writes (`AICLEARANCE_FORGE_DIST` overrides).
pub fn default_forge_dist() -> PathBuf {
    std::env::var_os("AICLEARANCE_FORGE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::runtime::node::forge_dir().join("dist"))
}

pub fn default_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifest.yml")
}

pub fn make_engine(kind: EngineKind, component: &Path) -> Result<Box<dyn Engine>> {
    Ok(match kind {
        EngineKind::Wasm => Box::new(WasmEngine::load(component)?),
        EngineKind::Native => Box::new(NativeEngine),
        EngineKind::Node => Box::new(NodeEngine::start(&default_forge_dist())?),
    })
}

impl Sim {
    pub fn new(state: SimState, manifest: Manifest, engine: Box<dyn Engine>) -> Self {
        Sim {
            emu: Some(Emulator::new(state, manifest)),
            engine,
            next_plan: FaultPlan::default(),
            armed: Vec::new(),
            chaos: None,
            concurrency: None,
            history: Vec::new(),
        }
    }

    /// A fresh site from a fixture folder.
    pub fn from_site(
        site_dir: &Path,
        manifest: &Path,
        kind: EngineKind,
        seed: u64,
    ) -> Result<Self> {
        let site = Site::load(site_dir)?;
        let state = SimState::new(site, seed)?;
        Ok(Sim::new(
            state,
            Manifest::load(manifest)?,
            make_engine(kind, &default_component())?,
        ))
    }

    /// The engine back, to run another site with it (a Node engine is a process worth keeping).
    pub fn into_engine(self) -> Box<dyn Engine> {
        self.engine
    }

    /// A fresh site from a fixture folder, run by an engine that already exists.
    pub fn from_site_with(
        site_dir: &Path,
        manifest: &Path,
        engine: Box<dyn Engine>,
        seed: u64,
    ) -> Result<Self> {
        let state = SimState::new(Site::load(site_dir)?, seed)?;
        Ok(Sim::new(state, Manifest::load(manifest)?, engine))
    }

    pub fn emu(&self) -> &Emulator {
        self.emu
            .as_ref()
            .expect("emulator present between invocations")
    }
    pub fn emu_mut(&mut self) -> &mut Emulator {
        self.emu
            .as_mut()
            .expect("emulator present between invocations")
    }
    pub fn state(&self) -> &SimState {
        &self.emu().state
    }
    pub fn state_mut(&mut self) -> &mut SimState {
        &mut self.emu_mut().state
    }
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    fn context(&self, module_key: &str, account: Option<&str>) -> Invocation {
        let emu = self.emu();
        Invocation {
            app_ari: emu.manifest.app_id.clone(),
            cloud_id: emu.state.site.cloud_id.clone(),
            module_key: module_key.to_string(),
            account_id: account.map(String::from),
            license_active: Some(
                emu.state
                    .env
                    .get("SIM_LICENSE_ACTIVE")
                    .is_none_or(|v| v == "true"),
            ),
            extension: None,
        }
    }

    /// The plan for this invocation: the one armed for "the next", else the first armed plan
    /// whose target this is the Nth match of, else what the campaign's chaos picks.
    pub fn plan_for(&mut self, function: &str, label: &str) -> FaultPlan {
        if !self.next_plan.is_empty() {
            return std::mem::take(&mut self.next_plan);
        }
        let mut fired = None;
        for (i, a) in self.armed.iter_mut().enumerate() {
            if a.target.matches(function, label) {
                a.seen += 1;
                if a.seen == a.target.nth && fired.is_none() {
                    fired = Some(i);
                }
            }
        }
        if let Some(i) = fired {
            return self.armed.remove(i).plan;
        }
        match self.chaos.as_mut() {
            Some(pick) => pick(function, label),
            None => FaultPlan::default(),
        }
    }

    fn invoke(
        &mut self,
        function: &str,
        label: String,
        inv: Invocation,
        timeout_s: u64,
        export: Export,
    ) -> InvocationRecord {
        let plan = self.plan_for(function, &label);
        let ack_lost = plan.crash_after_last;
        let mut emu = self.emu.take().expect("no nested invocations");
        emu.begin(function, inv.account_id.clone(), timeout_s, plan);
        let t = std::time::Instant::now();
        let (mut emu, mut outcome) = self.engine.call(emu, &inv, &export);
        if ack_lost {
            outcome = lose_ack(outcome, emu.meter.counts.total);
        }
        let wall_ns = t.elapsed().as_nanos() as u64;
        let host_ns = emu.running.host_ns;
        let counts = emu.end();
        self.emu = Some(emu);
        let rec = InvocationRecord {
            function: function.into(),
            label,
            outcome,
            counts,
            wall_ns,
            host_ns,
        };
        self.history.push(rec.clone());
        rec
    }

    /// Runs several invocations at once, interleaved one host call at a time in an order drawn
    /// from `seed` (`crate::interleave`). Each gets its own fault plan as a single invocation
    /// would; queue deliveries then follow the redelivery rules. Records come back in the order
    /// given.
    pub fn interleave(
        &mut self,
        pending: Vec<Pending>,
        seed: u64,
    ) -> Result<Vec<InvocationRecord>> {
        use crate::interleave::{Baton, Invocant};
        if self.engine.seat_runner().is_none() {
            bail!(
                "the {} engine cannot interleave invocations",
                self.engine.name()
            )
        }
        let mut plans = Vec::new();
        for p in &pending {
            plans.push(self.plan_for(&p.function, &p.label));
        }
        let acks: Vec<bool> = plans.iter().map(|p| p.crash_after_last).collect();
        let invocants = pending
            .iter()
            .zip(plans)
            .map(|(p, plan)| Invocant {
                function: p.function.clone(),
                account_id: p.inv.account_id.clone(),
                timeout_s: p.timeout_s,
                plan,
            })
            .collect();
        let emu = self.emu.take().expect("no nested invocations");
        let (baton, seats) = Baton::new(emu, invocants, seed);
        let runner = self.engine.seat_runner().expect("checked above");
        let t = std::time::Instant::now();
        let outcomes: Vec<RawOutcome> = std::thread::scope(|s| {
            let handles: Vec<_> = seats
                .into_iter()
                .zip(&pending)
                .map(|(seat, p)| {
                    s.spawn(move || {
                        let o = runner.run_seat(seat.clone(), &p.inv, &p.export);
                        seat.leave();
                        o
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        RawOutcome::Trapped("the seat's thread panicked".into())
                    })
                })
                .collect()
        });
        let wall_ns = t.elapsed().as_nanos() as u64;
        let (mut emu, counts, _trace) = baton.finish();
        emu.running = Default::default();
        self.emu = Some(emu);
        let mut out = Vec::new();
        for (((p, outcome), counts), ack_lost) in
            pending.into_iter().zip(outcomes).zip(counts).zip(acks)
        {
            let outcome = if ack_lost {
                lose_ack(outcome, counts.total)
            } else {
                outcome
            };
            let rec = InvocationRecord {
                function: p.function,
                label: p.label,
                outcome,
                counts,
                wall_ns,
                host_ns: 0,
            };
            if let Some(ev) = p.event {
                let now = self.state().clock_ms;
                self.after_delivery(ev, &rec, now);
            }
            self.history.push(rec.clone());
            out.push(rec);
        }
        Ok(out)
    }

    /// A resolver call, described for `interleave`.
    pub fn pending_resolve(
        &self,
        function_key: &str,
        payload: &Value,
        account: Option<&str>,
    ) -> Pending {
        let function = self
            .emu()
            .manifest
            .resolver_function
            .clone()
            .unwrap_or_else(|| "resolver".into());
        Pending {
            function,
            label: format!("resolver {function_key}"),
            inv: self.context("ai-clearance", account),
            timeout_s: INTERACTIVE_TIMEOUT_S,
            export: Export::Resolve {
                function_key: function_key.into(),
                payload: payload.to_string(),
            },
            event: None,
        }
    }

    /// A scheduled trigger firing now, described for `interleave`.
    pub fn pending_scheduled(&mut self, key: &str) -> Result<Pending> {
        let Some(st) = self
            .emu()
            .manifest
            .scheduled
            .iter()
            .find(|s| s.key == key)
            .cloned()
        else {
            bail!("no scheduled trigger {key}")
        };
        let now = self.state().clock_ms;
        self.state_mut().scheduled_last_ms.insert(key.into(), now);
        Ok(Pending {
            timeout_s: self.emu().manifest.timeout_of(&st.function),
            function: st.function,
            label: format!("scheduled {key}"),
            inv: self.context(key, None),
            export: Export::Scheduled,
            event: None,
        })
    }

    /// Takes up to `max` queue events due now off the queue, described for `interleave`.
    pub fn pending_due(&mut self, max: usize) -> Vec<Pending> {
        let now = self.state().clock_ms;
        let mut due: Vec<(u64, u64)> = self
            .state()
            .queue
            .iter()
            .filter(|e| e.due_ms <= now)
            .map(|e| (e.due_ms, e.id))
            .collect();
        due.sort();
        due.truncate(max);
        let mut out = Vec::new();
        for (_, id) in due {
            let idx = self
                .state()
                .queue
                .iter()
                .position(|e| e.id == id)
                .expect("due event");
            let mut ev = self.state_mut().queue.remove(idx);
            let Some(function) = self.emu().manifest.consumers.get(&ev.queue_key).cloned() else {
                continue;
            };
            ev.deliveries += 1;
            out.push(Pending {
                timeout_s: self.emu().manifest.timeout_of(&function),
                function,
                label: format!("queue {}", ev.queue_key),
                inv: self.context(&ev.queue_key, None),
                export: Export::Queue {
                    queue_key: ev.queue_key.clone(),
                    body: ev.body.clone(),
                },
                event: Some(ev),
            });
        }
        out
    }

    /// Forge's rules after a queue delivery: a retry request or a dead instance brings the
    /// event back (up to the last retry), anything else consumes it; the drop is recorded.
    fn after_delivery(
        &mut self,
        mut ev: crate::emulator::QueuedEvent,
        rec: &InvocationRecord,
        now: u64,
    ) {
        let (redeliver, how) = match &rec.outcome {
            RawOutcome::Ok(v) => (
                v.get("retry").and_then(Value::as_u64).map(|s| s * 1000),
                "retry-requested",
            ),
            RawOutcome::Crashed { .. } => (Some(CRASH_REDELIVERY_MS), "crashed"),
            RawOutcome::Trapped(_) => (Some(CRASH_REDELIVERY_MS), "trapped"),
            RawOutcome::Err(_) => (None, "error"),
        };
        match redeliver {
            Some(delay) if ev.deliveries < MAX_QUEUE_DELIVERIES => {
                ev.due_ms = now + delay;
                self.state_mut().queue.push(ev);
            }
            Some(_) => {
                let at_ms = self.state().clock_ms;
                self.state_mut().dropped.push(DroppedEvent {
                    at_ms,
                    queue_key: ev.queue_key,
                    body: ev.body,
                    deliveries: ev.deliveries,
                    last: how.into(),
                });
            }
            None => {}
        }
    }

    /// A resolver call from the UI, as `account`.
    pub fn resolve(
        &mut self,
        function_key: &str,
        payload: &Value,
        account: Option<&str>,
    ) -> InvocationRecord {
        self.resolve_raw(function_key, &payload.to_string(), account)
    }

    /// A resolver call with the payload exactly as sent (may be malformed).
    pub fn resolve_raw(
        &mut self,
        function_key: &str,
        payload: &str,
        account: Option<&str>,
    ) -> InvocationRecord {
        self.resolve_from("ai-clearance", None, function_key, payload, account)
    }

    /// A resolver call from a given UI module with its extension context (what the Custom UI's
    /// `view.getContext().extension` holds: the portal and request type, the issue, a modal's
    /// context), as Forge hands them to the resolver.
    pub fn resolve_from(
        &mut self,
        module_key: &str,
        extension: Option<&Value>,
        function_key: &str,
        payload: &str,
        account: Option<&str>,
    ) -> InvocationRecord {
        let function = self
            .emu()
            .manifest
            .resolver_function
            .clone()
            .unwrap_or_else(|| "resolver".into());
        let mut inv = self.context(module_key, account);
        inv.extension = extension.map(Value::to_string);
        self.invoke(
            &function,
            format!("resolver {function_key}"),
            inv,
            INTERACTIVE_TIMEOUT_S,
            Export::Resolve {
                function_key: function_key.into(),
                payload: payload.to_string(),
            },
        )
    }

    /// Delivers a product event to the trigger manifest.yml declares for it.
    pub fn deliver(&mut self, event: &Value) -> Result<InvocationRecord> {
        let p = self.pending_event(event)?;
        Ok(self.run_pending(p))
    }

    /// Runs one described invocation now; a queue delivery then follows the redelivery rules.
    fn run_pending(&mut self, p: Pending) -> InvocationRecord {
        let rec = self.invoke(&p.function, p.label, p.inv, p.timeout_s, p.export);
        if let Some(ev) = p.event {
            let now = self.state().clock_ms;
            self.after_delivery(ev, &rec, now);
        }
        rec
    }

    /// A product event, described for `interleave`.
    pub fn pending_event(&self, event: &Value) -> Result<Pending> {
        let kind = event
            .get("eventType")
            .and_then(Value::as_str)
            .context("event without eventType")?;
        let Some((module, function)) = self.emu().manifest.triggers.get(kind).cloned() else {
            bail!("manifest.yml declares no trigger for {kind}")
        };
        let key = event
            .pointer("/issue/key")
            .and_then(Value::as_str)
            .unwrap_or("?");
        Ok(Pending {
            function,
            label: format!("{kind} {key}"),
            inv: self.context(&module, None),
            timeout_s: INTERACTIVE_TIMEOUT_S,
            export: Export::ProductEvent {
                event: event.to_string(),
            },
            event: None,
        })
    }

    /// Delivers a product event; under `concurrency` it is sometimes delivered twice at once.
    pub fn deliver_maybe_twice(&mut self, event: &Value) -> Result<Vec<InvocationRecord>> {
        let twice = match self.concurrency.as_mut() {
            Some(c) if self.engine.seat_runner().is_some() => {
                c.roll(c.duplicate_pct).then(|| c.draw())
            }
            _ => None,
        };
        match twice {
            Some(seed) => {
                let p = self.pending_event(event)?;
                self.concurrency.as_mut().expect("set").interleavings += 1;
                self.interleave(vec![p.clone(), p], seed)
            }
            None => Ok(vec![self.deliver(event)?]),
        }
    }

    /// A resolver call; under `concurrency` it sometimes runs while a scheduled sweep fires.
    pub fn resolve_maybe_alongside(
        &mut self,
        function_key: &str,
        payload: &Value,
        account: Option<&str>,
    ) -> Vec<InvocationRecord> {
        let can = self.engine.seat_runner().is_some();
        let companion = match self.concurrency.as_mut() {
            Some(c) if can => c.roll(c.companion_pct).then(|| c.draw()),
            _ => None,
        };
        let keys: Vec<String> = self
            .emu()
            .manifest
            .scheduled
            .iter()
            .map(|s| s.key.clone())
            .collect();
        if let (Some(r), false) = (companion, keys.is_empty()) {
            let key = &keys[(r % keys.len() as u64) as usize];
            let seed = r.rotate_left(17);
            let a = self.pending_resolve(function_key, payload, account);
            if let Ok(b) = self.pending_scheduled(key) {
                self.concurrency.as_mut().expect("set").interleavings += 1;
                if let Ok(recs) = self.interleave(vec![a, b], seed) {
                    return recs;
                }
            }
        }
        vec![self.resolve(function_key, payload, account)]
    }

    pub fn run_scheduled(&mut self, key: &str) -> Result<InvocationRecord> {
        let p = self.pending_scheduled(key)?;
        Ok(self.run_pending(p))
    }

    /// Delivers every queued event that is due now (in due order), including ones pushed meanwhile.
    pub fn settle(&mut self) -> Vec<InvocationRecord> {
        let mut out = Vec::new();
        for _ in 0..MAX_DELIVERIES_PER_SETTLE {
            let now = self.state().clock_ms;
            if !self.state().queue.iter().any(|e| e.due_ms <= now) {
                break;
            }
            let batch = match self.batch_roll() {
                Some(seed) => self.pending_due(2 + (seed % 2) as usize),
                None => self.pending_due(1),
            };
            if batch.len() >= 2 {
                let seed = self.concurrency.as_mut().expect("set").draw();
                self.concurrency.as_mut().expect("set").interleavings += 1;
                match self.interleave(batch, seed) {
                    Ok(recs) => out.extend(recs),
                    Err(e) => panic!("interleaving due events: {e:#}"),
                }
                continue;
            }
            for p in batch {
                out.push(self.run_pending(p));
            }
        }
        out
    }

    /// Under `concurrency`: whether due events go together this time (and the seed to use).
    fn batch_roll(&mut self) -> Option<u64> {
        self.engine.seat_runner()?;
        let c = self.concurrency.as_mut()?;
        c.roll(c.batch_pct).then(|| c.draw())
    }

    fn duplicate_roll(&mut self) -> Option<u64> {
        self.engine.seat_runner()?;
        let c = self.concurrency.as_mut()?;
        c.roll(c.duplicate_pct).then(|| c.draw())
    }

    /// Delivers a queue event as Forge redelivers one after a crash: again and again while the
    /// consumer asks for a retry, the clock moving by each requested delay, up to the platform's
    /// delivery limit. Returns the last delivery's record.
    pub fn redeliver(&mut self, queue_key: &str, body: &Value) -> InvocationRecord {
        let mut rec = self.deliver_queue(queue_key, body);
        for _ in 1..MAX_QUEUE_DELIVERIES {
            let Some(s) = rec
                .ok()
                .and_then(|v| v.get("retry"))
                .and_then(Value::as_u64)
            else {
                break;
            };
            self.advance(s * 1000);
            rec = self.deliver_queue(queue_key, body);
        }
        rec
    }

    /// Delivers one queue event to its consumer now, outside the queue (tests drive redelivery
    /// themselves). The outcome is `{"done": true}` or `{"retry": seconds}`.
    pub fn deliver_queue(&mut self, queue_key: &str, body: &Value) -> InvocationRecord {
        let function = self
            .emu()
            .manifest
            .consumers
            .get(queue_key)
            .cloned()
            .unwrap_or_else(|| panic!("no consumer for queue {queue_key} in the manifest"));
        let timeout = self.emu().manifest.timeout_of(&function);
        let inv = self.context(queue_key, None);
        self.invoke(
            &function,
            format!("queue {queue_key}"),
            inv,
            timeout,
            Export::Queue {
                queue_key: queue_key.to_string(),
                body: body.to_string(),
            },
        )
    }

    /// Moves the clock forward, firing scheduled triggers and queued events as they fall due.
    pub fn advance(&mut self, ms: u64) -> Vec<InvocationRecord> {
        let target = self.state().clock_ms + ms;
        let mut out = self.settle();
        // Anchor every trigger that has not run yet at its last interval boundary, once: an
        // anchor recomputed from the moving clock would keep pushing a slow trigger (hourly,
        // daily) past the faster ones, and it would never fire.
        let start = self.state().clock_ms;
        let anchors: Vec<(String, u64)> = self
            .emu()
            .manifest
            .scheduled
            .iter()
            .map(|s| (s.key.clone(), start - start % (s.interval_s * 1000)))
            .collect();
        for (key, at) in anchors {
            self.state_mut().scheduled_last_ms.entry(key).or_insert(at);
        }
        loop {
            let now = self.state().clock_ms;
            let next_sched = self
                .emu()
                .manifest
                .scheduled
                .iter()
                .map(|s| {
                    let last = self
                        .state()
                        .scheduled_last_ms
                        .get(&s.key)
                        .copied()
                        .unwrap_or(now - now % (s.interval_s * 1000));
                    (last + s.interval_s * 1000, s.key.clone())
                })
                .min();
            let next_queue = self.state().queue.iter().map(|e| e.due_ms).min();
            let next = [next_sched.as_ref().map(|s| s.0), next_queue]
                .into_iter()
                .flatten()
                .filter(|t| *t <= target)
                .min();
            let Some(t) = next else { break };
            self.state_mut().clock_ms = t.max(now);
            if let Some((_, key)) = next_sched.filter(|(due, _)| *due <= t) {
                match self.duplicate_roll() {
                    // The documented duplicate: the same trigger fires twice, at once.
                    Some(seed) => {
                        if let (Ok(a), Ok(b)) =
                            (self.pending_scheduled(&key), self.pending_scheduled(&key))
                        {
                            self.concurrency.as_mut().expect("set").interleavings += 1;
                            if let Ok(recs) = self.interleave(vec![a, b], seed) {
                                out.extend(recs);
                            }
                        }
                    }
                    None => {
                        if let Ok(rec) = self.run_scheduled(&key) {
                            out.push(rec);
                        }
                    }
                }
            }
            out.extend(self.settle());
        }
        self.state_mut().clock_ms = target;
        out.extend(self.settle());
        out
    }

    /// The state CI compares with a golden file: domain records without random or secret parts.
    pub fn export_state(&self) -> Value {
        let kvs = &self.state().kvs;
        let records = |prefix: &str| -> Vec<Value> {
            kvs.range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .filter_map(|(_, s)| serde_json::from_str(&s.value).ok())
                .collect()
        };
        let mut requests: Vec<Value> = records("request:")
            .into_iter()
            .map(|r| {
                json!({"issueKey": r["issueKey"], "requester": r["requesterAccountId"], "decision": r["decision"], "tool": r["tool"],
                       "durationDays": r["durationDays"], "snapshotSource": r["snapshotSource"], "requestTypeId": r["requestTypeId"],
                       "decisionSource": r["decisionSource"], "route": r["route"]["kind"], "grantId": r["grantId"]})
            })
            .collect();
        requests.sort_by_key(|r| r["issueKey"].as_str().map(issue_sort_key));
        let mut rejections: Vec<Value> = records("intake-rejection:")
            .into_iter()
            .map(|r| json!({"issueKey": r["issueKey"], "code": r["code"], "field": r["field"]}))
            .collect();
        rejections.sort_by_key(|r| r["issueKey"].as_str().map(issue_sort_key));
        let grants: Vec<Value> = records("access-grant:")
            .into_iter()
            .map(|g| json!({"grantId": g["id"], "issueKey": g["issueKey"], "tool": g["toolKey"], "status": g["status"],
                            "durationDays": g["durationDays"], "expiresAt": g["expiresAt"]}))
            .collect();
        let jobs: Vec<Value> = records("provisioning-job:")
            .into_iter()
            .map(|j| json!({"jobId": j["id"], "kind": j["kind"], "status": j["status"]}))
            .collect();
        let audit: Vec<Value> = records("audit-event:")
            .into_iter()
            .map(|e| json!({"seq": e["seq"], "type": e["type"], "issueKey": e["issueKey"]}))
            .collect();
        let mut prefixes = std::collections::BTreeMap::<String, u64>::new();
        for k in kvs.keys() {
            *prefixes
                .entry(k.split(':').next().unwrap_or(k).to_string())
                .or_default() += 1;
        }
        // Derived data, not state: caches and the sweeps' "what is due next" hints.
        prefixes.remove("access-cache");
        prefixes.remove("sweep-hint");
        json!({"requests": requests, "rejections": rejections, "grants": grants, "jobs": jobs, "audit": audit,
               "keysByPrefix": prefixes, "queued": self.state().queue.len()})
    }
}

/// The work is done; the platform never hears the invocation finished.
fn lose_ack(outcome: RawOutcome, calls: u64) -> RawOutcome {
    match outcome {
        RawOutcome::Ok(_) | RawOutcome::Err(_) => RawOutcome::Crashed { at_call: calls },
        other => other,
    }
}

/// `AIR-10` sorts after `AIR-9`.
pub fn issue_sort_key(k: &str) -> (String, u64) {
    let (p, n) = k.rsplit_once('-').unwrap_or((k, "0"));
    (p.to_string(), n.parse().unwrap_or(0))
}

/// `30m`, `1h`, `2d`, `90s`, `1w` → milliseconds.
pub fn parse_duration(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit())
            .context("a duration needs a unit: s, m, h, d or w")?,
    );
    let n: u64 = num
        .parse()
        .with_context(|| format!("{s:?} is not a duration"))?;
    let mult = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => bail!("unknown duration unit {unit:?} (use s, m, h, d or w)"),
    };
    Ok(n * mult)
}
