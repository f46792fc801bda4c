//! Monthly token usage per tenant (UTC calendar month), per definition and per approval.

use crate::error::AppResult;
use crate::host::Host;
use crate::storage::{StorageError, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub month: String,
    pub tokens: u64,
    pub executions: u64,
    #[serde(default)]
    pub by_definition: BTreeMap<String, u64>,
    #[serde(default)]
    pub by_approval: BTreeMap<String, u64>,
}

pub fn month(ms: u64) -> String {
    crate::time::day(ms)[..7].to_string()
}

pub fn key(month: &str) -> String {
    format!("ai-usage:{month}")
}

pub fn load(host: &dyn Host) -> AppResult<Usage> {
    let m = month(host.now_ms());
    Ok(Store::new(host).get::<Usage>(&key(&m))?.unwrap_or(Usage {
        month: m,
        ..Usage::default()
    }))
}

pub fn used_this_month(host: &dyn Host) -> AppResult<u64> {
    Ok(load(host)?.tokens)
}

/// Adds one execution's tokens, in one transaction with `extra` (the execution row), conditioned
/// on the stored usage and retried on a lost race.
pub fn add(
    host: &dyn Host,
    definition: &str,
    approval: &str,
    tokens: u64,
    extra: &dyn Fn(&mut crate::storage::Tx<'_>) -> AppResult<()>,
) -> AppResult<()> {
    let store = Store::new(host);
    let k = key(&month(host.now_ms()));
    for _ in 0..8 {
        let raw = store.get_raw(&k)?;
        let mut u: Usage = match &raw {
            Some(t) => crate::storage::decode(&k, t)?,
            None => Usage {
                month: month(host.now_ms()),
                ..Usage::default()
            },
        };
        u.tokens += tokens;
        u.executions += 1;
        *u.by_definition.entry(definition.to_string()).or_default() += tokens;
        if u.by_approval.len() < 2_000 || u.by_approval.contains_key(approval) {
            *u.by_approval.entry(approval.to_string()).or_default() += tokens;
        }
        let mut tx = store.tx();
        tx.set_if_current(&k, crate::storage::encode(&u)?, raw.as_deref())?;
        extra(&mut tx)?;
        match tx.commit() {
            Ok(()) => return Ok(()),
            Err(StorageError::Conflict(c)) if c == k => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::error::AppError::conflict(
        "USAGE_BUSY",
        "usage is changing too fast",
    ))
}
