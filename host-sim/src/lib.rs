//! host-sim: runs the AI Clearance component locally against a simulated Forge + Jira site.
//!
//! Floor plan (one module per host capability, the emulation written once):
//! - `emulator`: the site state and every host call (KVS, secrets, Jira, fetch, queue, clock, log,
//!   config), with Forge's limits; `faults`: the choke point that counts calls and injects faults.
//! - `jira`: Jira REST v3 over the fixture `site`; `manifest`: what manifest.yml declares.
//! - `runtime::wasm`: the wasmtime front door; `runtime::native`: the same app linked natively.
//! - `sim`: clock, scheduler and the invocation plumbing; `scenario`: fixtures and transcripts;
//!   `persist`: the state directory (redb).
//! - `remotes`: the outside services the app reaches through `fetch` — LLM providers (`llm`) and
//!   the ArdSaor provisioning relay (`relay`) — speaking their real wire formats and failing on a
//!   plan.
//! - `serve`: the local console (`host-sim serve`): the built Custom UI per UI module with a
//!   drop-in Forge bridge, "view as", the simulated clock.

pub mod dst;
pub mod emulator;
pub mod faults;
pub mod interleave;
pub mod jira;
pub mod manifest;
pub mod persist;
pub mod remotes;
pub mod runtime;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod site;

pub use faults::{Fault, FaultPlan, Service};
pub use sim::{EngineKind, InvocationRecord, Sim};
