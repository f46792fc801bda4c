//! The audit trail's background work, on the `audit-work` queue: verification runs, a slice per
//! invocation. A slice spends at most [`READ_UNITS_PER_SLICE`] KVS read units and leaves a
//! minute of its 900 s, then queues the next slice a minute later, so verification takes at
//! most half of the installation's 4,000 read units a minute however long the chain is.

use super::verify::{self, Budget, Mode, Progress};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::storage::{keys, StorageError, Store};
use serde_json::{json, Value};

pub const QUEUE: &str = "audit-work";
pub const READ_UNITS_PER_SLICE: u64 = 2_000;
const SLICE_GAP_S: u32 = 60;
const RESERVE_MS: u64 = 60_000;

fn decode_opt<T: serde::de::DeserializeOwned>(
    got: &std::collections::BTreeMap<String, String>,
    key: &str,
) -> AppResult<Option<T>> {
    Ok(got
        .get(key)
        .map(|t| crate::storage::decode(key, t))
        .transpose()?)
}

/// What Governance logs shows: verified up to which entry and when, the run under way, the last
/// report, the head, the latest checkpoint and the public key. One read.
pub fn status(host: &dyn Host) -> AppResult<Value> {
    let got = Store::new(host).batch_get(&[
        keys::AUDIT_VERIFY.to_string(),
        keys::AUDIT_HEAD.to_string(),
        keys::AUDIT_CHECKPOINT_LATEST.to_string(),
        keys::AUDIT_SIGNING_KEY.to_string(),
        keys::AUDIT_BROKEN.to_string(),
    ])?;
    let progress: Progress = decode_opt(&got, keys::AUDIT_VERIFY)?.unwrap_or_default();
    let head: Option<super::Head> = decode_opt(&got, keys::AUDIT_HEAD)?;
    let latest: Option<super::checkpoint::Signed> =
        decode_opt(&got, keys::AUDIT_CHECKPOINT_LATEST)?;
    let public: Option<super::checkpoint::PublicKey> = decode_opt(&got, keys::AUDIT_SIGNING_KEY)?;
    let broken: Option<Value> = decode_opt(&got, keys::AUDIT_BROKEN)?;
    let run = progress.run.as_ref().map(|r| {
        json!({"mode": r.mode, "startedAt": r.started_at, "startedBy": r.started_by,
               "from": r.from, "next": r.next, "target": r.target, "checked": r.checked,
               "problems": r.problems.len(), "slices": r.slices})
    });
    Ok(json!({
        "verified": progress.verified.as_ref().map(|v| json!({"size": v.size, "at": v.at, "rootHash": v.root_hash})),
        "run": run,
        "last": progress.last,
        "head": head.map(|h| json!({"seq": h.seq, "rootHash": h.root_hash})),
        "checkpoint": latest.map(|c| json!({"size": c.size, "time": c.time, "rootHash": c.root_hash, "note": c.note})),
        "publicKey": public,
        "broken": broken,
    }))
}

/// Starts a verification run unless one is under way, and queues its first slice.
pub fn start(host: &dyn Host, mode: Mode, by: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let raw = store.get_raw(keys::AUDIT_VERIFY)?;
    let mut progress: Progress = raw
        .as_deref()
        .map(|t| crate::storage::decode(keys::AUDIT_VERIFY, t))
        .transpose()?
        .unwrap_or_default();
    if progress.run.is_none() {
        progress.run = Some(verify::begin(store, mode, by, &progress)?);
        let mut tx = store.tx();
        tx.set_if_current(keys::AUDIT_VERIFY, &progress, raw.as_deref())?;
        match tx.commit() {
            Ok(()) => host.queue_push(QUEUE, &[json!({"task": "verify"}).to_string()], 0)?,
            // Another admin started one at the same moment: show theirs.
            Err(StorageError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    status(host)
}

/// The daily safety net: verify what was appended since the last verified tree.
pub fn start_if_behind(host: &dyn Host) -> AppResult<bool> {
    let got = Store::new(host)
        .batch_get(&[keys::AUDIT_VERIFY.to_string(), keys::AUDIT_HEAD.to_string()])?;
    let progress: Progress = decode_opt(&got, keys::AUDIT_VERIFY)?.unwrap_or_default();
    let head: Option<super::Head> = decode_opt(&got, keys::AUDIT_HEAD)?;
    let verified = progress.verified.as_ref().map_or(0, |v| v.size);
    let behind = head.is_some_and(|h| h.seq > verified);
    if behind && progress.run.is_none() {
        start(host, Mode::New, "app")?;
        return Ok(true);
    }
    Ok(false)
}

/// One slice of the run under way (the `audit-work` consumer).
pub fn slice(host: &dyn Host) -> AppResult<Option<u32>> {
    let store = Store::new(host);
    let Some(raw) = store.get_raw(keys::AUDIT_VERIFY)? else {
        return Ok(None);
    };
    let mut progress: Progress = crate::storage::decode(keys::AUDIT_VERIFY, &raw)?;
    let Some(mut run) = progress.run.take() else {
        return Ok(None);
    };
    let budget = Budget {
        read_units: READ_UNITS_PER_SLICE,
        reserve_ms: RESERVE_MS,
    };
    let done = verify::step(store, &mut run, budget).map_err(verify::unverifiable)?;
    if done {
        let report = verify::finish(store, &run).map_err(verify::unverifiable)?;
        if !report.ok {
            host.log(
                Level::Error,
                &format!(
                    "audit verification found {} problem(s), the first at entry {}",
                    report.problems.len(),
                    report.problems.first().map_or(0, |p| p.seq)
                ),
            );
        }
        verify::conclude(&mut progress, &run, report);
    } else {
        progress.run = Some(run);
    }
    let mut tx = store.tx();
    tx.set_if_current(keys::AUDIT_VERIFY, &progress, Some(&raw))?;
    match tx.commit() {
        Ok(()) => {}
        // A duplicate delivery of the same slice got there first: its save stands.
        Err(StorageError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    if !done {
        host.queue_push(QUEUE, &[json!({"task": "verify"}).to_string()], SLICE_GAP_S)?;
    }
    Ok(None)
}

/// The `audit-work` consumer.
pub fn consume(host: &dyn Host, event: &Value) -> AppResult<Option<u32>> {
    match event.get("task").and_then(Value::as_str) {
        Some("verify") => slice(host),
        other => Err(AppError::invalid(
            "EVENT_INVALID",
            format!("no audit task {other:?}"),
        )),
    }
}
