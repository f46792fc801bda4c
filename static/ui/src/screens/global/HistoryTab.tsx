import { useCallback, useEffect, useState } from 'react';
import { router } from '../../bridge';
import { asResolverError, call, ResolverError } from '../../api';
import { Empty, ErrorMessage, formatDate, Lozenge, Skeleton } from '../../components/ui';
import type { HistoryPage, RequestedTool } from '../../types';

const PAGE_SIZE = 10;

export function toolName(t: RequestedTool | null | undefined): string {
  if (!t) return '—';
  return t.kind === 'catalog' ? t.displayName || t.id : `${t.name} (new tool)`;
}

export function openIssue(issueKey: string) {
  void router.navigate({ target: 'issue', issueKey }).catch(() => undefined);
}

export function DecisionBadge(props: { decision: string }) {
  const d = props.decision;
  const appearance = d === 'approved' ? 'success' : d === 'denied' ? 'removed' : d === 'pending' ? 'inprogress' : 'default';
  return (
    <Lozenge appearance={appearance} testId="decision-badge" extra={{ 'data-decision': d }}>
      {d}
    </Lozenge>
  );
}

/** Request History (§5.3): paginated by the resolver's cursor. */
export function HistoryTab() {
  // cursors[i] is the cursor that loads page i (page 0: none).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [index, setIndex] = useState(0);
  const [page, setPage] = useState<HistoryPage | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (cursor: string | null) => {
    setLoading(true);
    try {
      const p = await call<HistoryPage>('page.history', { limit: PAGE_SIZE, cursor });
      setPage(p);
      setError(null);
      return p;
    } catch (e) {
      setError(asResolverError(e));
      return null;
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  const next = async () => {
    if (!page?.nextCursor) return;
    const c = page.nextCursor;
    const p = await load(c);
    if (p) {
      setCursors((cs) => [...cs.slice(0, index + 1), c]);
      setIndex((i) => i + 1);
    }
  };
  const prev = async () => {
    if (index === 0) return;
    const p = await load(cursors[index - 1]);
    if (p) setIndex((i) => i - 1);
  };

  if (!page && loading) return <Skeleton />;
  return (
    <div>
      <ErrorMessage error={error} testId="action-error" />
      {page && page.items.length === 0 && index === 0 ? (
        <Empty>You have not requested any AI tools yet.</Empty>
      ) : (
        page && (
          <table className={`table${loading ? ' table-busy' : ''}`}>
            <thead>
              <tr>
                <th>Request</th>
                <th>Tool</th>
                <th>Duration</th>
                <th>Requested</th>
                <th>Decision</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr key={r.issueKey} data-testid="history-row" data-issue-key={r.issueKey}>
                  <td>
                    <a
                      href="#"
                      className="issue-link"
                      data-testid="issue-link"
                      onClick={(e) => {
                        e.preventDefault();
                        openIssue(r.issueKey);
                      }}
                    >
                      {r.issueKey}
                    </a>
                    <div className="hint">{r.summary}</div>
                  </td>
                  <td>{toolName(r.tool)}</td>
                  <td>{r.durationDays} days</td>
                  <td>{formatDate(r.requestedAt)}</td>
                  <td>
                    <DecisionBadge decision={r.decision} />
                    {r.decidedAt && <div className="hint">{formatDate(r.decidedAt)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      <div className="pager">
        <button type="button" className="button" data-testid="history-prev" disabled={index === 0 || loading} onClick={prev}>
          ‹ Previous
        </button>
        <span className="hint">Page {index + 1}</span>
        <button type="button" className="button" data-testid="history-next" disabled={!page?.nextCursor || loading} onClick={next}>
          Next ›
        </button>
      </div>
    </div>
  );
}
