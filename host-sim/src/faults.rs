//! The choke point: every host call of an invocation passes `Meter::enter`, which counts it and
//! consults the fault plan: crash the invocation before or after call N; make a service answer
//! 429 / 5xx / timeout on its Nth call; let the call take effect and lose the answer; slow a call
//! down on the simulated clock; or lose the acknowledgement after the invocation's last call.
//! Plans can be aimed at a named invocation (`Target`) and outages last a window of simulated time.

use aiclearance::host::HostError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    Kvs,
    Secrets,
    Jira,
    Fetch,
    Queue,
    /// Forge LLMs (`@forge/llm`): no egress, its own platform service.
    Llm,
}

/// What a planned fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Fault {
    /// The function instance dies before this call happens (nothing of it is applied).
    Crash,
    /// The call takes effect, then the function instance dies before it sees the answer.
    CrashAfter,
    /// The call takes effect and its answer is lost: the caller sees a timeout (a KVS write or
    /// transaction that applied, a queue push that enqueued, a Jira comment that was posted, an
    /// LLM call that was billed, a webhook that was delivered).
    LostReply,
    /// The call succeeds but takes this long on the simulated clock (deadline paths).
    Slow {
        ms: u64,
    },
    /// The service answers with this HTTP status (Jira/fetch) or the matching host error.
    Status {
        status: u16,
        retry_after_s: Option<u32>,
    },
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFault {
    pub service: Service,
    /// 1-based: the Nth call to this service within the invocation.
    pub nth: u64,
    pub fault: Fault,
}

/// Faults for one invocation. `crash_at_call` is 1-based over all host calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultPlan {
    pub crash_at_call: Option<u64>,
    /// Host call N (1-based, any service) takes effect, then the instance dies.
    #[serde(default)]
    pub crash_after_call: Option<u64>,
    pub service_faults: Vec<ServiceFault>,
    /// The invocation runs to the end, then dies before the platform hears it finished: the work
    /// is done, the acknowledgement is lost (a queue event or trigger is delivered again).
    #[serde(default)]
    pub crash_after_last: bool,
}

/// Which invocation a plan is for: every field given must match; `nth` counts matching
/// invocations from 1 (the plan fires on that one and is spent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The manifest function key (`approval-effects-fn`, `resolver`, …).
    #[serde(default)]
    pub function: Option<String>,
    /// A fragment of the invocation's label: `queue approval-effects`, `resolver approvals.decide`,
    /// `scheduled job-runner`, `avi:jira:created:issue AIR-3`.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "one")]
    pub nth: u64,
}

fn one() -> u64 {
    1
}

impl Target {
    /// A label fragment matches the whole label, one of its words (`approval-effects`,
    /// `AIR-1` — not `AIR-10`), or its leading words (`queue approval-effects`).
    pub fn matches(&self, function: &str, label: &str) -> bool {
        self.function.as_deref().is_none_or(|f| f == function)
            && self.label.as_deref().is_none_or(|l| {
                label == l
                    || label.split_whitespace().any(|w| w == l)
                    || label
                        .strip_prefix(l)
                        .is_some_and(|rest| rest.starts_with(' '))
            })
    }
}

/// A plan waiting for its invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmedPlan {
    pub target: Target,
    pub plan: FaultPlan,
    /// Matching invocations seen so far.
    #[serde(default)]
    pub seen: u64,
}

/// A service down (or answering with an error) for a window of simulated time, across
/// invocations: sustained KVS, secrets or Jira outages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outage {
    pub service: Service,
    pub from_ms: u64,
    pub until_ms: u64,
    pub fault: Fault,
}

impl FaultPlan {
    pub fn crash_at(n: u64) -> Self {
        FaultPlan {
            crash_at_call: Some(n),
            ..Default::default()
        }
    }
    pub fn service(service: Service, nth: u64, fault: Fault) -> Self {
        FaultPlan {
            service_faults: vec![ServiceFault {
                service,
                nth,
                fault,
            }],
            ..Default::default()
        }
    }
    /// The invocation completes its work and the acknowledgement is lost.
    pub fn ack_lost() -> Self {
        FaultPlan {
            crash_after_last: true,
            ..Default::default()
        }
    }
    /// The plan in `--fault` notation (what `parse_armed` reads back).
    pub fn notation(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.crash_at_call {
            parts.push(format!("crash@{k}"));
        }
        if let Some(k) = self.crash_after_call {
            parts.push(format!("crash-after@{k}"));
        }
        for f in &self.service_faults {
            let svc = match f.service {
                Service::Kvs => "kvs",
                Service::Secrets => "secrets",
                Service::Jira => "jira",
                Service::Fetch => "fetch",
                Service::Queue => "queue",
                Service::Llm => "llm",
            };
            parts.push(format!("{svc}#{}={}", f.nth, fault_notation(&f.fault)));
        }
        if self.crash_after_last {
            parts.push("ack-lost".into());
        }
        parts.join(", ")
    }

    pub fn is_empty(&self) -> bool {
        self.crash_at_call.is_none()
            && self.crash_after_call.is_none()
            && self.service_faults.is_empty()
            && !self.crash_after_last
    }
}

/// The invocation was killed by the plan or by the platform's deadline (a trap in wasm, an
/// unwinding sentinel natively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    pub at_call: u64,
    pub when: CrashWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashWhen {
    /// Before the call: nothing of it applied.
    Before,
    /// After the call applied, before the guest saw the answer.
    After,
    /// The function ran past its deadline (25 s / 900 s) on the simulated clock and was killed.
    Deadline,
}

impl Crash {
    pub fn before(at_call: u64) -> Self {
        Crash {
            at_call,
            when: CrashWhen::Before,
        }
    }
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.when {
            CrashWhen::Before => write!(f, "planned crash before host call {}", self.at_call),
            CrashWhen::After => write!(f, "planned crash after host call {}", self.at_call),
            CrashWhen::Deadline => write!(
                f,
                "killed at the invocation deadline (host call {})",
                self.at_call
            ),
        }
    }
}

impl std::error::Error for Crash {}

/// Host calls made by one invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCounts {
    pub total: u64,
    pub by_service: BTreeMap<Service, u64>,
    /// Per operation, e.g. `kvs.batch-get`, `jira.GET /rest/api/3/issue`.
    pub by_op: BTreeMap<String, u64>,
    pub kvs_reads: u64,
    pub kvs_writes: u64,
    pub kvs_transactions: u64,
}

impl CallCounts {
    pub fn service(&self, s: Service) -> u64 {
        self.by_service.get(&s).copied().unwrap_or(0)
    }
    pub fn add(&mut self, other: &CallCounts) {
        self.total += other.total;
        for (k, v) in &other.by_service {
            *self.by_service.entry(*k).or_default() += v;
        }
        for (k, v) in &other.by_op {
            *self.by_op.entry(k.clone()).or_default() += v;
        }
        self.kvs_reads += other.kvs_reads;
        self.kvs_writes += other.kvs_writes;
        self.kvs_transactions += other.kvs_transactions;
    }
}

#[derive(Debug, Default)]
pub struct Meter {
    pub counts: CallCounts,
    pub plan: FaultPlan,
    /// A fault that applies once the current call has taken effect.
    pub after: Option<Fault>,
}

impl Meter {
    pub fn new(plan: FaultPlan) -> Self {
        Meter {
            counts: CallCounts::default(),
            plan,
            after: None,
        }
    }

    /// Counts one call; returns the fault that replaces it, or `Err(Crash)`. Faults that act
    /// after the call applied (`CrashAfter`, `LostReply`) and `Slow` wait in `after`.
    pub fn enter(&mut self, service: Service, op: &str) -> Result<Option<Fault>, Crash> {
        self.after = None;
        self.counts.total += 1;
        let n = self.counts.total;
        let nth = {
            let c = self.counts.by_service.entry(service).or_default();
            *c += 1;
            *c
        };
        *self.counts.by_op.entry(op.to_string()).or_default() += 1;
        if self.plan.crash_at_call == Some(n) {
            return Err(Crash::before(n));
        }
        if self.plan.crash_after_call == Some(n) {
            self.after = Some(Fault::CrashAfter);
        }
        let planned = self
            .plan
            .service_faults
            .iter()
            .find(|f| f.service == service && f.nth == nth)
            .map(|f| f.fault.clone());
        match planned {
            // A crash planned at "the nth call of a service" is a crash at that call.
            Some(Fault::Crash) => Err(Crash::before(n)),
            Some(f @ (Fault::CrashAfter | Fault::LostReply | Fault::Slow { .. })) => {
                self.after = Some(f);
                Ok(None)
            }
            other => Ok(other),
        }
    }
}

fn fault_notation(f: &Fault) -> String {
    match f {
        Fault::Crash => "crash".into(),
        Fault::CrashAfter => "crash-after".into(),
        Fault::LostReply => "lost".into(),
        Fault::Timeout => "timeout".into(),
        Fault::Slow { ms } => format!("slow:{ms}"),
        Fault::Status {
            status,
            retry_after_s: Some(r),
        } => format!("{status}:{r}"),
        Fault::Status { status, .. } => status.to_string(),
    }
}

/// The host error a planned fault becomes for services that do not speak HTTP.
pub fn as_host_error(fault: &Fault) -> HostError {
    match fault {
        Fault::Timeout => HostError::Timeout,
        Fault::Status {
            status: 429,
            retry_after_s,
        } => HostError::RateLimited {
            retry_after_s: retry_after_s.unwrap_or(1),
        },
        Fault::Status { status, .. } => HostError::Unavailable(format!("HTTP {status}")),
        Fault::Crash | Fault::CrashAfter => HostError::Unavailable("crash".into()),
        Fault::LostReply => HostError::Timeout,
        Fault::Slow { .. } => HostError::Timeout,
    }
}

/// SplitMix64: every seeded draw in the simulator (ids, faults, interleavings, workloads) comes
/// from this one generator, so a seed means the same thing everywhere.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---- The CLI's and scenarios' notation ------------------------------------------------------

/// `kvs`, `secrets`, `jira`, `fetch`, `queue`, `llm`.
pub fn parse_service(s: &str) -> Result<Service, String> {
    Ok(match s.trim() {
        "kvs" => Service::Kvs,
        "secrets" => Service::Secrets,
        "jira" => Service::Jira,
        "fetch" => Service::Fetch,
        "queue" => Service::Queue,
        "llm" => Service::Llm,
        other => {
            return Err(format!(
                "unknown service {other:?} (kvs, secrets, jira, fetch, queue, llm)"
            ))
        }
    })
}

/// `crash`, `crash-after`, `lost`, `timeout`, `slow:MS`, `STATUS` or `STATUS:RETRY_AFTER_S`.
pub fn parse_fault(s: &str) -> Result<Fault, String> {
    let s = s.trim();
    Ok(match s {
        "crash" => Fault::Crash,
        "crash-after" => Fault::CrashAfter,
        "lost" => Fault::LostReply,
        "timeout" => Fault::Timeout,
        _ if s.starts_with("slow:") => Fault::Slow {
            ms: s[5..]
                .parse()
                .map_err(|_| format!("{s:?}: slow:MS takes milliseconds"))?,
        },
        _ => {
            let (status, retry) = match s.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (s, None),
            };
            let status: u16 = status.parse().map_err(|_| {
                format!("unknown fault {s:?} (crash, crash-after, lost, timeout, slow:MS, STATUS[:RETRY_AFTER])")
            })?;
            if !(400..=599).contains(&status) {
                return Err(format!("{status} is not an error status"));
            }
            let retry_after_s = retry
                .map(|r| {
                    r.parse()
                        .map_err(|_| format!("{r:?} is not a Retry-After in seconds"))
                })
                .transpose()?;
            Fault::Status {
                status,
                retry_after_s,
            }
        }
    })
}

/// One `--fault` flag: `[TARGET =>] FAULT, FAULT, …` where TARGET is a label fragment with an
/// optional `#N` (the Nth matching invocation) or `fn=FUNCTION_KEY`, and FAULT is `crash@K`,
/// `crash-after@K` (K counts all host calls), `ack-lost`, or `SERVICE#N=KIND` (the Nth call to a
/// service). Examples: `queue approval-effects#2 => kvs#3=lost`, `fetch#1=429:30`,
/// `resolver approvals.decide => ack-lost`.
pub fn parse_armed(spec: &str) -> Result<ArmedPlan, String> {
    let (target, faults) = match spec.split_once("=>") {
        Some((t, f)) => (Some(t.trim()), f),
        None => (None, spec),
    };
    let mut t = Target {
        nth: 1,
        ..Default::default()
    };
    if let Some(target) = target {
        let (name, nth) = match target.rsplit_once('#') {
            Some((a, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => (
                a.trim(),
                n.parse().map_err(|_| format!("bad #N in {target:?}"))?,
            ),
            _ => (target, 1),
        };
        if nth == 0 {
            return Err("#N counts from 1".into());
        }
        t.nth = nth;
        match name.strip_prefix("fn=") {
            Some(f) => t.function = Some(f.trim().to_string()),
            None if !name.is_empty() => t.label = Some(name.to_string()),
            None => {}
        }
    }
    let mut plan = FaultPlan::default();
    for part in faults.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "ack-lost" {
            plan.crash_after_last = true;
        } else if let Some(k) = part.strip_prefix("crash@") {
            plan.crash_at_call = Some(
                k.parse()
                    .map_err(|_| format!("bad call number in {part:?}"))?,
            );
        } else if let Some(k) = part.strip_prefix("crash-after@") {
            plan.crash_after_call = Some(
                k.parse()
                    .map_err(|_| format!("bad call number in {part:?}"))?,
            );
        } else if let Some((svc, kind)) = part.split_once('=') {
            let (svc, nth) = match svc.split_once('#') {
                Some((s, n)) => (
                    s,
                    n.trim()
                        .parse()
                        .map_err(|_| format!("bad #N in {part:?}"))?,
                ),
                None => (svc, 1),
            };
            plan.service_faults.push(ServiceFault {
                service: parse_service(svc)?,
                nth,
                fault: parse_fault(kind)?,
            });
        } else {
            return Err(format!(
                "unknown fault {part:?}: use crash@K, crash-after@K, ack-lost or SERVICE#N=KIND"
            ));
        }
    }
    if plan.is_empty() {
        return Err(format!("{spec:?} plans no fault"));
    }
    Ok(ArmedPlan {
        target: t,
        plan,
        seen: 0,
    })
}

/// One `--outage` flag: `SERVICE=KIND@FROM..UNTIL`, times as durations after the run starts
/// (`jira=503@1h..3h`, `kvs=timeout@0s..10m`).
pub fn parse_outage(spec: &str, start_ms: u64) -> Result<Outage, String> {
    let (svc, rest) = spec
        .split_once('=')
        .ok_or("an outage is SERVICE=KIND@FROM..UNTIL")?;
    let (kind, window) = rest
        .split_once('@')
        .ok_or("an outage is SERVICE=KIND@FROM..UNTIL")?;
    let (from, until) = window.split_once("..").ok_or("the window is FROM..UNTIL")?;
    let d = |s: &str| crate::sim::parse_duration(s).map_err(|e| e.to_string());
    let fault = parse_fault(kind)?;
    if matches!(fault, Fault::Crash | Fault::CrashAfter | Fault::LostReply) {
        return Err("an outage answers timeout, slow:MS or an error status".into());
    }
    let (from_ms, until_ms) = (start_ms + d(from)?, start_ms + d(until)?);
    if until_ms <= from_ms {
        return Err("the outage ends before it starts".into());
    }
    Ok(Outage {
        service: parse_service(svc)?,
        from_ms,
        until_ms,
        fault,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_and_service_faults_fire_on_their_call() {
        let mut plan = FaultPlan::crash_at(3);
        plan.service_faults.push(ServiceFault {
            service: Service::Jira,
            nth: 1,
            fault: Fault::Timeout,
        });
        let mut m = Meter::new(plan);
        assert_eq!(m.enter(Service::Kvs, "kvs.get"), Ok(None));
        assert_eq!(m.enter(Service::Jira, "jira.GET"), Ok(Some(Fault::Timeout)));
        assert_eq!(m.enter(Service::Kvs, "kvs.get"), Err(Crash::before(3)));
        assert_eq!(m.counts.service(Service::Kvs), 2);
        assert_eq!(m.counts.by_op["kvs.get"], 2);
    }
}
