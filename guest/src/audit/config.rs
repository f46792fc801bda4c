//! One write path for configuration records (issue 30, D-121): the record write(s) and one
//! `config_changed` entry per change, in one transaction conditioned on the audit head.
//!
//! The storage layer refuses any write of a configuration key that is not such an append
//! (`storage::config`), so a writer that forgets the audit fails in the first test that reaches
//! it. Writers that had their own entry types before (intake, catalog, governance, policies,
//! exceptions, connectors, identity mappings) keep them; the others use [`commit`].
//!
//! Entry: `type: config_changed`, `actor`: the admin, `subject: {kind, id}`,
//! `data: {kind, id, action: created|updated|deleted, changed: [top-level field names],
//! record: <the new record, secrets redacted>}`. A record too large to repeat in the trail is
//! named by its SHA-256 and size instead (`recordSha256`, `recordBytes`).

use super::chain::{self, AuditDraft};
use crate::storage::{StorageResult, Store, Tx};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The entry type every [`commit`] appends.
pub const ENTRY: &str = "config_changed";
/// Field names (any depth, compared case-insensitively) whose values never enter the trail.
pub const SECRET_FIELDS: &[&str] = &[
    "secret",
    "apiKey",
    "apiToken",
    "token",
    "password",
    "clientSecret",
    "privateKey",
    "authorization",
    "keyFingerprint",
];
pub const REDACTED: &str = "[redacted]";
/// Records larger than this (canonical JSON bytes, after redaction) are named by their digest.
pub const RECORD_MAX_BYTES: usize = 16 * 1024;

/// One configuration record's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The record kind (`definition`, `messageTemplate`, `webhook`, `aiSettings`,
    /// `promptTemplate`, `catalogSeed`, …).
    pub kind: &'static str,
    pub id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Anything else the entry should say (e.g. that a secret was replaced), or `Null`.
    pub detail: Value,
}

impl Change {
    pub fn new<B: Serialize, A: Serialize>(
        kind: &'static str,
        id: &str,
        before: Option<&B>,
        after: Option<&A>,
    ) -> Self {
        fn value<T: Serialize>(v: &T) -> Value {
            serde_json::to_value(v).expect("configuration records serialize")
        }
        Change {
            kind,
            id: id.to_string(),
            before: before.map(value),
            after: after.map(value),
            detail: Value::Null,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn action(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, _) => "created",
            (Some(_), Some(_)) => "updated",
            (Some(_), None) => "deleted",
        }
    }

    /// Top-level fields that differ (bookkeeping left out); every field for a create or delete.
    pub fn changed(&self) -> Vec<String> {
        let empty = json!({});
        super::changed_fields(
            self.before.as_ref().unwrap_or(&empty),
            self.after.as_ref().unwrap_or(&empty),
        )
    }

    /// The `config_changed` entry for this change, by `who`.
    pub fn draft(&self, who: &str) -> AuditDraft {
        let mut d = AuditDraft::new(ENTRY, who);
        d.subject = json!({"kind": self.kind, "id": self.id});
        let mut data = json!({
            "kind": self.kind,
            "id": self.id,
            "action": self.action(),
            "changed": self.changed(),
        });
        match self.after.as_ref().map(redact) {
            None => data["record"] = Value::Null,
            Some(r) => {
                let text = chain::canonical_json(&r);
                if text.len() <= RECORD_MAX_BYTES {
                    data["record"] = r;
                } else {
                    data["recordSha256"] = json!(chain::hex(&Sha256::digest(text.as_bytes())));
                    data["recordBytes"] = json!(text.len());
                }
            }
        }
        if !self.detail.is_null() {
            data["detail"] = self.detail.clone();
        }
        d.data = data;
        d
    }
}

/// `v` with the value of every [`SECRET_FIELDS`] key replaced by `"[redacted]"`.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let secret = SECRET_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(k));
                    let x = if secret && !x.is_null() {
                        json!(REDACTED)
                    } else {
                        redact(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Commits `build`'s record writes together with one `config_changed` entry per change, actor
/// `who`, in one transaction (`chain::commit_with_audit`: retried on a moved head, any other
/// conflict returned). Returns the entries' sequence numbers.
pub fn commit(
    store: Store<'_>,
    who: &str,
    changes: &[Change],
    build: impl FnMut(&mut Tx<'_>) -> StorageResult<()>,
) -> StorageResult<Vec<u64>> {
    let drafts: Vec<AuditDraft> = changes.iter().map(|c| c.draft(who)).collect();
    let key = chain::mac_key(store, None)?;
    chain::commit_with_audit(store, &key, None, &drafts, build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_names_the_change_and_never_a_secret() {
        let before = json!({"provider": "anthropic", "enabled": false, "keyFingerprint": "7f3a", "updatedMs": 1});
        let after = json!({"provider": "anthropic", "enabled": true, "keyFingerprint": "9b2c",
                           "updatedMs": 2, "nested": {"apiKey": "sk-1", "name": "x"}});
        let c = Change::new("aiSettings", "ai-settings", Some(&before), Some(&after))
            .with_detail(json!({"apiKeyReplaced": true}));
        let d = c.draft("admin-1");
        assert_eq!(d.kind, ENTRY);
        assert_eq!(d.actor, "admin-1");
        assert_eq!(
            d.subject,
            json!({"kind": "aiSettings", "id": "ai-settings"})
        );
        assert_eq!(d.data["action"], "updated");
        assert_eq!(
            d.data["changed"],
            json!(["enabled", "keyFingerprint", "nested"])
        );
        assert_eq!(d.data["record"]["keyFingerprint"], REDACTED);
        assert_eq!(d.data["record"]["nested"]["apiKey"], REDACTED);
        assert_eq!(d.data["record"]["nested"]["name"], "x");
        assert_eq!(d.data["detail"]["apiKeyReplaced"], true);
        let text = d.data.to_string();
        assert!(!text.contains("9b2c") && !text.contains("sk-1"), "{text}");
    }

    #[test]
    fn created_and_deleted_list_every_field_and_big_records_go_by_digest() {
        let rec = json!({"id": "t", "name": "T", "version": 3});
        let created = Change::new::<Value, Value>("promptTemplate", "t", None, Some(&rec));
        assert_eq!(created.action(), "created");
        assert_eq!(created.changed(), vec!["id", "name"]);
        let deleted = Change::new::<Value, Value>("promptTemplate", "t", Some(&rec), None);
        assert_eq!(deleted.action(), "deleted");
        assert_eq!(deleted.draft("a").data["record"], Value::Null);
        let big = json!({"body": "x".repeat(RECORD_MAX_BYTES)});
        let d = Change::new::<Value, Value>("definition", "d", None, Some(&big)).draft("a");
        assert!(d.data.get("record").is_none());
        assert_eq!(d.data["recordSha256"].as_str().unwrap().len(), 64);
        assert!(d.data["recordBytes"].as_u64().unwrap() > RECORD_MAX_BYTES as u64);
    }
}
