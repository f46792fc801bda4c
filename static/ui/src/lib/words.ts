/** Words people read for the app's internal values (issue 33 item 7): a screen shows these,
 *  never the slug or snake_case name (those stay in data attributes and the API). */

/** How a request was decided (`decisionSource`), as a short phrase. */
const DECISION_SOURCE: Record<string, string> = {
  'auto-policy': 'An auto-approval policy',
  approver: 'An approver',
  bulk: 'An approver, in a bulk decision',
  'approval-path': 'The approval path',
  'approval-expired': 'The approval expired before it was decided',
  'decision-deadline': 'Nobody decided before the decision deadline',
};

export function decisionSourceText(s: string | null | undefined): string {
  if (!s) return '';
  return DECISION_SOURCE[s] ?? sentence(s);
}

/** Governance log event types (`request_created` …) as labels. */
const EVENT_TYPE: Record<string, string> = {
  request_created: 'Request created',
  request_approved: 'Request approved',
  request_denied: 'Request denied',
  request_escalated: 'Request escalated',
  grant_created: 'Access granted',
  grant_activated: 'Access activated',
  grant_extended: 'Access extended',
  grant_expired: 'Access expired',
  grant_revoked: 'Access revoked',
  grant_reactivated: 'Access reactivated',
  provisioning_job_queued: 'Provisioning queued',
  provisioning_job_retry_scheduled: 'Provisioning retry scheduled',
  provisioning_job_succeeded: 'Provisioning succeeded',
  provisioning_job_dead_lettered: 'Provisioning failed (gave up)',
  provisioning_job_requeued: 'Provisioning queued again',
  provisioning_job_cancelled: 'Provisioning cancelled',
  governance_updated: 'Governance changed',
  exception_created: 'Exception created',
  exception_reviewed: 'Exception reviewed',
  exception_revoked: 'Exception revoked',
  connector_saved: 'Connector saved',
  connector_tested: 'Connector tested',
  connector_enabled: 'Connector turned on',
  connector_disabled: 'Connector turned off',
  connector_deleted: 'Connector deleted',
  tool_bound: 'Tool linked to a connector',
  identity_mapping_saved: 'Identity mapping saved',
  identity_mapping_deleted: 'Identity mapping deleted',
  reconciliation_checked: 'Reconciliation checked',
  drift_repaired: 'Drift repaired',
};

/** The known event types, for the type filter. */
export const EVENT_TYPES: string[] = Object.keys(EVENT_TYPE);

export function eventTypeLabel(t: string): string {
  return EVENT_TYPE[t] ?? sentence(t);
}

/** `some_internal-name` → "Some internal name" (the fallback for values a map does not know). */
export function sentence(s: string): string {
  const words = s
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : s;
}
