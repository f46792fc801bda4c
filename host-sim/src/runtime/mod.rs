//! Three ways to run the app against one `Emulator`: the compiled component under wasmtime
//! (`wasm`); the same component transpiled by jco behind the Forge adapter on Node 24 (`node`),
//! which proves the deploy path; or the same domain code linked natively (`native`) for fast
//! tests and the wasm-vs-native benchmark.

pub mod native;
pub mod node;
pub mod wasm;

use crate::emulator::Emulator;
use aiclearance::host::Invocation;
use serde_json::Value;

/// One export call.
#[derive(Debug, Clone)]
pub enum Export {
    Resolve {
        function_key: String,
        payload: String,
    },
    ProductEvent {
        event: String,
    },
    Scheduled,
    Queue {
        queue_key: String,
        body: String,
    },
}

/// A typed error the app returned (mirrors `handlers.app-error`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnedError {
    pub kind: String,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RawOutcome {
    /// JSON the export returned (for queue events: `{"retry": seconds}` or `{"done": true}`).
    Ok(Value),
    Err(ReturnedError),
    /// The fault plan killed the invocation before host call N.
    Crashed {
        at_call: u64,
    },
    /// The guest trapped on its own (panic, deadline, memory limit).
    Trapped(String),
}

pub trait Engine {
    fn name(&self) -> &'static str;
    /// Runs one export with `emu` as the host; the emulator's meter is already armed.
    fn call(&mut self, emu: Emulator, inv: &Invocation, export: &Export) -> (Emulator, RawOutcome);
    /// Runs invocations on seats of an interleaving (`crate::interleave`), if this engine can
    /// run several at once in one process (native and wasm can; the Node bridge cannot).
    fn seat_runner(&self) -> Option<&dyn SeatRunner> {
        None
    }
}

/// Runs one invocation on one seat; called from several threads at once.
pub trait SeatRunner: Sync {
    fn run_seat(
        &self,
        seat: crate::interleave::Seat,
        inv: &Invocation,
        export: &Export,
    ) -> RawOutcome;
}

/// The WIT name of an error kind (`not-found`, `rate-limited`, …), the same for every engine.
pub fn error_kind(k: aiclearance::ErrorKind) -> String {
    use aiclearance::ErrorKind as K;
    match k {
        K::Invalid => "invalid",
        K::Forbidden => "forbidden",
        K::NotFound => "not-found",
        K::Conflict => "conflict",
        K::RateLimited => "rate-limited",
        K::TooLarge => "too-large",
        K::Unavailable => "unavailable",
        K::Internal => "internal",
    }
    .to_string()
}
