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
