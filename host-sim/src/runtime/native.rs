//! The native front door: implements the guest's `Host` port directly over the emulator and calls
//! `aiclearance::dispatch`. A planned crash unwinds out of the guest with a sentinel payload.

use super::{error_kind, Engine, Export, RawOutcome, ReturnedError};
use crate::emulator::Emulator;
use crate::faults::Crash;
use crate::interleave::{Seat, Slot};
use aiclearance::host::{
    Entry, Host, HostError, HttpRequest, HttpResponse, Invocation, Level, Principal, QueryPage,
    SetOptions, TxOp,
};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

pub struct NativeHost<'a> {
    pub emu: RefCell<Slot<'a>>,
}

fn unwrap_call<T>(r: Result<Result<T, HostError>, Crash>) -> Result<T, HostError> {
    match r {
        Ok(inner) => inner,
        Err(c) => std::panic::panic_any(c),
    }
}

impl<'a> NativeHost<'a> {
    pub fn new(emu: &'a mut Emulator) -> Self {
        NativeHost {
            emu: RefCell::new(Slot::Borrowed(emu)),
        }
    }

    /// A host for one seat of an interleaving.
    pub fn seated(seat: Seat) -> NativeHost<'static> {
        NativeHost {
            emu: RefCell::new(Slot::Seat(seat)),
        }
    }

    /// Runs one emulated call, adding its wall time to the invocation's host time.
    fn timed<T>(
        &self,
        f: impl FnOnce(&mut Emulator) -> Result<Result<T, HostError>, Crash>,
    ) -> Result<T, HostError> {
        let r = self.emu.borrow_mut().with(true, |emu| {
            let t = std::time::Instant::now();
            let r = f(emu);
            emu.running.host_ns += t.elapsed().as_nanos() as u64;
            r
        });
        unwrap_call(r)
    }

    fn local<T>(&self, f: impl FnOnce(&mut Emulator) -> T) -> T {
        self.emu.borrow_mut().with(false, f)
    }
}

impl Host for NativeHost<'_> {
    fn kvs_get(&self, key: &str) -> Result<Option<String>, HostError> {
        self.timed(|e| e.kvs_get(key))
    }
    fn kvs_set(&self, key: &str, value: &str, options: SetOptions) -> Result<(), HostError> {
        self.timed(|e| e.kvs_set(key, value, options))
    }
    fn kvs_delete(&self, key: &str) -> Result<(), HostError> {
        self.timed(|e| e.kvs_delete(key))
    }
    fn kvs_query(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<QueryPage, HostError> {
        self.timed(|e| e.kvs_query(prefix, cursor, limit))
    }
    fn kvs_batch_get(&self, keys: &[String]) -> Result<Vec<Entry>, HostError> {
        self.timed(|e| e.kvs_batch_get(keys))
    }
    fn kvs_transact(&self, ops: &[TxOp]) -> Result<(), HostError> {
        self.timed(|e| e.kvs_transact(ops))
    }
    fn secret_get(&self, key: &str) -> Result<Option<String>, HostError> {
        self.timed(|e| e.secret_get(key))
    }
    fn secret_set(&self, key: &str, value: &str) -> Result<(), HostError> {
        self.timed(|e| e.secret_set(key, value))
    }
    fn secret_delete(&self, key: &str) -> Result<(), HostError> {
        self.timed(|e| e.secret_delete(key))
    }
    fn jira(&self, principal: Principal, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        self.timed(|e| e.jira(principal, req))
    }
    fn fetch(&self, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        self.timed(|e| e.fetch(req))
    }
    fn llm_chat(&self, prompt: &str) -> Result<String, HostError> {
        self.timed(|e| e.llm_chat(prompt))
    }
    fn queue_push(
        &self,
        queue_key: &str,
        events: &[String],
        delay_seconds: u32,
    ) -> Result<(), HostError> {
        self.timed(|e| e.queue_push(queue_key, events, delay_seconds))
    }
    fn now_ms(&self) -> u64 {
        self.local(|e| e.now_ms())
    }
    fn remaining_ms(&self) -> u64 {
        self.local(|e| e.remaining_ms())
    }
    fn random_bytes(&self, len: u32) -> Vec<u8> {
        self.local(|e| e.random_bytes(len))
    }
    fn log(&self, level: Level, message: &str) {
        self.local(|e| e.log(level, message))
    }
    fn env(&self, name: &str) -> Option<String> {
        self.local(|e| e.env(name))
    }
}

/// Keeps planned crashes quiet: they are expected, not bugs.
fn quiet_crash_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Crash>().is_none() {
                previous(info);
            }
        }));
    });
}

pub fn dispatch(host: &dyn Host, inv: &Invocation, export: &Export) -> RawOutcome {
    use aiclearance::dispatch;
    let to_err = |e: aiclearance::AppError| {
        RawOutcome::Err(ReturnedError {
            kind: error_kind(e.kind),
            code: e.code,
            message: e.message,
            retry_after_seconds: e.retry_after_s,
            details: e.details,
        })
    };
    match export {
        Export::Resolve {
            function_key,
            payload,
        } => dispatch::resolve(host, inv, function_key, payload)
            .map(RawOutcome::Ok)
            .unwrap_or_else(to_err),
        Export::ProductEvent { event } => dispatch::product_event(host, inv, event)
            .map(RawOutcome::Ok)
            .unwrap_or_else(to_err),
        Export::Scheduled => dispatch::scheduled(host, inv)
            .map(RawOutcome::Ok)
            .unwrap_or_else(to_err),
        Export::Queue { queue_key, body } => {
            match dispatch::queue_event(host, inv, queue_key, body) {
                Ok(None) => RawOutcome::Ok(serde_json::json!({"done": true})),
                Ok(Some(s)) => RawOutcome::Ok(serde_json::json!({"retry": s})),
                Err(e) => to_err(e),
            }
        }
    }
}

#[derive(Default)]
pub struct NativeEngine;

impl Engine for NativeEngine {
    fn name(&self) -> &'static str {
        "native"
    }

    fn call(
        &mut self,
        mut emu: Emulator,
        inv: &Invocation,
        export: &Export,
    ) -> (Emulator, RawOutcome) {
        let outcome = guarded(&NativeHost::new(&mut emu), inv, export);
        (emu, outcome)
    }

    fn seat_runner(&self) -> Option<&dyn super::SeatRunner> {
        Some(self)
    }
}

impl super::SeatRunner for NativeEngine {
    fn run_seat(&self, seat: Seat, inv: &Invocation, export: &Export) -> RawOutcome {
        guarded(&NativeHost::seated(seat), inv, export)
    }
}

/// Dispatches with planned crashes and guest panics caught, as a function instance dies.
fn guarded(host: &NativeHost<'_>, inv: &Invocation, export: &Export) -> RawOutcome {
    quiet_crash_panics();
    match catch_unwind(AssertUnwindSafe(|| dispatch(host, inv, export))) {
        Ok(o) => o,
        Err(payload) => match payload.downcast_ref::<Crash>() {
            Some(c) => RawOutcome::Crashed { at_call: c.at_call },
            None => RawOutcome::Trapped(
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
            ),
        },
    }
}
