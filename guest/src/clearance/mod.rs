//! AI Clearance decisions (spec §4–§6, §9): everything from a pending request to a grant.
//!
//! - `governance`: per-risk approval paths and maxima, unknown-tool blocking, exceptions.
//! - `policies`: auto-approval policies and their dry run.
//! - `routing`: what happens right after intake (auto-approve, start a path, or direct).
//! - `kernel`: the policy kernel: who may create, widen, extend or end access, and why (pure);
//!   `facts`: what it judges from, read from storage and Jira.
//! - `decision`: the one transaction that approves or denies a request (judged by the kernel).
//! - `grants`, `lifecycle`: grants and their extend / revoke / expire changes.
//! - `jobs`: provisioning jobs (manual, or connected through ArdSaor Core; see `provisioning`).
//! - `runner`: the hourly job runner (expiry, jobs, notices, lost follow-ups; one read when idle).
//! - `escalation`, `reminders`: the hourly SLA escalation, expiry notices and daily recertification.
//! - `notices`: the issue comment and transition that follow a decision.
//! - `tab`, `page`, `admin`: the Approvals tab, the global page, the admin page;
//!   `pending_count`: the overview's pending counter, kept from deltas the runner folds.
//! - `exports`: exports by time, a page at a time or as a resumable job (`export`: CSV, windows).
//! - `labels`, `rollups`: expiry labels, insights (the seed catalog is `catalog::seed`).
//! - `name_backfill`: the requesters on record before intake named them for the AI Prompt
//!   scrubber's name directory (daily, bounded, resumable).
//! - `request_walk`: the cursor-free, resumable walk over requests oldest first that the daily
//!   backfills (`name_backfill`, `tool_index`) share.
//! - `data_insights`: insights by data class, and grants approved before their tool's data
//!   profile weakened, with their recertification (issue 35).

pub mod admin;
pub mod conditions;
pub mod data_insights;
pub mod deadline;
pub mod decision;
pub mod deferred;
pub mod escalation;
pub mod export;
pub mod exports;
pub mod facts;
pub mod governance;
pub mod grants;
pub mod jobs;
pub mod kernel;
pub mod labels;
pub mod lifecycle;
pub mod name_backfill;
pub mod notices;
pub mod page;
pub mod pending_count;
pub mod policies;
pub mod reminders;
pub mod request_walk;
pub mod retention;
pub mod rollups;
pub mod routing;
pub mod runner;
pub mod service;
pub mod tab;
pub mod tool_index;
pub mod write_budget;
