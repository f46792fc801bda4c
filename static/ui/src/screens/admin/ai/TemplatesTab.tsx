import { useCallback, useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import type { Approval, ForIssue } from '../../../types';
import { Counter, FieldError, fmt } from './common';
import { TEMPLATE_LIMITS, TOKEN_WARNING, type PreviewAnswer, type PromptTemplate } from './types';

interface Draft {
  id: string; // '' = new
  name: string;
  description: string;
  body: string;
}

type Source = { kind: 'draft' } | { kind: 'template'; id: string };

interface RequestRow {
  issueKey: string;
  summary?: string;
  decision?: string;
}

/** Settings → AI → Prompt templates: built-ins (read-only), custom templates, live preview. */
export function TemplatesTab() {
  const [templates, setTemplates] = useState<PromptTemplate[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [viewing, setViewing] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<ResolverError | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: ResolverError } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [source, setSource] = useState<Source>({ kind: 'template', id: 'builtin:summary' });

  const load = useCallback(async () => {
    try {
      const r = await call<{ templates: PromptTemplate[] }>('admin.ai.templates.list');
      setTemplates(r.templates);
      setLoadError(null);
    } catch (e) {
      setLoadError(asResolverError(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const customCount = templates?.filter((t) => !t.builtin).length ?? 0;

  const startNew = () => {
    setDraft({ id: '', name: '', description: '', body: '' });
    setSaveError(null);
    setNotice(null);
    setSource({ kind: 'draft' });
  };
  const startEdit = (t: PromptTemplate) => {
    setDraft({ id: t.id, name: t.name, description: t.description, body: t.body });
    setSaveError(null);
    setNotice(null);
    setSource({ kind: 'draft' });
  };
  const copyBuiltin = (t: PromptTemplate) => {
    setDraft({ id: '', name: `${t.name} (copy)`, description: t.description, body: t.body });
    setSaveError(null);
    setNotice(null);
    setSource({ kind: 'draft' });
  };

  const save = async () => {
    if (!draft) return;
    setBusy('save');
    setSaveError(null);
    setNotice(null);
    try {
      const r = await call<{ template: PromptTemplate }>('admin.ai.templates.save', {
        ...(draft.id ? { id: draft.id } : {}),
        name: draft.name,
        description: draft.description,
        body: draft.body,
      });
      setNotice(`Template “${r.template.name}” saved.`);
      setDraft(null);
      setSource({ kind: 'template', id: r.template.id });
      await load();
    } catch (e) {
      setSaveError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const remove = async (id: string) => {
    setConfirmDelete(null);
    setBusy(`delete:${id}`);
    setRowError(null);
    setNotice(null);
    try {
      await call('admin.ai.templates.delete', { id });
      setNotice('Template deleted.');
      if (draft?.id === id) setDraft(null);
      if (source.kind === 'template' && source.id === id) setSource({ kind: 'template', id: 'builtin:summary' });
      await load();
    } catch (e) {
      setRowError({ id, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  if (!templates && loadError) return <ErrorMessage error={loadError} testId="ai-templates-load-error" />;
  if (!templates) return <Skeleton />;

  const row = (t: PromptTemplate) => (
    <tr key={t.id} data-testid="ai-template-row" data-template-id={t.id} data-builtin={t.builtin ? 'true' : 'false'}>
      <td>
        <strong data-testid="ai-template-name">{t.name}</strong>{' '}
        {t.builtin && (
          <Lozenge appearance="default" testId="ai-template-builtin">
            Built-in · read-only
          </Lozenge>
        )}
        {t.description && <div className="hint">{t.description}</div>}
        {viewing === t.id && (
          <pre className="ai-template-body" data-testid="ai-template-view">
            {t.body}
          </pre>
        )}
        {rowError?.id === t.id && <ErrorMessage error={rowError.error} testId="ai-template-row-error" />}
        {confirmDelete === t.id && (
          <div className="confirm" role="alertdialog" data-testid="ai-template-confirm-delete">
            <p>
              <strong>Delete “{t.name}”?</strong> Prompt steps that use it keep running with their own body.
            </p>
            <button type="button" className="button button-danger" data-testid="ai-template-delete-yes" onClick={() => void remove(t.id)}>
              Delete
            </button>
            <button type="button" className="button" data-testid="ai-template-delete-cancel" onClick={() => setConfirmDelete(null)}>
              Cancel
            </button>
          </div>
        )}
      </td>
      <td className="ai-template-actions">
        <div className="button-group">
          <button type="button" className="button button-subtle" data-testid="ai-template-preview" onClick={() => setSource({ kind: 'template', id: t.id })}>
            Preview
          </button>
          {t.builtin ? (
            <>
              <button type="button" className="button button-subtle" data-testid="ai-template-view-toggle" onClick={() => setViewing(viewing === t.id ? null : t.id)}>
                {viewing === t.id ? 'Hide' : 'View'}
              </button>
              <button
                type="button"
                className="button button-subtle"
                data-testid="ai-template-copy"
                disabled={customCount >= TEMPLATE_LIMITS.custom}
                onClick={() => copyBuiltin(t)}
              >
                Copy
              </button>
            </>
          ) : (
            <>
              <button type="button" className="button button-subtle" data-testid="ai-template-edit" onClick={() => startEdit(t)}>
                Edit
              </button>
              <button
                type="button"
                className="button button-subtle"
                data-testid="ai-template-delete"
                disabled={busy !== null}
                onClick={() => setConfirmDelete(t.id)}
              >
                Delete
              </button>
            </>
          )}
          {busy === `delete:${t.id}` && <Spinner />}
        </div>
      </td>
    </tr>
  );

  const builtins = templates.filter((t) => t.builtin);
  const custom = templates.filter((t) => !t.builtin);
  const previewBody = source.kind === 'draft' ? (draft?.body ?? '') : null;
  const previewTemplateId = source.kind === 'template' ? source.id : null;
  const previewName =
    source.kind === 'draft' ? (draft?.name.trim() ? `${draft.name.trim()} (unsaved)` : 'the template you are editing') : (templates.find((t) => t.id === source.id)?.name ?? source.id);

  return (
    <div className="ai-templates" data-testid="ai-templates">
      <div className="button-group">
        <button
          type="button"
          className="button button-primary"
          data-testid="ai-template-new"
          disabled={customCount >= TEMPLATE_LIMITS.custom || draft !== null}
          onClick={startNew}
        >
          New template
        </button>
        <span className="hint" data-testid="ai-template-count">
          {customCount} of {TEMPLATE_LIMITS.custom} custom templates
        </span>
      </div>
      {notice && (
        <div className="action-result" role="status" data-testid="ai-template-notice">
          {notice}
        </div>
      )}

      {draft && (
        <div className="ai-template-editor" data-testid="ai-template-editor">
          <h3 className="ai-subtitle">{draft.id ? 'Edit template' : 'New template'}</h3>
          <div className="field">
            <label htmlFor="ai-tpl-name">Name</label>
            <input id="ai-tpl-name" data-testid="ai-template-name-input" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
            <Counter value={draft.name} max={TEMPLATE_LIMITS.name} testId="ai-template-name-counter" />
            <FieldError error={saveError} field="name" label="Name" />
          </div>
          <div className="field">
            <label htmlFor="ai-tpl-description">Description</label>
            <textarea
              id="ai-tpl-description"
              rows={2}
              data-testid="ai-template-description-input"
              value={draft.description}
              onChange={(e) => setDraft({ ...draft, description: e.target.value })}
            />
            <Counter value={draft.description} max={TEMPLATE_LIMITS.description} testId="ai-template-description-counter" />
            <FieldError error={saveError} field="description" label="Description" />
          </div>
          <div className="field ai-field-wide">
            <label htmlFor="ai-tpl-body">Prompt body</label>
            <textarea
              id="ai-tpl-body"
              rows={10}
              className="mono-input"
              data-testid="ai-template-body-input"
              value={draft.body}
              onChange={(e) => setDraft({ ...draft, body: e.target.value })}
            />
            <Counter value={draft.body} max={TEMPLATE_LIMITS.body} testId="ai-template-body-counter" />
            <span className="hint">
              OlivLang: <code>{'{{ issue.fields.summary }}'}</code>, <code>{'{{ approval.name }}'}</code>, <code>{'{{ definition.description }}'}</code>,{' '}
              <code>{'{% if … %}…{% endif %}'}</code>.
            </span>
            <FieldError error={saveError} field="body" label="Prompt body" />
          </div>
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="ai-template-save" disabled={busy !== null} onClick={() => void save()}>
              Save template
            </button>
            <button
              type="button"
              className="button"
              data-testid="ai-template-cancel"
              onClick={() => {
                setDraft(null);
                setSaveError(null);
                setSource({ kind: 'template', id: 'builtin:summary' });
              }}
            >
              Cancel
            </button>
            {busy === 'save' && <Spinner label="Saving" />}
          </div>
          <ErrorMessage error={saveError} testId="ai-template-error" />
        </div>
      )}

      <table className="table ai-template-table" data-testid="ai-template-table">
        <thead>
          <tr>
            <th>Template</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {builtins.map(row)}
          {custom.map(row)}
        </tbody>
      </table>
      {custom.length === 0 && <Empty>No custom templates yet. Copy a built-in or start a new one.</Empty>}

      <Preview body={previewBody} templateId={previewTemplateId} name={previewName} />
    </div>
  );
}

/** Live preview: the exact prompt a Prompt step would send for a real approval, and its size. */
function Preview(props: { body: string | null; templateId: string | null; name: string }) {
  const [requests, setRequests] = useState<RequestRow[] | null>(null);
  const [requestsError, setRequestsError] = useState<ResolverError | null>(null);
  const [issueKey, setIssueKey] = useState('');
  const [typedKey, setTypedKey] = useState('');
  const [approvals, setApprovals] = useState<Approval[] | null>(null);
  const [approvalsError, setApprovalsError] = useState<ResolverError | null>(null);
  const [approvalId, setApprovalId] = useState('');
  const [stepId, setStepId] = useState('');
  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const [previewError, setPreviewError] = useState<ResolverError | null>(null);
  const [running, setRunning] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    // Requests in every decision state name the issues that carry approvals.
    Promise.all(
      ['pending', 'approved', 'denied'].map((category) =>
        call<{ items: RequestRow[] }>('admin.requests.list', { category }).then((r) => r.items),
      ),
    )
      .then((lists) => {
        const seen = new Set<string>();
        const rows: RequestRow[] = [];
        for (const r of lists.flat()) {
          if (r.issueKey && !seen.has(r.issueKey)) {
            seen.add(r.issueKey);
            rows.push(r);
          }
        }
        rows.sort((a, b) => a.issueKey.localeCompare(b.issueKey, undefined, { numeric: true }));
        setRequests(rows);
      })
      .catch((e) => setRequestsError(asResolverError(e)));
  }, []);

  const loadIssue = async (key: string) => {
    setIssueKey(key);
    setApprovals(null);
    setApprovalsError(null);
    setApprovalId('');
    setStepId('');
    setAnswer(null);
    if (!key) return;
    try {
      const r = await call<ForIssue>('approvals.forIssue', { issueKey: key });
      setApprovals(r.approvals);
      // The approval with a Prompt step is the interesting default; else the first.
      const a = r.approvals.find((x) => x.steps.some((s) => s.type === 'PROMPT')) ?? r.approvals[0];
      if (a) {
        setApprovalId(a.id);
        setStepId((a.steps.find((s) => s.type === 'PROMPT') ?? a.steps[0])?.id ?? '');
      }
    } catch (e) {
      setApprovalsError(asResolverError(e));
    }
  };

  const approval = approvals?.find((a) => a.id === approvalId) ?? null;

  const run = useCallback(async () => {
    if (!approvalId) return;
    if (props.body !== null && !props.body.trim()) {
      setAnswer(null);
      return;
    }
    const n = ++seq.current;
    setRunning(true);
    setPreviewError(null);
    const payload: Record<string, unknown> = { approvalId };
    if (stepId) payload.stepId = stepId;
    if (props.body !== null) payload.body = props.body;
    else if (props.templateId) payload.templateId = props.templateId;
    try {
      const r = await call<PreviewAnswer>('admin.ai.preview', payload);
      if (n === seq.current) setAnswer(r);
    } catch (e) {
      if (n === seq.current) {
        setAnswer(null);
        setPreviewError(asResolverError(e));
      }
    } finally {
      if (n === seq.current) setRunning(false);
    }
  }, [approvalId, stepId, props.body, props.templateId]);

  // Live: re-render when the approval, step or template changes, and shortly after typing stops.
  useEffect(() => {
    if (!approvalId) return;
    const t = setTimeout(() => void run(), props.body !== null ? 500 : 0);
    return () => clearTimeout(t);
  }, [run, approvalId, props.body]);

  return (
    <div className="ai-preview" data-testid="ai-preview">
      <h3 className="ai-subtitle">Live preview</h3>
      <p className="hint">
        Renders <strong data-testid="ai-preview-source">{props.name}</strong> against a real approval and shows the exact prompt the AI would receive. No provider is
        called and no budget is used.
      </p>
      <div className="ai-row">
        <div className="field">
          <label htmlFor="ai-preview-issue">Work item</label>
          {requestsError && <ErrorMessage error={requestsError} testId="ai-preview-requests-error" />}
          <select id="ai-preview-issue" data-testid="ai-preview-issue" value={issueKey} onChange={(e) => void loadIssue(e.target.value)} disabled={!requests}>
            <option value="">{requests ? 'Choose a request…' : 'Loading requests…'}</option>
            {(requests ?? []).map((r) => (
              <option key={r.issueKey} value={r.issueKey}>
                {r.issueKey} — {r.summary ?? ''}
              </option>
            ))}
            {issueKey && !(requests ?? []).some((r) => r.issueKey === issueKey) && <option value={issueKey}>{issueKey}</option>}
          </select>
          <div className="button-group">
            <input
              aria-label="Another issue key"
              data-testid="ai-preview-issue-key"
              placeholder="or an issue key, e.g. AIR-3"
              value={typedKey}
              onChange={(e) => setTypedKey(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && typedKey.trim()) void loadIssue(typedKey.trim().toUpperCase());
              }}
            />
            <button type="button" className="button" data-testid="ai-preview-issue-load" disabled={!typedKey.trim()} onClick={() => void loadIssue(typedKey.trim().toUpperCase())}>
              Load
            </button>
          </div>
        </div>
        <div className="field">
          <label htmlFor="ai-preview-approval">Approval</label>
          <select
            id="ai-preview-approval"
            data-testid="ai-preview-approval"
            value={approvalId}
            disabled={!approvals || approvals.length === 0}
            onChange={(e) => {
              const a = approvals?.find((x) => x.id === e.target.value);
              setApprovalId(e.target.value);
              setStepId((a?.steps.find((s) => s.type === 'PROMPT') ?? a?.steps[0])?.id ?? '');
            }}
          >
            {!approvals && <option value="">{issueKey ? 'Loading…' : 'Choose a work item first'}</option>}
            {approvals?.length === 0 && <option value="">No approvals on {issueKey}</option>}
            {(approvals ?? []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} · {a.status} · {a.id}
              </option>
            ))}
          </select>
          <ErrorMessage error={approvalsError} testId="ai-preview-approvals-error" />
        </div>
        <div className="field">
          <label htmlFor="ai-preview-step">As the step</label>
          <select id="ai-preview-step" data-testid="ai-preview-step" value={stepId} disabled={!approval} onChange={(e) => setStepId(e.target.value)}>
            {(approval?.steps ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.type})
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="button-group">
        <button type="button" className="button" data-testid="ai-preview-run" disabled={!approvalId || running} onClick={() => void run()}>
          Refresh preview
        </button>
        {running && <Spinner label="Rendering" />}
      </div>
      <ErrorMessage error={previewError} testId="ai-preview-error" />
      {props.body !== null && !props.body.trim() && approvalId && <p className="hint">Type a prompt body to see the preview.</p>}
      {answer && (
        <div className="ai-preview-result" data-testid="ai-preview-result">
          <p className="ai-preview-size">
            Estimated tokens:{' '}
            <strong data-testid="ai-preview-tokens" data-tokens={answer.estimatedTokens}>
              ~{fmt(answer.estimatedTokens)}
            </strong>{' '}
            <span className="hint">({fmt(answer.characters)} characters, about 4 per token; the answer adds more)</span>
          </p>
          {answer.warning && (
            <div className="ai-preview-warning" role="alert" data-testid="ai-preview-warning">
              This prompt is large: about {fmt(answer.estimatedTokens)} tokens, over the ~{fmt(TOKEN_WARNING)}-token mark. Every run costs that much; consider a shorter
              body or sharing less data.
            </div>
          )}
          {answer.tooLarge && (
            <div className="error-message" role="alert" data-testid="ai-preview-too-large">
              Over the prompt size cap: the step would be skipped with “trim the template”. <code className="error-code">(PROMPT_TOO_LARGE)</code>
            </div>
          )}
          <h4 className="ai-preview-head">System prompt</h4>
          <pre className="ai-prompt-text" data-testid="ai-preview-system">
            {answer.system}
          </pre>
          <h4 className="ai-preview-head">User prompt</h4>
          <pre className="ai-prompt-text" data-testid="ai-preview-user">
            {answer.user}
          </pre>
        </div>
      )}
    </div>
  );
}
