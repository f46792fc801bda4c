//! Every storage key the app writes, in one place. Prefixes are the §13 entity names so the
//! simulator's storage inspector reads like the data model. Components that come from outside
//! (issue ids, account ids, tool ids) are checked against Forge's key rules when used.

/// Site intake configuration (one record: site-governance first).
pub const SITE_INTAKE_CONFIG: &str = "site-intake-config";
/// Governance settings (versioned; later issues add history).
pub const GOVERNANCE_POLICY: &str = "governance-policy";

pub fn tool(id: &str) -> String {
    format!("tool:{id}")
}
pub const TOOL_PREFIX: &str = "tool:";

/// The request record for a Jira issue (by numeric issue id — stable across key renames).
pub fn request(issue_id: &str) -> String {
    format!("request:{issue_id}")
}
pub const REQUEST_PREFIX: &str = "request:";

/// Newest-first index of a requester's requests: the inverted timestamp sorts newest first.
pub fn request_by_requester(account_id: &str, created_ms: u64, issue_id: &str) -> String {
    format!(
        "request-by-requester:{account_id}:{:013}:{issue_id}",
        inverted(created_ms)
    )
}
pub fn request_by_requester_prefix(account_id: &str) -> String {
    format!("request-by-requester:{account_id}:")
}

/// Requests by decision and project (the pending queue reads `pending:<project>:`).
pub fn request_by_decision(decision: &str, project_key: &str, issue_id: &str) -> String {
    format!("request-by-decision:{decision}:{project_key}:{issue_id}")
}

/// Issue key → issue id, for resolvers that receive issue keys.
pub fn request_by_issue_key(issue_key: &str) -> String {
    format!("request-by-issue-key:{issue_key}")
}

/// Why an issue-created event did not become a request (admins list these; §11).
pub fn intake_rejection(issue_id: &str) -> String {
    format!("intake-rejection:{issue_id}")
}
pub const INTAKE_REJECTION_PREFIX: &str = "intake-rejection:";

/// The audit chain: entries by zero-padded sequence, the head, and the retention checkpoint.
pub fn audit_event(seq: u64) -> String {
    format!("audit-event:{seq:012}")
}
pub const AUDIT_EVENT_PREFIX: &str = "audit-event:";
pub const AUDIT_HEAD: &str = "audit-head";
pub const AUDIT_CHECKPOINT: &str = "audit-checkpoint";
/// Which secret holds the audit MAC key (`audit-mac-key:<id>` in secret storage).
pub const AUDIT_MAC_KEY_ID: &str = "audit-mac-key-id";
pub fn audit_mac_secret(id: &str) -> String {
    format!("audit-mac-key:{id}")
}

/// Short-lived cache of a user's admin check (Jira permission calls are expensive).
pub fn access_cache(account_id: &str) -> String {
    format!("access-cache:{account_id}")
}

/// 9_999_999_999_999 − ms: newest first in ascending key order.
pub fn inverted(ms: u64) -> u64 {
    9_999_999_999_999u64.saturating_sub(ms)
}
