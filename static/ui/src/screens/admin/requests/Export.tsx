import { useCallback, useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, formatDateTime, Spinner } from '../../../components/ui';
import './requests.css';

export type Dataset = 'requests' | 'grants' | 'audit';

/** An export job (guest/src/clearance/exports.rs `Job`, without its read position). */
interface ExportJob {
  id: string;
  kind: Dataset;
  format: 'csv' | 'json';
  from: string;
  to: string;
  requestedBy: string;
  createdAt: string;
  status: 'running' | 'done' | 'failed';
  rows: number;
  parts: number;
  bytes: number;
  error?: string | null;
  finishedAt?: string | null;
}
/** admin.exports.part: one part of a finished job's file; the parts in order are the file. */
interface ExportPart {
  id: string;
  part: number;
  parts: number;
  text: string;
}

const DATASET_LABEL: Record<Dataset, string> = {
  requests: 'Requests',
  grants: 'Grants (access)',
  audit: 'Audit events',
};
const MIME: Record<'csv' | 'json', string> = { csv: 'text/csv;charset=utf-8', json: 'application/json' };

const DAY_MS = 86_400_000;
/** How often a running job's status is read (the job itself runs a slice a minute). */
const POLL_MS = 3000;

const day = (iso: string) => iso.slice(0, 10);
function isoDay(ms: number) {
  return new Date(ms).toISOString().slice(0, 10);
}
const num = (n: number) => n.toLocaleString('en-US');
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
const fileName = (j: ExportJob) => `ai-clearance-${j.kind}-${day(j.from)}-${day(j.to)}.${j.format}`;

interface Done {
  jobId: string;
  fileName: string;
  url: string;
  rows: number;
  range: { from: string; to: string };
}

/** The running job of a panel survives leaving the section (sessionStorage; may be unavailable). */
function remembered(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}
function remember(key: string, id: string | null) {
  try {
    if (id) window.sessionStorage.setItem(key, id);
    else window.sessionStorage.removeItem(key);
  } catch {
    // Nothing to keep it in: the job still finishes, the panel just forgets it.
  }
}

/**
 * Export controls (CL-180…CL-183): dataset, range (default: the server's last 90 days; a custom
 * range is checked by the server, at most 365 days), CSV or JSON. An export is a job on the
 * server (`admin.exports.start`) that writes the file in parts a slice a minute, whatever its
 * size; the panel reads its status every few seconds, and when it is done joins every part into
 * one file that downloads.
 */
export function ExportPanel(props: { datasets: Dataset[]; testId?: string; title?: string }) {
  const id = props.testId ?? 'export';
  const storeKey = `ac-export-job:${id}`;
  const [dataset, setDataset] = useState<Dataset>(props.datasets[0]);
  const [format, setFormat] = useState<'csv' | 'json'>('csv');
  const [preset, setPreset] = useState<'default' | 'custom'>('default');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [starting, setStarting] = useState(false);
  const [fetching, setFetching] = useState(false);
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const link = useRef<HTMLAnchorElement>(null);
  const lastRange = useRef<{ from: string; to: string } | null>(null);
  const urls = useRef<string[]>([]);
  // Free the files' memory when the panel goes away.
  useEffect(() => () => urls.current.forEach((u) => URL.revokeObjectURL(u)), []);

  // Coming back to the section: pick up a job that was still running.
  useEffect(() => {
    const saved = remembered(storeKey);
    if (!saved) return;
    call<{ job: ExportJob }>('admin.exports.status', { id: saved })
      .then((r) => {
        if (r.job.status === 'running') setJob((j) => j ?? r.job);
        else remember(storeKey, null);
      })
      .catch(() => remember(storeKey, null));
  }, [storeKey]);

  // While the job runs, read its status every few seconds.
  const running = job?.status === 'running';
  const jobId = job?.id;
  useEffect(() => {
    if (!running || !jobId) return;
    let alive = true;
    let timer = 0;
    const poll = async () => {
      let again = true;
      try {
        const r = await call<{ job: ExportJob }>('admin.exports.status', { id: jobId });
        if (!alive) return;
        setJob(r.job);
        setError(null);
        again = r.job.status === 'running';
      } catch (e) {
        if (!alive) return;
        const err = asResolverError(e);
        setError(err);
        // A job that is gone will not come back; anything else (an outage) is tried again.
        if (err.code === 'EXPORT_NOT_FOUND') {
          again = false;
          remember(storeKey, null);
          setJob(null);
        }
      }
      if (alive && again) timer = window.setTimeout(poll, POLL_MS);
    };
    timer = window.setTimeout(poll, POLL_MS);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [running, jobId, storeKey]);

  // When it is done: every part in order, joined into one file, which downloads once.
  const fetchFile = useCallback(
    async (j: ExportJob, isAlive: () => boolean) => {
      setFetching(true);
      try {
        const texts: string[] = [];
        for (let part = 0; part < j.parts; part++) {
          const r = await call<ExportPart>('admin.exports.part', { id: j.id, part });
          texts.push(r.text);
        }
        if (!isAlive()) return;
        urls.current.forEach((u) => URL.revokeObjectURL(u));
        const url = URL.createObjectURL(new Blob(texts, { type: MIME[j.format] }));
        urls.current = [url];
        remember(storeKey, null);
        setDone({ jobId: j.id, fileName: fileName(j), url, rows: j.rows, range: { from: j.from, to: j.to } });
      } catch (e) {
        if (isAlive()) setError(asResolverError(e));
      } finally {
        if (isAlive()) setFetching(false);
      }
    },
    [storeKey],
  );
  useEffect(() => {
    if (!job) return;
    if (job.status === 'failed') remember(storeKey, null);
    if (job.status !== 'done') return;
    let alive = true;
    void fetchFile(job, () => alive);
    return () => {
      alive = false;
    };
  }, [job, fetchFile, storeKey]);

  // Click the link once per finished export (not again on a re-render).
  const clicked = useRef<string | null>(null);
  useEffect(() => {
    if (done && clicked.current !== done.jobId) {
      clicked.current = done.jobId;
      link.current?.click();
    }
  }, [done]);

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

  const busy = starting || running || fetching;
  const run = async () => {
    if (busy) return;
    setStarting(true);
    setError(null);
    setDone(null);
    setJob(null);
    const payload: Record<string, unknown> = { kind: dataset, format };
    if (preset === 'custom') {
      if (from) payload.from = `${from}T00:00:00.000Z`;
      if (to) payload.to = `${to}T23:59:59.999Z`;
    }
    try {
      const r = await call<{ job: ExportJob }>('admin.exports.start', payload);
      lastRange.current = { from: r.job.from, to: r.job.to };
      remember(storeKey, r.job.id);
      setJob(r.job);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setStarting(false);
    }
  };

  const rangeError = error && error.code.startsWith('EXPORT_RANGE') ? error : null;
  const otherError = error && !rangeError ? error : null;
  const what = (j: ExportJob) => `${DATASET_LABEL[j.kind].toLowerCase()} (${j.format.toUpperCase()})`;

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
          <span className="hint">One export covers at most 365 days, with no limit on the number of rows.</span>
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
        {/* Stays focusable while an export runs (aria-disabled), so focus does not jump away. */}
        <button type="button" className="button button-primary" data-testid="export-run" aria-disabled={busy} onClick={run}>
          Export {DATASET_LABEL[dataset].toLowerCase()}
        </button>
        {starting && <Spinner label="Starting the export" />}
      </div>
      {otherError && <ErrorMessage error={otherError} testId="export-error" />}

      <div aria-live="polite" data-testid="export-live">
        {job && job.status === 'running' && (
          <div className="export-progress" data-testid="export-progress" data-status={job.status} data-rows={job.rows} data-job-id={job.id}>
            <Spinner label="Exporting" />
            <span>
              Exporting {what(job)} from {day(job.from)} to {day(job.to)}: {num(job.rows)} row{job.rows === 1 ? '' : 's'} so far
              {job.parts > 0 ? `, ${size(job.bytes)} written` : ''}. It runs in the background, a slice a minute; the file downloads here when it
              is done.
            </span>
          </div>
        )}
        {job && job.status === 'done' && fetching && (
          <div className="export-progress" data-testid="export-progress" data-status="downloading" data-rows={job.rows}>
            <Spinner label="Downloading" />
            <span>
              {num(job.rows)} row{job.rows === 1 ? '' : 's'} exported; downloading the file ({size(job.bytes)})…
            </span>
          </div>
        )}
        {job && job.status === 'failed' && (
          <div className="error-message export-failed" role="alert" data-testid="export-failed" data-job-id={job.id}>
            The export of {what(job)} stopped{job.finishedAt ? ` at ${formatDateTime(job.finishedAt)}` : ''} after {num(job.rows)} row
            {job.rows === 1 ? '' : 's'}: {job.error || 'the server gave no reason'}. Start it again, or choose a shorter range.
          </div>
        )}
        {done && (
          <div className="action-result" role="status" data-testid="export-result" data-count={done.rows} data-from={done.range.from} data-to={done.range.to}>
            {num(done.rows)} row{done.rows === 1 ? '' : 's'} from {day(done.range.from)} to {day(done.range.to)}.{' '}
            <a ref={link} href={done.url} download={done.fileName} data-testid="export-download" key={done.jobId}>
              Download {done.fileName}
            </a>
          </div>
        )}
      </div>
    </div>
  );
}
