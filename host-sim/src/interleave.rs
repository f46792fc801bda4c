//! Concurrency, deterministically: several invocations run at once on their own threads, but only
//! the one holding the baton may touch the emulator, and the baton passes after every metered host
//! call to a seat drawn from a seeded generator. Between host calls a guest only computes, so the
//! interleaving — and therefore the run — is a function of the seed (FoundationDB-style: real
//! concurrency at the granularity where it matters, replayable).
//!
//! Each seat keeps its own meter (call counts, fault plan) and running context (function, caller,
//! deadline, simulated time); they are swapped into the shared emulator for the length of a call.

use crate::emulator::{Emulator, Running};
use crate::faults::{CallCounts, FaultPlan, Meter};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The emulator an invocation's host talks to: its own (one at a time) or a seat at a shared
/// table (interleaved).
pub enum Slot<'a> {
    Borrowed(&'a mut Emulator),
    Owned(Box<Emulator>),
    Seat(Seat),
}

impl Slot<'_> {
    /// Runs `f` against the emulator. A metered call (a host call the platform counts) passes the
    /// baton afterwards; reading the clock, the deadline or the environment keeps it.
    pub fn with<T>(&mut self, metered: bool, f: impl FnOnce(&mut Emulator) -> T) -> T {
        match self {
            Slot::Borrowed(e) => f(e),
            Slot::Owned(e) => f(e),
            Slot::Seat(s) => s.with(metered, f),
        }
    }

    pub fn into_owned(self) -> Option<Emulator> {
        match self {
            Slot::Owned(e) => Some(*e),
            _ => None,
        }
    }
}

/// What one seat brings to the table.
pub struct Invocant {
    pub function: String,
    pub account_id: Option<String>,
    pub timeout_s: u64,
    pub plan: FaultPlan,
}

struct SeatState {
    meter: Meter,
    running: Running,
    done: bool,
}

struct Table {
    emu: Emulator,
    seats: Vec<SeatState>,
    turn: Option<usize>,
    rng: u64,
    /// Which seat made each metered call, in order (what a failing seed's reader wants).
    trace: Vec<usize>,
}

impl Table {
    fn pass(&mut self) {
        let live: Vec<usize> = (0..self.seats.len())
            .filter(|i| !self.seats[*i].done)
            .collect();
        self.turn = if live.is_empty() {
            None
        } else {
            let r = crate::faults::splitmix64(&mut self.rng);
            Some(live[(r % live.len() as u64) as usize])
        };
    }
}

pub struct Baton {
    table: Mutex<Table>,
    cv: Condvar,
}

#[derive(Clone)]
pub struct Seat {
    baton: Arc<Baton>,
    me: usize,
}

impl Baton {
    /// Seats the invocants at a table around `emu`; the first turn is drawn from `seed`.
    pub fn new(emu: Emulator, invocants: Vec<Invocant>, seed: u64) -> (Arc<Baton>, Vec<Seat>) {
        let seats = invocants
            .into_iter()
            .map(|i| SeatState {
                meter: Meter::new(i.plan),
                running: Running {
                    function: i.function,
                    account_id: i.account_id,
                    deadline_ms: i.timeout_s * 1000,
                    started: Some(std::time::Instant::now()),
                    ..Default::default()
                },
                done: false,
            })
            .collect::<Vec<_>>();
        let n = seats.len();
        let mut table = Table {
            emu,
            seats,
            turn: None,
            rng: seed ^ 0xD1B5_4A32_D192_ED03,
            trace: Vec::new(),
        };
        table.pass();
        let baton = Arc::new(Baton {
            table: Mutex::new(table),
            cv: Condvar::new(),
        });
        let seats = (0..n)
            .map(|me| Seat {
                baton: baton.clone(),
                me,
            })
            .collect();
        (baton, seats)
    }

    /// After every seat has left: the emulator, each seat's call counts, and the call order.
    pub fn finish(self: Arc<Self>) -> (Emulator, Vec<CallCounts>, Vec<usize>) {
        let baton =
            Arc::try_unwrap(self).unwrap_or_else(|_| panic!("a seat outlived the interleaving"));
        let table = baton.table.into_inner().unwrap_or_else(|p| p.into_inner());
        assert!(
            table.turn.is_none(),
            "every seat leaves before the table closes"
        );
        let counts = table.seats.into_iter().map(|s| s.meter.counts).collect();
        (table.emu, counts, table.trace)
    }
}

impl Seat {
    fn wait_turn(&self) -> MutexGuard<'_, Table> {
        let mut t = self.baton.table.lock().unwrap_or_else(|p| p.into_inner());
        while t.turn != Some(self.me) {
            t = self.baton.cv.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        t
    }

    fn with<T>(&self, metered: bool, f: impl FnOnce(&mut Emulator) -> T) -> T {
        let mut guard = self.wait_turn();
        let t = &mut *guard;
        let seat = &mut t.seats[self.me];
        std::mem::swap(&mut t.emu.meter, &mut seat.meter);
        std::mem::swap(&mut t.emu.running, &mut seat.running);
        let r = f(&mut t.emu);
        std::mem::swap(&mut t.emu.meter, &mut seat.meter);
        std::mem::swap(&mut t.emu.running, &mut seat.running);
        if metered {
            t.trace.push(self.me);
            t.pass();
            self.baton.cv.notify_all();
        }
        r
    }

    /// The seat's invocation has ended (returned, crashed or trapped): it waits for its turn
    /// once more so that even leaving happens at a seeded point, then hands the baton on.
    pub fn leave(&self) {
        let mut t = self.wait_turn();
        t.seats[self.me].done = true;
        t.pass();
        self.baton.cv.notify_all();
    }

    /// The seat's deadline in seconds (engines size their own kill timers from it).
    pub fn timeout_s(&self) -> u64 {
        let t = self.baton.table.lock().unwrap_or_else(|p| p.into_inner());
        t.seats[self.me].running.deadline_ms / 1000
    }

    /// Metered calls this seat has made so far.
    pub fn calls(&self) -> u64 {
        let t = self.baton.table.lock().unwrap_or_else(|p| p.into_inner());
        t.seats[self.me].meter.counts.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emu() -> Emulator {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/default");
        let site = crate::site::Site::load(&dir).expect("the default fixture site");
        let state = crate::emulator::SimState::new(site, 1).expect("state");
        Emulator::new(state, crate::manifest::Manifest::default())
    }

    fn order(seed: u64) -> Vec<usize> {
        let inv = |f: &str| Invocant {
            function: f.into(),
            account_id: None,
            timeout_s: 25,
            plan: FaultPlan::default(),
        };
        let (baton, seats) = Baton::new(emu(), vec![inv("a"), inv("b"), inv("c")], seed);
        std::thread::scope(|s| {
            for seat in seats {
                s.spawn(move || {
                    let mut slot = Slot::Seat(seat.clone());
                    for i in 0..5 {
                        slot.with(true, |e| {
                            e.kvs_set(&format!("k{i}"), "1", Default::default()).ok()
                        });
                    }
                    seat.leave();
                });
            }
        });
        let (_, counts, trace) = baton.finish();
        assert!(counts.iter().all(|c| c.total == 5), "{counts:?}");
        trace
    }

    #[test]
    fn the_interleaving_is_a_function_of_the_seed() {
        let a = order(7);
        assert_eq!(a, order(7), "same seed, same order");
        assert_eq!(a.len(), 15);
        let distinct: std::collections::BTreeSet<Vec<usize>> = (0..20).map(order).collect();
        assert!(distinct.len() > 10, "seeds reach different interleavings");
        // Calls really interleave: some seat runs while another has calls left.
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
