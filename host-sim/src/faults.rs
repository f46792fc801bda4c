//! The choke point: every host call of an invocation passes `Meter::enter`, which counts it and
//! consults the fault plan (crash the invocation at call N; make a service answer 429 / 5xx /
//! timeout on its Nth call).

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
}

/// What a planned fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Fault {
    /// The function instance dies before this call happens (nothing of it is applied).
    Crash,
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

/// Faults for the next invocation(s). `crash_at_call` is 1-based over all host calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultPlan {
    pub crash_at_call: Option<u64>,
    pub service_faults: Vec<ServiceFault>,
}

impl FaultPlan {
    pub fn crash_at(n: u64) -> Self {
        FaultPlan {
            crash_at_call: Some(n),
            service_faults: Vec::new(),
        }
    }
    pub fn service(service: Service, nth: u64, fault: Fault) -> Self {
        FaultPlan {
            crash_at_call: None,
            service_faults: vec![ServiceFault {
                service,
                nth,
                fault,
            }],
        }
    }
    pub fn is_empty(&self) -> bool {
        self.crash_at_call.is_none() && self.service_faults.is_empty()
    }
}

/// The invocation was killed by the plan (a trap in wasm, an unwinding sentinel natively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    pub at_call: u64,
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "planned crash before host call {}", self.at_call)
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
}

impl Meter {
    pub fn new(plan: FaultPlan) -> Self {
        Meter {
            counts: CallCounts::default(),
            plan,
        }
    }

    /// Counts one call; returns the planned fault for it, or `Err(Crash)`.
    pub fn enter(&mut self, service: Service, op: &str) -> Result<Option<Fault>, Crash> {
        self.counts.total += 1;
        let n = self.counts.total;
        let nth = {
            let c = self.counts.by_service.entry(service).or_default();
            *c += 1;
            *c
        };
        *self.counts.by_op.entry(op.to_string()).or_default() += 1;
        if self.plan.crash_at_call == Some(n) {
            return Err(Crash { at_call: n });
        }
        let planned = self
            .plan
            .service_faults
            .iter()
            .find(|f| f.service == service && f.nth == nth)
            .map(|f| f.fault.clone());
        // A crash planned at "the nth call of a service" is a crash at that call.
        if planned == Some(Fault::Crash) {
            return Err(Crash { at_call: n });
        }
        Ok(planned)
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
        Fault::Crash => HostError::Unavailable("crash".into()),
    }
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
        assert_eq!(m.enter(Service::Kvs, "kvs.get"), Err(Crash { at_call: 3 }));
        assert_eq!(m.counts.service(Service::Kvs), 2);
        assert_eq!(m.counts.by_op["kvs.get"], 2);
    }
}
