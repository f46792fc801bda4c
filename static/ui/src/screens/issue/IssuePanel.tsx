import { useCallback, useEffect, useRef, useState } from 'react';
import { Modal } from '../../bridge';
import { asResolverError, call, ResolverError } from '../../api';
import { Empty, ErrorMessage, formatDateTime, Lozenge, Skeleton, Sparkle, Spinner, type LozengeAppearance } from '../../components/ui';
import type { Approval, ApprovalStep, ForIssue, ForgeContext } from '../../types';
import { Analyzing, FailurePanel, Teaser } from './PromptStep';

/** Polling (AP-902): first after 1.5 s, ×1.5 each time, at most 10 s. */
export const POLL_FIRST_MS = 1500;
export const POLL_FACTOR = 1.5;
export const POLL_MAX_MS = 10_000;
export const RERUN_MESSAGE = 'ap:prompt-rerun-completed';

const PHASES: { key: 'steps' | 'successSteps' | 'rejectionSteps' | 'expirationSteps'; title: string }[] = [
  { key: 'steps', title: 'Approval steps' },
  { key: 'successSteps', title: 'After approval' },
  { key: 'rejectionSteps', title: 'After denial' },
  { key: 'expirationSteps', title: 'After expiry' },
];

function approvalAppearance(s: string): LozengeAppearance {
  switch (s) {
    case 'APPROVED':
      return 'success';
    case 'REJECTED':
      return 'removed';
    case 'RUNNING':
      return 'inprogress';
    case 'EXPIRED':
      return 'moved';
    default:
      return 'default';
  }
}

/** The approval's status in words (the API's REJECTED reads "denied", issue 33 item 7). */
const APPROVAL_WORD: Record<string, string> = { RUNNING: 'in progress', APPROVED: 'approved', REJECTED: 'denied', EXPIRED: 'expired', CANCELLED: 'cancelled' };

/** The phases a finished approval can no longer run, by its status (issue 33 item 7). */
const NOT_RUN: Record<string, string[]> = {
  APPROVED: ['rejectionSteps', 'expirationSteps'],
  REJECTED: ['successSteps', 'expirationSteps'],
  EXPIRED: ['successSteps', 'rejectionSteps'],
  CANCELLED: ['steps', 'successSteps', 'rejectionSteps', 'expirationSteps'],
};

function stepStatus(s: ApprovalStep): { text: string; appearance: LozengeAppearance } {
  const human = s.type === 'USER' || s.type === 'GROUP';
  switch (s.status) {
    case 'WAIT':
      return { text: 'Waiting', appearance: 'default' };
    case 'ACTIVE':
      return s.type === 'PROMPT' ? { text: 'Analyzing', appearance: 'inprogress' } : { text: human ? 'Awaiting decision' : 'Running', appearance: 'inprogress' };
    case 'SUCCESS':
      if (human && s.decision === 'REJECTED') return { text: 'Denied', appearance: 'removed' };
      return { text: human ? 'Approved' : 'Done', appearance: 'success' };
    case 'FAIL':
      return human ? { text: 'Denied', appearance: 'removed' } : { text: 'Failed', appearance: 'removed' };
    case 'SKIPPED':
      return { text: 'Skipped', appearance: 'default' };
    default:
      return { text: String(s.status), appearance: 'default' };
  }
}

/** Consecutive steps with the same parallel group number run side by side. */
function groups(steps: ApprovalStep[]): ApprovalStep[][] {
  const out: ApprovalStep[][] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (last && last[0].parallelGroupNumber === s.parallelGroupNumber) last.push(s);
    else out.push([s]);
  }
  return out;
}

/** Display name for an account the approval names (the id when Jira did not resolve it). */
type NameOf = (accountId: string) => string;

function StepCard(props: {
  approval: Approval;
  step: ApprovalStep;
  nameOf: NameOf;
  onDecided: (a: Approval) => void;
  openResult: (approval: Approval, step: ApprovalStep) => void;
}) {
  const { approval, step, nameOf } = props;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const status = stepStatus(step);
  const isPrompt = step.type === 'PROMPT';
  // The server says which steps the caller may decide, by the rules `approvals.decide` enforces.
  const authority = approval.viewer?.decidable?.[step.id];
  const canDecide = !!authority && approval.status === 'RUNNING' && step.status === 'ACTIVE';

  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(decision);
    setError(null);
    try {
      const r = await call<{ approval: Approval }>('approvals.decide', { approvalId: approval.id, stepId: step.id, decision, comment });
      setComment('');
      props.onDecided(r.approval);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className={`step step-${step.status.toLowerCase()}${isPrompt ? ' step-prompt' : ''}`} data-testid="approval-step" data-step-id={step.id} data-step-type={step.type} data-status={step.status}>
      <div className="step-head">
        {isPrompt && <Sparkle />}
        <span className="step-name" title={step.displayName ?? step.name}>
          {step.name}
        </span>
        <Lozenge appearance={status.appearance} testId="step-status" extra={{ 'data-status': step.status }}>
          {status.text}
        </Lozenge>
      </div>

      {(step.type === 'USER' || step.type === 'GROUP') && (
        <div className="step-deciders hint" data-testid="step-deciders">
          {step.type === 'USER' ? (
            <>
              Approvers: {(step.approvers ?? []).map(nameOf).join(', ') || '—'}
              {step.required ? ` · ${step.required} required` : ''}
            </>
          ) : (
            <>
              Group: {step.group ?? '—'}
              {step.required ? ` · ${step.required} required` : ''}
            </>
          )}
        </div>
      )}
      {(step.decisions ?? []).length > 0 && (
        <ul className="step-decisions" data-testid="step-decided-by">
          {(step.decisions ?? []).map((d, i) => (
            <li key={i}>
              <Lozenge appearance={d.decision === 'APPROVE' ? 'success' : 'removed'}>{d.decision === 'APPROVE' ? 'Approved' : 'Denied'}</Lozenge>{' '}
              by <span>{nameOf(d.decider)}</span>
              {d.onBehalfOf && (
                <>
                  {' '}
                  for <span>{nameOf(d.onBehalfOf)}</span>
                </>
              )}
              {d.adminOverride && ' (admin override)'} <span className="hint">{formatDateTime(d.at)}</span>
              {d.comment && <div className="decision-comment-text">“{d.comment}”</div>}
            </li>
          ))}
        </ul>
      )}
      {step.skippedReason && <div className="hint">Skipped: {step.skippedReason}</div>}

      {isPrompt && step.status === 'ACTIVE' && <Analyzing />}
      {isPrompt && step.status === 'SUCCESS' && <Teaser step={step} onOpen={() => props.openResult(approval, step)} />}
      {isPrompt && step.status === 'FAIL' && <FailurePanel step={step} onOpen={() => props.openResult(approval, step)} />}
      {!isPrompt && step.type !== 'USER' && step.type !== 'GROUP' && step.status === 'FAIL' && step.errorCode && (
        <div className="hint">
          {step.errorMessage} <code className="error-code">({step.errorCode})</code>
        </div>
      )}

      {canDecide && (
        <div className="step-decide">
          {authority.as !== 'approver' && (
            <div className="hint" data-testid="step-authority">
              {authority.as === 'admin'
                ? 'You decide as a Jira administrator: this is recorded and audited as an admin override, and needs a reason.'
                : `You decide as delegate of ${nameOf(authority.onBehalfOf ?? '')}.`}
            </div>
          )}
          {authority.mayApprove === false && authority.approveBlocked && (
            <div className="hint" data-testid="step-approve-blocked">
              {authority.approveBlocked.message} <code className="error-code">({authority.approveBlocked.code})</code>
            </div>
          )}
          <textarea
            data-testid="step-comment"
            aria-label={authority.reasonRequired ? `Override reason for ${step.name}` : `Comment on ${step.name}`}
            placeholder={authority.reasonRequired ? 'Reason for the override (required)' : 'Add a comment (optional)'}
            rows={2}
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
          <div className="button-group">
            {authority.mayApprove !== false && (
              <button
                type="button"
                className="button button-primary"
                data-testid="step-approve"
                disabled={busy !== null || (authority.reasonRequired === true && comment.trim() === '')}
                onClick={() => decide('approve')}
              >
                Approve
              </button>
            )}
            <button
              type="button"
              className="button button-danger"
              data-testid="step-reject"
              disabled={busy !== null || (authority.reasonRequired === true && comment.trim() === '')}
              onClick={() => decide('reject')}
            >
              Deny
            </button>
            {busy && <Spinner />}
          </div>
          <ErrorMessage error={error} testId="step-error" />
        </div>
      )}
    </div>
  );
}

function ApprovalTimeline(props: {
  approval: Approval;
  nameOf: NameOf;
  onDecided: (a: Approval) => void;
  openResult: (approval: Approval, step: ApprovalStep) => void;
}) {
  const a = props.approval;
  return (
    <div className="approval" data-testid="approval-timeline" data-approval-id={a.id} data-status={a.status}>
      <div className="approval-head">
        <strong>{a.name || a.definition?.name}</strong>{' '}
        <Lozenge appearance={approvalAppearance(a.status)} testId="approval-status">
          {APPROVAL_WORD[a.status] ?? a.status.toLowerCase()}
        </Lozenge>
        <span className="hint"> · {a.progress}% · started {formatDateTime(a.startedAt)}</span>
      </div>
      {a.outdated && <div className="warning">Outdated: {a.outdated.reason}</div>}
      {PHASES.map((ph) => {
        const steps = a[ph.key] ?? [];
        if (steps.length === 0) return null;
        // A phase the finished path can no longer run: one line, not its steps "waiting".
        if (NOT_RUN[a.status]?.includes(ph.key) && steps.every((s) => s.status === 'WAIT' || s.status === 'SKIPPED')) {
          return (
            <div key={ph.key} className="phase phase-not-run" data-phase={ph.key} data-not-run="true" data-testid="phase-not-run">
              <div className="phase-title">{ph.title}</div>
              <p className="hint">
                {steps.length === 1 ? '1 step' : `${steps.length} steps`} not run: the path was {APPROVAL_WORD[a.status]}.
              </p>
            </div>
          );
        }
        return (
          <div key={ph.key} className="phase" data-phase={ph.key}>
            {ph.key !== 'steps' && <div className="phase-title">{ph.title}</div>}
            <ol className="timeline">
              {groups(steps).map((g, i) => (
                <li key={i} className={`timeline-item${g.length > 1 ? ' parallel' : ''}`} data-parallel-group={g[0].parallelGroupNumber}>
                  {g.length > 1 && <div className="parallel-label hint">In parallel</div>}
                  <div className="parallel-row">
                    {g.map((s) => (
                      <StepCard key={s.id} approval={a} step={s} nameOf={props.nameOf} onDecided={props.onDecided} openResult={props.openResult} />
                    ))}
                  </div>
                </li>
              ))}
            </ol>
          </div>
        );
      })}
    </div>
  );
}

/** jira:issuePanel "Approval path": the timeline of every approval on the issue. */
export function IssuePanel(props: { context: ForgeContext }) {
  const ext = props.context.extension ?? {};
  const issueKey: string = ext.issue?.key ?? '';
  const [data, setData] = useState<ForIssue | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  // Bumped after every fetch attempt: re-arms the single poll timer.
  const [fetchCount, setFetchCount] = useState(0);
  const delay = useRef(POLL_FIRST_MS);
  const inFlight = useRef(false);
  const again = useRef(false);

  const fetchNow = useCallback(async () => {
    if (!issueKey) return;
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    try {
      const d = await call<ForIssue>('approvals.forIssue', { issueKey });
      setData(d);
      setError(null);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      inFlight.current = false;
      setFetchCount((n) => n + 1);
    }
    if (again.current) {
      again.current = false;
      void fetchRef.current();
    }
  }, [issueKey]);
  const fetchRef = useRef(fetchNow);
  fetchRef.current = fetchNow;

  useEffect(() => {
    void fetchNow();
  }, [fetchNow]);

  // One list-level timer while any approval has an ACTIVE PROMPT step (AP-902).
  const polling = data?.hasActivePromptStep === true;
  useEffect(() => {
    if (!polling) {
      delay.current = POLL_FIRST_MS;
      return;
    }
    const wait = delay.current;
    const t = window.setTimeout(() => {
      delay.current = Math.min(delay.current * POLL_FACTOR, POLL_MAX_MS);
      void fetchNow();
    }, wait);
    return () => window.clearTimeout(t);
  }, [polling, fetchCount, fetchNow]);

  // The result dialog announces a re-run (AP-905): refetch silently.
  useEffect(() => {
    const onMessage = (e: MessageEvent) => {
      if (e.data && typeof e.data === 'object' && e.data.type === RERUN_MESSAGE) void fetchNow();
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [fetchNow]);

  const onDecided = (a: Approval) => {
    setData((d) =>
      d
        ? (() => {
            // The decide answer has no viewer part: no controls until the refetch says again.
            const approvals = d.approvals.map((x) => (x.id === a.id ? { ...a, viewer: undefined } : x));
            return { ...d, approvals, hasActivePromptStep: approvals.some((x) => x.hasActivePromptStep) };
          })()
        : d,
    );
    void fetchNow();
  };

  const openResult = (approval: Approval, step: ApprovalStep) => {
    // Jira gives focus back to this frame when its modal closes; inside it, back to the control
    // that opened the dialog (or the same step's control, if a refresh redrew it).
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    const modal = new Modal({
      resource: 'main',
      size: 'large',
      context: { screen: 'prompt-result', approvalId: approval.id, stepId: step.id, issueKey },
      onClose: (payload: unknown) => {
        if (payload && typeof payload === 'object' && (payload as { rerunHappened?: boolean }).rerunHappened) void fetchNow();
        window.requestAnimationFrame(() => {
          const again = document.querySelector<HTMLElement>(`[data-testid="approval-step"][data-step-id="${CSS.escape(step.id)}"] button`);
          (opener?.isConnected ? opener : again)?.focus();
        });
      },
    });
    void modal.open().catch(() => undefined);
  };

  const people = data?.people ?? {};
  const nameOf: NameOf = (id) => people[id] ?? id;
  if (!issueKey) return <Empty>This panel needs an issue.</Empty>;
  // Only the first load shows a skeleton; background refreshes swap data in place (AP-901).
  if (!data && !error) return <Skeleton />;
  return (
    <div className="issue-panel" data-polling={polling ? 'true' : 'false'}>
      {error && <ErrorMessage error={error} testId="panel-error" />}
      {data && data.approvals.length === 0 && <Empty>No approval path runs on this issue.</Empty>}
      {data?.approvals.map((a) => (
        <ApprovalTimeline key={a.id} approval={a} nameOf={nameOf} onDecided={onDecided} openResult={openResult} />
      ))}
    </div>
  );
}
