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

/// Requests by tool and decision, newest first: the admin requests search by tool reads only
/// that tool's rows of the category (issue 32 item 3). Moves with the decision, like
/// `request_by_decision`. Tool keys are catalog ids or `new-<slug>` (key-safe).
pub fn request_by_tool(
    tool_key: &str,
    decision: &str,
    requested_ms: u64,
    issue_id: &str,
) -> String {
    format!(
        "request-by-tool:{tool_key}:{decision}:{:013}:{issue_id}",
        inverted(requested_ms)
    )
}
pub fn request_by_tool_prefix(tool_key: &str, decision: &str) -> String {
    format!("request-by-tool:{tool_key}:{decision}:")
}
/// Where the backfill of `request_by_tool` for older requests stands (`clearance::tool_index`).
pub const REQUEST_TOOL_INDEX_BACKFILL: &str = "request-by-tool-backfill";

/// Issue key → issue id, for resolvers that receive issue keys.
pub fn request_by_issue_key(issue_key: &str) -> String {
    format!("request-by-issue-key:{issue_key}")
}

/// Why an issue-created event did not become a request (admins list these; §11).
pub fn intake_rejection(issue_id: &str) -> String {
    format!("intake-rejection:{issue_id}")
}
pub const INTAKE_REJECTION_PREFIX: &str = "intake-rejection:";

/// The audit chain: entries by zero-padded sequence, the head, and the retention point.
pub fn audit_event(seq: u64) -> String {
    format!("audit-event:{seq:012}")
}
pub const AUDIT_EVENT_PREFIX: &str = "audit-event:";
pub const AUDIT_HEAD: &str = "audit-head";
/// Where retention cut the chain: the last pruned entry's seq and hash, MAC'd.
pub const AUDIT_RETENTION_POINT: &str = "audit-retention-point";
/// Which secret holds the audit MAC key (`audit-mac-key:<id>` in secret storage, with the
/// chain's anchor beside it).
pub const AUDIT_MAC_KEY_ID: &str = "audit-mac-key-id";
pub fn audit_mac_secret(id: &str) -> String {
    format!("audit-mac-key:{id}")
}
/// Secret: which MAC key the chain uses, so a KVS wipe cannot make the app start a new chain.
pub const AUDIT_KEYRING_SECRET: &str = "audit-keyring";
/// The entries that name an issue (the evidence pack reads these), one key per entry.
pub fn audit_issue(issue_key: &str, seq: u64) -> String {
    format!("audit-issue:{issue_key}:{seq:012}")
}
pub fn audit_issue_prefix(issue_key: &str) -> String {
    format!("audit-issue:{issue_key}:")
}
/// The entries an actor wrote (governance-log search by actor reads these), one key per actor
/// per append listing its sequence numbers, like `audit_issue`, but newest first (an actor such
/// as `app` writes most of the log; a search reads its newest page, not all of it).
pub fn audit_actor(actor: &str, seq: u64) -> String {
    format!("audit-actor:{actor}:{:013}", inverted(seq))
}
pub fn audit_actor_prefix(actor: &str) -> String {
    format!("audit-actor:{actor}:")
}
/// From which sequence number every entry is in the actor index (`audit::actors`).
pub const AUDIT_ACTOR_INDEX_FROM: &str = "audit-actor-index-from";
/// The first entry of each day (`YYYY-MM-DD`): exports by time start reading there.
pub fn audit_day(day: &str) -> String {
    format!("audit-day:{day}")
}
pub const AUDIT_DAY_PREFIX: &str = "audit-day:";
/// An append found the chain broken (rolled back, wiped, edited head): what and when.
pub const AUDIT_BROKEN: &str = "audit-broken";
/// The public half of the checkpoint signing key; the seed is the secret
/// `audit-signing-key:<key id>`.
pub const AUDIT_SIGNING_KEY: &str = "audit-signing-key";
pub fn audit_signing_secret(key_id: &str) -> String {
    format!("audit-signing-key:{key_id}")
}
/// Signed checkpoints: the latest, and each by tree size.
pub const AUDIT_CHECKPOINT_LATEST: &str = "audit-checkpoint-latest";
pub fn audit_checkpoint(size: u64) -> String {
    format!("audit-checkpoint:{size:012}")
}
pub const AUDIT_CHECKPOINT_PREFIX: &str = "audit-checkpoint:";
/// Verification progress: what is verified, the run under way, the last report.
pub const AUDIT_VERIFY: &str = "audit-verify";

/// Short-lived cache of a user's admin check (Jira permission calls are expensive).
pub fn access_cache(account_id: &str) -> String {
    format!("access-cache:{account_id}")
}

/// 9_999_999_999_999 − ms: newest first in ascending key order.
pub fn inverted(ms: u64) -> u64 {
    9_999_999_999_999u64.saturating_sub(ms)
}

// ---- AI Clearance decisions (catalog, governance, policies, grants, jobs) ----------------------

/// Every saved governance version, kept so audit entries can name the one that applied.
pub fn governance_version(v: u64) -> String {
    format!("governance-policy-version:{v:08}")
}
pub const GOVERNANCE_VERSION_PREFIX: &str = "governance-policy-version:";

/// Controlled overrides (§4.5): an exception raises one person's maximum for one tool.
pub fn governance_exception(id: &str) -> String {
    format!("governance-exception:{id}")
}
pub const GOVERNANCE_EXCEPTION_PREFIX: &str = "governance-exception:";
pub fn governance_exception_by_subject(tool_id: &str, account_id: &str) -> String {
    format!("{GOVERNANCE_EXCEPTION_BY_SUBJECT_PREFIX}{tool_id}:{account_id}")
}
pub const GOVERNANCE_EXCEPTION_BY_SUBJECT_PREFIX: &str = "governance-exception-by-subject:";

/// Auto-approval policies (§9 C).
pub fn approval_policy(id: &str) -> String {
    format!("approval-policy:{id}")
}
pub const APPROVAL_POLICY_PREFIX: &str = "approval-policy:";

/// Requests by request time, bucketed by month: an export reads only the months of its window
/// (KVS queries are by prefix only).
pub fn request_by_time(ms: u64, issue_id: &str) -> String {
    format!(
        "request-by-time:{}:{ms:013}:{issue_id}",
        &crate::time::rfc3339(ms)[..7]
    )
}
pub const REQUEST_BY_TIME_PREFIX: &str = "request-by-time:";
/// The admin overview's pending counter (issue 32, D-250): `{"count": n}`, the number of
/// pending requests as of the last fold of the deltas below.
pub const PENDING_COUNT: &str = "pending-count";
/// One change of the pending count not yet folded into [`PENDING_COUNT`]:
/// `pending-delta:<issueId>:in` (+1, written by intake with the pending index entry) and
/// `pending-delta:<issueId>:out` (-1, written when the decision's notice is done).
pub const PENDING_DELTA_PREFIX: &str = "pending-delta:";
pub fn pending_delta(issue_id: &str, dir: &str) -> String {
    format!("{PENDING_DELTA_PREFIX}{issue_id}:{dir}")
}
/// Bulk decisions queued for a later minute, for the Approvals tab and the runner's sweep
/// (issue 32, D-253): one record, written with the write budget's reservation.
pub const BULK_QUEUED: &str = "bulk-queued";
pub fn request_by_decision_prefix(decision: &str) -> String {
    format!("request-by-decision:{decision}:")
}

/// Grants: the record, and the indexes each question reads.
pub fn grant(id: &str) -> String {
    format!("access-grant:{id}")
}
/// Present while the person holds an open (pendingProvision or active) grant for the tool:
/// the duplicate-grant conflict check is one read.
pub fn grant_open(account_id: &str, tool_key: &str) -> String {
    format!("access-grant-open:{account_id}:{tool_key}")
}
pub const GRANT_OPEN_PREFIX: &str = "access-grant-open:";
pub fn grant_by_account(account_id: &str, grant_id: &str) -> String {
    format!("access-grant-by-account:{account_id}:{grant_id}")
}
pub fn grant_by_account_prefix(account_id: &str) -> String {
    format!("access-grant-by-account:{account_id}:")
}
pub fn grant_by_status(status: &str, grant_id: &str) -> String {
    format!("access-grant-by-status:{status}:{grant_id}")
}
pub fn grant_by_status_prefix(status: &str) -> String {
    format!("access-grant-by-status:{status}:")
}
/// Open grants of one tool (reconciliation compares them with the tool's provider group).
pub fn grant_by_tool(tool_key: &str, grant_id: &str) -> String {
    format!("access-grant-by-tool:{tool_key}:{grant_id}")
}
pub fn grant_by_tool_prefix(tool_key: &str) -> String {
    format!("access-grant-by-tool:{tool_key}:")
}
/// Open grants by expiry time: the job runner reads only the overdue ones.
pub fn grant_expiry(expires_ms: u64, grant_id: &str) -> String {
    format!("access-grant-expiry:{expires_ms:013}:{grant_id}")
}
pub const GRANT_EXPIRY_PREFIX: &str = "access-grant-expiry:";
pub fn grant_by_time(created_ms: u64, grant_id: &str) -> String {
    format!(
        "access-grant-by-time:{}:{created_ms:013}:{grant_id}",
        &crate::time::rfc3339(created_ms)[..7]
    )
}
pub const GRANT_BY_TIME_PREFIX: &str = "access-grant-by-time:";

/// Provisioning jobs and their indexes.
pub fn job(id: &str) -> String {
    format!("provisioning-job:{id}")
}
pub fn job_by_status(status: &str, job_id: &str) -> String {
    format!("provisioning-job-by-status:{status}:{job_id}")
}
pub fn job_by_status_prefix(status: &str) -> String {
    format!("provisioning-job-by-status:{status}:")
}
/// Present while a job of `kind` is not finished for the grant ("unless one is already active").
pub fn job_open(grant_id: &str, kind: &str) -> String {
    format!("provisioning-job-open:{grant_id}:{kind}")
}
pub fn job_due(due_ms: u64, job_id: &str) -> String {
    format!("provisioning-job-due:{due_ms:013}:{job_id}")
}
pub const JOB_DUE_PREFIX: &str = "provisioning-job-due:";

/// Issue comments and transitions that follow a decision (run from the `decisions` queue).
pub fn decision_notice(id: &str) -> String {
    format!("decision-notice:{id}")
}
pub const DECISION_NOTICE_PREFIX: &str = "decision-notice:";
/// Leases (storage::lease) of the one delivery of an approval effect / a prompt job that acts.
pub fn effect_lease(id: &str) -> String {
    format!("effect-lease:{id}")
}
pub fn prompt_lease(id: &str) -> String {
    format!("prompt-lease:{id}")
}

/// Held (with a TTL) by the one delivery of a notice that may comment and transition.
pub fn notice_claim(id: &str) -> String {
    format!("notice-claim:{id}")
}

/// An approval path that decided an AI Clearance request, waiting to be applied to it.
pub fn path_outcome(approval_id: &str) -> String {
    format!("path-outcome:{approval_id}")
}
pub const PATH_OUTCOME_PREFIX: &str = "path-outcome:";

/// Per-actor rate limit windows.
pub fn rate_limit(bucket: &str, actor: &str, window: u64) -> String {
    format!("rate-limit:{bucket}:{actor}:{window}")
}

/// Insights rollups, folded from the audit trail by the daily analytics runner: the head (what
/// was folded, open counts) here, each calendar month in its own record.
pub const ANALYTICS_ROLLUPS: &str = "analytics-rollups";
/// One calendar month of insights (`YYYY-MM`), bounded in size (requesters capped per month).
pub fn analytics_month(month: &str) -> String {
    format!("{ANALYTICS_MONTH_PREFIX}{month}")
}
pub const ANALYTICS_MONTH_PREFIX: &str = "analytics-month:";
/// The latest change that weakened a tool's data profile (issue 35): the grants approved before
/// it are reported for recertification.
pub fn tool_profile_change(tool_id: &str) -> String {
    format!("{TOOL_PROFILE_CHANGE_PREFIX}{tool_id}")
}
pub const TOOL_PROFILE_CHANGE_PREFIX: &str = "tool-profile-change:";

// ---- Provisioning (connectors, identities, relay) ---------------------------------------------

/// Provider connectors (§4.4). Their config lives in secret storage under
/// `connector-config:<id>:<configVersion>`; the record keeps only a fingerprint.
pub fn connector(id: &str) -> String {
    format!("connector:{id}")
}
pub const CONNECTOR_PREFIX: &str = "connector:";
/// Secret-storage key of one saved version of a connector's config.
/// `nonce` makes two concurrent saves of the same version write different secrets.
pub fn connector_config_secret(id: &str, version: u64, nonce: &str) -> String {
    format!("connector-config:{id}:{version}:{nonce}")
}
/// An admin's explicit mapping of a Jira user to a provider account (metadata here; the account
/// itself under the same key in secret storage).
pub fn identity_mapping(connector_id: &str, account_id: &str) -> String {
    format!("identity-mapping:{connector_id}:{account_id}")
}
pub fn identity_mapping_prefix(connector_id: &str) -> String {
    format!("{IDENTITY_MAPPING_PREFIX}{connector_id}:")
}
pub const IDENTITY_MAPPING_PREFIX: &str = "identity-mapping:";
/// The provider identity a grant was provisioned with (metadata; the value in secret storage
/// under the same key), so deprovisioning removes exactly that account.
pub fn external_identity(grant_id: &str) -> String {
    format!("external-identity:{grant_id}")
}
/// Identities no longer in use, by release time: the retention sweep reads only the old ones.
pub fn external_identity_released(ms: u64, grant_id: &str) -> String {
    format!("external-identity-released:{ms:013}:{grant_id}")
}
pub const EXTERNAL_IDENTITY_RELEASED_PREFIX: &str = "external-identity-released:";
/// Finished (succeeded / deadLetter / cancelled) jobs by finish time, for pruning.
pub fn job_closed(ms: u64, job_id: &str) -> String {
    format!("provisioning-job-closed:{ms:013}:{job_id}")
}
pub const JOB_CLOSED_PREFIX: &str = "provisioning-job-closed:";

// ---- Lifecycle sweeps (escalation, recertification, expiry notices) ----------------------------

/// A pending request's escalation time (requested + escalation hours), written at intake.
pub fn escalation_due(ms: u64, issue_id: &str) -> String {
    format!("request-escalation-due:{ms:013}:{issue_id}")
}
pub const ESCALATION_DUE_PREFIX: &str = "request-escalation-due:";
/// A request's decision deadline (`<ms>` when nobody has decided it): the daily deadline pass
/// reads only the due ones (issue 32).
pub fn decision_deadline(ms: u64, issue_id: &str) -> String {
    format!("{DECISION_DEADLINE_PREFIX}{ms:013}:{issue_id}")
}
pub const DECISION_DEADLINE_PREFIX: &str = "request-decision-deadline:";
/// The SLA breach / escalation record of a request (at most one).
pub fn escalation(issue_id: &str) -> String {
    format!("request-escalation:{issue_id}")
}
/// How far (in expiry time) each reminder sweep has read the grant expiry index.
pub const REMINDER_CURSORS: &str = "grant-reminder-cursors";
/// One reminder (`expiry-7d`, `expiry-1d`, `recert`) per grant per expiry time: create-if-absent.
pub fn grant_reminder(grant_id: &str, kind: &str, expires_ms: u64) -> String {
    format!("grant-reminder:{grant_id}:{kind}:{expires_ms}")
}

// ---- Reconciliation (provider groups against grants) -------------------------------------------

/// One drift finding: `reconciliation-record:<toolId>:<kind>:<subject>`.
pub fn reconciliation_record(tool_id: &str, kind: &str, subject: &str) -> String {
    format!("reconciliation-record:{tool_id}:{kind}:{subject}")
}
pub const RECONCILIATION_RECORD_PREFIX: &str = "reconciliation-record:";
/// One check of one tool, newest first.
pub fn reconciliation_run(ms: u64, tool_id: &str, nonce: &str) -> String {
    format!("reconciliation-run:{:013}:{tool_id}:{nonce}", inverted(ms))
}
pub const RECONCILIATION_RUN_PREFIX: &str = "reconciliation-run:";

// ---- Approval paths and the AI Prompt step (configuration) -------------------------------------

/// The current version of an approval definition.
pub fn definition(id: &str) -> String {
    format!("{DEFINITION_PREFIX}{id}")
}
pub const DEFINITION_PREFIX: &str = "definition:";
/// Every saved version of a definition, kept unchanged so a request can name the one it walks.
pub fn definition_version(id: &str, version: u64) -> String {
    format!("{DEFINITION_VERSION_PREFIX}{id}:{version:08}")
}
pub fn definition_version_prefix(id: &str) -> String {
    format!("{DEFINITION_VERSION_PREFIX}{id}:")
}
pub const DEFINITION_VERSION_PREFIX: &str = "definition-version:";
/// A tenant's custom email message template for one event (absent = the default).
pub fn message_template(event: &str) -> String {
    format!("{MESSAGE_TEMPLATE_PREFIX}{event}")
}
pub const MESSAGE_TEMPLATE_PREFIX: &str = "message-template:";
/// The STEP_DECISION webhook endpoints (one record; their secrets are in secret storage).
pub const WEBHOOK_CONFIG: &str = "webhook-config";
/// Settings → AI: provider, model, budget, kill-switch and the data-sharing toggles (the API
/// key is in secret storage).
pub const AI_SETTINGS: &str = "ai-settings";
/// Custom prompt templates.
pub fn prompt_template(id: &str) -> String {
    format!("{PROMPT_TEMPLATE_PREFIX}{id}")
}
pub const PROMPT_TEMPLATE_PREFIX: &str = "prompt-template:";
