import { useCallback, useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, formatDateTime, Lozenge, Skeleton, Spinner } from '../../../components/ui';

/** One problem a verification found (guest/src/audit/verify.rs Problem). */
export interface VerifyProblem {
  seq: number;
  kind: string;
  detail: string;
}
/** A finished verification run (guest/src/audit/verify.rs VerifyReport). */
export interface VerifyReport {
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  fromCheckpoint: number | null;
  anchoredSeq?: number | null;
  problems: VerifyProblem[];
  mode: 'new' | 'full' | null;
  treeSize: number;
  rootHash: string;
  signedSize?: number | null;
  witnessedSize?: number | null;
  finishedAt: string;
}
/** admin.audit.verify / admin.audit.checkpoint (guest/src/audit/work.rs `status`). */
export interface AuditStatus {
  verified: { size: number; at: string; rootHash: string } | null;
  run: {
    mode: 'new' | 'full';
    startedAt: string;
    startedBy: string;
    from: number;
    next: number;
    target: number;
    checked: number;
    problems: number;
    slices: number;
  } | null;
  last: VerifyReport | null;
  head: { seq: number; rootHash: string } | null;
  checkpoint: { size: number; time: string; rootHash: string; note: string } | null;
  publicKey: { name: string; keyId: string; publicKey: string; verifierKey: string; createdAt: string } | null;
  broken: { detectedAt: string; detail: string } | null;
}

/** What each problem kind means, for a person (never the slug). */
const PROBLEM_TEXT: Record<string, string> = {
  edited: "An entry's content was changed after it was recorded.",
  forged: "An entry or the head is not signed with the app's key.",
  missing: 'An entry is missing: it was deleted from the trail.',
  reordered: 'An entry is stored in the wrong place: entries were moved around.',
  'broken-link': 'An entry does not follow on from the entry before it: something was inserted or removed.',
  truncated: 'The trail ends too early: its newest entries were removed.',
  'head-mismatch': "The trail's record of its newest entry does not match the entries stored.",
  unreadable: 'An entry could not be read.',
  'tile-mismatch': "The trail's stored hash tree does not match an entry.",
  'root-mismatch': 'The entries do not add up to the fingerprint the trail recorded for them.',
  'bad-signature': "A signed checkpoint's signature does not check out with the app's public key.",
  'rolled-back': 'The trail was rolled back or rewritten: it no longer holds what was signed or recorded earlier.',
};

export function problemSentence(p: VerifyProblem): { where: string; text: string } {
  return {
    where: p.seq > 0 ? `Entry ${num(p.seq)}` : 'The head of the trail',
    text: PROBLEM_TEXT[p.kind] ?? 'Something does not match what was recorded.',
  };
}

const MODE_TEXT: Record<string, string> = { new: 'Verification of new entries', full: 'Full re-verification' };
const POLL_MS = 3000;

function num(n: number): string {
  return n.toLocaleString('en-US');
}
const entries = (n: number) => `${num(n)} entr${n === 1 ? 'y' : 'ies'}`;

type Acting = 'new' | 'full' | 'checkpoint' | null;

/**
 * Governance logs → "Audit trail integrity": how far the trail is verified, its size, the latest
 * signed checkpoint, the public verifier key for auditors, verification runs (a queue job that
 * this panel polls while it runs) and the last run's findings. A broken trail shows a banner.
 */
export function IntegrityPanel(props: { accountId?: string }) {
  const [status, setStatus] = useState<AuditStatus | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [acting, setActing] = useState<Acting>(null);
  const [actionError, setActionError] = useState<ResolverError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const keyInput = useRef<HTMLInputElement>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await call<AuditStatus>('admin.audit.verify', {}));
      setLoadError(null);
    } catch (e) {
      setLoadError(asResolverError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // While a run is under way, read the status every few seconds (one KVS read each).
  const running = status?.run != null;
  useEffect(() => {
    if (!running) return;
    let alive = true;
    let timer = 0;
    const next = async () => {
      await load();
      if (alive) timer = window.setTimeout(next, POLL_MS);
    };
    timer = window.setTimeout(next, POLL_MS);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [running, load]);

  // Buttons stay focusable while blocked (aria-disabled), so focus does not jump away.
  const blocked = acting !== null || running;
  const act = async (what: Exclude<Acting, null>) => {
    // A checkpoint can be signed while a run is under way; a second run cannot start.
    if (acting !== null || (what !== 'checkpoint' && running)) return;
    setActing(what);
    setActionError(null);
    setNotice(null);
    const before = status?.checkpoint ?? null;
    try {
      if (what === 'checkpoint') {
        const s = await call<AuditStatus>('admin.audit.checkpoint', {});
        setStatus(s);
        const cp = s.checkpoint;
        if (!cp) setNotice('There is nothing to sign yet: the trail has no entries.');
        else if (before && before.time === cp.time && before.size === cp.size)
          setNotice(`The latest checkpoint already covers every entry (up to entry ${num(cp.size)}).`);
        else setNotice(`Checkpoint signed: up to entry ${num(cp.size)}, ${formatDateTime(cp.time)}.`);
      } else {
        setStatus(await call<AuditStatus>('admin.audit.verify', { action: 'start', mode: what }));
      }
    } catch (e) {
      setActionError(asResolverError(e));
    } finally {
      setActing(null);
    }
  };

  const copyKey = async (key: string) => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(key);
      ok = true;
    } catch {
      // The iframe may not be allowed the clipboard: select the text and copy it the old way.
      const el = keyInput.current;
      if (el) {
        el.focus();
        el.select();
        try {
          ok = document.execCommand('copy');
        } catch {
          ok = false;
        }
      }
    }
    setCopied(ok ? 'Copied to the clipboard.' : 'Copying was not allowed: the key is selected, press Ctrl+C (⌘C on a Mac).');
  };

  if (!status) {
    return (
      <section className="integrity-panel" aria-labelledby="ac-integrity-title" data-testid="logs-integrity">
        <h3 className="subsection-title" id="ac-integrity-title">
          Audit trail integrity
        </h3>
        {loadError ? <ErrorMessage error={loadError} testId="logs-integrity-error" /> : <Skeleton lines={2} />}
      </section>
    );
  }

  const { verified, run, last, head, checkpoint, publicKey, broken } = status;
  const size = head?.seq ?? 0;
  const total = run ? Math.max(0, run.target - run.from + 1) : 0;
  const done = run ? Math.min(run.checked, total) : 0;
  const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
  const starter = (by: string) => (by === 'app' ? 'by the daily check' : by === props.accountId ? 'by you' : 'by another administrator');

  return (
    <section className="integrity-panel" aria-labelledby="ac-integrity-title" data-testid="logs-integrity">
      <h3 className="subsection-title" id="ac-integrity-title">
        Audit trail integrity
      </h3>

      {broken && (
        <div className="integrity-broken" role="alert" data-testid="logs-broken">
          <strong>The audit trail is broken.</strong> AI Clearance cannot record any change (no decisions, grants or settings) until an
          administrator restores it. Found {formatDateTime(broken.detectedAt)}: {broken.detail}
          <div>Run a full re-verification to see which entries are affected.</div>
        </div>
      )}

      <dl className="integrity-facts">
        <div data-testid="logs-verified" data-size={verified?.size ?? 0}>
          <dt>Verified</dt>
          <dd>
            {verified ? (
              <>
                Verified up to entry {num(verified.size)} ({formatDateTime(verified.at)})
                {size > verified.size && <span className="hint"> · {entries(size - verified.size)} added since</span>}
              </>
            ) : (
              'Not verified yet'
            )}
          </dd>
        </div>
        <div data-testid="logs-head" data-size={size}>
          <dt>Entries in the trail</dt>
          <dd>{head ? num(size) : 'No entries yet'}</dd>
        </div>
        <div data-testid="logs-checkpoint" data-size={checkpoint?.size ?? 0}>
          <dt>Latest signed checkpoint</dt>
          <dd>{checkpoint ? `Up to entry ${num(checkpoint.size)}, signed ${formatDateTime(checkpoint.time)}` : 'None signed yet'}</dd>
        </div>
      </dl>

      <div className="field integrity-key">
        {publicKey ? <label htmlFor="ac-verifier-key">Public verifier key</label> : <span className="integrity-label">Public verifier key</span>}
        {publicKey ? (
          <>
            <div className="integrity-key-row">
              <input
                id="ac-verifier-key"
                ref={keyInput}
                type="text"
                readOnly
                className="mono"
                data-testid="logs-verifier-key"
                value={publicKey.verifierKey}
                aria-describedby="ac-verifier-key-help"
                onFocus={(e) => e.currentTarget.select()}
              />
              <button type="button" className="button" data-testid="logs-copy-key" onClick={() => copyKey(publicKey.verifierKey)}>
                Copy
              </button>
            </div>
            <span className="hint" role="status" data-testid="logs-copy-result">
              {copied}
            </span>
            <p className="hint" id="ac-verifier-key-help">
              An auditor verifies exported logs and evidence packs offline with this key, without access to Jira:{' '}
              <code>node verify.mjs pack.json --key '…'</code> (the script is tools/evidence-verify/verify.mjs in the app's repository).
            </p>
          </>
        ) : (
          <span className="hint" data-testid="logs-verifier-key-missing">
            No signing key yet: it is created when the first checkpoint is signed.
          </span>
        )}
      </div>

      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="logs-verify" aria-disabled={blocked} onClick={() => act('new')}>
          Verify new entries
        </button>
        <button type="button" className="button" data-testid="logs-verify-full" aria-disabled={blocked} onClick={() => act('full')}>
          Full re-verification
        </button>
        <button type="button" className="button" data-testid="logs-sign-checkpoint" aria-disabled={acting !== null} onClick={() => act('checkpoint')}>
          Sign checkpoint now
        </button>
        {acting && <Spinner label={acting === 'checkpoint' ? 'Signing' : 'Starting'} />}
      </div>
      {actionError && <ErrorMessage error={actionError} testId="logs-verify-error" />}
      {notice && (
        <div className="action-result" role="status" data-testid="logs-checkpoint-result">
          {notice}
        </div>
      )}

      {/* Always present so that screen readers announce the progress as it changes. */}
      <div aria-live="polite" aria-atomic="true" data-testid="logs-verify-live">
        {run && (
          <div className="integrity-progress" data-testid="logs-verify-progress" data-checked={done} data-total={total}>
            <div id="ac-verify-progress-label">
              {MODE_TEXT[run.mode] ?? 'Verification'} under way, started {starter(run.startedBy)} {formatDateTime(run.startedAt)}:{' '}
              {total > 0 ? `checked ${num(done)} of ${entries(total)} (${percent}%)` : 'no new entries to check, only the head and the checkpoints'}
              {run.problems > 0 && `, ${run.problems} problem${run.problems === 1 ? '' : 's'} found so far`}.
            </div>
            <progress max={Math.max(total, 1)} value={total > 0 ? done : 1} aria-labelledby="ac-verify-progress-label" />
            <div className="hint">The run continues in the background, a slice a minute; you can leave this page.</div>
          </div>
        )}
      </div>

      {last && (
        <div
          className={`verify-result ${last.ok ? 'verify-ok' : 'verify-broken'}`}
          role="status"
          data-testid="logs-verify-result"
          data-ok={String(last.ok)}
          data-checked={last.checked}
          data-tree-size={last.treeSize}
          data-mode={last.mode ?? ''}
        >
          <Lozenge appearance={last.ok ? 'success' : 'removed'} bold>
            {last.ok ? 'verified' : 'problems found'}
          </Lozenge>{' '}
          <strong>Last run</strong> ({MODE_TEXT[last.mode ?? ''] ?? 'verification'}, finished {formatDateTime(last.finishedAt)}):{' '}
          {last.ok
            ? `the trail is intact up to entry ${num(last.treeSize)}; ${entries(last.checked)} checked${last.firstSeq !== null && last.lastSeq !== null ? ` (${num(last.firstSeq)} to ${num(last.lastSeq)})` : ''}.`
            : `${last.problems.length} problem${last.problems.length === 1 ? '' : 's'} found in ${entries(last.checked)} checked.`}
          {last.ok && last.signedSize != null && <span> The signed checkpoint up to entry {num(last.signedSize)} matches.</span>}
          {last.fromCheckpoint !== null && <span className="hint"> Older entries were removed by retention; checking started after entry {num(last.fromCheckpoint)}.</span>}
          {!last.ok && (
            <ul className="verify-problems" data-testid="logs-verify-problems">
              {last.problems.map((p, i) => {
                const s = problemSentence(p);
                return (
                  <li key={i} data-seq={p.seq} data-kind={p.kind}>
                    <strong>{s.where}:</strong> {s.text} <span className="hint">Details: {p.detail}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
