/** What a decision answer says, in words: the Approvals tab and the admin Requests table share it. */
import type { BulkResult, DecideResult } from '../types';
import { friendlyMessage } from './errors';

export type Verdict = 'approve' | 'deny';

export function outcomeText(r: DecideResult): string {
  switch (r.outcome) {
    case 'approved':
      return `${r.issueKey} approved.`;
    case 'denied':
      return `${r.issueKey} denied.`;
    case 'recorded':
      return `Your decision on ${r.issueKey} was recorded${r.waitingFor?.length ? `; still waiting for ${r.waitingFor.join(', ')}` : ''}.`;
    default:
      return `${r.issueKey}: ${r.outcome}.`;
  }
}

/** A bulk answer may queue keys for a later minute inside the app's storage budget (D-211). */
type BulkAnswer = Omit<BulkResult, 'results'> & {
  queued?: number;
  results: (BulkResult['results'][number] & { withinMinutes?: number })[];
};

export function bulkText(verdict: Verdict, r: BulkAnswer): string {
  const done = verdict === 'approve' ? 'approved' : 'denied';
  let s = `${r.succeeded} request${r.succeeded === 1 ? '' : 's'} ${done}`;
  const queued = r.queued ?? 0;
  if (queued > 0) {
    const within = Math.max(1, ...r.results.map((x) => x.withinMinutes ?? 0));
    s += `; ${queued} queued inside the app's storage budget, recorded within ${within} minute${within === 1 ? '' : 's'}`;
  }
  if (r.failed > 0) {
    const why = r.results
      .filter((x) => !x.ok && x.error)
      .map((x) => `${x.issueKey}: ${friendlyMessage(x.error!)} (${x.error!.code})`)
      .join(' ');
    s += `, ${r.failed} not decided. ${why}`;
  } else {
    s += '.';
  }
  return s;
}
