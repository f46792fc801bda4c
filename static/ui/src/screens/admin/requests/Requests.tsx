import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { bulkText, outcomeText, type Verdict } from '../../../lib/decisions';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDate, formatDateTime, Lozenge, Skeleton, Spinner, type LozengeAppearance } from '../../../components/ui';
import type { BulkResult, DecideResult, RequestedTool } from '../../../types';
import { DecisionBadge, openIssue, toolName } from '../../global/HistoryTab';
import { saveText } from '../../../lib/download';
import { decisionSourceText } from '../../../lib/words';
import type { SectionProps } from '../sections';
import { ExportPanel } from './Export';
import './requests.css';

// ---- what admin.requests.list / admin.jobs.list answer (the stored records, guest/src/clearance/admin.rs) ----
interface RequestRecord {
  issueKey: string;
  summary?: string;
  requesterAccountId: string;
  tool: RequestedTool;
  durationDays: number;
  decision: string;
  decisionSource?: string | null;
  decidedAt?: string | null;
  decidedBy?: string | null;
  requestedAt: string;
  route?: { kind?: string; definitionId?: string } | null;
}
interface GrantRecord {
  id: string;
  issueKey: string;
  accountId: string;
  toolKey: string;
  toolName: string;
  riskLevel: string;
  status: string;
  durationDays: number;
  grantedAt: string;
  expiresAt: string;
  endedAt?: string | null;
  decisionSource?: string | null;
  extensions?: unknown[];
  revokeReason?: string | null;
}
interface JobRecord {
  id: string;
  issueKey: string;
  accountId: string;
  kind: string;
  status: string;
  toolName: string;
  connector?: string;
  attempts?: number;
  lastError?: string | null;
  updatedAt: string;
}
type Row = RequestRecord | GrantRecord | JobRecord;
type Entity = 'request' | 'grant' | 'job';

interface Category {
  id: string;
  label: string;
  entity: Entity;
  help: string;
}

/** The filter bar: each button is one resolver category (CL-175); "Provisioning jobs" is admin.jobs.list. */
const CATEGORIES: Category[] = [
  { id: 'pending', label: 'Pending', entity: 'request', help: 'Requests waiting for a decision.' },
  { id: 'approved', label: 'Approved', entity: 'request', help: 'Approved requests.' },
  { id: 'denied', label: 'Denied', entity: 'request', help: 'Denied requests (by a person, a policy or an expired approval).' },
  { id: 'active', label: 'Active access', entity: 'grant', help: 'Grants that are active now.' },
  { id: 'pendingProvision', label: 'Awaiting provisioning', entity: 'grant', help: 'Approved grants whose access is not set up yet.' },
  { id: 'historical', label: 'Expired access', entity: 'grant', help: 'Grants that reached their end date.' },
  { id: 'revoked', label: 'Revoked', entity: 'grant', help: 'Grants an admin or approver revoked.' },
  { id: 'manualFollowUp', label: 'Manual follow-up', entity: 'job', help: 'Provisioning, deprovisioning and verification tasks waiting for a person.' },
  { id: 'jobs', label: 'Provisioning jobs', entity: 'job', help: 'Open provisioning jobs: queued, retrying, failed (dead-lettered) and manual.' },
];

const COMPLETION: Record<string, string> = { provision: 'fulfilled', deprovision: 'deprovisioned', check: 'verified' };
const COMPLETE_LABEL: Record<string, string> = {
  fulfilled: 'Mark fulfilled',
  deprovisioned: 'Mark deprovisioned',
  verified: 'Mark verified',
};
const KIND_LABEL: Record<string, string> = { provision: 'Provision', deprovision: 'Deprovision', check: 'Verify' };
const STATUS_APPEARANCE: Record<string, LozengeAppearance> = {
  active: 'success',
  pendingProvision: 'inprogress',
  expired: 'default',
  revoked: 'removed',
  manualPending: 'moved',
  deadLetter: 'removed',
  retrying: 'moved',
  queued: 'inprogress',
};
const RISK_APPEARANCE: Record<string, LozengeAppearance> = { low: 'success', medium: 'moved', high: 'removed', critical: 'removed' };

interface Page {
  items: Row[];
  nextCursor: string | null;
  /** Display names of the accounts on this page (account id → name). */
  people?: Record<string, string>;
  /** A tool search over requests: false while older requests are still being indexed. */
  complete?: boolean;
}
type Where = { area: 'row' | 'bulk'; key: string };

async function fetchCategory(id: string, cursor?: string | null, q?: string): Promise<Page> {
  if (id === 'jobs') {
    const r = await call<{ jobs: JobRecord[] }>('admin.jobs.list');
    return { items: r.jobs, nextCursor: null };
  }
  // `q` is searched by the resolver through its indexes (issue key, tool, person), not in the
  // rows already loaded: a search finds rows on pages this screen never fetched.
  const payload: Record<string, string> = { category: id };
  if (cursor) payload.cursor = cursor;
  if (q) payload.q = q;
  const r = await call<{ items: Row[]; nextCursor: string | null; people?: Record<string, string>; searched?: { complete?: boolean } | null }>('admin.requests.list', payload);
  return { items: r.items, nextCursor: r.nextCursor, people: r.people, complete: r.searched?.complete };
}

function rowKey(entity: Entity, r: Row): string {
  if (entity === 'request') return (r as RequestRecord).issueKey;
  return (r as GrantRecord | JobRecord).id;
}
function personOf(entity: Entity, r: Row): string {
  return entity === 'request' ? (r as RequestRecord).requesterAccountId : (r as GrantRecord).accountId;
}
function searchText(entity: Entity, r: Row, names: Record<string, string>): string {
  const who = personOf(entity, r);
  const tool = entity === 'request' ? toolName((r as RequestRecord).tool) : (r as GrantRecord).toolName;
  const extra = entity === 'request' ? (r as RequestRecord).summary ?? '' : '';
  return `${r.issueKey} ${who} ${names[who] ?? ''} ${tool} ${extra}`.toLowerCase();
}


/** Jira settings → AI Clearance → Requests (spec §4.6, CL-175, CL-176, CL-180). */
export default function Requests(props: SectionProps) {
  const initial = CATEGORIES.some((c) => c.id === props.anchor) ? props.anchor! : 'pending';
  const [category, setCategory] = useState(initial);
  const [pages, setPages] = useState<Record<string, Page>>({});
  const [loadErrors, setLoadErrors] = useState<Record<string, ResolverError>>({});
  const [loadingMore, setLoadingMore] = useState(false);
  const [names, setNames] = useState<Record<string, string>>({});
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [comment, setComment] = useState('');
  const [confirm, setConfirm] = useState<{ verdict: Verdict; key: string | null } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ where: Where; error: ResolverError } | null>(null);
  const [result, setResult] = useState<{ where: Where; text: string } | null>(null);
  const [evidenceBusy, setEvidenceBusy] = useState<string | null>(null);
  const exportRef = useRef<HTMLDivElement>(null);

  const load = useCallback((ids: string[]) => {
    // Every category in parallel: the selected one shows as soon as it answers, the others fill
    // the counts in the filter bar.
    return Promise.all(
      ids.map((id) =>
        fetchCategory(id)
          .then((p) => {
            setPages((s) => ({ ...s, [id]: p }));
            setNames((n) => ({ ...n, ...(p.people ?? {}) }));
            setLoadErrors((s) => {
              const { [id]: _, ...rest } = s;
              return rest;
            });
          })
          .catch((e) => setLoadErrors((s) => ({ ...s, [id]: asResolverError(e) }))),
      ),
    );
  }, []);

  useEffect(() => {
    // Each page brings the display names of its accounts (`people`); ids stay the fallback.
    void load(CATEGORIES.map((c) => c.id));
  }, [load]);

  useEffect(() => {
    if (props.anchor === 'export') exportRef.current?.scrollIntoView({ block: 'start' });
  }, [props.anchor]);

  const cat = CATEGORIES.find((c) => c.id === category) ?? CATEGORIES[0];
  const page = pages[cat.id];
  const loadError = loadErrors[cat.id];
  const [found, setFound] = useState<{ q: string; cat: string; page: Page } | null>(null);
  const serverSearch = cat.id !== 'jobs' && query.trim() !== '';
  useEffect(() => {
    const q = query.trim();
    if (!q || cat.id === 'jobs') {
      setFound(null);
      return;
    }
    const t = setTimeout(() => {
      fetchCategory(cat.id, null, q)
        .then((p) => {
          setFound({ q, cat: cat.id, page: p });
          setNames((n) => ({ ...n, ...(p.people ?? {}) }));
        })
        .catch((e) => setLoadErrors((s) => ({ ...s, [cat.id]: asResolverError(e) })));
    }, 250);
    return () => clearTimeout(t);
  }, [query, cat.id]);
  const searching = serverSearch && !(found && found.q === query.trim() && found.cat === cat.id);
  const shown: Page | undefined = serverSearch ? (searching ? undefined : found!.page) : page;
  const rows = useMemo(() => {
    if (serverSearch) return shown?.items ?? [];
    if (!page) return [];
    const q = query.trim().toLowerCase();
    return q ? page.items.filter((r) => searchText(cat.entity, r, names).includes(q)) : page.items;
  }, [page, query, cat.entity, names, serverSearch, shown]);
  const pendingKeys = cat.id === 'pending' ? rows.map((r) => (r as RequestRecord).issueKey) : [];

  const switchTo = (id: string) => {
    setCategory(id);
    setConfirm(null);
    setError(null);
    setResult(null);
    void load([id]);
  };

  const loadMore = async () => {
    if (serverSearch) {
      if (!found?.page.nextCursor) return;
      setLoadingMore(true);
      try {
        const next = await fetchCategory(cat.id, found.page.nextCursor, found.q);
        setFound((f) => (f ? { ...f, page: { ...next, items: [...f.page.items, ...next.items] } } : f));
        setNames((n) => ({ ...n, ...(next.people ?? {}) }));
      } catch (e) {
        setLoadErrors((s) => ({ ...s, [cat.id]: asResolverError(e) }));
      } finally {
        setLoadingMore(false);
      }
      return;
    }
    if (!page?.nextCursor) return;
    setLoadingMore(true);
    try {
      const next = await fetchCategory(cat.id, page.nextCursor);
      setPages((s) => ({ ...s, [cat.id]: { items: [...(s[cat.id]?.items ?? []), ...next.items], nextCursor: next.nextCursor } }));
      setNames((n) => ({ ...n, ...(next.people ?? {}) }));
    } catch (e) {
      setLoadErrors((s) => ({ ...s, [cat.id]: asResolverError(e) }));
    } finally {
      setLoadingMore(false);
    }
  };

  // After a decision or a task, every category may have changed.
  const refreshAll = async () => {
    await load(CATEGORIES.map((c) => c.id));
  };

  const decideOne = async (issueKey: string, verdict: Verdict) => {
    const where: Where = { area: 'row', key: issueKey };
    setConfirm(null);
    setBusy(`row:${issueKey}`);
    setError(null);
    setResult(null);
    try {
      const r = await call<DecideResult>('admin.requests.decide', { issueKey, decision: verdict, comment });
      setResult({ where, text: outcomeText(r) });
      setComment('');
      setSelected((s) => {
        const n = new Set(s);
        n.delete(issueKey);
        return n;
      });
      await refreshAll();
    } catch (e) {
      setError({ where, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  const decideBulk = async (verdict: Verdict) => {
    const where: Where = { area: 'bulk', key: 'bulk' };
    const issueKeys = [...selected];
    setConfirm(null);
    setBusy('bulk');
    setError(null);
    setResult(null);
    try {
      const r = await call<BulkResult>('admin.requests.bulkDecide', { issueKeys, decision: verdict, comment });
      setResult({ where, text: bulkText(verdict, r) });
      if (r.failed === 0) setComment('');
      const failed = new Set(r.results.filter((x) => !x.ok).map((x) => x.issueKey));
      setSelected(failed);
      await refreshAll();
    } catch (e) {
      setError({ where, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  const jobAction = async (job: JobRecord, what: 'complete' | 'retry') => {
    const where: Where = { area: 'row', key: job.id };
    setBusy(`row:${job.id}`);
    setError(null);
    setResult(null);
    const action = COMPLETION[job.kind] ?? '';
    try {
      if (what === 'complete') {
        await call('admin.jobs.complete', { jobId: job.id, action });
        setResult({ where, text: `${job.issueKey}: task marked ${action}.` });
      } else {
        await call('admin.jobs.retry', { jobId: job.id });
        setResult({ where, text: `${job.issueKey}: job queued again.` });
      }
      await refreshAll();
    } catch (e) {
      setError({ where, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  // The request's evidence pack: its audit entries with inclusion proofs and a signed checkpoint,
  // saved exactly as the server wrote it (the signature covers its bytes).
  const downloadEvidence = async (issueKey: string) => {
    if (evidenceBusy) return;
    const where: Where = { area: 'row', key: issueKey };
    setEvidenceBusy(issueKey);
    setError(null);
    setResult(null);
    try {
      const r = await call<{ fileName: string; pack: string }>('admin.audit.evidence', { issueKey });
      saveText(r.fileName, r.pack, 'application/json');
      setResult({ where, text: `Evidence pack for ${issueKey} saved as ${r.fileName}. An auditor verifies it offline with the public verifier key (Governance logs).` });
    } catch (e) {
      setError({ where, error: asResolverError(e) });
    } finally {
      setEvidenceBusy(null);
    }
  };
  const evidenceButton = (issueKey: string) => (
    <button
      type="button"
      className="button button-subtle evidence-button"
      data-testid="request-evidence"
      aria-label={`Download evidence for ${issueKey}`}
      aria-disabled={evidenceBusy !== null}
      onClick={() => downloadEvidence(issueKey)}
    >
      Download evidence
      {evidenceBusy === issueKey && <Spinner label={`Preparing the evidence pack for ${issueKey}`} />}
    </button>
  );

  const toggle = (k: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  const allSelected = pendingKeys.length > 0 && pendingKeys.every((k) => selected.has(k));
  const someSelected = selected.size > 0 && !allSelected;
  const n = selected.size;
  const noun = `${n} request${n === 1 ? '' : 's'}`;

  const visibleKeys = new Set(rows.map((r) => rowKey(cat.entity, r)));
  const errorAt = (area: Where['area'], key: string) =>
    error && error.where.area === area && error.where.key === key ? <ErrorMessage error={error.error} testId="action-error" /> : null;
  const resultAt = (area: Where['area'], key: string) =>
    result && result.where.area === area && result.where.key === key ? (
      <div className="action-result" role="status" data-testid="action-result">
        {result.text}
      </div>
    ) : null;
  // A row's result or error stays visible after the row leaves the table.
  const gone = (w: Where | undefined) => w && w.area === 'row' && !visibleKeys.has(w.key);

  const person = (id: string) => (
    <span title={id} className="person">
      {names[id] ?? <span className="mono">{id}</span>}
    </span>
  );
  const issueLink = (key: string) => (
    <a
      href="#"
      className="issue-link"
      data-testid="issue-link"
      onClick={(e) => {
        e.preventDefault();
        openIssue(key);
      }}
    >
      {key}
    </a>
  );
  const count = (id: string) => {
    const p = pages[id];
    if (!p) return loadErrors[id] ? '!' : '…';
    return p.nextCursor ? `${p.items.length}+` : String(p.items.length);
  };

  const isPending = cat.id === 'pending';

  return (
    <div className="admin-requests" data-testid="admin-requests">
      <div className="filter-bar" role="toolbar" aria-label="Show requests" data-testid="requests-filters">
        {CATEGORIES.map((c) => (
          <button
            key={c.id}
            type="button"
            className={`filter-chip${c.id === cat.id ? ' filter-chip-selected' : ''}`}
            aria-pressed={c.id === cat.id}
            data-testid={`requests-filter-${c.id}`}
            data-count={pages[c.id] ? pages[c.id].items.length : undefined}
            title={c.help}
            onClick={() => switchTo(c.id)}
          >
            {c.label} <span className="filter-count">{count(c.id)}</span>
          </button>
        ))}
      </div>
      <div className="requests-toolbar">
        <input
          type="search"
          className="requests-search"
          placeholder="Search by issue key, person or tool"
          aria-label="Search requests by issue key, person or tool"
          data-testid="requests-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="hint">{cat.help}</span>
      </div>
      {serverSearch && (
        <p className="hint" role="status" data-testid="requests-search-status">
          {searching
            ? 'Searching…'
            : `${rows.length} ${rows.length === 1 ? 'match' : 'matches'}${found?.page.nextCursor ? ' so far' : ''}`}
          {!searching && found?.page.complete === false
            ? ' — requests filed before this search existed are still being indexed; some may be missing.'
            : ''}
        </p>
      )}

      {isPending && (pendingKeys.length > 0 || n > 0) && (
        <>
          <div className="field">
            <label htmlFor="ac-admin-comment">
              Comment or reason <span className="hint">(optional, sent with your decision)</span>
            </label>
            <textarea id="ac-admin-comment" data-testid="requests-comment" rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
          </div>
          <div className="bulk-bar">
            <span className="hint">{n > 0 ? `${noun} selected` : 'Select requests to decide several at once.'}</span>
            <button type="button" className="button button-primary" data-testid="requests-bulk-approve" disabled={n === 0 || busy !== null} onClick={() => setConfirm({ verdict: 'approve', key: null })}>
              Approve selected
            </button>
            <button type="button" className="button button-danger" data-testid="requests-bulk-deny" disabled={n === 0 || busy !== null} onClick={() => setConfirm({ verdict: 'deny', key: null })}>
              Deny selected
            </button>
            {busy === 'bulk' && <Spinner />}
            {n > 50 && <span className="warning">At most 50 requests can be decided at once.</span>}
          </div>
          {confirm && confirm.key === null && (
            <div className="confirm" role="alertdialog" aria-labelledby="ac-admin-confirm" data-testid="requests-confirm" data-decision={confirm.verdict}>
              <p id="ac-admin-confirm">
                <strong>
                  {confirm.verdict === 'approve' ? 'Approve' : 'Deny'} {noun}?
                </strong>
              </p>
              <p className="hint">{comment.trim() ? `Comment: “${comment.trim()}”` : 'No comment will be added.'}</p>
              <button type="button" className={`button ${confirm.verdict === 'approve' ? 'button-primary' : 'button-danger'}`} data-testid="requests-confirm-yes" onClick={() => decideBulk(confirm.verdict)}>
                Confirm
              </button>
              <button type="button" className="button" data-testid="requests-confirm-cancel" onClick={() => setConfirm(null)}>
                Cancel
              </button>
            </div>
          )}
        </>
      )}
      {errorAt('bulk', 'bulk')}
      {resultAt('bulk', 'bulk')}
      {gone(error?.where) && <ErrorMessage error={error!.error} testId="action-error" />}
      {gone(result?.where) && (
        <div className="action-result" role="status" data-testid="action-result">
          {result!.text}
        </div>
      )}

      {loadError && <ErrorMessage error={loadError} testId="requests-error" />}
      {!page && !loadError && <Skeleton />}
      {page && rows.length === 0 && (
        <div data-testid="requests-empty">
          <Empty>{query.trim() ? 'No rows match the filter.' : `Nothing here: ${cat.help.charAt(0).toLowerCase()}${cat.help.slice(1)}`}</Empty>
        </div>
      )}
      {page && rows.length > 0 && (
        <table className="table requests-table" data-testid="requests-table" data-category={cat.id}>
          <thead>
            {cat.entity === 'request' && (
              <tr>
                {isPending && (
                  <th className="col-check">
                    <input
                      type="checkbox"
                      data-testid="requests-select-all"
                      aria-label="Select all requests"
                      checked={allSelected}
                      ref={(el) => {
                        if (el) el.indeterminate = someSelected;
                      }}
                      onChange={() => setSelected(allSelected ? new Set() : new Set(pendingKeys))}
                    />
                  </th>
                )}
                <th>Request</th>
                <th>Requester</th>
                <th>Tool</th>
                <th>Duration</th>
                <th>Requested</th>
                <th>{isPending ? 'Decide' : 'Decision'}</th>
              </tr>
            )}
            {cat.entity === 'grant' && (
              <tr>
                <th>Request</th>
                <th>Person</th>
                <th>Tool</th>
                <th>Status</th>
                <th>Granted</th>
                <th>{cat.id === 'revoked' || cat.id === 'historical' ? 'Ended' : 'Expires'}</th>
                <th>Decided by</th>
              </tr>
            )}
            {cat.entity === 'job' && (
              <tr>
                <th>Request</th>
                <th>Task</th>
                <th>Tool</th>
                <th>Person</th>
                <th>Status</th>
                <th>Since</th>
                <th />
              </tr>
            )}
          </thead>
          <tbody>
            {rows.map((row) => {
              const key = rowKey(cat.entity, row);
              if (cat.entity === 'request') {
                const r = row as RequestRecord;
                const risk = r.tool.kind === 'catalog' ? r.tool.riskLevel : 'unassessed';
                return (
                  <tr key={key} data-testid="request-row" data-issue-key={r.issueKey} data-category={cat.id} className={selected.has(key) && isPending ? 'row-selected' : ''}>
                    {isPending && (
                      <td className="col-check">
                        <input type="checkbox" data-testid="request-select" aria-label={`Select ${r.issueKey}`} checked={selected.has(key)} onChange={() => toggle(key)} />
                      </td>
                    )}
                    <td>
                      {issueLink(r.issueKey)}
                      {r.summary && <div className="hint">{r.summary}</div>}
                    </td>
                    <td>{person(r.requesterAccountId)}</td>
                    <td>
                      {toolName(r.tool)} <Lozenge appearance={RISK_APPEARANCE[risk] ?? 'default'}>{risk}</Lozenge>
                    </td>
                    <td>{r.durationDays} days</td>
                    <td>{formatDate(r.requestedAt)}</td>
                    <td>
                      {isPending ? (
                        <>
                          <div className="button-group">
                            <button type="button" className="button button-primary" data-testid="request-approve" disabled={busy !== null} onClick={() => setConfirm({ verdict: 'approve', key })}>
                              Approve
                            </button>
                            <button type="button" className="button button-danger" data-testid="request-deny" disabled={busy !== null} onClick={() => setConfirm({ verdict: 'deny', key })}>
                              Deny
                            </button>
                            {evidenceButton(r.issueKey)}
                            {busy === `row:${key}` && <Spinner />}
                          </div>
                          {confirm && confirm.key === key && (
                            <div className="confirm confirm-row" role="alertdialog" aria-label={`Confirm decision on ${key}`} data-testid="request-confirm" data-decision={confirm.verdict}>
                              <p>
                                <strong>
                                  {confirm.verdict === 'approve' ? 'Approve' : 'Deny'} {key}?
                                </strong>{' '}
                                <span className="hint">{comment.trim() ? `Comment: “${comment.trim()}”` : 'No comment.'}</span>
                              </p>
                              <button type="button" className={`button ${confirm.verdict === 'approve' ? 'button-primary' : 'button-danger'}`} data-testid="request-confirm-yes" onClick={() => decideOne(key, confirm.verdict)}>
                                Confirm
                              </button>
                              <button type="button" className="button" data-testid="request-confirm-cancel" onClick={() => setConfirm(null)}>
                                Cancel
                              </button>
                            </div>
                          )}
                          {errorAt('row', key)}
                          {resultAt('row', key)}
                        </>
                      ) : (
                        <>
                          <DecisionBadge decision={r.decision} />
                          <div className="hint">
                            <span data-testid="decision-source" data-source={r.decisionSource ?? ''}>
                              {decisionSourceText(r.decisionSource)}
                            </span>
                            {r.decidedAt ? ` · ${formatDateTime(r.decidedAt)}` : ''}
                          </div>
                          {r.decidedBy && <div className="hint">by {r.decidedBy === 'app' ? 'the app' : person(r.decidedBy)}</div>}
                          <div className="row-actions">{evidenceButton(r.issueKey)}</div>
                          {errorAt('row', key)}
                          {resultAt('row', key)}
                        </>
                      )}
                    </td>
                  </tr>
                );
              }
              if (cat.entity === 'grant') {
                const g = row as GrantRecord;
                return (
                  <tr key={key} data-testid="request-row" data-issue-key={g.issueKey} data-grant-id={g.id} data-category={cat.id}>
                    <td>{issueLink(g.issueKey)}</td>
                    <td>{person(g.accountId)}</td>
                    <td>
                      {g.toolName} <Lozenge appearance={RISK_APPEARANCE[g.riskLevel] ?? 'default'}>{g.riskLevel}</Lozenge>
                    </td>
                    <td>
                      <Lozenge appearance={STATUS_APPEARANCE[g.status] ?? 'default'} testId="grant-status" extra={{ 'data-status': g.status }}>
                        {g.status === 'pendingProvision' ? 'awaiting provisioning' : g.status}
                      </Lozenge>
                      {g.extensions && g.extensions.length > 0 && (
                        <div className="hint">
                          extended {g.extensions.length}×
                        </div>
                      )}
                    </td>
                    <td>{formatDate(g.grantedAt)}</td>
                    <td>
                      {formatDate(g.endedAt ?? g.expiresAt)}
                      {g.revokeReason && <div className="hint">{g.revokeReason}</div>}
                    </td>
                    <td data-testid="decision-source" data-source={g.decisionSource ?? ''}>
                      {decisionSourceText(g.decisionSource) || '—'}
                    </td>
                  </tr>
                );
              }
              const j = row as JobRecord;
              const action = COMPLETION[j.kind];
              return (
                <tr key={key} data-testid="request-row" data-issue-key={j.issueKey} data-job-id={j.id} data-kind={j.kind} data-category={cat.id}>
                  <td>{issueLink(j.issueKey)}</td>
                  <td>{KIND_LABEL[j.kind] ?? j.kind}</td>
                  <td>{j.toolName}</td>
                  <td>{person(j.accountId)}</td>
                  <td>
                    <Lozenge appearance={STATUS_APPEARANCE[j.status] ?? 'default'} testId="job-status" extra={{ 'data-status': j.status }}>
                      {j.status === 'manualPending' ? 'manual' : j.status === 'deadLetter' ? 'failed' : j.status}
                    </Lozenge>
                    {j.lastError && <div className="hint">{j.lastError}</div>}
                  </td>
                  <td>{formatDate(j.updatedAt)}</td>
                  <td>
                    <div className="button-group">
                      {j.status === 'manualPending' && action && (
                        <button type="button" className="button" data-testid="job-complete" data-action={action} disabled={busy !== null} onClick={() => jobAction(j, 'complete')}>
                          {COMPLETE_LABEL[action]}
                        </button>
                      )}
                      {j.status === 'deadLetter' && (
                        <button type="button" className="button" data-testid="job-retry" disabled={busy !== null} onClick={() => jobAction(j, 'retry')}>
                          Retry
                        </button>
                      )}
                      {busy === `row:${key}` && <Spinner />}
                    </div>
                    {errorAt('row', key)}
                    {resultAt('row', key)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {(serverSearch ? shown?.nextCursor : page?.nextCursor) && (
        <div className="pager">
          <button type="button" className="button" data-testid="requests-load-more" disabled={loadingMore} onClick={loadMore}>
            Show more
          </button>
          {loadingMore && <Spinner />}
        </div>
      )}

      <div ref={exportRef} id="export">
        <ExportPanel datasets={['requests', 'grants']} testId="requests-export" title="Export requests and grants" />
      </div>
    </div>
  );
}
