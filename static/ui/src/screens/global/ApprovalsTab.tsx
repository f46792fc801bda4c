import { useCallback, useEffect, useRef, useState } from 'react';
import { bulkText, outcomeText, type Verdict } from '../../lib/decisions';
import { asResolverError, call, ResolverError } from '../../api';
import { Empty, ErrorMessage, formatDate, Lozenge, Skeleton, Sparkle, Spinner } from '../../components/ui';
import { confidenceText, lozengeAppearance, lozengeText } from '../../lib/prompt';
import { Dialog } from '../../components/Dialog';
import type { ApprovalsTab as TabData, BulkResult, DecideResult, PendingRow } from '../../types';
import { openIssue, toolName } from './HistoryTab';
import { riskAppearance } from './ApprovedToolsTab';

/** Where an error or result is shown: a pending row, the bulk bar, or a manual task row. */
type Where = { area: 'row' | 'bulk' | 'manual'; key: string };

const COMPLETE_LABEL: Record<string, string> = {
  fulfilled: 'Mark fulfilled',
  deprovisioned: 'Mark deprovisioned',
  verified: 'Mark verified',
};
const KIND_LABEL: Record<string, string> = { provision: 'Provision', deprovision: 'Deprovision', check: 'Verify' };


type Section = 'pending' | 'manual';

/** The decision waiting for confirmation: one row's, or the selection's. */
type Pending = { verdict: Verdict; scope: 'row'; row: PendingRow } | { verdict: Verdict; scope: 'bulk'; keys: string[] };

/** Approvals tab (§5.4): pending requests with single and bulk decisions, manual provisioning. */
export function ApprovalsTab() {
  const [data, setData] = useState<TabData | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<Pending | null>(null);
  const [comment, setComment] = useState('');
  const [confirmError, setConfirmError] = useState<ResolverError | null>(null);
  /** Where focus goes once the table has redrawn after a decision (never <body>). */
  const focusNext = useRef<(() => HTMLElement | null) | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ where: Where; error: ResolverError } | null>(null);
  const [result, setResult] = useState<{ where: Where; text: string } | null>(null);
  const [moreError, setMoreError] = useState<{ section: Section; error: ResolverError } | null>(null);

  /** The first page again, and as many more as the person had loaded (`rows`), so a decision
   *  does not fold the list back to its first page. */
  const refresh = useCallback(async (rows = 0) => {
    try {
      let d = await call<TabData>('clearance.approvals.tab');
      while (d.pendingNext && d.pending.length < rows) {
        const m = await call<TabData>('clearance.approvals.tab', { more: 'pending', cursor: d.pendingNext });
        const seen = new Set(d.pending.map((p) => p.issueKey));
        d = { ...d, pending: [...d.pending, ...m.pending.filter((p) => !seen.has(p.issueKey))], pendingNext: m.pendingNext, people: { ...d.people, ...m.people } };
      }
      setData(d);
      setLoadError(null);
      const keys = new Set(d.pending.filter((p) => !p.queued).map((p) => p.issueKey));
      setSelected((s) => new Set([...s].filter((k) => keys.has(k))));
    } catch (e) {
      setLoadError(asResolverError(e));
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    const pick = focusNext.current;
    if (!pick) return;
    focusNext.current = null;
    (pick() ?? headingRef.current)?.focus();
  }, [data]);

  if (!data && loadError) return <ErrorMessage error={loadError} testId="tab-error" />;
  if (!data) return <Skeleton />;

  const bulkMax = data.bulkMax || 50;
  // A request a bulk decision queued is not offered for another decision (D-253).
  const allKeys = data.pending.filter((p) => !p.queued).map((p) => p.issueKey);
  const allSelected = allKeys.length > 0 && allKeys.every((k) => selected.has(k));
  const someSelected = selected.size > 0 && !allSelected;

  const toggle = (k: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });

  const openConfirm = (p: Pending) => {
    setComment('');
    setConfirmError(null);
    setConfirm(p);
  };

  /** After a decision: the same button of the row that now stands where the decided one was
   *  (the next row, else the one before), or the table's heading when none is left. */
  const focusAfterDecision = (decided: string[], testId: string) => {
    const keys = allKeys.filter((k) => !decided.includes(k));
    const at = allKeys.findIndex((k) => decided.includes(k));
    const next = keys[Math.min(Math.max(at, 0), keys.length - 1)];
    focusNext.current = () =>
      next ? document.querySelector<HTMLElement>(`[data-testid="pending-row"][data-issue-key="${CSS.escape(next)}"] [data-testid="${testId}"]`) : headingRef.current;
  };

  /** Confirm in the dialog: decide, refresh, close; on an error the dialog stays with it. */
  const decide = async (p: Pending) => {
    const where: Where = p.scope === 'row' ? { area: 'row', key: p.row.issueKey } : { area: 'bulk', key: 'bulk' };
    setBusy(p.scope === 'row' ? `row:${p.row.issueKey}` : 'bulk');
    setConfirmError(null);
    setError(null);
    setResult(null);
    try {
      if (p.scope === 'row') {
        const r = await call<DecideResult>('clearance.approvals.decide', { issueKey: p.row.issueKey, decision: p.verdict, comment });
        setResult({ where, text: outcomeText(r) });
        focusAfterDecision([p.row.issueKey], p.verdict === 'approve' ? 'approve-button' : 'deny-button');
      } else {
        // Keys selected before a refresh removed them are sent too (the server reports each).
        const r = await call<BulkResult>('clearance.approvals.bulkDecide', { issueKeys: p.keys, decision: p.verdict, comment });
        setResult({ where, text: bulkText(p.verdict, r) });
        if (r.failed === 0) setSelected(new Set());
        focusAfterDecision(p.keys, 'row-select');
      }
      setConfirm(null);
      await refresh(data.pending.length);
    } catch (e) {
      setConfirmError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const completeJob = async (jobId: string, action: string) => {
    const where: Where = { area: 'manual', key: jobId };
    setBusy(`job:${jobId}`);
    setError(null);
    setResult(null);
    try {
      await call('clearance.jobs.complete', { jobId, action });
      setResult({ where, text: `Task marked ${action}.` });
      await refresh(data.pending.length);
    } catch (e) {
      setError({ where, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  /** The next page of one table, appended (the server reads a page, never the backlog). */
  const loadMore = async (section: Section) => {
    const cursor = section === 'pending' ? data.pendingNext : data.manualNext;
    if (!cursor) return;
    setBusy(`more:${section}`);
    setMoreError(null);
    try {
      const d = await call<TabData>('clearance.approvals.tab', { more: section, cursor });
      setData((cur) => {
        if (!cur) return cur;
        if (section === 'pending') {
          const seen = new Set(cur.pending.map((p) => p.issueKey));
          return { ...cur, pending: [...cur.pending, ...d.pending.filter((p) => !seen.has(p.issueKey))], pendingNext: d.pendingNext, people: { ...cur.people, ...d.people } };
        }
        const seen = new Set(cur.manualActions.map((m) => m.jobId));
        return { ...cur, manualActions: [...cur.manualActions, ...d.manualActions.filter((m) => !seen.has(m.jobId))], manualNext: d.manualNext, people: { ...cur.people, ...d.people } };
      });
    } catch (e) {
      setMoreError({ section, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };
  const moreButton = (section: Section, label: string) =>
    (section === 'pending' ? data.pendingNext : data.manualNext) ? (
      <div className="button-group">
        <button type="button" className="button" data-testid={`${section}-more`} disabled={busy !== null} onClick={() => void loadMore(section)}>
          {label}
        </button>
        {busy === `more:${section}` && <Spinner />}
        {moreError?.section === section && <ErrorMessage error={moreError.error} testId="more-error" />}
      </div>
    ) : null;

  const errorAt = (area: Where['area'], key: string) =>
    error && error.where.area === area && error.where.key === key ? <ErrorMessage error={error.error} testId="action-error" /> : null;
  const resultAt = (area: Where['area'], key: string) =>
    result && result.where.area === area && result.where.key === key ? (
      <div className="action-result" role="status" data-testid="action-result">
        {result.text}
      </div>
    ) : null;
  // A row's result stays visible after the row leaves the table.
  const rowGone = (area: Where['area']) => (w: Where | undefined) =>
    w && w.area === area && (area === 'row' ? !allKeys.includes(w.key) : !data.manualActions.some((m) => m.jobId === w.key));

  const n = selected.size;
  /** The selection in table order, then keys selected before a refresh removed them. */
  const selectedKeys = () => [...allKeys.filter((k) => selected.has(k)), ...[...selected].filter((k) => !allKeys.includes(k))];
  const noun = `${n} request${n === 1 ? '' : 's'}`;

  return (
    <div className="approvals">
      <h2 className="section-title" ref={headingRef} tabIndex={-1} data-testid="pending-heading">
        Pending requests
      </h2>
      {loadError && <ErrorMessage error={loadError} testId="tab-error" />}

      <div className="bulk-bar">
        <span className="hint">{n > 0 ? `${noun} selected` : 'Select requests to decide several at once.'}</span>
        <button type="button" className="button button-primary" data-testid="bulk-approve" disabled={n === 0 || busy !== null} onClick={() => openConfirm({ verdict: 'approve', scope: 'bulk', keys: selectedKeys() })}>
          Approve selected
        </button>
        <button type="button" className="button button-danger" data-testid="bulk-deny" disabled={n === 0 || busy !== null} onClick={() => openConfirm({ verdict: 'deny', scope: 'bulk', keys: selectedKeys() })}>
          Deny selected
        </button>
        {busy === 'bulk' && <Spinner />}
        {n > bulkMax && <span className="warning">At most {bulkMax} requests can be decided at once.</span>}
      </div>
      {confirm && (
        <ConfirmDecision
          pending={confirm}
          rows={data.pending}
          people={data.people ?? {}}
          comment={comment}
          setComment={setComment}
          busy={busy !== null}
          error={confirmError}
          onConfirm={() => void decide(confirm)}
          onCancel={() => {
            if (busy === null) setConfirm(null);
          }}
        />
      )}
      {errorAt('bulk', 'bulk')}
      {resultAt('bulk', 'bulk')}
      {rowGone('row')(error?.where) && <ErrorMessage error={error!.error} testId="action-error" />}
      {rowGone('row')(result?.where) && (
        <div className="action-result" role="status" data-testid="action-result">
          {result!.text}
        </div>
      )}

      {data.pending.length === 0 && !data.pendingNext ? (
        <Empty>No requests are waiting for your decision.</Empty>
      ) : data.pending.length === 0 ? (
        <p className="hint">None of the requests on this page are yours to decide.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th className="col-check">
                <input
                  type="checkbox"
                  data-testid="select-all"
                  aria-label="Select all requests"
                  checked={allSelected}
                  ref={(el) => {
                    if (el) el.indeterminate = someSelected;
                  }}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(allKeys))}
                />
              </th>
              <th>Request</th>
              <th>Requester</th>
              <th>Tool</th>
              <th>Duration (requested / allowed)</th>
              <th>Requested</th>
              <th>Decide</th>
            </tr>
          </thead>
          <tbody>
            {data.pending.map((p) => (
              <tr key={p.issueKey} data-testid="pending-row" data-issue-key={p.issueKey} className={selected.has(p.issueKey) ? 'row-selected' : ''}>
                <td className="col-check">
                  <input
                    type="checkbox"
                    data-testid="row-select"
                    aria-label={p.queued ? `${p.issueKey}: decision queued` : `Select ${p.issueKey}`}
                    checked={!p.queued && selected.has(p.issueKey)}
                    disabled={!!p.queued}
                    onChange={() => toggle(p.issueKey)}
                  />
                </td>
                <td>
                  <a
                    href="#"
                    className="issue-link"
                    data-testid="issue-link"
                    onClick={(e) => {
                      e.preventDefault();
                      openIssue(p.issueKey);
                    }}
                  >
                    {p.issueKey}
                  </a>
                  <div className="hint">{p.summary}</div>
                  {p.justification && (
                    <div className="hint row-justification" data-testid="row-justification" title={p.justification}>
                      Why: {clip(p.justification, 140)}
                    </div>
                  )}
                  <div className="hint" data-testid="row-route">
                    {routeText(p)}
                  </div>
                  <AiReadChip row={p} />
                  <DataDeclared row={p} />
                </td>
                <td title={p.requester}>
                  {data.people?.[p.requester] ?? p.requester}
                  {p.openGrantForTool !== undefined && (
                    <div className={p.openGrantForTool ? 'warning' : 'hint'} data-testid="row-open-grant" data-held={p.openGrantForTool ? 'yes' : 'no'}>
                      {p.openGrantForTool ? 'Already has open access to this tool' : 'No open access to this tool'}
                    </div>
                  )}
                </td>
                <td>
                  {toolName(p.tool)}
                  {p.riskLevel && (
                    <div>
                      <Lozenge appearance={riskAppearance(p.riskLevel)} testId="row-risk" title="Risk level">
                        {p.riskLevel} risk
                      </Lozenge>
                    </div>
                  )}
                </td>
                <td data-testid="row-duration">
                  <DurationFacts row={p} />
                </td>
                <td>{formatDate(p.requestedAt)}</td>
                <td>
                  {p.queued ? (
                    <div className="hint" role="status" data-testid="row-queued">
                      <Lozenge appearance="inprogress">Decision queued</Lozenge> — applies within {p.queued.withinMinutes} min
                    </div>
                  ) : (
                  <div className="button-group">
                    <button type="button" className="button button-primary" data-testid="approve-button" aria-label={`Approve ${p.issueKey}`} disabled={busy !== null} onClick={() => openConfirm({ verdict: 'approve', scope: 'row', row: p })}>
                      Approve
                    </button>
                    <button type="button" className="button button-danger" data-testid="deny-button" aria-label={`Deny ${p.issueKey}`} disabled={busy !== null} onClick={() => openConfirm({ verdict: 'deny', scope: 'row', row: p })}>
                      Deny
                    </button>
                    {busy === `row:${p.issueKey}` && <Spinner />}
                  </div>
                  )}
                  {errorAt('row', p.issueKey)}
                  {resultAt('row', p.issueKey)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {moreButton('pending', 'Show more requests')}

      <h2 className="section-title">Manual provisioning actions</h2>
      {rowGone('manual')(error?.where) && <ErrorMessage error={error!.error} testId="action-error" />}
      {rowGone('manual')(result?.where) && (
        <div className="action-result" role="status" data-testid="action-result">
          {result!.text}
        </div>
      )}
      {data.manualActions.length === 0 && !data.manualNext ? (
        <Empty>No manual provisioning actions are waiting.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Request</th>
              <th>Task</th>
              <th>Tool</th>
              <th>Person</th>
              <th>Waiting since</th>
              <th>
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.manualActions.map((m) => (
              <tr key={m.jobId} data-testid="manual-row" data-issue-key={m.issueKey} data-kind={m.kind} data-job-id={m.jobId}>
                <td>
                  <a
                    href="#"
                    className="issue-link"
                    onClick={(e) => {
                      e.preventDefault();
                      openIssue(m.issueKey);
                    }}
                  >
                    {m.issueKey}
                  </a>
                </td>
                <td>{KIND_LABEL[m.kind] ?? m.kind}</td>
                <td>{m.tool}</td>
                <td title={m.accountId}>{data.people?.[m.accountId] ?? m.accountId}</td>
                <td>{formatDate(m.since)}</td>
                <td>
                  <button type="button" className="button" data-testid="manual-complete" data-action={m.action} disabled={busy !== null} onClick={() => completeJob(m.jobId, m.action)}>
                    {COMPLETE_LABEL[m.action] ?? `Mark ${m.action}`}
                  </button>
                  {busy === `job:${m.jobId}` && <Spinner />}
                  {errorAt('manual', m.jobId)}
                  {resultAt('manual', m.jobId)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {moreButton('manual', 'Show more actions')}
    </div>
  );
}

/** The confirmation of a decision: names each request (key, summary, requester, tool), with its
 *  own comment field; Confirm decides, Cancel or Escape closes and nothing is decided. */
function ConfirmDecision(props: {
  pending: Pending;
  rows: PendingRow[];
  people: Record<string, string>;
  comment: string;
  setComment: (c: string) => void;
  busy: boolean;
  error: ResolverError | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const p = props.pending;
  const approve = p.verdict === 'approve';
  const Verb = approve ? 'Approve' : 'Deny';
  const byKey = new Map(props.rows.map((r) => [r.issueKey, r]));
  const who = (r: PendingRow) => props.people[r.requester] ?? 'Unknown person';
  const keys = p.scope === 'row' ? [p.row.issueKey] : p.keys;
  const count = keys.length;
  const title = p.scope === 'row' ? `${Verb} ${p.row.issueKey}?` : `${Verb} ${count} request${count === 1 ? '' : 's'}?`;
  return (
    <Dialog
      title={title}
      onClose={props.onCancel}
      testId="confirm-dialog"
      extra={{ 'data-decision': p.verdict, 'data-scope': p.scope }}
      width="medium"
      footer={
        <>
          {props.busy && <Spinner label="Deciding" />}
          <button type="button" className="button button-subtle" data-testid="confirm-cancel" disabled={props.busy} onClick={props.onCancel}>
            Cancel
          </button>
          <button type="button" className={`button ${approve ? 'button-primary' : 'button-danger'}`} data-testid="confirm-yes" aria-disabled={props.busy || undefined} onClick={() => !props.busy && props.onConfirm()}>
            {p.scope === 'row' ? Verb : `${Verb} ${count}`}
          </button>
        </>
      }
    >
      {p.scope === 'row' ? (
        <dl className="facts" data-testid="confirm-facts">
          <dt>Request</dt>
          <dd>
            {p.row.issueKey} · {p.row.summary}
          </dd>
          <dt>Requester</dt>
          <dd>{who(p.row)}</dd>
          <dt>Tool</dt>
          <dd>{toolName(p.row.tool)}</dd>
          {p.row.riskLevel && (
            <>
              <dt>Risk</dt>
              <dd>{p.row.riskLevel}</dd>
            </>
          )}
          <dt>Duration</dt>
          <dd>
            <DurationFacts row={p.row} />
          </dd>
          <dt>Route</dt>
          <dd>{routeText(p.row)}</dd>
          {p.row.aiRead && (
            <>
              <dt>AI read</dt>
              <dd>
                <AiReadChip row={p.row} />
              </dd>
            </>
          )}
          {p.row.justification && (
            <>
              <dt>Justification</dt>
              <dd>{p.row.justification}</dd>
            </>
          )}
          {p.row.openGrantForTool && (
            <>
              <dt>Open access</dt>
              <dd className="warning">The requester already has open access to this tool.</dd>
            </>
          )}
          {(p.row.dataClasses?.length || p.row.purpose) && (
            <>
              <dt>Data declared</dt>
              <dd>
                <DataDeclared row={p.row} />
              </dd>
            </>
          )}
        </dl>
      ) : (
        <ul className="decide-list" data-testid="confirm-list" aria-label="Requests to decide">
          {keys.map((k) => {
            const r = byKey.get(k);
            return (
              <li key={k} data-issue-key={k}>
                {r ? `${k} · ${r.summary} — ${who(r)}, ${toolName(r.tool)}` : k}
              </li>
            );
          })}
        </ul>
      )}
      <div className="field">
        <label htmlFor="ac-decision-comment">
          {approve ? 'Comment' : 'Reason'} <span className="hint">(optional, sent with your decision{count > 1 ? ' on each request' : ''})</span>
        </label>
        <textarea id="ac-decision-comment" data-testid="decision-comment" rows={3} maxLength={2000} value={props.comment} onChange={(e) => props.setComment(e.target.value)} />
      </div>
      <ErrorMessage error={props.error} testId="action-error" />
    </Dialog>
  );
}

/** The data classes and purpose the requester declared, and why a person decides (issue 35). */
function DataDeclared(props: { row: PendingRow }) {
  const { dataClasses, purpose, autoApproval } = props.row;
  if (!dataClasses?.length && !purpose) return null;
  return (
    <div className="hint" data-testid="data-declared">
      {dataClasses?.length ? <div>Data: {dataClasses.map((c) => c.replace(/-/g, ' ')).join(', ')}</div> : null}
      {purpose ? <div>Purpose: {purpose}</div> : null}
      {autoApproval?.reason === 'DATA_CLASS_REVIEW' && autoApproval.message ? (
        <div data-testid="data-class-review">Needs you: {autoApproval.message}</div>
      ) : null}
    </div>
  );
}

/** `s` cut to `n` characters at a word where it can, with an ellipsis. */
export function clip(s: string, n: number): string {
  const t = s.trim();
  if (t.length <= n) return t;
  const cut = t.slice(0, n - 1);
  const at = cut.lastIndexOf(' ');
  return `${(at > n / 2 ? cut.slice(0, at) : cut).trimEnd()}…`;
}

/** How the request is decided: directly by approvers, or which path and step. */
export function routeText(r: PendingRow): string {
  if (r.route === 'path') {
    const path = r.pathName ? `Approval path “${r.pathName}”` : 'Approval path';
    return r.step ? `${path}, step “${r.step}”` : path;
  }
  if (r.route === 'held') return 'Held until governance names an approval path that exists';
  return 'Decided directly by approvers';
}

/** Requested days against governance's longest grant for the request's risk level. */
function DurationFacts(props: { row: PendingRow }) {
  const { durationDays, maxDays } = props.row;
  if (maxDays === undefined) return <>{durationDays} days</>;
  const over = durationDays > maxDays;
  return (
    <>
      <span data-testid="duration-text">
        {durationDays} of {maxDays} days
      </span>
      {over && (
        <div className="warning" data-testid="duration-over">
          Over the {maxDays}-day limit: approval grants {maxDays} days unless an exception allows more
        </div>
      )}
    </>
  );
}

/** The verdict chip of the path's latest AI read (advisory), with its confidence. */
function AiReadChip(props: { row: PendingRow }) {
  const a = props.row.aiRead;
  if (!a) return null;
  return (
    <div className="hint ai-read-chip" data-testid="row-ai-read" data-kind={a.lozenge.kind} data-value={a.lozenge.value}>
      <Sparkle testId="row-ai-sparkle" /> AI read ({a.step}):{' '}
      <Lozenge appearance={lozengeAppearance(a.lozenge)}>{lozengeText(a.lozenge)}</Lozenge>
      {a.confidence ? ` · ${confidenceText(a.confidence)}` : ''}
    </div>
  );
}
