import { useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Spinner } from '../../../components/ui';
import './requests.css';

/** What `admin.exports.*` answers (guest/src/clearance/admin.rs `export`). */
interface ExportAnswer {
  format: 'csv' | 'json';
  range: { from: string; to: string };
  csv?: string;
  rows?: unknown[];
  count: number;
  nextCursor: string | null;
}

export type Dataset = 'requests' | 'grants' | 'audit';

const DATASET_LABEL: Record<Dataset, string> = {
  requests: 'Requests',
  grants: 'Grants (access)',
  audit: 'Audit events',
};

/** At most this many pages (500 rows each) are joined into one file; exports are rate-limited. */
const MAX_PAGES = 5;
const DAY_MS = 86_400_000;

const day = (iso: string) => iso.slice(0, 10);
function isoDay(ms: number) {
  return new Date(ms).toISOString().slice(0, 10);
}

interface Done {
  fileName: string;
  url: string;
  count: number;
  range: { from: string; to: string };
  truncated: boolean;
  nonce: number;
}

/**
 * Export controls (CL-180…CL-183): dataset, range (default: the server's last 90 days; a custom
 * range is checked by the server, at most 365 days), CSV or JSON. The answer becomes a Blob that
 * downloads as a file.
 */
export function ExportPanel(props: { datasets: Dataset[]; testId?: string; title?: string }) {
  const [dataset, setDataset] = useState<Dataset>(props.datasets[0]);
  const [format, setFormat] = useState<'csv' | 'json'>('csv');
  const [preset, setPreset] = useState<'default' | 'custom'>('default');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const link = useRef<HTMLAnchorElement>(null);
  const lastRange = useRef<{ from: string; to: string } | null>(null);

  // Click the link once per finished export (not again on a re-render).
  const clicked = useRef(0);
  const exports = useRef(0);
  const urls = useRef<string[]>([]);
  useEffect(() => {
    if (done && clicked.current !== done.nonce) {
      clicked.current = done.nonce;
      link.current?.click();
    }
  }, [done]);
  // Free the files' memory when the panel goes away.
  useEffect(() => () => urls.current.forEach((u) => URL.revokeObjectURL(u)), []);

  const choosePreset = (p: 'default' | 'custom') => {
    setPreset(p);
    setError(null);
    if (p === 'custom' && (!from || !to)) {
      // Start from the window the last export covered (the server's clock), else the browser's.
      const r = lastRange.current;
      const now = Date.now();
      setFrom(r ? day(r.from) : isoDay(now - 90 * DAY_MS));
      setTo(r ? day(r.to) : isoDay(now));
    }
  };

  const run = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    const base: Record<string, unknown> = { format };
    if (preset === 'custom') {
      if (from) base.from = `${from}T00:00:00.000Z`;
      if (to) base.to = `${to}T23:59:59.999Z`;
    }
    try {
      const pages: ExportAnswer[] = [];
      let cursor: string | null = null;
      do {
        const a: ExportAnswer = await call<ExportAnswer>(`admin.exports.${dataset}`, cursor ? { ...base, cursor } : base);
        pages.push(a);
        cursor = a.nextCursor;
      } while (cursor && pages.length < MAX_PAGES);
      const first = pages[0];
      const count = pages.reduce((n, p) => n + p.count, 0);
      let blob: Blob;
      if (format === 'csv') {
        // Every page repeats the header line: keep the first one only.
        const parts = pages.map((p, i) => (i === 0 ? p.csv ?? '' : (p.csv ?? '').replace(/^[^\n]*\n/, '')));
        blob = new Blob([parts.join('')], { type: 'text/csv;charset=utf-8' });
      } else {
        const rows = pages.flatMap((p) => p.rows ?? []);
        blob = new Blob([JSON.stringify({ dataset, range: first.range, count, rows }, null, 2)], { type: 'application/json' });
      }
      lastRange.current = first.range;
      urls.current.forEach((u) => URL.revokeObjectURL(u));
      const url = URL.createObjectURL(blob);
      urls.current = [url];
      setDone({
        fileName: `ai-clearance-${dataset}-${day(first.range.from)}-${day(first.range.to)}.${format}`,
        url,
        count,
        range: first.range,
        truncated: cursor !== null,
        nonce: ++exports.current,
      });
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };

  const rangeError = error && error.code.startsWith('EXPORT_RANGE') ? error : null;
  const otherError = error && !rangeError ? error : null;
  const id = props.testId ?? 'export';

  return (
    <div className="export-panel" data-testid={id}>
      <h3 className="subsection-title">{props.title ?? 'Export'}</h3>
      <div className="export-grid">
        {props.datasets.length > 1 && (
          <div className="field">
            <label htmlFor={`${id}-dataset`}>Data</label>
            <select id={`${id}-dataset`} data-testid="export-dataset" value={dataset} onChange={(e) => setDataset(e.target.value as Dataset)}>
              {props.datasets.map((d) => (
                <option key={d} value={d}>
                  {DATASET_LABEL[d]}
                </option>
              ))}
            </select>
          </div>
        )}
        <fieldset className="field export-range" data-testid="export-range">
          <legend>Range</legend>
          <select aria-label="Range" data-testid="export-preset" value={preset} onChange={(e) => choosePreset(e.target.value as 'default' | 'custom')}>
            <option value="default">Last 90 days</option>
            <option value="custom">Custom range…</option>
          </select>
          {preset === 'custom' && (
            <span className="export-dates">
              <label>
                From{' '}
                <input type="date" data-testid="export-from" value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={rangeError ? true : undefined} />
              </label>
              <label>
                To <input type="date" data-testid="export-to" value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={rangeError ? true : undefined} />
              </label>
            </span>
          )}
          <span className="hint">One export covers at most 365 days.</span>
          {rangeError && (
            <div data-testid="export-range-error" data-code={rangeError.code}>
              <ErrorMessage error={rangeError} field="range" />
              {rangeError.message && <div className="hint">Server: {rangeError.message}</div>}
            </div>
          )}
        </fieldset>
        <fieldset className="field export-format">
          <legend>Format</legend>
          {(['csv', 'json'] as const).map((f) => (
            <label key={f} className="radio">
              <input type="radio" name={`${id}-format`} value={f} data-testid={`export-format-${f}`} checked={format === f} onChange={() => setFormat(f)} /> {f.toUpperCase()}
            </label>
          ))}
        </fieldset>
      </div>
      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="export-run" disabled={busy} onClick={run}>
          Export {DATASET_LABEL[dataset].toLowerCase()}
        </button>
        {busy && <Spinner label="Exporting" />}
      </div>
      {otherError && <ErrorMessage error={otherError} testId="export-error" />}
      {done && (
        <div className="action-result" role="status" data-testid="export-result" data-count={done.count}>
          {done.count} row{done.count === 1 ? '' : 's'} from {day(done.range.from)} to {day(done.range.to)}
          {done.truncated ? ` (the first ${done.count}; narrow the range for the rest)` : ''}.{' '}
          <a ref={link} href={done.url} download={done.fileName} data-testid="export-download" key={done.nonce}>
            Download {done.fileName}
          </a>
        </div>
      )}
    </div>
  );
}
