import { ResolverError } from '../api';

/** Sentences for the stable error codes the Rust resolvers return. Unknown codes fall back to
 *  the server's message. */
const TEXT: Record<string, string> = {
  // Approvals tab / decisions (guest/src/clearance/tab.rs, decision.rs)
  BULK_TOO_LARGE: 'You can decide at most 50 requests at once. Select fewer requests and try again.',
  BULK_KEYS_INVALID: 'Select at least one request first.',
  BULK_RATE_LIMITED: 'You can make at most 5 bulk decisions a minute.',
  DECISION_RATE_LIMITED: 'You are deciding requests too quickly (at most 30 a minute).',
  NOT_APPROVER: 'You are not an approver for this request.',
  NOT_AN_APPROVER: 'You are not one of the approvers of this step.',
  NO_APPROVAL_ACCESS: 'The Approvals tab is only for approvers.',
  REQUEST_NOT_PENDING: 'This request has already been decided.',
  REQUEST_NOT_FOUND: 'This request no longer exists.',
  REQUEST_BUSY: 'Someone else is changing this request right now. Try again in a moment.',
  GRANT_CONFLICT: 'The requester already has open access to this tool, so it cannot be approved again.',
  TOOL_NOT_REQUESTABLE: 'This tool is blocked or denied in the catalog and cannot be approved.',
  UNKNOWN_TOOL_BLOCKED: 'Governance blocks tools that are not in the catalog. An admin has to assess this tool first.',
  DECISION_INVALID: 'Choose approve or deny.',
  COMMENT_TOO_LONG: 'The comment is too long: at most 2,000 characters.',
  // Manual provisioning (jobs.rs)
  JOB_NOT_FOUND: 'This provisioning task no longer exists.',
  JOB_NOT_MANUAL_PENDING: 'This task is no longer waiting for a manual action (someone may have completed it).',
  COMPLETION_MISMATCH: 'This button does not match the kind of task.',
  JOB_BUSY: 'This task is being updated right now. Try again in a moment.',
  // Approval paths (approvals/service.rs, engine.rs, store.rs)
  APPROVAL_NOT_FOUND: 'This approval no longer exists.',
  APPROVAL_CLOSED: 'This approval is already closed.',
  APPROVAL_BUSY: 'Someone else is updating this approval. Try again in a moment.',
  ALREADY_DECIDED: 'You have already decided this step.',
  STEP_NOT_ACTIVE: 'This step is not waiting for a decision any more.',
  STEP_NOT_DECIDABLE: 'This step cannot be decided by people.',
  STEP_NOT_FOUND: 'This step no longer exists in the approval.',
  STEP_NOT_FINISHED: 'The analysis is still running; it can be re-run once it has finished.',
  NOT_ORIGINATOR: 'Only whoever started the approval or a Jira administrator can do this.',
  ISSUE_NOT_FOUND: 'You cannot see this issue.',
  STORAGE_CONFLICT: 'Someone else changed this at the same time. Try again.',
  // History paging
  CURSOR_INVALID: 'The page position expired. Go back to the first page.',
  LIMIT_INVALID: 'The page size must be between 1 and 20.',
  // Portal panel gate (panel/mod.rs) and snapshot (intake/snapshot.rs)
  NOT_CONFIGURED: 'AI Clearance intake is not configured yet. Ask a Jira admin to set it up.',
  CONTEXT_MISSING: 'The form did not receive the portal and request type.',
  WRONG_PORTAL: 'AI Clearance is not available on this portal.',
  REQUEST_TYPE_NOT_ALLOWED: 'AI Clearance is not available for this request type.',
  TOOL_MISSING: 'Choose an approved tool or "Request new tool".',
  TOOL_AMBIGUOUS: 'Choose either a catalog tool or a new tool, not both.',
  TOOL_ID_INVALID: 'This tool is not valid. Choose another tool.',
  TOOL_UNKNOWN: 'This tool is no longer in the catalog. Choose another tool.',
  NEW_TOOL_NAME_MISSING: 'Enter the name of the tool you need.',
  NEW_TOOL_URL_MISSING: "Enter the tool's web address.",
  NEW_TOOL_URL_INVALID: 'Enter a web address starting with https://, such as https://example.com.',
  DURATION_INVALID: 'Choose how many days you need access.',
  DURATION_TOO_LONG: 'This duration is longer than this tool allows. Choose a shorter one.',
  SNAPSHOT_TOO_LARGE: 'The request is too large. Shorten the justification.',
  SNAPSHOT_MALFORMED: 'The form could not be read. Reload the page and try again.',
  // Admin requests, exports, governance logs (clearance/admin.rs, export.rs, jobs.rs, dispatch.rs)
  CATEGORY_INVALID: 'This list is not available. Choose another filter.',
  EXPORT_RANGE_TOO_LONG: 'An export covers at most 365 days. Choose a shorter range.',
  EXPORT_RANGE_INVALID: 'Choose a valid range: the start date must not be after the end date.',
  EXPORT_FORMAT_INVALID: 'Choose CSV or JSON.',
  EXPORT_RATE_LIMITED: 'You can start at most 5 exports or evidence downloads a minute.',
  EXPORT_KIND_INVALID: 'Choose requests, grants or audit events to export.',
  EXPORT_NOT_FOUND: 'This export no longer exists (exports are kept for 7 days). Start a new export.',
  EXPORT_NOT_READY: 'The export has not finished yet. Wait until it is done, then download it.',
  PART_INVALID: 'A part of the export file could not be found. Start a new export.',
  VERIFY_RATE_LIMITED: 'A verification of the audit trail can be started at most twice a minute.',
  MODE_INVALID: 'Choose to verify the new entries or to re-verify the whole audit trail.',
  ACTION_INVALID: 'This audit trail action is not available. Reload the page and try again.',
  AUDIT_UNVERIFIABLE: 'The audit trail could not be read to verify it right now (storage was unavailable). Nothing was found wrong; try again shortly.',
  AUDIT_BROKEN:
    'The audit trail is broken, so no change can be recorded until an administrator restores it. Nothing was saved. See Governance logs → Audit trail integrity.',
  NO_EVIDENCE: 'No audit entry names this request yet, so there is no evidence pack for it.',
  ISSUE_KEY_INVALID: 'Give the issue key of the request.',
  SEQ_INVALID: 'This log entry number is not valid.',
  AUDIT_EVENT_NOT_FOUND: 'This log entry no longer exists (retention may have removed it).',
  JOB_NOT_DEAD_LETTER: 'Only failed jobs can be retried; this one is not failed any more.',
  JOB_ALREADY_OPEN: 'Another job for this grant is already open.',
  FIELD_MISSING: 'Something required is missing. Fill in the marked fields.',
  // Settings → AI (prompt/service.rs, settings.rs, templates.rs)
  AI_SETTINGS_INVALID: 'Some settings are not valid. See the marked fields.',
  SETTINGS_SAVE_TOO_SOON: 'The settings were saved a moment ago.',
  TEST_RATE_LIMITED: 'You can test the connection at most 10 times a minute.',
  NO_API_KEY: 'Enter an API key first: no key is stored yet.',
  PROVIDER_INVALID: 'Choose Anthropic, OpenAI, Groq or OpenRouter.',
  TEMPLATE_INVALID: 'The template has problems. See the marked fields.',
  TEMPLATE_READ_ONLY: 'Built-in templates are read-only. Copy one to change it.',
  TEMPLATE_LIMIT: 'You already have 50 custom templates, the most allowed. Delete one first.',
  TEMPLATE_NOT_FOUND: 'This template no longer exists.',
  TEMPLATE_ERROR: 'The template could not be rendered. Check its syntax.',
  SORT_INVALID: 'This column cannot be sorted.',
  FIELD_REQUIRED: 'Something required is missing. Fill in the marked fields.',
  // Approval paths & messages (approvals/definition.rs, service.rs, email.rs)
  DEFINITION_INVALID: 'The approval path has problems. See the marked steps and fields.',
  DEFINITION_ID_INVALID: 'The id may use letters, digits, dots, dashes and underscores only.',
  DEFINITION_NOT_FOUND: 'This approval path no longer exists.',
  UNKNOWN_EVENT: 'This message template does not exist.',
  // Admin setup: intake, catalog, connectors, governance, policies (intake/config.rs, catalog/mod.rs,
  // provisioning/*.rs, clearance/governance.rs, policies.rs, admin.rs)
  INTAKE_CONFIG_INVALID: 'The intake configuration has problems. See the marked fields.',
  INTAKE_CONFIG_NOT_IN_JIRA: 'Jira does not have some of what this configuration names. See the marked fields.',
  QUERY_TOO_SHORT: 'Type at least 2 characters of a name or email.',
  CONCURRENT_UPDATE: 'Someone else saved this configuration meanwhile. Reload the page and try again.',
  TOOL_INVALID: 'The tool has problems. See the marked fields.',
  TOOL_NOT_FOUND: 'This tool is no longer in the catalog.',
  GOVERNANCE_INVALID: 'The governance settings have problems. See the marked fields.',
  GOVERNANCE_BUSY: 'Governance changed while saving. Try again.',
  EXCEPTION_INVALID: 'The exception has problems. See the marked fields.',
  EXCEPTION_LIMIT_REACHED: 'The limit of active critical-risk exceptions is reached. Revoke one or raise the limit first.',
  EXCEPTION_NOT_FOUND: 'This exception no longer exists.',
  SELF_REVIEW: 'An exception is reviewed by a different administrator than the one who created it.',
  POLICY_INVALID: 'The policy has problems. See the marked fields.',
  POLICY_LIMIT: 'There are already 200 auto-approval policies, the most allowed. Delete one first.',
  DRY_RUN_INVALID: 'Give an issue key, or a project key, requester and duration.',
  CONNECTOR_INVALID: 'The connector has problems. See the marked fields.',
  CONNECTOR_NOT_FOUND: 'This connector no longer exists.',
  CONNECTOR_TYPE_UNSUPPORTED: 'Choose manual, Okta group or Microsoft Entra group.',
  CONNECTOR_TYPE_FIXED: "A connector's type cannot change. Create a new connector instead.",
  CONNECTOR_CHANGED: 'The connector changed while saving. Reload and try again.',
  CONNECTOR_NOT_CONFIGURED: "Save the connector's provider config before enabling it.",
  CONNECTOR_DISABLED: 'Enable the connector before binding tools to it.',
  CONNECTOR_IN_USE: 'Tools are still bound to this connector. Unbind them in the Catalog first.',
  CONNECTED_MODE_DISABLED: 'Connected mode is off, so Okta and Entra connectors cannot be used yet.',
  CORE_ENV_MISSING: 'The ArdSaor Core credentials are not configured for this app.',
  CORE_URL_INVALID: 'ARDSAOR_CORE_URL must be an https:// address.',
  LICENSE_INACTIVE: 'Connected provisioning needs an active license for AI Clearance.',
  MAPPING_INVALID: 'The mapping has problems. See the marked fields.',
  GROUP_NAME_INVALID: 'The group name is too long: at most 255 characters.',
  // Platform (error.rs From<HostError>)
  RATE_LIMITED: 'Jira is busy right now.',
  TIMEOUT: 'Jira took too long to answer. Try again.',
  UNAVAILABLE: 'The service is temporarily unavailable. Try again shortly.',
  JIRA_UNAVAILABLE: 'Jira is temporarily unavailable. Try again shortly.',
  UNAUTHENTICATED: 'You are not signed in. Reload the page.',
  ADMIN_REQUIRED: 'Only Jira administrators can do this.',
  FORBIDDEN: 'You do not have permission to do this.',
  INVOKE_FAILED: 'The app could not be reached. Check your connection and try again.',
};

function retryText(seconds: number): string {
  if (seconds <= 1) return 'Try again in a second.';
  if (seconds < 60) return `Try again in ${seconds} seconds.`;
  const m = Math.ceil(seconds / 60);
  return `Try again in ${m} minute${m === 1 ? '' : 's'}.`;
}

function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** A sentence a person understands for a resolver error (without the code). */
export function friendlyMessage(e: { code: string; message: string; retryAfterSeconds?: number; kind?: string }): string {
  let text = TEXT[e.code];
  if (e.code === 'BULK_TOO_LARGE' && e.message) {
    const n = /^(\d+)/.exec(e.message)?.[1];
    if (n) text = `You selected ${n} requests; you can decide at most 50 requests at once.`;
  }
  if (e.code === 'DURATION_TOO_LONG' && e.message) {
    const m = /at most (\d+) days/.exec(e.message);
    if (m) text = `This tool allows at most ${m[1]} days. Choose a shorter duration.`;
  }
  if (!text) text = sentence(e.message || 'Something went wrong.');
  if (typeof e.retryAfterSeconds === 'number' && e.retryAfterSeconds > 0) {
    text = `${text} ${retryText(e.retryAfterSeconds)}`;
  } else if (e.kind === 'rate-limited' && !TEXT[e.code]) {
    text = `${text} Try again in a minute.`;
  }
  return text;
}

export function errorParts(e: ResolverError | { code: string; message: string; retryAfterSeconds?: number; kind?: string }) {
  return { text: friendlyMessage(e), code: e.code };
}
