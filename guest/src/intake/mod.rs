//! Intake (spec §7, §10, §11): the issue-created trigger turns a portal snapshot into a request.

pub mod config;
pub mod ingest;
pub mod options;
pub mod snapshot;

pub use config::IntakeConfig;
pub use ingest::{ingest, Outcome};
pub use snapshot::{Snapshot, SnapshotError, SnapshotTool, SNAPSHOT_KEY};
