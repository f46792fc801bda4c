//! The campaign's fault generator: for each invocation, with a seeded chance, one fault of the kinds
//! the platform really produces — the instance dying before or after a call, a lost answer after
//! the call applied, a lost acknowledgement, a 429 / 5xx / timeout from a service, or a call slow
//! enough to hit the deadline.

use crate::faults::{Fault, FaultPlan, Service, ServiceFault};

pub struct Chaos {
    rng: u64,
    /// Percent of invocations that get a fault.
    pub rate_pct: u64,
    /// Every plan handed out, with the invocation's label (index = invocation order).
    pub log: Vec<(String, FaultPlan)>,
}

impl Chaos {
    pub fn new(seed: u64, rate_pct: u64) -> Self {
        Chaos {
            rng: seed ^ 0x6A09_E667_F3BC_C908,
            rate_pct,
            log: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        crate::faults::splitmix64(&mut self.rng)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn plan(&mut self, _function: &str, label: &str) -> FaultPlan {
        let plan = if self.below(100) < self.rate_pct {
            self.one_fault()
        } else {
            FaultPlan::default()
        };
        self.log.push((label.to_string(), plan.clone()));
        plan
    }

    /// A sustained outage for the run (about one seed in three): Jira, storage or secrets down,
    /// or answering 429s, for five minutes to two hours, starting within the first day.
    pub fn outage(&mut self, start_ms: u64) -> Option<crate::faults::Outage> {
        if self.below(3) != 0 {
            return None;
        }
        let service = match self.below(4) {
            0 | 1 => Service::Jira,
            2 => Service::Kvs,
            _ => Service::Secrets,
        };
        let fault = match self.below(3) {
            0 => Fault::Timeout,
            1 => Fault::Status {
                status: 429,
                retry_after_s: Some(30),
            },
            _ => Fault::Status {
                status: 503,
                retry_after_s: None,
            },
        };
        let from_ms = start_ms + self.below(24 * 60) * 60_000;
        let until_ms = from_ms + (5 + self.below(115)) * 60_000;
        Some(crate::faults::Outage {
            service,
            from_ms,
            until_ms,
            fault,
        })
    }

    fn one_fault(&mut self) -> FaultPlan {
        // Most invocations make under a dozen calls: aim where they land.
        let k = 1 + self.below(12);
        match self.below(10) {
            0 | 1 => FaultPlan::crash_at(k),
            2 => FaultPlan {
                crash_after_call: Some(k),
                ..Default::default()
            },
            3 => FaultPlan::ack_lost(),
            _ => {
                let service = match self.below(10) {
                    0..=4 => Service::Kvs,
                    5 | 6 => Service::Jira,
                    7 => Service::Fetch,
                    8 => Service::Queue,
                    _ => Service::Secrets,
                };
                let nth = 1 + self.below(4);
                let fault = match self.below(12) {
                    0 | 1 => Fault::LostReply,
                    2 => Fault::CrashAfter,
                    3 | 4 => Fault::Timeout,
                    5 => Fault::Status {
                        status: 429,
                        retry_after_s: Some(1 + self.below(30) as u32),
                    },
                    6 => Fault::Status {
                        status: 429,
                        retry_after_s: None,
                    },
                    7 | 8 => Fault::Status {
                        status: [500, 502, 503, 504][self.below(4) as usize],
                        retry_after_s: None,
                    },
                    9 => Fault::Status {
                        status: 409,
                        retry_after_s: None,
                    },
                    // Slow enough to cross a 25 s deadline (and sometimes a 900 s one).
                    10 => Fault::Slow {
                        ms: 20_000 + self.below(10_000),
                    },
                    _ => Fault::Crash,
                };
                FaultPlan {
                    service_faults: vec![ServiceFault {
                        service,
                        nth,
                        fault,
                    }],
                    ..Default::default()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_faults() {
        let run = |seed| {
            let mut c = Chaos::new(seed, 30);
            (0..200)
                .map(|i| c.plan("f", &format!("l{i}")))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
        let faulted = run(9).iter().filter(|p| !p.is_empty()).count();
        assert!((30..=90).contains(&faulted), "about 30 % of 200: {faulted}");
        // Every kind shows up over a few thousand draws.
        let mut c = Chaos::new(1, 100);
        let notes: Vec<String> = (0..3000).map(|_| c.plan("f", "l").notation()).collect();
        for kind in [
            "crash@",
            "crash-after@",
            "ack-lost",
            "=lost",
            "=timeout",
            "=429",
            "=50",
            "=slow:",
            "=crash-after",
            "=409",
        ] {
            assert!(notes.iter().any(|n| n.contains(kind)), "{kind} never drawn");
        }
    }
}
