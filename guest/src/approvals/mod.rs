//! The approval path engine: definitions made of steps in four phases, instantiated as
//! approvals on Jira issues and walked group by group.
//!
//! - `definition`: the recipe and its validation; `model`: the running approval;
//! - `engine`: path semantics as pure functions (no I/O);
//! - `store`: records, indexes and the one transaction per transition;
//! - `inbox`: who may decide which open step, as an index readers verify;
//! - `effects`: what informational steps do (comment, HTTP, email, prompt hand-off);
//! - `webhooks`: STEP_DECISION deliveries; `email`: message templates and the outbox;
//! - `olivlang`: the sandboxed template language; `views`: web API v2 shapes;
//! - `service`: resolvers, access checks, workers and the deadline sweep.

pub mod definition;
pub mod effects;
pub mod email;
pub mod engine;
pub mod inbox;
pub mod model;
pub mod olivlang;
pub mod service;
pub mod store;
pub mod views;
pub mod webhooks;
