//! Configuration records: the settings that decide who gets access or what data leaves the site
//! (issue 30). Every write of one — set, create or delete — must append to the audit trail in
//! the same transaction, and the storage layer enforces it: a transaction that writes a key
//! listed here without moving `audit-head` is refused before it reaches the host
//! (`StorageError::UnauditedConfig`, `CONFIG_WRITE_UNAUDITED`), and the single-key writes of
//! `Store` (`put`, `put_ttl`, `create`, `delete`) refuse these keys outright (D-120).
//!
//! Writers go through `audit::commit_with_audit` (the `config_changed` entries of
//! `audit::config` or their own entry types). A new configuration record is added here, and the
//! dispatch-generated test (tests/config_audit.rs) checks every admin resolver against this list.

use super::keys;
use crate::host::TxOp;

/// How a configuration key is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Exactly this key.
    Key(&'static str),
    /// Every key under this prefix.
    Prefix(&'static str),
}

impl Scope {
    pub fn matches(self, key: &str) -> bool {
        match self {
            Scope::Key(k) => key == k,
            Scope::Prefix(p) => key.starts_with(p),
        }
    }
}

/// The configuration records, by the name the audit trail and the docs use.
pub const RECORDS: &[(&str, Scope)] = &[
    ("intake", Scope::Key(keys::SITE_INTAKE_CONFIG)),
    ("tool", Scope::Prefix(keys::TOOL_PREFIX)),
    ("governance", Scope::Key(keys::GOVERNANCE_POLICY)),
    (
        "governanceVersion",
        Scope::Prefix(keys::GOVERNANCE_VERSION_PREFIX),
    ),
    ("policy", Scope::Prefix(keys::APPROVAL_POLICY_PREFIX)),
    (
        "exception",
        Scope::Prefix(keys::GOVERNANCE_EXCEPTION_PREFIX),
    ),
    (
        "exceptionIndex",
        Scope::Prefix(keys::GOVERNANCE_EXCEPTION_BY_SUBJECT_PREFIX),
    ),
    ("connector", Scope::Prefix(keys::CONNECTOR_PREFIX)),
    (
        "identityMapping",
        Scope::Prefix(keys::IDENTITY_MAPPING_PREFIX),
    ),
    ("definition", Scope::Prefix(keys::DEFINITION_PREFIX)),
    (
        "definitionVersion",
        Scope::Prefix(keys::DEFINITION_VERSION_PREFIX),
    ),
    (
        "messageTemplate",
        Scope::Prefix(keys::MESSAGE_TEMPLATE_PREFIX),
    ),
    ("webhooks", Scope::Key(keys::WEBHOOK_CONFIG)),
    ("aiSettings", Scope::Key(keys::AI_SETTINGS)),
    (
        "promptTemplate",
        Scope::Prefix(keys::PROMPT_TEMPLATE_PREFIX),
    ),
];

/// The configuration record `key` belongs to, if any.
pub fn kind_of(key: &str) -> Option<&'static str> {
    RECORDS
        .iter()
        .find(|(_, scope)| scope.matches(key))
        .map(|(kind, _)| *kind)
}

pub fn is_config(key: &str) -> bool {
    kind_of(key).is_some()
}

/// The first configuration key `ops` write (set, create, delete) when they do not also write
/// `audit-head`, i.e. when the transaction is not an audited append. `Check` ops write nothing.
pub fn unaudited(ops: &[TxOp]) -> Option<&str> {
    let writes = |o: &&TxOp| !matches!(o, TxOp::Check(..));
    let appends = ops
        .iter()
        .filter(writes)
        .any(|o| o.key() == keys::AUDIT_HEAD);
    if appends {
        return None;
    }
    ops.iter()
        .filter(writes)
        .map(TxOp::key)
        .find(|k| is_config(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Condition, Entry};

    fn set(k: &str) -> TxOp {
        TxOp::Set(Entry {
            key: k.into(),
            value: "1".into(),
        })
    }

    #[test]
    fn every_configuration_record_is_recognised_and_nothing_else() {
        for k in [
            "site-intake-config",
            "tool:chatgpt",
            "governance-policy",
            "governance-policy-version:00000002",
            "approval-policy:p1",
            "governance-exception:exc-1",
            "governance-exception-by-subject:chatgpt:abc",
            "connector:okta",
            "identity-mapping:okta:abc",
            "definition:security-review",
            "definition-version:security-review:00000003",
            "message-template:VOTING",
            "webhook-config",
            "ai-settings",
            "prompt-template:tpl-1",
        ] {
            assert!(is_config(k), "{k} is configuration");
        }
        for k in [
            "request:10001",
            "audit-head",
            "audit-event:000000000001",
            "access-grant:g-1",
            "provisioning-job:j-1",
            "ai-test-rate",
            "ai-settings-x",
            "webhook-delivery:d1",
            "webhook-config-old",
            "governance-policyx",
            "rate-limit:x:y:1",
            "approval-by-definition:d:1:a",
        ] {
            assert!(!is_config(k), "{k} is not configuration");
        }
    }

    #[test]
    fn a_configuration_write_needs_the_audit_head_in_its_transaction() {
        assert_eq!(unaudited(&[set("tool:a")]), Some("tool:a"));
        assert_eq!(
            unaudited(&[set("request:1"), TxOp::Delete("definition:d".into())]),
            Some("definition:d")
        );
        assert_eq!(
            unaudited(&[TxOp::DeleteIf(
                "connector:c".into(),
                Condition::Equals("{}".into())
            )]),
            Some("connector:c")
        );
        // An append moves the head: allowed.
        assert_eq!(unaudited(&[set("tool:a"), set(keys::AUDIT_HEAD)]), None);
        // Checking the head is not moving it.
        assert_eq!(
            unaudited(&[
                set("tool:a"),
                TxOp::Check(keys::AUDIT_HEAD.into(), Condition::Present)
            ]),
            Some("tool:a")
        );
        // Checking a configuration key writes nothing.
        assert_eq!(
            unaudited(&[
                set("request:1"),
                TxOp::Check("site-intake-config".into(), Condition::Present)
            ]),
            None
        );
    }
}
