import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDateTime, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import type { SectionId } from '../sections';
import { fmt, usageAppearance } from './common';
import type { UsageAnswer } from './types';

type SortKey = 'name' | 'tokens' | 'executions' | 'errors';
const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'name', label: 'Approval path' },
  { key: 'tokens', label: 'Tokens' },
  { key: 'executions', label: 'Executions' },
  { key: 'errors', label: 'Errors' },
];

interface InboxItem {
  code?: string;
  message?: string;
  at?: string;
  atMs?: number;
  count?: number;
  [k: string]: unknown;
}

/** Settings → AI → Usage: this month against the budget, and a sortable per-path table. */
export function UsageTab(props: {
  onUsage: (u: UsageAnswer) => void;
  settingsVersion: number;
  openGeneral: () => void;
  go: (s: SectionId, anchor?: string) => void;
}) {
  const [data, setData] = useState<UsageAnswer | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [sort, setSort] = useState<{ key: SortKey; direction: 'asc' | 'desc' }>({ key: 'tokens', direction: 'desc' });
  const [loading, setLoading] = useState(false);
  const [inbox, setInbox] = useState<InboxItem[] | null>(null);
  const [inboxError, setInboxError] = useState<ResolverError | null>(null);
  const { onUsage } = props;

  useEffect(() => {
    let live = true;
    setLoading(true);
    call<UsageAnswer>('admin.ai.usage', { sort: sort.key, direction: sort.direction })
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
        onUsage(d);
      })
      .catch((e) => live && setError(asResolverError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [sort, props.settingsVersion, onUsage]);

  useEffect(() => {
    call<{ items: InboxItem[] }>('admin.ai.inbox')
      .then((r) => setInbox(r.items))
      .catch((e) => setInboxError(asResolverError(e)));
  }, [props.settingsVersion]);

  if (!data && error) return <ErrorMessage error={error} testId="ai-usage-error" />;
  if (!data) return <Skeleton />;

  const pct = data.percent;
  const width = Math.min(100, Math.max(0, pct));
  const sortBy = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, direction: s.direction === 'asc' ? 'desc' : 'asc' } : { key, direction: key === 'name' ? 'asc' : 'desc' }));

  return (
    <div className="ai-usage" data-testid="ai-usage">
      <div className="ai-usage-head">
        <h3 className="ai-subtitle">{data.month}</h3>
        <Lozenge appearance={usageAppearance(data.status)} bold testId="ai-usage-status" extra={{ 'data-status': data.status }}>
          {data.status}
        </Lozenge>
        {loading && <Spinner />}
      </div>
      <div
        className={`ai-usage-bar ai-usage-bar-${data.status.toLowerCase()}`}
        role="meter"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={width}
        aria-label="Share of the monthly token budget used"
        data-testid="ai-usage-bar"
        data-status={data.status}
        data-percent={pct}
      >
        <div className="ai-usage-fill" style={{ width: `${width}%` }} />
        <span className="ai-usage-mark" style={{ left: '90%' }} title="90 %: warning" />
      </div>
      <p className="ai-usage-figures">
        <span data-testid="ai-usage-tokens">
          {fmt(data.tokensUsed)} of {fmt(data.budget)} tokens
        </span>{' '}
        · <strong data-testid="ai-usage-percent">{pct} %</strong>
        {data.budget === 0 && (
          <>
            {' '}
            · <span className="warning">No budget is set, so Prompt steps do not run.</span>{' '}
            <button type="button" className="link-button" data-testid="ai-usage-set-budget" onClick={props.openGeneral}>
              Set a budget
            </button>
          </>
        )}
      </p>
      <dl className="ai-usage-stats">
        <div>
          <dt>Executions</dt>
          <dd data-testid="ai-usage-executions">{fmt(data.executions)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="ai-usage-errors">{fmt(data.errors)}</dd>
        </div>
      </dl>

      <ErrorMessage error={error} testId="ai-usage-error" />
      <table className={`table${loading ? ' table-busy' : ''}`} data-testid="ai-usage-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} aria-sort={sort.key === c.key ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'} className={c.key === 'name' ? '' : 'num'}>
                <button type="button" className="sort-button" data-testid={`ai-usage-sort-${c.key}`} onClick={() => sortBy(c.key)}>
                  {c.label}
                  {sort.key === c.key ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.definitions.map((r) => (
            <tr key={r.definitionId} data-testid="ai-usage-row" data-definition-id={r.definitionId}>
              <td>
                <button type="button" className="link-button" onClick={() => props.go('paths', r.definitionId)}>
                  {r.name}
                </button>
              </td>
              <td className="num" data-testid="ai-usage-row-tokens">
                {fmt(r.tokens)}
              </td>
              <td className="num">{fmt(r.executions)}</td>
              <td className="num">{fmt(r.errors)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.definitions.length === 0 && <Empty>No AI Prompt step has run this month.</Empty>}

      <h3 className="ai-subtitle">Recent AI errors</h3>
      <ErrorMessage error={inboxError} testId="ai-inbox-error" />
      {inbox && inbox.length === 0 && <Empty>No AI errors need attention.</Empty>}
      {inbox && inbox.length > 0 && (
        <ul className="ai-inbox" data-testid="ai-inbox">
          {inbox.map((it, i) => (
            <li key={i}>
              {it.code && <code>{String(it.code)}</code>} {String(it.message ?? '')}{' '}
              {typeof it.at === 'string' && <span className="hint">{formatDateTime(it.at)}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
