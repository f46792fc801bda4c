//! AI Clearance — a Forge app backend for governed AI tool access in Jira Service Management.
//!
//! Layout (find a feature by its product name):
//! - `host`: the one port every side effect goes through; `wasm`: its WIT implementation.
//! - `dispatch`: the exports (resolvers, triggers, scheduled jobs, queue consumers).
//! - `storage`: typed KVS with Forge's rules; `storage::keys`: every key the app writes.
//! - `intake`: issue-created ingestion of portal snapshots; `requests`, `catalog`: their records.
//! - `clearance`: decisions — governance, auto-approval, the Approvals tab, grants, pages.
//! - `provisioning`: connectors, identity mapping and the signed ArdSaor Core relay client.
//! - `approvals`: the approval path engine; `prompt`: its AI Prompt step.
//! - `audit`: the hash-chained audit trail and its verifier.
//! - `jira`, `adf`, `access`, `time`: Jira REST wrappers, ADF text, caller checks, clock helpers.
//! - `weburl`: where a URL really goes (the WHATWG reading Node uses).
//! - `text`: names people read are free of invisible and reordering characters.

pub mod access;
pub mod adf;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod clearance;
pub mod dispatch;
pub mod error;
pub mod host;
pub mod intake;
pub mod jira;
pub mod names;
pub mod panel;
pub mod prompt;
pub mod provisioning;
pub mod ratelimit;
pub mod requests;
pub mod storage;
pub mod text;
pub mod time;
pub mod weburl;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{AppError, AppResult, ErrorKind};
pub use host::Host;
