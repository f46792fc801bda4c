//! The Forge + Jira emulator: one simulated site's state and every host call the app can make.
//! Both front doors — the wasmtime host (`runtime::wasm`) and the native driver
//! (`runtime::native`) — call these methods, so the emulation exists once.
//!
//! Every method returns `Result<Result<T, HostError>, Crash>`: the outer error is the fault plan
//! killing the invocation before the call happens; the inner one is what the platform answers.

use crate::faults::{
    as_host_error, CallCounts, Crash, CrashWhen, Fault, FaultPlan, Meter, Outage, Service,
};
use crate::manifest::Manifest;
use crate::site::Site;
use aiclearance::host::{
    Condition, Entry, HostError, HttpRequest, HttpResponse, Level, Principal, QueryPage,
    SetOptions, TxOp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Call<T> = Result<Result<T, HostError>, Crash>;

// Forge limits (FORGE-FACTS.md), enforced as the platform would.
pub const KEY_MAX: usize = 500;
pub const VALUE_MAX: usize = 240 * 1024;
pub const DEPTH_MAX: usize = 31;
pub const PAGE_MAX: u32 = 20;
pub const TX_MAX_OPS: usize = 25;
pub const TX_MAX_BYTES: usize = 4 * 1024 * 1024;
pub const QUEUE_MAX_EVENTS: usize = 50;
pub const QUEUE_MAX_BYTES: usize = 200 * 1024;
pub const QUEUE_MAX_DELAY_S: u32 = 900;
pub const LOG_MAX_BYTES: usize = 200 * 1024;
const LOG_KEEP: usize = 5_000;
/// How long a query cursor stays usable (simulated time).
pub const CURSOR_TTL_MS: u64 = 15 * 60_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEvent {
    pub id: u64,
    pub queue_key: String,
    pub body: String,
    pub due_ms: u64,
    pub deliveries: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub at_ms: u64,
    pub function: String,
    pub level: String,
    pub message: String,
}

/// Jira rate limiting, when a scenario configures it: at most `per_minute` calls per simulated
/// minute, then 429 with `Retry-After`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JiraRateLimit {
    pub per_minute: u32,
    pub retry_after_s: u32,
}

/// Forge's KVS budgets per installation (FORGE-FACTS "Storage"): 4,000 read and 4,000 write
/// units a minute, a unit being 10 KB of one request rounded up, and 1,000 requests a second.
pub const KVS_UNITS_PER_MINUTE: u64 = 4_000;
pub const KVS_REQUESTS_PER_SECOND: u64 = 1_000;
pub const KVS_UNIT_BYTES: usize = 10 * 1024;

/// Units of one KVS request of `bytes` (at least one).
pub fn kvs_units(bytes: usize) -> u64 {
    bytes.div_ceil(KVS_UNIT_BYTES).max(1) as u64
}

/// The installation's KVS use in the current simulated minute and second, as Forge meters it;
/// past a budget the emulator answers 429 `RATE_LIMIT_EXCEEDED` until the window turns. The
/// time is the simulated clock plus the running invocation's modelled latency, so one
/// invocation's calls spread over its own duration while invocations at the same moment share
/// the minute.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KvsBudget {
    /// `false` only for harnesses that build a synthetic site at one instant (unrealistic
    /// bursts); every simulation of the app's own traffic runs with the budgets.
    #[serde(default = "yes")]
    pub enforced: bool,
    /// Units a minute, read and write each: Forge's 4,000, or less where a `dst` seed squeezes
    /// the budget so the app's own traffic meets 429s.
    #[serde(default = "forge_units")]
    pub limit: u64,
    pub minute: u64,
    pub read_units: u64,
    pub write_units: u64,
    pub second: u64,
    pub requests: u64,
    /// The busiest minute seen: read and write units (what the scale runs report).
    pub peak_read_units: u64,
    pub peak_write_units: u64,
    /// Requests answered 429 because a budget was spent.
    pub throttled: u64,
    /// The most operations any transaction held (Forge allows 25): how close the app runs.
    #[serde(default)]
    pub peak_tx_ops: u64,
    /// Units metered since the site began (Forge bills KVS by the GB read and written; a unit
    /// is at most 10 KB, so units × 10 KB bound the bill from above).
    #[serde(default)]
    pub total_read_units: u64,
    #[serde(default)]
    pub total_write_units: u64,
}

fn yes() -> bool {
    true
}

fn forge_units() -> u64 {
    KVS_UNITS_PER_MINUTE
}

impl Default for KvsBudget {
    fn default() -> Self {
        KvsBudget::new()
    }
}

impl KvsBudget {
    pub fn new() -> Self {
        KvsBudget {
            enforced: true,
            limit: KVS_UNITS_PER_MINUTE,
            minute: 0,
            read_units: 0,
            write_units: 0,
            second: 0,
            requests: 0,
            peak_read_units: 0,
            peak_write_units: 0,
            throttled: 0,
            peak_tx_ops: 0,
            total_read_units: 0,
            total_write_units: 0,
        }
    }
    fn roll(&mut self, at_ms: u64) {
        let (minute, second) = (at_ms / 60_000, at_ms / 1_000);
        if minute != self.minute {
            self.minute = minute;
            self.read_units = 0;
            self.write_units = 0;
        }
        if second != self.second {
            self.second = second;
            self.requests = 0;
        }
    }
    /// Admits one request at `at_ms` or answers how long to wait.
    fn admit(&mut self, at_ms: u64, write: bool) -> Result<(), HostError> {
        self.roll(at_ms);
        if !self.enforced {
            self.requests += 1;
            return Ok(());
        }
        let spent = if write {
            self.write_units
        } else {
            self.read_units
        };
        if spent >= self.limit {
            self.throttled += 1;
            let wait_ms = 60_000 - at_ms % 60_000;
            return Err(HostError::RateLimited {
                retry_after_s: wait_ms.div_ceil(1000) as u32,
            });
        }
        if self.requests >= KVS_REQUESTS_PER_SECOND {
            self.throttled += 1;
            return Err(HostError::RateLimited { retry_after_s: 1 });
        }
        self.requests += 1;
        Ok(())
    }
    fn charge(&mut self, read_units: u64, write_units: u64) {
        self.read_units += read_units;
        self.write_units += write_units;
        self.total_read_units += read_units;
        self.total_write_units += write_units;
        self.peak_read_units = self.peak_read_units.max(self.read_units);
        self.peak_write_units = self.peak_write_units.max(self.write_units);
    }
}

/// Everything that persists between CLI commands (saved to the state directory's database).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimState {
    pub site: Site,
    pub clock_ms: u64,
    pub rng: u64,
    pub next_id: u64,
    #[serde(default)]
    pub kvs: BTreeMap<String, Stored>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub queue: Vec<QueuedEvent>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub logs: Vec<LogLine>,
    /// Scheduled trigger key → the last time it fired.
    #[serde(default)]
    pub scheduled_last_ms: BTreeMap<String, u64>,
    #[serde(default)]
    pub jira_rate_limit: Option<JiraRateLimit>,
    #[serde(default)]
    pub jira_minute: (u64, u32),
    /// Requests received by the emulated customer endpoint (`hooks.ardsaor.io`): webhook
    /// deliveries and HTTP steps, as a receiver would log them.
    #[serde(default)]
    pub hook_inbox: Vec<HookRecord>,
    /// Emulated LLM providers (keys, planned failures, calls = billing).
    #[serde(default)]
    pub llm: crate::remotes::llm::LlmState,
    /// Emulated provisioning relay (apps, directories, groups, planned failures).
    #[serde(default)]
    pub relay: crate::remotes::relay::RelayState,
    /// Sustained service outages (windows of simulated time).
    #[serde(default)]
    pub outages: Vec<Outage>,
    /// Queue events the platform gave up on after the last retry, as Forge drops them.
    #[serde(default)]
    pub dropped: Vec<DroppedEvent>,
    /// Forge's per-minute KVS budgets, metered as the platform does.
    #[serde(default = "KvsBudget::new")]
    pub kvs_budget: KvsBudget,
}

/// An async event dropped after its last delivery (recorded so tests and `dst` can see it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DroppedEvent {
    pub at_ms: u64,
    pub queue_key: String,
    pub body: String,
    pub deliveries: u32,
    /// `crashed`, `trapped` or `retry-requested`: how the last delivery ended.
    pub last: String,
}

/// The customer endpoint that receives STEP_DECISION webhooks and HTTP step calls.
pub const HOOK_HOST: &str = "hooks.ardsaor.io";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookRecord {
    pub at_ms: u64,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl SimState {
    pub fn new(site: Site, seed: u64) -> anyhow::Result<Self> {
        let env = site.env.clone();
        let mut relay = crate::remotes::relay::RelayState::default();
        for (app, secret) in &site.relay.apps {
            relay.register_app(app, secret);
        }
        for (provider, emails) in &site.relay.directory {
            for e in emails {
                relay.add_user(provider, e);
            }
        }
        for g in &site.relay.groups {
            let id = relay.seed_group(&g.provider, &g.name, None);
            for m in &g.members {
                relay.drift_add(&id, m);
            }
        }
        let clock_ms = aiclearance::time::parse(&site.now)
            .ok_or_else(|| anyhow::anyhow!("site.now {:?} is not an RFC 3339 time", site.now))?;
        Ok(SimState {
            site,
            clock_ms,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            next_id: 1,
            kvs: BTreeMap::new(),
            secrets: BTreeMap::new(),
            queue: Vec::new(),
            env,
            logs: Vec::new(),
            scheduled_last_ms: BTreeMap::new(),
            jira_rate_limit: None,
            jira_minute: (0, 0),
            hook_inbox: Vec::new(),
            llm: Default::default(),
            relay,
            outages: Vec::new(),
            dropped: Vec::new(),
            kvs_budget: KvsBudget::new(),
        })
    }

    /// SplitMix64: deterministic under the seed.
    pub fn next_random(&mut self) -> u64 {
        crate::faults::splitmix64(&mut self.rng)
    }

    fn live(&self, key: &str) -> Option<&Stored> {
        self.kvs
            .get(key)
            .filter(|s| s.expires_at_ms.is_none_or(|t| t > self.clock_ms))
    }
}

/// Who is running: set for the duration of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Running {
    pub function: String,
    pub account_id: Option<String>,
    pub deadline_ms: u64,
    pub started: Option<std::time::Instant>,
    pub log_bytes: usize,
    /// Wall time spent inside host calls (so guest time = total − host time).
    pub host_ns: u64,
    /// Simulated time the invocation has spent in host calls: `remaining-ms` and the deadline
    /// kill read this, not the wall clock, so deadline paths replay deterministically.
    pub sim_ms: u64,
}

/// Simulated latency of one host call, by service: small next to the 25 s / 900 s deadlines, so
/// only long loops (budgeted prunes, sweeps) and `slow` faults reach them.
pub fn latency_ms(service: Service) -> u64 {
    match service {
        Service::Kvs | Service::Secrets => 4,
        Service::Queue => 8,
        Service::Jira => 40,
        Service::Fetch | Service::Llm => 120,
    }
}

pub struct Emulator {
    pub state: SimState,
    pub manifest: Manifest,
    pub meter: Meter,
    pub running: Running,
}

fn check_key(key: &str) -> Result<(), HostError> {
    if key.len() > KEY_MAX {
        return Err(HostError::Invalid(format!(
            "KEY_TOO_LONG: {} > {KEY_MAX}",
            key.len()
        )));
    }
    let ok_char = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, ':' | '.' | '_' | '-' | '#')
            || c.is_ascii_whitespace()
    };
    if key.is_empty() || key.chars().all(char::is_whitespace) || !key.chars().all(ok_char) {
        return Err(HostError::Invalid(format!("INVALID_KEY: {key:?}")));
    }
    Ok(())
}

/// Forge's value limit applies to what the deployed app stores: every record is the custom
/// entity `record` `{key, text, digest}` (forge/README.md), so the whole entity is measured.
fn check_value(key: &str, value: &str) -> Result<(), HostError> {
    if value.len() > VALUE_MAX {
        return Err(HostError::TooLarge(format!(
            "MAX_SIZE: {} bytes > {VALUE_MAX}",
            value.len()
        )));
    }
    let entity = serde_json::json!({"key": key, "text": value, "digest": "0".repeat(64)});
    let n = serde_json::to_string(&entity)
        .map(|t| t.len())
        .unwrap_or(usize::MAX);
    if n > VALUE_MAX {
        return Err(HostError::TooLarge(format!(
            "MAX_SIZE: the entity is {n} bytes > {VALUE_MAX}"
        )));
    }
    let v: serde_json::Value = serde_json::from_str(value)
        .map_err(|e| HostError::Invalid(format!("value is not JSON: {e}")))?;
    if depth(&v) > DEPTH_MAX {
        return Err(HostError::Invalid(format!(
            "MAX_DEPTH: nesting over {DEPTH_MAX}"
        )));
    }
    Ok(())
}

fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Emulator {
    pub fn new(state: SimState, manifest: Manifest) -> Self {
        Emulator {
            state,
            manifest,
            meter: Meter::default(),
            running: Running::default(),
        }
    }

    /// Starts an invocation: a fresh meter with the plan, a deadline, a cursor nonce.
    pub fn begin(
        &mut self,
        function: &str,
        account_id: Option<String>,
        timeout_s: u64,
        plan: FaultPlan,
    ) {
        self.meter = Meter::new(plan);
        self.running = Running {
            function: function.into(),
            account_id,
            deadline_ms: timeout_s * 1000,
            started: Some(std::time::Instant::now()),
            log_bytes: 0,
            host_ns: 0,
            sim_ms: 0,
        };
    }

    pub fn end(&mut self) -> CallCounts {
        self.running.started = None;
        std::mem::take(&mut self.meter.counts)
    }

    /// Counts a call against the plan, the outages and the deadline; the fault it returns
    /// replaces the call. Faults that act after the call applied wait for `finish`.
    fn enter(&mut self, service: Service, op: &str) -> Result<Option<Fault>, Crash> {
        let planned = self.meter.enter(service, op)?;
        let at_call = self.meter.counts.total;
        self.running.sim_ms += latency_ms(service);
        if self.running.deadline_ms > 0 && self.running.sim_ms > self.running.deadline_ms {
            return Err(Crash {
                at_call,
                when: CrashWhen::Deadline,
            });
        }
        if planned.is_some() || self.meter.after.is_some() {
            return Ok(planned);
        }
        let now = self.state.clock_ms;
        let outage = self
            .state
            .outages
            .iter()
            .find(|o| o.service == service && o.from_ms <= now && now < o.until_ms)
            .map(|o| o.fault.clone());
        match outage {
            Some(Fault::Slow { ms }) => {
                self.meter.after = Some(Fault::Slow { ms });
                Ok(None)
            }
            other => Ok(other),
        }
    }

    /// Applies what waits after a call took effect: its answer lost, the instance killed, or
    /// the call having taken longer on the simulated clock.
    fn finish<T>(&mut self, r: Result<T, HostError>) -> Call<T> {
        let at_call = self.meter.counts.total;
        match self.meter.after.take() {
            None => Ok(r),
            Some(Fault::LostReply) => Ok(Err(HostError::Timeout)),
            Some(Fault::CrashAfter) => Err(Crash {
                at_call,
                when: CrashWhen::After,
            }),
            Some(Fault::Slow { ms }) => {
                self.running.sim_ms += ms;
                if self.running.deadline_ms > 0 && self.running.sim_ms > self.running.deadline_ms {
                    return Err(Crash {
                        at_call,
                        when: CrashWhen::Deadline,
                    });
                }
                Ok(r)
            }
            Some(_) => Ok(r),
        }
    }

    // ---- KVS ------------------------------------------------------------------------------

    /// The simulated instant of the running call (clock plus the invocation's latency so far).
    fn at_ms(&self) -> u64 {
        self.state.clock_ms + self.running.sim_ms
    }

    /// Forge's KVS budget gate: a request over the minute's units (or the second's requests)
    /// is answered 429 and applies nothing.
    fn admit_kvs(&mut self, write: bool) -> Result<(), HostError> {
        let at = self.at_ms();
        self.state.kvs_budget.admit(at, write)
    }

    pub fn kvs_get(&mut self, key: &str) -> Call<Option<String>> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.get")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(false) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_reads += 1;
        let r = check_key(key).map(|_| self.state.live(key).map(|s| s.value.clone()));
        let bytes = r
            .as_ref()
            .ok()
            .and_then(|v| v.as_ref())
            .map_or(0, |v| key.len() + v.len());
        self.state.kvs_budget.charge(kvs_units(bytes), 0);
        self.finish(r)
    }

    pub fn kvs_set(&mut self, key: &str, value: &str, o: SetOptions) -> Call<()> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.set")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(true) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_writes += 1;
        self.state
            .kvs_budget
            .charge(0, kvs_units(key.len() + value.len()));
        let r = (|| {
            check_key(key)?;
            check_value(key, value)?;
            if o.fail_if_exists && self.state.live(key).is_some() {
                return Err(HostError::Conflict(key.to_string()));
            }
            let expires_at_ms = o.ttl_seconds.map(|t| self.state.clock_ms + t * 1000);
            self.state.kvs.insert(
                key.to_string(),
                Stored {
                    value: value.to_string(),
                    expires_at_ms,
                },
            );
            Ok(())
        })();
        self.finish(r)
    }

    pub fn kvs_delete(&mut self, key: &str) -> Call<()> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.delete")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(true) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_writes += 1;
        self.state.kvs_budget.charge(0, 1);
        let r = check_key(key).map(|_| {
            self.state.kvs.remove(key);
        });
        self.finish(r)
    }

    pub fn kvs_query(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Call<QueryPage> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.query")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(false) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_reads += 1;
        let r = (|| {
            check_key(prefix)?;
            if !(1..=PAGE_MAX).contains(&limit) {
                return Err(HostError::Invalid(format!(
                    "query limit {limit} is outside 1..={PAGE_MAX}"
                )));
            }
            let start_after = match cursor {
                None => None,
                Some(c) => Some(self.decode_cursor(c)?),
            };
            let now = self.state.clock_ms;
            let mut entries = Vec::new();
            let mut more = false;
            let range = match &start_after {
                Some(k) => self.state.kvs.range::<String, _>((
                    std::ops::Bound::Excluded(k.clone()),
                    std::ops::Bound::Unbounded,
                )),
                None => self.state.kvs.range::<String, _>(prefix.to_string()..),
            };
            for (k, s) in range {
                if !k.starts_with(prefix) {
                    break;
                }
                if s.expires_at_ms.is_some_and(|t| t <= now) {
                    continue;
                }
                if entries.len() == limit as usize {
                    more = true;
                    break;
                }
                entries.push(Entry {
                    key: k.clone(),
                    value: s.value.clone(),
                });
            }
            let next_cursor = if more {
                entries.last().map(|e| self.encode_cursor(&e.key))
            } else {
                None
            };
            let bytes = entries.iter().map(|e| e.key.len() + e.value.len()).sum();
            self.state.kvs_budget.charge(kvs_units(bytes), 0);
            Ok(QueryPage {
                entries,
                next_cursor,
            })
        })();
        self.finish(r)
    }

    /// Cursors are opaque and short-lived: good for paging through a result now (also across a
    /// UI's next-page call), useless if persisted — they expire after `CURSOR_TTL_MS`.
    fn encode_cursor(&self, key: &str) -> String {
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{:016x}{hex}", self.state.clock_ms)
    }

    fn decode_cursor(&self, c: &str) -> Result<String, HostError> {
        let bad = || {
            HostError::Invalid(
                "the cursor is malformed or expired (cursors must not be persisted)".into(),
            )
        };
        if c.len() < 16 {
            return Err(bad());
        }
        let issued = u64::from_str_radix(&c[..16], 16).map_err(|_| bad())?;
        if issued > self.state.clock_ms || self.state.clock_ms - issued > CURSOR_TTL_MS {
            return Err(bad());
        }
        let hex = &c[16..];
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())
    }

    pub fn kvs_batch_get(&mut self, keys: &[String]) -> Call<Vec<Entry>> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.batch-get")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(false) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_reads += 1;
        let r = (|| {
            if keys.len() > TX_MAX_OPS {
                return Err(HostError::Invalid(format!(
                    "batch of {} keys; Forge allows {TX_MAX_OPS}",
                    keys.len()
                )));
            }
            let mut out = Vec::new();
            for k in keys {
                check_key(k)?;
                if let Some(s) = self.state.live(k) {
                    out.push(Entry {
                        key: k.clone(),
                        value: s.value.clone(),
                    });
                }
            }
            // Each item is metered as its own read (rounded up), as Forge meters batch items.
            let units: u64 = out
                .iter()
                .map(|e| kvs_units(e.key.len() + e.value.len()))
                .sum();
            self.state.kvs_budget.charge(units.max(1), 0);
            Ok(out)
        })();
        self.finish(r)
    }

    pub fn kvs_transact(&mut self, ops: &[TxOp]) -> Call<()> {
        if let Some(f) = self.enter(Service::Kvs, "kvs.transact")? {
            return Ok(Err(as_host_error(&f)));
        }
        if let Err(e) = self.admit_kvs(true) {
            return Ok(Err(e));
        }
        self.meter.counts.kvs_transactions += 1;
        let budget = &mut self.state.kvs_budget;
        budget.peak_tx_ops = budget.peak_tx_ops.max(ops.len() as u64);
        let r = (|| {
            if ops.is_empty() || ops.len() > TX_MAX_OPS {
                return Err(HostError::Invalid(format!(
                    "a transaction holds 1..={TX_MAX_OPS} operations, not {}",
                    ops.len()
                )));
            }
            let mut seen = std::collections::BTreeSet::new();
            let mut bytes = 0;
            for op in ops {
                check_key(op.key())?;
                if !seen.insert(op.key()) {
                    return Err(HostError::Invalid(format!(
                        "key {} appears twice in one transaction",
                        op.key()
                    )));
                }
                if let TxOp::Set(e) | TxOp::SetIf(e, _) = op {
                    check_value(&e.key, &e.value)?;
                    bytes += e.key.len() + e.value.len();
                }
            }
            if bytes > TX_MAX_BYTES {
                return Err(HostError::TooLarge(format!("transaction of {bytes} bytes")));
            }
            // All conditions are evaluated against the state before any write applies.
            for op in ops {
                let cond = match op {
                    TxOp::Check(_, c) | TxOp::SetIf(_, c) | TxOp::DeleteIf(_, c) => c,
                    _ => continue,
                };
                let current = self.state.live(op.key()).map(|s| s.value.as_str());
                let holds = match cond {
                    Condition::Absent => current.is_none(),
                    Condition::Present => current.is_some(),
                    Condition::Equals(v) => current == Some(v.as_str()),
                };
                if !holds {
                    return Err(HostError::Conflict(op.key().to_string()));
                }
            }
            for op in ops {
                match op {
                    TxOp::Set(e) | TxOp::SetIf(e, _) => {
                        self.state.kvs.insert(
                            e.key.clone(),
                            Stored {
                                value: e.value.clone(),
                                expires_at_ms: None,
                            },
                        );
                    }
                    TxOp::Delete(k) | TxOp::DeleteIf(k, _) => {
                        self.state.kvs.remove(k);
                    }
                    TxOp::Check(..) => {}
                }
            }
            self.meter.counts.kvs_writes +=
                ops.iter().filter(|o| !matches!(o, TxOp::Check(..))).count() as u64;
            // Every operation is metered, each rounded up to 10 KB; a check is a read.
            let (mut reads, mut writes) = (0, 0);
            for op in ops {
                match op {
                    TxOp::Set(e) | TxOp::SetIf(e, _) => {
                        writes += kvs_units(e.key.len() + e.value.len())
                    }
                    TxOp::Delete(_) | TxOp::DeleteIf(..) => writes += 1,
                    TxOp::Check(..) => reads += 1,
                }
            }
            self.state.kvs_budget.charge(reads, writes);
            Ok(())
        })();
        self.finish(r)
    }

    // ---- Secrets --------------------------------------------------------------------------

    pub fn secret_get(&mut self, key: &str) -> Call<Option<String>> {
        if let Some(f) = self.enter(Service::Secrets, "secrets.get")? {
            return Ok(Err(as_host_error(&f)));
        }
        let r = check_key(key).map(|_| self.state.secrets.get(key).cloned());
        self.finish(r)
    }

    pub fn secret_set(&mut self, key: &str, value: &str) -> Call<()> {
        if let Some(f) = self.enter(Service::Secrets, "secrets.set")? {
            return Ok(Err(as_host_error(&f)));
        }
        let r = (|| {
            check_key(key)?;
            if value.len() > VALUE_MAX {
                return Err(HostError::TooLarge("MAX_SIZE".into()));
            }
            self.state
                .secrets
                .insert(key.to_string(), value.to_string());
            Ok(())
        })();
        self.finish(r)
    }

    pub fn secret_delete(&mut self, key: &str) -> Call<()> {
        if let Some(f) = self.enter(Service::Secrets, "secrets.delete")? {
            return Ok(Err(as_host_error(&f)));
        }
        let r = check_key(key).map(|_| {
            self.state.secrets.remove(key);
        });
        self.finish(r)
    }

    // ---- Jira -----------------------------------------------------------------------------

    pub fn jira(&mut self, principal: Principal, req: &HttpRequest) -> Call<HttpResponse> {
        let path = req.url.split('?').next().unwrap_or("");
        let op = format!("jira.{} {}", req.method, crate::jira::route_name(path));
        let fault = self.enter(Service::Jira, &op)?;
        if let Some(answer) = fault.as_ref().and_then(http_fault) {
            return Ok(answer);
        }
        if let Some(limit) = self.state.jira_rate_limit.clone() {
            let minute = self.state.clock_ms / 60_000;
            if self.state.jira_minute.0 != minute {
                self.state.jira_minute = (minute, 0);
            }
            self.state.jira_minute.1 += 1;
            if self.state.jira_minute.1 > limit.per_minute {
                return Ok(Ok(crate::jira::error_response(
                    429,
                    Some(limit.retry_after_s),
                    "rate limit exceeded",
                )));
            }
        }
        let account = self.running.account_id.clone();
        if principal == Principal::User && account.is_none() {
            return Ok(Err(HostError::Forbidden(
                "asUser() needs a user context; this invocation has none".into(),
            )));
        }
        let scopes = self.manifest.scopes.clone();
        let now = self.state.clock_ms;
        let id = self.state.next_id;
        let (resp, used_ids) = crate::jira::handle(
            &mut self.state.site,
            &scopes,
            principal,
            account.as_deref(),
            req,
            now,
            id,
        );
        self.state.next_id += used_ids;
        self.finish(Ok(resp))
    }

    // ---- Fetch ----------------------------------------------------------------------------

    pub fn fetch(&mut self, req: &HttpRequest) -> Call<HttpResponse> {
        let host = url_host(&req.url).unwrap_or_default();
        let fault = self.enter(Service::Fetch, &format!("fetch.{} {host}", req.method))?;
        if !req.url.starts_with("https://") {
            return Ok(Err(HostError::Forbidden(format!(
                "only https:// egress is allowed: {}",
                req.url.split('?').next().unwrap_or("")
            ))));
        }
        if !self.manifest.egress_allows(&host) {
            return Ok(Err(HostError::Forbidden(format!(
                "{host} is not declared in permissions.external.fetch.backend"
            ))));
        }
        if let Some(answer) = fault.as_ref().and_then(http_fault) {
            return Ok(answer);
        }
        if host == HOOK_HOST {
            self.state.hook_inbox.push(HookRecord {
                at_ms: self.state.clock_ms,
                method: req.method.clone(),
                url: req.url.clone(),
                headers: req.headers.clone(),
                body: req.body.clone(),
            });
            let n = self.state.hook_inbox.len();
            return self.finish(Ok(HttpResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: format!("{{\"received\":true,\"id\":{n}}}"),
            }));
        }
        let now = self.state.clock_ms;
        let answered = if crate::remotes::llm::Provider::from_host(&host).is_some() {
            Some(crate::remotes::llm::answer(req, &mut self.state.llm, now))
        } else if host.ends_with(".ardsaor.io") {
            Some(crate::remotes::relay::answer(
                req,
                &mut self.state.relay,
                now,
            ))
        } else {
            None
        };
        match answered {
            Some(Ok(r)) => self.finish(Ok(r)),
            Some(Err(crate::remotes::Timeout)) => self.finish(Err(HostError::Timeout)),
            None => Ok(Err(HostError::Unavailable(format!(
                "no emulated service answers at {host}"
            )))),
        }
    }

    // ---- Forge LLMs -----------------------------------------------------------------------

    /// `@forge/llm` `chat`: no egress and no key; the manifest must declare the `llm` module
    /// with the model's family. Counted as its own service (`llm`) and rate limited per
    /// installation (100 requests a minute) by the emulated platform.
    pub fn llm_chat(&mut self, prompt: &str) -> Call<String> {
        let fault = self.enter(Service::Llm, "llm.chat")?;
        if let Some(f) = fault {
            return Ok(Err(as_host_error(&f)));
        }
        let now = self.at_ms();
        let families = self.manifest.llm_families.clone();
        match crate::remotes::llm::forge_chat(prompt, &families, &mut self.state.llm, now) {
            Ok(r) => self.finish(r),
            Err(crate::remotes::Timeout) => self.finish(Err(HostError::Timeout)),
        }
    }

    // ---- Queue ----------------------------------------------------------------------------

    pub fn queue_push(&mut self, queue_key: &str, events: &[String], delay_s: u32) -> Call<()> {
        if let Some(f) = self.enter(Service::Queue, "queue.push")? {
            return Ok(Err(as_host_error(&f)));
        }
        let r = (|| {
            if !self.manifest.consumers.contains_key(queue_key) {
                return Err(HostError::Invalid(format!(
                    "no consumer module in manifest.yml reads queue {queue_key:?}"
                )));
            }
            if events.is_empty() || events.len() > QUEUE_MAX_EVENTS {
                return Err(HostError::Invalid(format!(
                    "a push holds 1..={QUEUE_MAX_EVENTS} events, not {}",
                    events.len()
                )));
            }
            let bytes: usize = events.iter().map(String::len).sum();
            if bytes > QUEUE_MAX_BYTES {
                return Err(HostError::TooLarge(format!(
                    "push of {bytes} bytes > {QUEUE_MAX_BYTES}"
                )));
            }
            if delay_s > QUEUE_MAX_DELAY_S {
                return Err(HostError::Invalid(format!(
                    "delay {delay_s}s > {QUEUE_MAX_DELAY_S}s"
                )));
            }
            for body in events {
                let id = self.state.next_id;
                self.state.next_id += 1;
                self.state.queue.push(QueuedEvent {
                    id,
                    queue_key: queue_key.into(),
                    body: body.clone(),
                    due_ms: self.state.clock_ms + delay_s as u64 * 1000,
                    deliveries: 0,
                });
            }
            Ok(())
        })();
        self.finish(r)
    }

    // ---- Runtime, log, config (not faultable: they are local to the function) -------------

    pub fn now_ms(&self) -> u64 {
        self.state.clock_ms
    }

    /// What `getAppContext().invocationRemainingTimeInMillis()` answers, on the simulated
    /// clock: the deadline less the latency of the calls made so far (and any `slow` faults).
    pub fn remaining_ms(&self) -> u64 {
        self.running.deadline_ms.saturating_sub(self.running.sim_ms)
    }

    pub fn random_bytes(&mut self, len: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(len as usize);
        while out.len() < len as usize {
            out.extend_from_slice(&self.state.next_random().to_le_bytes());
        }
        out.truncate(len as usize);
        out
    }

    pub fn log(&mut self, level: Level, message: &str) {
        if self.running.log_bytes >= LOG_MAX_BYTES {
            return;
        }
        self.running.log_bytes += message.len();
        let level = format!("{level:?}").to_lowercase();
        self.state.logs.push(LogLine {
            at_ms: self.state.clock_ms,
            function: self.running.function.clone(),
            level,
            message: message.chars().take(4_000).collect(),
        });
        if self.state.logs.len() > LOG_KEEP {
            let drop = self.state.logs.len() - LOG_KEEP;
            self.state.logs.drain(..drop);
        }
    }

    pub fn env(&self, name: &str) -> Option<String> {
        self.state.env.get(name).cloned()
    }
}

/// What an HTTP service (Jira, fetch) answers for a planned fault.
fn http_fault(fault: &Fault) -> Option<Result<HttpResponse, HostError>> {
    match fault {
        Fault::Timeout => Some(Err(HostError::Timeout)),
        Fault::Status {
            status,
            retry_after_s,
        } => Some(Ok(crate::jira::error_response(
            *status,
            *retry_after_s,
            "injected fault",
        ))),
        Fault::Crash | Fault::CrashAfter | Fault::LostReply | Fault::Slow { .. } => None,
    }
}

/// The host a URL goes to, read by the WHATWG URL standard as Forge's Node runtime reads it
/// (`https://evil.com\@hooks.ardsaor.io/` goes to `evil.com`).
pub fn url_host(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}
