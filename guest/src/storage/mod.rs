//! Typed storage over Forge KVS.
//!
//! - Checks Forge's key rules, value size and JSON depth *before* the host does, so a bad key is a
//!   clear `StorageError` in the app, not a platform error in production.
//! - Entities live under typed key prefixes (`keys.rs`); secondary indexes are keys too.
//! - Writes that must hold together go in one transaction (`Tx`), bounded by Forge's 25 operations.
//! - Configuration records (`config`) are written only by audited appends: a transaction that
//!   writes one without moving the audit head, or a single-key write of one, is refused.

pub mod config;
pub mod hint;
pub mod keys;
pub mod lease;
pub mod rules;

pub use rules::{check_key, MAX_BATCH, MAX_KEY_LEN, MAX_PAGE, MAX_TX_OPS, MAX_VALUE_BYTES};

use crate::error::{AppError, ErrorKind};
use crate::host::{Condition, Entry, Host, HostError, SetOptions, TxOp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;

/// Why a storage call failed, in the app's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// A key broke Forge's rules (`INVALID_KEY` / `KEY_TOO_LONG`).
    InvalidKey(String),
    /// A value is over 240 KiB (`MAX_SIZE`) or nested deeper than 31 (`MAX_DEPTH`).
    ValueTooLarge(String),
    /// More operations than Forge allows in one call.
    TooManyOps(usize),
    /// A stored value did not decode as the expected entity.
    Corrupt {
        key: String,
        reason: String,
    },
    /// A transaction condition (or fail-if-exists) failed on this key.
    Conflict(String),
    /// The audit chain disagrees with its anchor or its own signatures: nothing may be appended
    /// on top of it (`AUDIT_BROKEN`).
    AuditBroken(String),
    /// A configuration record (`config::RECORDS`) was to be written outside an audited append
    /// (`CONFIG_WRITE_UNAUDITED`): a bug in the writer, refused before anything is written.
    UnauditedConfig(String),
    Host(HostError),
}

impl From<HostError> for StorageError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::Conflict(k) => StorageError::Conflict(k),
            other => StorageError::Host(other),
        }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::InvalidKey(m) => AppError::internal("STORAGE_INVALID_KEY", m),
            StorageError::ValueTooLarge(m) => {
                AppError::new(ErrorKind::TooLarge, "STORAGE_VALUE_TOO_LARGE", m)
            }
            StorageError::TooManyOps(n) => AppError::internal(
                "STORAGE_TOO_MANY_OPS",
                format!("{n} operations in one call"),
            ),
            StorageError::Corrupt { key, reason } => AppError::internal(
                "STORAGE_CORRUPT",
                format!("record {key} is unreadable: {reason}"),
            ),
            StorageError::Conflict(k) => {
                AppError::conflict("STORAGE_CONFLICT", format!("concurrent change on {k}"))
            }
            StorageError::AuditBroken(detail) => AppError::conflict(
                "AUDIT_BROKEN",
                format!(
                    "the audit trail is broken ({detail}); no change can be recorded until an \
                     administrator restores it (Governance logs)"
                ),
            ),
            StorageError::UnauditedConfig(key) => AppError::internal(
                "CONFIG_WRITE_UNAUDITED",
                format!("configuration record {key} can only change together with its audit entry"),
            ),
            StorageError::Host(h) => h.into(),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// A page read with a cursor from an earlier answer: Forge refuses a cursor that is stale (they
/// must not be kept), which a person reads as `CURSOR_EXPIRED` (reload), not as a bug.
pub fn cursor_error(e: StorageError) -> AppError {
    match e {
        StorageError::Host(HostError::Invalid(_)) => AppError::invalid(
            "CURSOR_EXPIRED",
            "this page of the list is no longer current; reload it",
        ),
        other => other.into(),
    }
}

/// Due entries, and when the next one falls due (`Store::due_next`).
pub type DueNext<T> = (Vec<(String, T)>, Option<u64>);

/// A page of typed records from a prefix query.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub next_cursor: Option<String>,
}

/// A key that dirties a watched hint cannot expire by TTL: the transaction that carries the
/// dirty mark has no TTL, and work that vanishes on its own is not work a sweep can plan for.
fn unwatchable_ttl(key: &str) -> StorageError {
    StorageError::InvalidKey(format!(
        "{key} is under a watched prefix (storage::hint::WATCHED) and cannot take a TTL"
    ))
}

/// Single-key writes cannot carry an audit entry, so configuration keys refuse them.
fn single_write(key: &str) -> StorageResult<()> {
    check_key(key)?;
    if config::is_config(key) {
        return Err(StorageError::UnauditedConfig(key.to_string()));
    }
    Ok(())
}

/// The stored text of `value`, within Forge's size and depth limits.
pub fn encode<T: Serialize>(value: &T) -> StorageResult<String> {
    rules::encode_checked(value)
}

pub fn decode<T: DeserializeOwned>(key: &str, text: &str) -> StorageResult<T> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// The typed store. Cheap to create; holds only the host reference.
#[derive(Clone, Copy)]
pub struct Store<'h> {
    pub host: &'h dyn Host,
}

impl<'h> Store<'h> {
    pub fn new(host: &'h dyn Host) -> Self {
        Store { host }
    }

    pub fn get_raw(&self, key: &str) -> StorageResult<Option<String>> {
        check_key(key)?;
        Ok(self.host.kvs_get(key)?)
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> StorageResult<Option<T>> {
        match self.get_raw(key)? {
            Some(text) => decode(key, &text).map(Some),
            None => Ok(None),
        }
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> StorageResult<()> {
        single_write(key)?;
        let text = encode(value)?;
        rules::check_entity(key, &text)?;
        if hint::watching(key).is_some() {
            // Still one host call: the write and its hint's dirty mark in one transaction.
            let mut tx = self.tx();
            tx.set_encoded(key, text)?;
            return tx.commit();
        }
        Ok(self.host.kvs_set(key, &text, SetOptions::default())?)
    }

    pub fn put_ttl<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_seconds: u64,
    ) -> StorageResult<()> {
        single_write(key)?;
        let text = encode(value)?;
        rules::check_entity(key, &text)?;
        if hint::watching(key).is_some() {
            return Err(unwatchable_ttl(key));
        }
        Ok(self.host.kvs_set(
            key,
            &text,
            SetOptions {
                fail_if_exists: false,
                ttl_seconds: Some(ttl_seconds),
            },
        )?)
    }

    /// Create-if-absent with a time to live. `Ok(false)` when the key already existed.
    pub fn create_ttl<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_seconds: u64,
    ) -> StorageResult<bool> {
        self.create_with(key, value, Some(ttl_seconds))
    }

    /// Create-if-absent. `Ok(false)` when the key already existed.
    pub fn create<T: Serialize>(&self, key: &str, value: &T) -> StorageResult<bool> {
        self.create_with(key, value, None)
    }

    fn create_with<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_seconds: Option<u64>,
    ) -> StorageResult<bool> {
        single_write(key)?;
        let text = encode(value)?;
        rules::check_entity(key, &text)?;
        if hint::watching(key).is_some() {
            if ttl_seconds.is_some() {
                return Err(unwatchable_ttl(key));
            }
            let mut tx = self.tx();
            tx.push(TxOp::SetIf(
                Entry {
                    key: key.into(),
                    value: text,
                },
                Condition::Absent,
            ))?;
            return match tx.commit() {
                Ok(()) => Ok(true),
                Err(StorageError::Conflict(_)) => Ok(false),
                Err(e) => Err(e),
            };
        }
        match self.host.kvs_set(
            key,
            &text,
            SetOptions {
                fail_if_exists: true,
                ttl_seconds,
            },
        ) {
            Ok(()) => Ok(true),
            Err(HostError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    pub fn delete(&self, key: &str) -> StorageResult<()> {
        single_write(key)?;
        match self.host.kvs_delete(key) {
            Ok(()) | Err(HostError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// One page (≤ 20) of records under `prefix`, in key order.
    pub fn page<T: DeserializeOwned>(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StorageResult<Page<T>> {
        check_key(prefix)?;
        let limit = limit.clamp(1, MAX_PAGE);
        let page = self.host.kvs_query(prefix, cursor, limit)?;
        let mut items = Vec::with_capacity(page.entries.len());
        for Entry { key, value } in page.entries {
            let v = decode(&key, &value)?;
            items.push((key, v));
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Every record under `prefix`, page by page, stopping at `max` (a bound, never unbounded).
    pub fn scan<T: DeserializeOwned>(
        &self,
        prefix: &str,
        max: usize,
    ) -> StorageResult<Vec<(String, T)>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.page::<T>(prefix, cursor.as_deref(), MAX_PAGE)?;
            out.extend(page.items);
            if out.len() >= max {
                out.truncate(max);
                return Ok(out);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The entries of a time-ordered index (`<prefix><ms>:…`, see `index_ms`) that are due at
    /// `now_ms`, oldest first. Reads page by page and stops at the first entry not yet due (or at
    /// `max`), so the cost grows with the due entries, not with the index.
    pub fn due<T: DeserializeOwned>(
        &self,
        prefix: &str,
        now_ms: u64,
        max: usize,
    ) -> StorageResult<Vec<(String, T)>> {
        Ok(self.due_next(prefix, now_ms, max)?.0)
    }

    /// [`Store::due`], and when the next entry falls due (see [`DueNext`]): the time of the first entry not yet
    /// due, `now_ms` when `max` stopped the read with more due, `None` when the index ran out.
    pub fn due_next<T: DeserializeOwned>(
        &self,
        prefix: &str,
        now_ms: u64,
        max: usize,
    ) -> StorageResult<DueNext<T>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.page::<T>(prefix, cursor.as_deref(), MAX_PAGE)?;
            for (k, v) in page.items {
                let ms = index_ms(&k);
                if ms > now_ms {
                    return Ok((out, Some(ms)));
                }
                if out.len() >= max {
                    return Ok((out, Some(now_ms)));
                }
                out.push((k, v));
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok((out, None)),
            }
        }
    }

    /// The entries of a time-ordered index (`<prefix><ms:013>:…`) with `from_ms < ms <= to_ms`,
    /// oldest first, at most `max`. KVS queries are by prefix only, so the range is covered by
    /// the few decimal buckets of the 13-digit time that overlap it (the smallest bucket size
    /// that needs at most four): the cost follows the entries in the window, not the index.
    pub fn range<T: DeserializeOwned>(
        &self,
        prefix: &str,
        from_ms: u64,
        to_ms: u64,
        max: usize,
    ) -> StorageResult<Vec<(String, T)>> {
        let mut out = Vec::new();
        if to_ms <= from_ms || max == 0 {
            return Ok(out);
        }
        let span = to_ms - from_ms;
        let mut digits = 0u32;
        // span ≤ 3 × size, so the window touches at most four buckets (an integer division
        // here once let a one-hour window cost five queries).
        while digits < 13 && span > 3 * 10u64.pow(digits) {
            digits += 1;
        }
        let size = 10u64.pow(digits);
        let width = 13 - digits as usize;
        for bucket in (from_ms + 1) / size..=to_ms / size {
            let p = if width == 0 {
                prefix.to_string()
            } else {
                format!("{prefix}{bucket:0width$}")
            };
            let mut cursor: Option<String> = None;
            loop {
                let page = self.page::<T>(&p, cursor.as_deref(), MAX_PAGE)?;
                for (k, v) in page.items {
                    // The time is the field right after `prefix` (which may itself hold colons,
                    // e.g. a month: `request-by-time:2026-11:<ms>:<id>`).
                    let ms = k[prefix.len()..]
                        .split(':')
                        .next()
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(u64::MAX);
                    if ms > to_ms {
                        return Ok(out);
                    }
                    if ms > from_ms {
                        out.push((k, v));
                        if out.len() >= max {
                            return Ok(out);
                        }
                    }
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Records for any number of keys (batched 25 at a time), in the order given; absent keys are
    /// skipped.
    pub fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> StorageResult<Vec<(String, T)>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH) {
            let found = self.batch_get(chunk)?;
            for k in chunk {
                if let Some(t) = found.get(k) {
                    out.push((k.clone(), decode(k, t)?));
                }
            }
        }
        Ok(out)
    }

    /// Raw values for up to 25 keys at once; absent keys are missing from the map.
    pub fn batch_get(&self, keys: &[String]) -> StorageResult<BTreeMap<String, String>> {
        if keys.is_empty() {
            // Nothing to ask for: no call (an empty batch is not something to test Forge with).
            return Ok(BTreeMap::new());
        }
        if keys.len() > MAX_BATCH {
            return Err(StorageError::TooManyOps(keys.len()));
        }
        for k in keys {
            check_key(k)?;
        }
        Ok(self
            .host
            .kvs_batch_get(keys)?
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect())
    }

    pub fn tx(&self) -> Tx<'h> {
        Tx {
            host: self.host,
            ops: Vec::new(),
            hints: Vec::new(),
        }
    }
}

/// The time in a time-ordered index key `<name>:<ms>:<rest>` (u64::MAX when it has none, so a
/// malformed key is never "due").
pub fn index_ms(key: &str) -> u64 {
    key.split(':')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(u64::MAX)
}

/// A transaction under construction: every op is checked as it is added; `commit` applies all or
/// nothing. Keys must be unique within one transaction (a Forge rule).
pub struct Tx<'h> {
    host: &'h dyn Host,
    ops: Vec<TxOp>,
    /// Watched hints this transaction's writes dirty (added to it at commit).
    hints: Vec<&'static str>,
}

impl<'h> Tx<'h> {
    fn push(&mut self, op: TxOp) -> StorageResult<()> {
        check_key(op.key())?;
        if let TxOp::Set(e) | TxOp::SetIf(e, _) = &op {
            rules::check_entity(&e.key, &e.value)?;
        }
        if self.ops.iter().any(|o| o.key() == op.key())
            || self.hints.iter().any(|h| hint::key(h) == op.key())
        {
            return Err(StorageError::InvalidKey(format!(
                "key {} appears twice in one transaction",
                op.key()
            )));
        }
        // A write under a watched prefix brings its hint's dirty mark along (hint::watching),
        // which takes one of the transaction's operations.
        let watched = match &op {
            TxOp::Set(e) | TxOp::SetIf(e, _) => hint::watching(&e.key),
            _ => None,
        };
        let new_hint = watched.filter(|h| !self.hints.contains(h));
        let room = self.ops.len() + self.hints.len() + usize::from(new_hint.is_some());
        if room >= MAX_TX_OPS {
            return Err(StorageError::TooManyOps(room + 1));
        }
        if let Some(h) = new_hint {
            if self.ops.iter().any(|o| o.key() == hint::key(h)) {
                return Err(StorageError::InvalidKey(format!(
                    "{} is written by the transaction and dirtied by {}",
                    hint::key(h),
                    op.key()
                )));
            }
            self.hints.push(h);
        }
        self.ops.push(op);
        Ok(())
    }

    pub fn set<T: Serialize>(&mut self, key: &str, value: &T) -> StorageResult<&mut Self> {
        let text = encode(value)?;
        self.push(TxOp::Set(Entry {
            key: key.into(),
            value: text,
        }))?;
        Ok(self)
    }

    /// `text` came from `encode` (checked there; not scanned again).
    fn set_encoded(&mut self, key: &str, text: String) -> StorageResult<&mut Self> {
        self.push(TxOp::Set(Entry {
            key: key.into(),
            value: text,
        }))?;
        Ok(self)
    }

    /// Set only if the key does not exist yet (the transaction fails with `Conflict(key)` otherwise).
    pub fn create<T: Serialize>(&mut self, key: &str, value: &T) -> StorageResult<&mut Self> {
        let text = encode(value)?;
        self.push(TxOp::SetIf(
            Entry {
                key: key.into(),
                value: text,
            },
            Condition::Absent,
        ))?;
        Ok(self)
    }

    /// Set `value` only if the current stored text equals `expected` (or the key is absent when
    /// `None`). The record itself, not its text: a `String` here is stored as a JSON string.
    pub fn set_if_current<T: Serialize>(
        &mut self,
        key: &str,
        value: &T,
        expected: Option<&str>,
    ) -> StorageResult<&mut Self> {
        let text = encode(value)?;
        let cond = match expected {
            Some(e) => Condition::Equals(e.to_string()),
            None => Condition::Absent,
        };
        self.push(TxOp::SetIf(
            Entry {
                key: key.into(),
                value: text,
            },
            cond,
        ))?;
        Ok(self)
    }

    pub fn delete(&mut self, key: &str) -> StorageResult<&mut Self> {
        self.push(TxOp::Delete(key.into()))?;
        Ok(self)
    }

    /// Delete only if the current stored text equals `expected`.
    pub fn delete_if_current(&mut self, key: &str, expected: &str) -> StorageResult<&mut Self> {
        self.push(TxOp::DeleteIf(
            key.into(),
            Condition::Equals(expected.to_string()),
        ))?;
        Ok(self)
    }

    pub fn check(&mut self, key: &str, cond: Condition) -> StorageResult<&mut Self> {
        self.push(TxOp::Check(key.into(), cond))?;
        Ok(self)
    }

    /// Operations the commit will send, the watched hints' dirty marks included.
    pub fn len(&self) -> usize {
        self.ops.len() + self.hints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn ops(&self) -> &[TxOp] {
        &self.ops
    }

    pub fn commit(mut self) -> StorageResult<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        if let Some(key) = config::unaudited(&self.ops) {
            return Err(StorageError::UnauditedConfig(key.to_string()));
        }
        for name in std::mem::take(&mut self.hints) {
            let writes = self.ops.iter().filter_map(|o| match o {
                TxOp::Set(e) | TxOp::SetIf(e, _) if hint::watching(&e.key) == Some(name) => {
                    Some((e.key.as_str(), e.value.as_str()))
                }
                _ => None,
            });
            let mark = hint::mark_for(self.host.now_ms(), writes);
            self.ops.push(TxOp::Set(Entry {
                key: hint::key(name),
                value: hint::dirty_text(&mark),
            }));
        }
        debug_assert!(self.ops.len() <= MAX_TX_OPS);
        Ok(self.host.kvs_transact(&self.ops)?)
    }
}
