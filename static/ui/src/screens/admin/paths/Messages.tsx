import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import { Counter, FieldError } from '../ai/common';
import { EVENT_LABEL, type MessageTemplate } from './model';

/** Settings → Messages: the tenant-wide email templates every EMAIL step renders. */
export function Messages(props: { onLoaded?: (events: string[]) => void }) {
  const [list, setList] = useState<MessageTemplate[] | null>(null);
  const [variables, setVariables] = useState<{ name: string; hint: string }[]>([]);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const { onLoaded } = props;

  useEffect(() => {
    call<{ templates: MessageTemplate[]; variables?: { name: string; hint: string }[] }>('admin.messages.list')
      .then((r) => {
        setList(r.templates);
        setVariables(r.variables ?? []);
        onLoaded?.(r.templates.map((t) => t.event));
      })
      .catch((e) => setLoadError(asResolverError(e)));
  }, [onLoaded]);

  if (!list && loadError) return <ErrorMessage error={loadError} testId="msg-load-error" />;
  if (!list) return <Skeleton />;

  return (
    <div className="paths-messages" data-testid="msg-list">
      <div className="paths-variables" data-testid="msg-variables">
        <strong>Variables</strong> <span className="hint">(OlivLang: the same {'{{ … }}'} syntax as Prompt steps)</span>
        <ul>
          {variables.map((v) => (
            <li key={v.name}>
              <code>{v.name}</code> <span className="hint">{v.hint}</span>
            </li>
          ))}
        </ul>
      </div>
      {list.map((t) => (
        <MessageCard key={t.event} template={t} onSaved={(n) => setList(list.map((x) => (x.event === n.event ? n : x)))} />
      ))}
    </div>
  );
}

function MessageCard(props: { template: MessageTemplate; onSaved: (t: MessageTemplate) => void }) {
  const t = props.template;
  const [subject, setSubject] = useState(t.subject);
  const [body, setBody] = useState(t.body);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const dirty = subject !== t.subject || body !== t.body;

  const save = async (reset: boolean) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await call<{ template: MessageTemplate }>('admin.messages.save', reset ? { event: t.event, reset: true } : { event: t.event, subject, body });
      props.onSaved(r.template);
      setSubject(r.template.subject);
      setBody(r.template.body);
      setDone(reset ? 'Restored the default.' : 'Saved.');
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };

  const id = `msg-${t.event}`;
  return (
    <div className="paths-message" data-testid="msg-card" data-event={t.event}>
      <div className="paths-step-head">
        <strong>{EVENT_LABEL[t.event] ?? t.event}</strong> <code className="hint">{t.event}</code>
        <Lozenge appearance={t.custom ? 'inprogress' : 'default'} testId="msg-custom">
          {t.custom ? 'Customised' : 'Default'}
        </Lozenge>
      </div>
      <div className="field paths-wide">
        <label htmlFor={`${id}-subject`}>Subject</label>
        <input id={`${id}-subject`} data-testid="msg-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
        <Counter value={subject} max={255} testId="msg-subject-counter" />
        <FieldError error={error} field="subject" label="Subject" />
      </div>
      <div className="field paths-wide">
        <label htmlFor={`${id}-body`}>Body</label>
        <textarea id={`${id}-body`} rows={6} className="mono-input" data-testid="msg-body" value={body} onChange={(e) => setBody(e.target.value)} />
        <Counter value={body} max={4000} testId="msg-body-counter" />
        <FieldError error={error} field="body" label="Body" />
      </div>
      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="msg-save" disabled={busy || !dirty} onClick={() => void save(false)}>
          Save
        </button>
        {t.custom && (
          <button type="button" className="button" data-testid="msg-reset" disabled={busy} onClick={() => void save(true)}>
            Restore default
          </button>
        )}
        {busy && <Spinner label="Saving" />}
      </div>
      <ErrorMessage error={error} testId="msg-error" />
      {done && (
        <div className="action-result" role="status" data-testid="msg-saved">
          {done}
        </div>
      )}
    </div>
  );
}
