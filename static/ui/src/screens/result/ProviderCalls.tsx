import { useState } from 'react';
import { asResolverError, call, ResolverError } from '../../api';
import { ErrorMessage, formatDateTime, Spinner } from '../../components/ui';
import type { ExecutionRow } from '../../types';

/**
 * The step's execution audit rows, for Jira administrators only (`admin.ai.executions`): every
 * provider call, retried tries included, with the assembled prompt that was sent. Loaded when
 * opened, so approvers' dialogs never ask for it and the dialog stays quick.
 */
export function ProviderCalls(props: { approvalId: string; stepId: string }) {
  const [rows, setRows] = useState<ExecutionRow[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);

  const load = async () => {
    if (rows || busy) return;
    setBusy(true);
    try {
      const r = await call<{ executions: ExecutionRow[] }>('admin.ai.executions', { approvalId: props.approvalId, stepId: props.stepId });
      setRows(r.executions);
      setError(null);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="provider-calls" data-testid="provider-calls" onToggle={(e) => (e.currentTarget.open ? void load() : undefined)}>
      <summary>Provider calls (administrators only)</summary>
      {busy && <Spinner size={12} label="Loading provider calls" />}
      <ErrorMessage error={error} testId="provider-calls-error" />
      {rows && rows.length === 0 && <p className="hint">No provider call has been made for this step.</p>}
      {rows && rows.length > 0 && (
        <table className="table" data-testid="provider-calls-table">
          <thead>
            <tr>
              <th>When</th>
              <th>Try</th>
              <th>Provider · model</th>
              <th>Tokens in / out</th>
              <th>Latency</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-testid="provider-call" data-attempt={r.attempt} data-error={r.errorCode ?? ''}>
                <td>{formatDateTime(new Date(r.atMs).toISOString())}</td>
                <td>
                  {r.attempt}
                  {r.retried ? ' (retried)' : ''}
                </td>
                <td>
                  {r.provider} · {r.model}
                </td>
                <td>
                  {r.tokensIn} / {r.tokensOut}
                  {r.tokensEstimated ? <span className="hint" title="The answer was lost after the prompt was sent; the provider may have billed it, so the budget counts an estimate."> (estimated)</span> : null}
                </td>
                <td>{r.latencyMs} ms</td>
                <td>
                  {r.errorCode ? <code className="error-code">{r.errorCode}</code> : 'Answered'}
                  <details>
                    <summary>Prompt sent</summary>
                    <pre className="prompt-sent" data-testid="provider-call-prompt" tabIndex={0} role="region" aria-label={`Prompt sent in try ${r.attempt}`}>
                      {r.prompt}
                    </pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
