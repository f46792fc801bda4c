import { useCallback, useEffect, useRef, useState } from 'react';
import { view } from '../../bridge';
import { asResolverError, call, ResolverError } from '../../api';
import { ErrorMessage, formatDateTime, Lozenge, Skeleton, Sparkle, Spinner } from '../../components/ui';
import { SectionBody } from '../../components/RichText';
import { confidenceText, lozengeAppearance, lozengeText, sectionLozenge } from '../../lib/prompt';
import type { Execution, ForgeContext, ParsedResult } from '../../types';
import { POLL_FACTOR, POLL_FIRST_MS, POLL_MAX_MS, RERUN_MESSAGE } from '../issue/IssuePanel';
import { ProviderCalls } from './ProviderCalls';
import { SettingsAction } from '../issue/PromptStep';

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the legacy path
  }
  try {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    document.body.removeChild(ta);
    return ok;
  } catch {
    return false;
  }
}

/** The click-through "full analysis" dialog of a PROMPT step (AP-904, AP-905). */
export function ResultDialog(props: { context: ForgeContext; modal: Record<string, any> }) {
  const approvalId = String(props.modal.approvalId ?? '');
  const stepId = String(props.modal.stepId ?? '');
  const [x, setX] = useState<Execution | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');
  const [rerun, setRerun] = useState<'idle' | 'running' | 'waiting' | 'done'>('idle');
  const [rerunError, setRerunError] = useState<ResolverError | null>(null);
  const rerunHappened = useRef(false);
  const [fetchCount, setFetchCount] = useState(0);
  const delay = useRef(POLL_FIRST_MS);

  const load = useCallback(async () => {
    try {
      const e = await call<Execution>('ai.execution', { approvalId, stepId });
      setX(e);
      setError(null);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setFetchCount((n) => n + 1);
    }
  }, [approvalId, stepId]);

  useEffect(() => {
    void load();
  }, [load]);

  // While the analysis runs (first open, or after a re-run), poll quietly with backoff.
  const active = x?.status === 'ACTIVE' || x?.status === 'WAIT';
  useEffect(() => {
    if (!active) {
      delay.current = POLL_FIRST_MS;
      if (rerun === 'waiting' && x) setRerun('done');
      return;
    }
    const t = window.setTimeout(() => {
      delay.current = Math.min(delay.current * POLL_FACTOR, POLL_MAX_MS);
      void load();
    }, delay.current);
    return () => window.clearTimeout(t);
  }, [active, fetchCount, load, rerun, x]);

  // The dialog's frame gets focus from Jira when it opens; put it on the title, so a screen
  // reader says what opened and Tab goes on to the dialog's controls (Escape closes: Jira's modal).
  const titleRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    titleRef.current?.focus();
  }, []);

  const close = () => {
    void view.close(rerunHappened.current ? { rerunHappened: true } : undefined).catch(() => undefined);
  };

  const doRerun = async () => {
    setRerun('running');
    setRerunError(null);
    try {
      await call('ai.rerun', { approvalId, stepId });
      rerunHappened.current = true;
      try {
        // window.parent only (never window.top): the list refetches silently (AP-905).
        window.parent.postMessage({ type: RERUN_MESSAGE, approvalId, stepId }, '*');
      } catch {
        // Blocked in some sandboxes: view.close({ rerunHappened: true }) covers it.
      }
      setRerun('waiting');
      setCopy('idle');
      // The step is ACTIVE again until the worker's fresh answer lands.
      setX((prev) => (prev ? { ...prev, status: 'ACTIVE', result: null, parsed: null, resultTeaser: null } : prev));
      delay.current = POLL_FIRST_MS;
      await load();
    } catch (e) {
      setRerunError(asResolverError(e));
      setRerun('idle');
    }
  };

  const doCopy = async () => {
    const text = x?.result ?? x?.resultTeaser ?? '';
    const ok = text ? await copyText(text) : false;
    setCopy(ok ? 'copied' : 'failed');
    window.setTimeout(() => setCopy('idle'), 2500);
  };

  const parsed: ParsedResult | null = x?.parsed ?? null;
  const guidance = x && x.status === 'FAIL' ? (x.guidance ?? { category: 'other', message: x.errorMessage ?? 'The AI analysis failed.', action: null }) : null;

  return (
    <div className="dialog" data-testid="result-dialog" data-status={x?.status ?? 'loading'}>
      <header className="dialog-head">
        <Sparkle />
        <h1 className="dialog-title" ref={titleRef} tabIndex={-1} data-testid="dialog-title">
          {x?.name ?? 'AI analysis'}
        </h1>
        <button type="button" className="button button-subtle dialog-x" aria-label="Close" data-testid="dialog-close" onClick={close}>
          ✕
        </button>
      </header>

      {!x && !error && <Skeleton lines={5} />}
      <ErrorMessage error={error} testId="dialog-error" />

      {x && (
        <div className="dialog-body">
          {x.executedAt && <div className="hint">Analysed {formatDateTime(x.executedAt)}</div>}
          {(x.status === 'ACTIVE' || x.status === 'WAIT') && (
            <div className="prompt-analyzing" data-testid="prompt-analyzing" role="status">
              <Spinner size={14} label="Analyzing" /> Analyzing…
            </div>
          )}
          {x.status === 'FAIL' && guidance && (
            <div className="prompt-failure" role="alert" data-testid="prompt-failure" data-category={guidance.category}>
              <strong>The AI analysis failed.</strong> {guidance.message}
              {x.errorCode && <code className="error-code"> ({x.errorCode})</code>}
              {guidance.action === 'settings' && <SettingsAction guidance={guidance} />}
            </div>
          )}
          {x.status === 'SUCCESS' && parsed && (
            <>
              <div className="chips">
                {parsed.lozenge && (
                  <Lozenge appearance={lozengeAppearance(parsed.lozenge)} bold testId="result-lozenge">
                    {lozengeText(parsed.lozenge)}
                  </Lozenge>
                )}
                {parsed.confidence && <span className="confidence-chip" data-testid="result-confidence">{confidenceText(parsed.confidence)}</span>}
              </div>
              {parsed.sections.length > 0 ? (
                parsed.sections.map((s, i) => {
                  const l = sectionLozenge(s, parsed);
                  return (
                    <section key={i} className="section-card" data-testid="result-section" data-label={s.label}>
                      <div className="section-card-head">
                        <Lozenge appearance={l.appearance} testId="section-lozenge">
                          {l.text}
                        </Lozenge>
                        <h2 className="section-card-title">{s.label}</h2>
                      </div>
                      <SectionBody body={s.body} />
                    </section>
                  );
                })
              ) : (
                <section className="section-card" data-testid="result-section">
                  <div className="section-card-head">
                    <Lozenge appearance="default" testId="section-lozenge">
                      Result
                    </Lozenge>
                  </div>
                  <SectionBody body={x.result ?? x.resultTeaser ?? ''} />
                </section>
              )}
            </>
          )}
          {x.canAudit && <ProviderCalls key={`${x.status}:${x.executedAt ?? ''}`} approvalId={approvalId} stepId={stepId} />}
        </div>
      )}

      <footer className="dialog-foot">
        <button type="button" className="button" data-testid="copy-result" data-state={copy} disabled={!x || !(x.result || x.resultTeaser)} onClick={doCopy}>
          {copy === 'copied' ? 'Copied' : 'Copy result'}
        </button>
        {copy === 'failed' && (
          <span className="hint" role="status" data-testid="copy-failed">
            Copying is blocked here; select the text and copy it manually.
          </span>
        )}
        {x?.canRerun && (
          <button type="button" className="button button-primary" data-testid="rerun-button" disabled={rerun === 'running' || rerun === 'waiting' || x.status === 'ACTIVE' || x.status === 'WAIT'} onClick={doRerun}>
            Re-run analysis
          </button>
        )}
        {rerun !== 'idle' && (
          <span className="rerun-status" role="status" data-testid="rerun-status" data-state={rerun}>
            {rerun === 'running' ? (
              <>
                <Spinner size={12} /> Starting the re-run…
              </>
            ) : rerun === 'waiting' ? (
              <>
                <Spinner size={12} /> Re-running the analysis…
              </>
            ) : (
              'Fresh analysis ready.'
            )}
          </span>
        )}
        <ErrorMessage error={rerunError} testId="rerun-error" />
        <span className="spacer" />
        <button type="button" className="button" onClick={close}>
          Close
        </button>
      </footer>
    </div>
  );
}
