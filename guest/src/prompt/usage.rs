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
    /// Failed PROMPT steps (an AI error in reports), with or without a provider call.
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub executions_by_definition: BTreeMap<String, u64>,
    #[serde(default)]
    pub errors_by_definition: BTreeMap<String, u64>,
}

/// Where usage stands against the budget: the banner and lozenge state of Settings → AI.
pub fn status(tokens: u64, budget: u64) -> (u64, &'static str) {
    // A fresh tenant has no budget yet: nothing runs, but nothing was used up either.
    if budget == 0 {
        return (0, "NO_BUDGET");
    }
    let pct = (tokens * 100)
        .checked_div(budget)
        .map_or(100, |p| p.min(999));
    let status = if tokens >= budget {
        "EXHAUSTED"
    } else if tokens * 10 >= budget * 9 {
        "WARNING"
    } else {
        "OK"
    };
    (pct, status)
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

/// What one PROMPT step run adds to the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    pub tokens: u64,
    /// A provider call was made (an execution row exists).
    pub called: bool,
    pub failed: bool,
}

/// What [`add`] would read first, read before a provider call so that after it only the
/// commit remains: a crash between the answer and the recorded row is what re-bills.
pub struct Prefetch {
    month: String,
    usage: Option<String>,
    head: Option<String>,
    key: crate::audit::MacKey,
}

/// The month's usage, the audit head and the audit key: one `batch-get` and one secret read.
pub fn prefetch(host: &dyn Host) -> AppResult<Prefetch> {
    let store = Store::new(host);
    let m = month(host.now_ms());
    let names = [
        key(&m),
        crate::storage::keys::AUDIT_HEAD.to_string(),
        crate::storage::keys::AUDIT_MAC_KEY_ID.to_string(),
    ];
    let got = store.batch_get(&names)?;
    let mac = crate::audit::mac_key(
        store,
        Some(got.get(crate::storage::keys::AUDIT_MAC_KEY_ID).cloned()),
    )?;
    Ok(Prefetch {
        usage: got.get(&names[0]).cloned(),
        head: got.get(crate::storage::keys::AUDIT_HEAD).cloned(),
        month: m,
        key: mac,
    })
}

/// Adds one run: tokens, the execution and a failure, in one transaction with `extra` (the
/// execution row) and `audit`, conditioned on the stored usage and retried on a lost race.
/// `pre` saves the reads when they were made before the provider call.
pub fn add(
    host: &dyn Host,
    definition: &str,
    approval: &str,
    spend: Spend,
    extra: &dyn Fn(&mut crate::storage::Tx<'_>) -> crate::storage::StorageResult<()>,
    audit: Option<&crate::audit::AuditDraft>,
    pre: Option<Prefetch>,
) -> AppResult<()> {
    let tokens = spend.tokens;
    let store = Store::new(host);
    let k = key(&month(host.now_ms()));
    // A prefetch from the same month stands in for the first reads.
    let mut pre = pre.filter(|p| key(&p.month) == k);
    let drafts: Vec<crate::audit::AuditDraft> = audit.into_iter().cloned().collect();
    let mac = match (&pre, drafts.is_empty()) {
        (_, true) => None,
        (Some(p), false) => Some(crate::audit::MacKey {
            id: p.key.id.clone(),
            key: p.key.key.clone(),
            anchor: p.key.anchor.clone(),
        }),
        (None, false) => Some(crate::audit::mac_key(store, None)?),
    };
    for _ in 0..8 {
        let (raw, head) = match pre.take() {
            Some(p) => (p.usage, Some(p.head)),
            None => (store.get_raw(&k)?, None),
        };
        let mut u: Usage = match &raw {
            Some(t) => crate::storage::decode(&k, t)?,
            None => Usage {
                month: month(host.now_ms()),
                ..Usage::default()
            },
        };
        u.tokens += tokens;
        *u.by_definition.entry(definition.to_string()).or_default() += tokens;
        if spend.called {
            u.executions += 1;
            *u.executions_by_definition
                .entry(definition.to_string())
                .or_default() += 1;
        }
        if spend.failed {
            u.errors += 1;
            *u.errors_by_definition
                .entry(definition.to_string())
                .or_default() += 1;
        }
        if tokens > 0 && (u.by_approval.len() < 2_000 || u.by_approval.contains_key(approval)) {
            *u.by_approval.entry(approval.to_string()).or_default() += tokens;
        }
        // The AI read's audit entry (hashes, never the text) commits with its row and usage.
        let build = |tx: &mut crate::storage::Tx<'_>| {
            tx.set_if_current(&k, &u, raw.as_deref())?;
            extra(tx)
        };
        let done = match &mac {
            Some(m) => crate::audit::commit_with_audit(store, m, head, &drafts, build).map(|_| ()),
            None => {
                let mut tx = store.tx();
                build(&mut tx)?;
                tx.commit()
            }
        };
        match done {
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
