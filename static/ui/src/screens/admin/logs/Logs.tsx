import { useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDateTime, Skeleton, Spinner } from '../../../components/ui';
import type { SectionProps } from '../sections';
import { ExportPanel } from '../requests/Export';
import { IntegrityPanel } from './Integrity';
import { PeoplePicker, type PickedPerson } from '../../../components/PeoplePicker';
import './logs.css';
import { EVENT_TYPES, eventTypeLabel } from '../../../lib/words';

/** admin.audit.search items (guest/src/clearance/admin.rs `audit_search`). */
interface Hit {
  seq: number;
  type: string;
  at: string;
  actor: string;
  issueKey: string | null;
  policyVersion: number | null;
}
interface SearchAnswer {
  items: Hit[];
  examined: number;
  nextCursor: string | null;
  /** Display names of the page's actors (the app's own entries say "app"). */
  people?: Record<string, string>;
}

/** Who an actor is, in words: a person's name, the app, or a person Jira no longer knows. */
function actorName(actor: string, names: Record<string, string>): string {
  if (actor === 'app') return 'AI Clearance (the app)';
  return names[actor] ?? 'Unknown person';
}
/** admin.audit.get entry (guest/src/audit/chain.rs AuditEntry). */
interface Entry extends Hit {
  subject: unknown;
  data: unknown;
  macKeyId: string;
  prevHash: string;
  entryHash: string;
  entryMac: string;
}


interface Filters {
  type: string;
  issueKey: string;
  actor: string;
  from: string;
  to: string;
}
const EMPTY: Filters = { type: '', issueKey: '', actor: '', from: '', to: '' };

function serverFilters(f: Filters): Record<string, string> {
  const p: Record<string, string> = {};
  if (f.type.trim()) p.type = f.type.trim();
  if (f.issueKey.trim()) p.issueKey = f.issueKey.trim().toUpperCase();
  if (f.actor.trim()) p.actor = f.actor.trim();
  return p;
}
/** The search resolver has no date filter: the dates narrow the rows it returns. */
function inDates(h: Hit, f: Filters): boolean {
  const d = h.at.slice(0, 10);
  return (!f.from || d >= f.from) && (!f.to || d <= f.to);
}

const CHAIN_FIELDS: { key: keyof Entry; label: string }[] = [
  { key: 'seq', label: 'Sequence (seq)' },
  { key: 'type', label: 'Event' },
  { key: 'at', label: 'At' },
  { key: 'actor', label: 'Actor' },
  { key: 'issueKey', label: 'Issue' },
  { key: 'policyVersion', label: 'Policy version' },
  { key: 'prevHash', label: 'Previous hash (prevHash)' },
  { key: 'entryHash', label: 'Entry hash (entryHash)' },
  { key: 'entryMac', label: 'Entry MAC (entryMac)' },
  { key: 'macKeyId', label: 'MAC key (macKeyId)' },
];

/** Jira settings → AI Clearance → Governance logs (spec §6, §14; CL-141…CL-143, CL-183): the
 *  audit trail's integrity (verification runs, checkpoints, the verifier key), search with the
 *  entry drawer, and the export of audit events. */
export default function Logs(props: SectionProps) {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [examined, setExamined] = useState(0);
  const [busy, setBusy] = useState<'search' | 'more' | null>(null);
  const [searchError, setSearchError] = useState<ResolverError | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  // The person the actor filter names (the filter itself keeps the account id).
  const [actorPerson, setActorPerson] = useState<PickedPerson | null>(null);
  const [pickingPerson, setPickingPerson] = useState(false);
  const [entry, setEntry] = useState<Entry | null>(null);
  const [entryError, setEntryError] = useState<ResolverError | null>(null);
  const drawer = useRef<HTMLElement>(null);

  const search = async (f: Filters, more = false) => {
    setBusy(more ? 'more' : 'search');
    setSearchError(null);
    try {
      const payload: Record<string, unknown> = serverFilters(f);
      if (more && cursor) payload.cursor = cursor;
      const r = await call<SearchAnswer>('admin.audit.search', payload);
      setHits((h) => (more && h ? [...h, ...r.items] : r.items));
      setNames((n) => ({ ...n, ...(r.people ?? {}) }));
      setCursor(r.nextCursor);
      setExamined((n) => (more ? n + r.examined : r.examined));
      setApplied(f);
    } catch (e) {
      setSearchError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  useEffect(() => {
    void search(EMPTY);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const openEntry = async (seq: number) => {
    setOpen(seq);
    setEntry(null);
    setEntryError(null);
    try {
      const r = await call<{ entry: Entry }>('admin.audit.get', { seq });
      setEntry(r.entry);
    } catch (e) {
      setEntryError(asResolverError(e));
    }
  };
  useEffect(() => {
    if (open !== null) {
      drawer.current?.focus({ preventScroll: true });
      drawer.current?.scrollIntoView({ block: 'nearest' });
    }
  }, [open]);

  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setFilters((f) => ({ ...f, [k]: e.target.value }));
  const shown = (hits ?? []).filter((h) => inDates(h, applied));

  return (
    <div className="admin-logs" data-testid="admin-logs">
      <IntegrityPanel accountId={props.context.accountId} />

      <form
        className="log-filters"
        data-testid="logs-filters"
        onSubmit={(e) => {
          e.preventDefault();
          void search(filters);
        }}
      >
        <label>
          Event
          <select data-testid="logs-filter-type" value={filters.type} onChange={set('type')}>
            <option value="">Any event</option>
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {eventTypeLabel(t)}
              </option>
            ))}
            {filters.type && !EVENT_TYPES.includes(filters.type) && <option value={filters.type}>{eventTypeLabel(filters.type)}</option>}
          </select>
        </label>
        <label>
          Issue key
          <input data-testid="logs-filter-issue" value={filters.issueKey} onChange={set('issueKey')} placeholder="e.g. AIR-1" />
        </label>
        <label>
          Actor
          <select
            data-testid="logs-filter-actor-kind"
            value={filters.actor === '' ? '' : filters.actor === 'app' ? 'app' : 'person'}
            onChange={(e) => {
              const v = e.target.value;
              setActorPerson(null);
              setFilters((f) => ({ ...f, actor: v === 'app' ? 'app' : '' }));
              if (v === 'person') setPickingPerson(true);
              else setPickingPerson(false);
            }}
          >
            <option value="">Anyone</option>
            <option value="app">The app</option>
            <option value="person">A person…</option>
          </select>
        </label>
        {(pickingPerson || (filters.actor !== '' && filters.actor !== 'app')) && (
          <div className="log-filter-person">
            <label htmlFor="logs-filter-actor">Person</label>
            <PeoplePicker
              id="logs-filter-actor"
              testId="logs-filter-actor"
              value={actorPerson}
              placeholder="Type a name"
              onChange={(p) => {
                setActorPerson(p);
                setFilters((f) => ({ ...f, actor: p?.accountId ?? '' }));
              }}
            />
          </div>
        )}
        <label>
          From
          <input type="date" data-testid="logs-filter-from" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          To
          <input type="date" data-testid="logs-filter-to" value={filters.to} onChange={set('to')} />
        </label>
        <div className="button-group">
          <button type="submit" className="button button-primary" data-testid="logs-search" disabled={busy !== null}>
            Search
          </button>
          <button
            type="button"
            className="button button-subtle"
            data-testid="logs-clear"
            disabled={busy !== null}
            onClick={() => {
              setFilters(EMPTY);
              setActorPerson(null);
              setPickingPerson(false);
              void search(EMPTY);
            }}
          >
            Clear
          </button>
          {busy === 'search' && <Spinner label="Searching" />}
        </div>
      </form>
      {searchError && <ErrorMessage error={searchError} testId="logs-search-error" />}

      <div className={`logs-body${open !== null ? ' logs-body-open' : ''}`}>
        <div className="logs-results">
          {hits === null && !searchError && <Skeleton />}
          {hits !== null && (
            <>
              <p className="hint" data-testid="logs-summary">
                {shown.length} entr{shown.length === 1 ? 'y' : 'ies'} shown, newest first ({examined} examined{cursor ? '; more entries follow' : ''}).
              </p>
              {shown.length === 0 ? (
                <Empty>No log entries match.</Empty>
              ) : (
                <table className="table logs-table" data-testid="logs-table">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Event</th>
                      <th>At</th>
                      <th>Actor</th>
                      <th>Issue</th>
                      <th>Policy</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((h) => (
                      <tr
                        key={h.seq}
                        data-testid="log-row"
                        data-seq={h.seq}
                        data-type={h.type}
                        data-issue-key={h.issueKey ?? ''}
                        className={`log-row${open === h.seq ? ' row-selected' : ''}`}
                        tabIndex={0}
                        onClick={() => openEntry(h.seq)}
                        onKeyDown={(e) => {
                          if (e.key === 'Enter' || e.key === ' ') {
                            e.preventDefault();
                            void openEntry(h.seq);
                          }
                        }}
                      >
                        <td>{h.seq}</td>
                        <td title={h.type}>{eventTypeLabel(h.type)}</td>
                        <td>{formatDateTime(h.at)}</td>
                        <td data-testid="log-actor" data-account-id={h.actor}>{actorName(h.actor, names)}</td>
                        <td>{h.issueKey ?? '—'}</td>
                        <td>{h.policyVersion ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {cursor && (
                <div className="pager">
                  <button type="button" className="button" data-testid="logs-load-more" disabled={busy !== null} onClick={() => search(applied, true)}>
                    Search further
                  </button>
                  {busy === 'more' && <Spinner />}
                </div>
              )}
            </>
          )}
        </div>
        {open !== null && (
          <aside className="log-drawer" data-testid="log-drawer" data-seq={open} role="dialog" aria-label={`Log entry #${open}`} tabIndex={-1} ref={drawer} onKeyDown={(e) => e.key === 'Escape' && setOpen(null)}>
            <div className="log-drawer-head">
              <h3 className="subsection-title">Log entry #{open}</h3>
              <button type="button" className="button button-subtle" data-testid="log-drawer-close" aria-label="Close" onClick={() => setOpen(null)}>
                ✕
              </button>
            </div>
            {entryError && <ErrorMessage error={entryError} testId="log-drawer-error" />}
            {!entry && !entryError && <Skeleton />}
            {entry && (
              <>
                <dl className="chain-fields">
                  {CHAIN_FIELDS.map((f) => (
                    <div key={f.key} className="chain-field" data-testid={`log-field-${f.key}`} data-value={String(entry[f.key] ?? '')}>
                      <dt>{f.label}</dt>
                      <dd className={['prevHash', 'entryHash', 'entryMac', 'macKeyId'].includes(f.key) ? 'mono' : ''}>
                        {f.key === 'at'
                          ? `${formatDateTime(entry.at)} (${entry.at})`
                          : f.key === 'type'
                            ? `${eventTypeLabel(entry.type)} (${entry.type})`
                            : f.key === 'actor'
                              ? `${actorName(entry.actor, names)} (${entry.actor})`
                              : String(entry[f.key] ?? '—')}
                      </dd>
                    </div>
                  ))}
                </dl>
                <h4 className="drawer-subtitle">Subject</h4>
                <pre className="json" data-testid="log-subject">{JSON.stringify(entry.subject, null, 2)}</pre>
                <h4 className="drawer-subtitle">Metadata</h4>
                <pre className="json" data-testid="log-data">{JSON.stringify(entry.data, null, 2)}</pre>
              </>
            )}
          </aside>
        )}
      </div>

      <ExportPanel datasets={['audit']} testId="logs-export" title="Export governance logs" />
    </div>
  );
}
