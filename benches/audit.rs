//! `cargo bench --bench audit` — the verifiable audit log at 100,000 and 1,000,000 entries.
//!
//! Builds the trail through the app's own append (`audit::commit_with_audit`, natively over the
//! emulator, as a decision or intake would append) and measures, with every KVS request counted
//! in Forge's 10 KB read/write units and round trips modelled at 15 ms per KVS call and 30 ms per
//! transaction:
//! - writes per append beyond the entry and its index keys (head and tiles), worst and average;
//! - one entry's inclusion proof: KVS reads, proof size;
//! - verification: a full run in slices, each slice's calls, units and modelled time, and the
//!   cost per 1,000 entries;
//! - the audit export: cost per 1,000 rows, read from the window's first day.
//!
//! `AUDIT_BENCH_SIZES=100000,1000000` (the default) picks the sizes.

use aiclearance::audit::{self, commit_with_audit, mac_key, AuditDraft};
use aiclearance::host::{Entry, Host, HostError, HttpRequest, HttpResponse, Level, Principal};
use aiclearance::host::{QueryPage, SetOptions, TxOp};
use aiclearance::storage::Store;
use host_sim::runtime::native::NativeHost;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Instant;

const KVS_MS: u64 = 15;
const TX_MS: u64 = 30;

#[derive(Default, Clone, Debug)]
struct Stats {
    calls: u64,
    tx: u64,
    read_units: u64,
    write_units: u64,
    /// Per append (the transactions of one `commit_with_audit`): keys written that are neither
    /// the entry nor its index keys.
    overhead_per_tx: Vec<usize>,
}

impl Stats {
    fn modelled_ms(&self) -> u64 {
        (self.calls - self.tx) * KVS_MS + self.tx * TX_MS
    }
}

fn units(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(10 * 1024).max(1)
}

/// The host, with every KVS request counted as Forge counts it.
struct Counting<'a> {
    inner: &'a dyn Host,
    s: RefCell<Stats>,
}

impl Counting<'_> {
    fn read(&self, bytes: usize) {
        let mut s = self.s.borrow_mut();
        s.calls += 1;
        s.read_units += units(bytes);
    }
}

impl Host for Counting<'_> {
    fn kvs_get(&self, key: &str) -> Result<Option<String>, HostError> {
        let r = self.inner.kvs_get(key)?;
        self.read(r.as_ref().map_or(0, String::len));
        Ok(r)
    }
    fn kvs_set(&self, key: &str, value: &str, o: SetOptions) -> Result<(), HostError> {
        let mut s = self.s.borrow_mut();
        s.calls += 1;
        s.write_units += units(value.len());
        drop(s);
        self.inner.kvs_set(key, value, o)
    }
    fn kvs_delete(&self, key: &str) -> Result<(), HostError> {
        self.s.borrow_mut().calls += 1;
        self.inner.kvs_delete(key)
    }
    fn kvs_query(&self, p: &str, c: Option<&str>, l: u32) -> Result<QueryPage, HostError> {
        let r = self.inner.kvs_query(p, c, l)?;
        self.read(r.entries.iter().map(|e| e.key.len() + e.value.len()).sum());
        Ok(r)
    }
    fn kvs_batch_get(&self, keys: &[String]) -> Result<Vec<Entry>, HostError> {
        let r = self.inner.kvs_batch_get(keys)?;
        self.read(r.iter().map(|e| e.value.len()).sum());
        Ok(r)
    }
    fn kvs_transact(&self, ops: &[TxOp]) -> Result<(), HostError> {
        let mut s = self.s.borrow_mut();
        s.calls += 1;
        s.tx += 1;
        let bytes: usize = ops
            .iter()
            .map(|o| match o {
                TxOp::Set(e) | TxOp::SetIf(e, _) => e.value.len(),
                _ => 0,
            })
            .sum();
        s.write_units += units(bytes);
        let overhead = ops
            .iter()
            .filter(|o| matches!(o, TxOp::Set(_) | TxOp::SetIf(..)))
            .filter(|o| {
                let k = o.key();
                !(k.starts_with("audit-event:")
                    || k.starts_with("audit-issue:")
                    || k.starts_with("audit-day:"))
            })
            .count();
        s.overhead_per_tx.push(overhead);
        drop(s);
        self.inner.kvs_transact(ops)
    }
    fn secret_get(&self, key: &str) -> Result<Option<String>, HostError> {
        self.inner.secret_get(key)
    }
    fn secret_set(&self, key: &str, value: &str) -> Result<(), HostError> {
        self.inner.secret_set(key, value)
    }
    fn secret_delete(&self, key: &str) -> Result<(), HostError> {
        self.inner.secret_delete(key)
    }
    fn jira(&self, p: Principal, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        self.inner.jira(p, req)
    }
    fn fetch(&self, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        self.inner.fetch(req)
    }
    fn llm_chat(&self, prompt: &str) -> Result<String, HostError> {
        self.inner.llm_chat(prompt)
    }
    fn queue_push(&self, q: &str, e: &[String], d: u32) -> Result<(), HostError> {
        self.inner.queue_push(q, e, d)
    }
    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }
    fn remaining_ms(&self) -> u64 {
        // The bench runs each slice as one invocation of a 900 s function: what is left is the
        // function's budget minus the modelled round trips so far.
        900_000u64.saturating_sub(self.s.borrow().modelled_ms())
    }
    fn random_bytes(&self, len: u32) -> Vec<u8> {
        self.inner.random_bytes(len)
    }
    fn log(&self, level: Level, message: &str) {
        self.inner.log(level, message)
    }
    fn env(&self, name: &str) -> Option<String> {
        self.inner.env(name)
    }
}

fn with_host<T>(sim: &mut Sim, f: impl FnOnce(&Counting) -> T) -> (T, Stats) {
    let emu = sim.emu_mut();
    emu.begin("bench", None, 900, Default::default());
    let out = {
        let native = NativeHost::new(&mut *emu);
        let c = Counting {
            inner: &native,
            s: RefCell::new(Stats::default()),
        };
        let t = f(&c);
        (t, c.s.into_inner())
    };
    emu.end();
    out
}

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

/// An entry like a decision's: an issue key, a subject, a little data.
fn draft(i: u64) -> AuditDraft {
    let mut d = AuditDraft::new(
        "request_approved",
        "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4",
    );
    d.issue_key = Some(format!("AIR-{}", 1 + i / 8));
    d.subject =
        serde_json::json!({"issueId": (10_000 + i / 8).to_string(), "tool": "chatgpt-enterprise"});
    d.data =
        serde_json::json!({"durationDays": 90, "route": "direct", "grantId": format!("g-{i}")});
    d.policy_version = Some(3);
    d
}

fn run(size: u64) {
    println!("\n== {size} entries");
    let mut sim = Sim::from_site(&site(), &default_manifest(), EngineKind::Native, 1).unwrap();
    // The trail is built 10,000 appends per invocation, far faster than any site appends: the
    // emulator's per-minute KVS budget would refuse it, so it is off for the build only (the
    // measured calls are counted here, in Forge's units).
    sim.state_mut().kvs_budget.enforced = false;
    // Eight entries a simulated minute: a large org's year is ~160,000.
    let started = Instant::now();
    let mut worst = 0usize;
    let mut overhead_sum = 0u64;
    let mut appends = 0u64;
    let chunk = 10_000u64;
    let mut done = 0u64;
    while done < size {
        let n = chunk.min(size - done);
        let ((), s) = with_host(&mut sim, |h| {
            let store = Store::new(h);
            let key = mac_key(store, None).unwrap();
            for i in done..done + n {
                // One append may be two transactions (the entry with the head, then the tiles
                // it filled): its overhead is the sum of both.
                let mark = h.s.borrow().overhead_per_tx.len();
                commit_with_audit(store, &key, None, &[draft(i)], |_| Ok(())).unwrap();
                let mut s = h.s.borrow_mut();
                let sum: usize = s.overhead_per_tx.drain(mark..).sum();
                s.overhead_per_tx.push(sum);
            }
        });
        for o in &s.overhead_per_tx {
            worst = worst.max(*o);
            overhead_sum += *o as u64;
            appends += 1;
        }
        done += n;
        sim.state_mut().clock_ms += n * 7_500;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "append: {:.1} µs each natively; writes beyond the entry and its index keys: worst {worst}, average {:.3}",
        secs * 1e6 / size as f64,
        overhead_sum as f64 / appends as f64
    );

    // One entry's inclusion proof, as the evidence pack computes it: the head, then one
    // batch-get of the tiles the proof touches.
    let mut worst_reads = 0u64;
    let mut proof_len = 0usize;
    for probe in 0..200u64 {
        let seq = 1 + (probe * 7_919 * 131) % size;
        let ((), s) = with_host(&mut sim, |h| {
            let store = Store::new(h);
            let head: audit::Head = store.get("audit-head").unwrap().unwrap();
            let edge = head.edge().unwrap();
            let e: audit::AuditEntry = store
                .get(&aiclearance::storage::keys::audit_event(seq))
                .unwrap()
                .unwrap();
            let proof = audit::tiles::with_nodes(store, &edge, edge.size, |n| {
                audit::merkle::inclusion_proof(n, seq - 1, edge.size)
            })
            .unwrap()
            .unwrap();
            let digest: [u8; 32] = audit::chain::unhex(&e.entry_hash)
                .unwrap()
                .try_into()
                .unwrap();
            let root = audit::tiles::unb64(&head.root_hash).unwrap();
            assert!(audit::merkle::verify_inclusion(
                seq - 1,
                edge.size,
                &audit::merkle::leaf_hash(&digest),
                &proof,
                &root
            ));
            proof_len = proof.len();
        });
        worst_reads = worst_reads.max(s.calls);
    }
    println!(
        "inclusion proof: at most {worst_reads} KVS reads (head, entry, tiles), {proof_len} hashes ({} bytes)",
        proof_len * 32
    );

    // A full verification, in slices as the audit-work queue runs them.
    let mut run = with_host(&mut sim, |h| {
        audit::verify::begin(
            Store::new(h),
            audit::verify::Mode::Full,
            "bench",
            &Default::default(),
        )
        .unwrap()
    })
    .0;
    let (mut slices, mut max_units, mut max_ms, mut total) = (0u64, 0u64, 0u64, Stats::default());
    let started = Instant::now();
    loop {
        let (done, s) = with_host(&mut sim, |h| {
            audit::verify::step(
                Store::new(h),
                &mut run,
                audit::verify::Budget {
                    read_units: audit::work::READ_UNITS_PER_SLICE,
                    reserve_ms: 60_000,
                },
            )
            .unwrap()
        });
        slices += 1;
        max_units = max_units.max(s.read_units);
        max_ms = max_ms.max(s.modelled_ms());
        total.calls += s.calls;
        total.read_units += s.read_units;
        if done {
            break;
        }
    }
    let (report, _) = with_host(&mut sim, |h| {
        audit::verify::finish(Store::new(h), &run).unwrap()
    });
    assert!(report.ok, "{:?}", report.problems);
    println!(
        "verify (full): {slices} slices, each ≤ {max_units} read units and ≤ {:.1} s modelled (limit 900 s, one a minute: ≤ {max_units} of 4,000 units a minute); per 1,000 entries {:.0} calls, {:.0} read units; {:.1} s natively in all",
        max_ms as f64 / 1000.0,
        total.calls as f64 * 1000.0 / size as f64,
        total.read_units as f64 * 1000.0 / size as f64,
        started.elapsed().as_secs_f64()
    );

    // The audit export of the last 90 days: rows per 1,000.
    let now = sim.state().clock_ms;
    let from = now - 90 * 86_400_000;
    let (rows, s) = with_host(&mut sim, |h| {
        let store = Store::new(h);
        let seq = audit::window::first_seq(store, from, now).unwrap().unwrap();
        let (entries, _) = audit::window::read(store, seq, from, now, 1_000).unwrap();
        entries.len()
    });
    println!(
        "export: first 1,000 rows of a 90-day window: {rows} rows in {} calls, {} read units, {:.2} s modelled",
        s.calls,
        s.read_units,
        s.modelled_ms() as f64 / 1000.0
    );
}

fn main() {
    let sizes: Vec<u64> = std::env::var("AUDIT_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    for size in sizes {
        run(size);
    }
}
