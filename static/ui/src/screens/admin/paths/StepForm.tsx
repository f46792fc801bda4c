import { useState } from 'react';
import type { ResolverError } from '../../../api';
import type { SectionId } from '../sections';
import { Counter, FieldError } from '../ai/common';
import type { StepFormInfo } from '../ai/types';
import { EVENT_LABEL, type Quorum, type StepDraft } from './model';
import { PeopleList } from '../../../components/PeopleList';
import { DelegatesList } from '../../../components/DelegatesList';
import { GroupList, GroupPicker } from '../../../components/GroupPicker';
import type { PickedPerson } from '../../../components/PeoplePicker';

const BODY_MAX = 4000;

const BLOCKED_TEXT: Record<string, { title: string; text: string; anchor: string }> = {
  NOT_CONFIGURED: {
    title: 'AI is not configured yet',
    text: 'Prompt steps need a provider and an API key. Until then this step is saved but skipped when an approval reaches it.',
    anchor: 'general',
  },
  DISABLED: {
    title: 'AI Prompt steps are switched off',
    text: 'The kill-switch in Settings → AI is off: this step is saved but skipped until it is switched on.',
    anchor: 'general',
  },
  OVER_BUDGET: {
    title: 'The monthly token budget is used up',
    text: 'Prompt steps are skipped until the month ends or the budget is raised.',
    anchor: 'usage',
  },
};

/** An EMAIL recipient that is a person (an account id): not a role, not `group:<name>`. */
const isPerson = (r: string) => r !== 'reporter' && r !== 'originator' && !r.startsWith('group:');

/** One step's form in the definition editor. `at` is its path in the server's errors (`steps[2]`). */
export function StepForm(props: {
  step: StepDraft;
  at: string;
  onChange: (s: StepDraft) => void;
  error: ResolverError | null;
  stepForm: StepFormInfo | null;
  whitelist: string[] | null;
  duplicatePromptName: boolean;
  events: string[];
  go: (s: SectionId, anchor?: string) => void;
  /** Display names of the people USER and EMAIL steps name (account id → name). */
  names: Record<string, string>;
  onNamed: (p: PickedPerson) => void;
}) {
  const { step, at, error } = props;
  const set = (patch: Partial<StepDraft>) => props.onChange({ ...step, ...patch });
  const [guide, setGuide] = useState(false);
  const id = (f: string) => `step-${at}-${f}`.replace(/[^a-zA-Z0-9_-]/g, '-');
  const E = (f: string, label: string) => <FieldError error={error} field={`${at}.${f}`} label={label} prefix />;
  // EMAIL recipients as stored: account ids, `reporter`, `originator`, `group:<name>`.
  const recipients = step.recipients ?? [];
  /** Replaces the recipients `of` picks out with `next`, keeping the others and the saved order. */
  const setRecipients = (of: (r: string) => boolean, next: string[]) => {
    const kept = recipients.filter((r) => !of(r) || next.includes(r));
    set({ recipients: [...kept, ...next.filter((r) => !kept.includes(r))] });
  };

  const quorumEditor = (q: Quorum | undefined, def: 'any' | 'all') => {
    const v = q ?? { kind: def };
    return (
      <div className="field">
        <label htmlFor={id('quorum')}>Decided when</label>
        <div className="button-group">
          <select
            id={id('quorum')}
            data-testid="step-quorum"
            value={v.kind}
            onChange={(e) => {
              const k = e.target.value;
              set({ quorum: k === 'count' ? { kind: 'count', count: 1 } : ({ kind: k } as Quorum) });
            }}
          >
            <option value="all">All approve</option>
            <option value="any">Any one approves</option>
            <option value="count">A number approve</option>
          </select>
          {v.kind === 'count' && (
            <input
              type="number"
              min={1}
              aria-label="How many approvals"
              data-testid="step-quorum-count"
              value={v.count}
              onChange={(e) => set({ quorum: { kind: 'count', count: Number(e.target.value) } })}
            />
          )}
        </div>
        <span className="hint">A single denial always denies the step.</span>
        {E('quorum', 'Quorum')}
      </div>
    );
  };

  const templates = props.stepForm?.templates ?? [];
  const blocked = props.stepForm?.blocked ? BLOCKED_TEXT[props.stepForm.blocked] : null;

  return (
    <div className="step-form" data-testid="step-form" data-step-type={step.type}>
      {step.type === 'PROMPT' && blocked && (
        <div className="paths-ai-blocked" role="note" data-testid="step-ai-blocked" data-reason={props.stepForm?.blocked}>
          <strong>{blocked.title}.</strong> {blocked.text}{' '}
          <button type="button" className="link-button" data-testid="step-ai-settings-link" onClick={() => props.go('ai', blocked.anchor)}>
            Open Settings → AI
          </button>
        </div>
      )}
      <div className="paths-row">
        <div className="field">
          <label htmlFor={id('name')}>Name</label>
          <input id={id('name')} data-testid="step-name" value={step.name} onChange={(e) => set({ name: e.target.value })} />
          {step.type === 'PROMPT' && (
            <span className={props.duplicatePromptName ? 'warning' : 'hint'} data-testid="step-name-hint">
              {props.duplicatePromptName
                ? 'Another Prompt step in this definition has this name: Prompt step names must be unique.'
                : `Unique among Prompt steps; later steps quote the result as {{ promptSteps["${step.name || 'Name'}"].result }}.`}
            </span>
          )}
          {E('name', 'Name')}
        </div>
        <div className="field paths-narrow">
          <label htmlFor={id('group')}>Parallel group</label>
          <input
            id={id('group')}
            type="number"
            min={1}
            data-testid="step-group"
            value={step.parallelGroupNumber}
            onChange={(e) => set({ parallelGroupNumber: Number(e.target.value) })}
          />
          {E('parallelGroupNumber', 'Parallel group')}
        </div>
      </div>
      {(step.type === 'USER' || step.type === 'GROUP') && (
        <div className="field">
          <label htmlFor={id('action')}>What the decider is asked</label>
          <input id={id('action')} data-testid="step-action" value={step.action ?? ''} onChange={(e) => set({ action: e.target.value })} placeholder="e.g. Confirm the business need" />
        </div>
      )}

      {step.type === 'USER' && (
        <>
          <div className="field">
            <label htmlFor={id('approvers')}>Approvers</label>
            <PeopleList
              id={id('approvers')}
              testId="step-approvers"
              ids={step.approvers ?? []}
              names={props.names}
              onNamed={props.onNamed}
              onChange={(ids) => set({ approvers: ids })}
            />
            {E('approvers', 'Approvers')}
          </div>
          <div className="field">
            <span className="field-label">Delegates (optional)</span>
            <DelegatesList
              id={id('delegates')}
              testId="step-delegates"
              value={step.delegates ?? {}}
              names={props.names}
              onNamed={props.onNamed}
              onChange={(v) => set({ delegates: v })}
            />
            {E('delegates', 'Delegates')}
          </div>
          {quorumEditor(step.quorum, 'all')}
        </>
      )}
      {step.type === 'GROUP' && (
        <>
          <div className="field">
            <label htmlFor={id('group-name')}>Jira group</label>
            <GroupPicker id={id('group-name')} testId="step-jira-group" value={step.group || null} onChange={(g) => set({ group: g?.name ?? '' })} />
            {E('group', 'Group')}
          </div>
          {quorumEditor(step.quorum, 'any')}
        </>
      )}
      {step.type === 'AUTOMATION' && (
        <>
          <div className="field paths-wide">
            <label htmlFor={id('comment')}>Comment (OlivLang template)</label>
            <textarea id={id('comment')} rows={3} className="mono-input" data-testid="step-comment" value={step.comment ?? ''} onChange={(e) => set({ comment: e.target.value })} />
            <Counter value={step.comment ?? ''} max={BODY_MAX} testId="step-comment-counter" />
            {E('comment', 'Comment')}
          </div>
          <div className="field">
            <label htmlFor={id('transition')}>Then run the transition (optional)</label>
            <input id={id('transition')} data-testid="step-transition" value={step.transition ?? ''} onChange={(e) => set({ transition: e.target.value.trim() ? e.target.value : null })} />
          </div>
        </>
      )}
      {step.type === 'HTTP' && (
        <>
          <div className="paths-row">
            <div className="field paths-narrow">
              <label htmlFor={id('method')}>Method</label>
              <select id={id('method')} data-testid="step-method" value={step.method ?? 'POST'} onChange={(e) => set({ method: e.target.value })}>
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
              {E('method', 'Method')}
            </div>
            <div className="field paths-wide">
              <label htmlFor={id('url')}>URL (https:// only, may use templates)</label>
              <input id={id('url')} data-testid="step-url" value={step.url ?? ''} onChange={(e) => set({ url: e.target.value })} />
              {E('url', 'URL')}
            </div>
          </div>
          <div className="field paths-wide">
            <label htmlFor={id('headers')}>Headers (Name: value, one a line; at most 10)</label>
            <textarea
              id={id('headers')}
              rows={2}
              className="mono-input"
              data-testid="step-headers"
              value={(step.headers ?? []).map(([h, v]) => `${h}: ${v}`).join('\n')}
              onChange={(e) =>
                set({
                  headers: e.target.value
                    .split('\n')
                    .filter((l) => l.trim())
                    .map((l) => {
                      const i = l.indexOf(':');
                      return (i < 0 ? [l.trim(), ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]) as [string, string];
                    }),
                })
              }
            />
            {E('headers', 'Headers')}
          </div>
          <div className="field paths-wide">
            <label htmlFor={id('body')}>Request body (optional)</label>
            <textarea id={id('body')} rows={3} className="mono-input" data-testid="step-http-body" value={step.body ?? ''} onChange={(e) => set({ body: e.target.value ? e.target.value : null })} />
            <Counter value={step.body ?? ''} max={BODY_MAX} testId="step-http-body-counter" />
            {E('body', 'Body')}
          </div>
        </>
      )}
      {step.type === 'EMAIL' && (
        <>
          <div className="field">
            <label htmlFor={id('event')}>Message template</label>
            <select id={id('event')} data-testid="step-event" value={step.event ?? ''} onChange={(e) => set({ event: e.target.value })}>
              {props.events.map((ev) => (
                <option key={ev} value={ev}>
                  {EVENT_LABEL[ev] ?? ev}
                </option>
              ))}
            </select>
            <span className="hint">The email’s subject and body come from Settings → Messages.</span>
            {E('event', 'Message template')}
          </div>
          <fieldset className="field step-recipients" data-testid="step-recipients" aria-describedby={id('recipients-hint')}>
            <legend className="field-label">Recipients</legend>
            <span className="hint" id={id('recipients-hint')}>
              Tick the roles, add people by name, or add Jira groups (every member gets the email).
            </span>
            {(
              [
                ['reporter', 'The request’s reporter'],
                ['originator', 'The originator (who started the approval)'],
              ] as const
            ).map(([role, label]) => (
              <label key={role} className="checkbox-label">
                <input
                  type="checkbox"
                  data-testid={`step-recipient-${role}`}
                  checked={recipients.includes(role)}
                  onChange={(e) => setRecipients((r) => r === role, e.target.checked ? [role] : [])}
                />{' '}
                {label}
              </label>
            ))}
            <label htmlFor={id('recipient-people')}>People</label>
            <PeopleList
              id={id('recipient-people')}
              testId="step-recipient-people"
              ids={recipients.filter(isPerson)}
              names={props.names}
              onNamed={props.onNamed}
              onChange={(ids) => setRecipients(isPerson, ids)}
            />
            <label htmlFor={id('recipient-groups')}>Jira groups</label>
            <GroupList
              id={id('recipient-groups')}
              testId="step-recipient-groups"
              groups={recipients.filter((r) => r.startsWith('group:')).map((r) => r.slice('group:'.length))}
              onChange={(gs) =>
                setRecipients(
                  (r) => r.startsWith('group:'),
                  gs.map((g) => `group:${g}`),
                )
              }
            />
            {E('recipients', 'Recipients')}
          </fieldset>
        </>
      )}
      {step.type === 'PROMPT' && (
        <>
          <div className="field">
            <label htmlFor={id('template')}>Template</label>
            <select
              id={id('template')}
              data-testid="step-prompt-template"
              value={step.promptTemplate ?? ''}
              onChange={(e) => set({ promptTemplate: e.target.value || null })}
            >
              <option value="">Blank — the body below only</option>
              <optgroup label="Built-in">
                {templates
                  .filter((t) => t.builtin)
                  .map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                    </option>
                  ))}
              </optgroup>
              {templates.some((t) => !t.builtin) && (
                <optgroup label="Custom">
                  {templates
                    .filter((t) => !t.builtin)
                    .map((t) => (
                      <option key={t.id} value={t.id}>
                        {t.name}
                      </option>
                    ))}
                </optgroup>
              )}
              {step.promptTemplate && !templates.some((t) => t.id === step.promptTemplate) && (
                <option value={step.promptTemplate}>{step.promptTemplate} (not found)</option>
              )}
            </select>
            <FieldError error={error} field="promptTemplate" label="Template" />
          </div>
          <div className="field paths-wide">
            <div className="paths-label-row">
              <label htmlFor={id('prompt-body')}>Prompt body</label>
              <button type="button" className="link-button" data-testid="step-syntax-guide-link" aria-expanded={guide} onClick={() => setGuide(!guide)}>
                Syntax guide
              </button>
            </div>
            <textarea
              id={id('prompt-body')}
              rows={6}
              className="mono-input"
              data-testid="step-prompt-body"
              placeholder={step.promptTemplate ? 'Optional: added to the template' : 'What should the AI look at?'}
              value={step.body ?? ''}
              onChange={(e) => set({ body: e.target.value })}
            />
            <Counter value={step.body ?? ''} max={BODY_MAX} testId="step-prompt-body-counter" />
            {E('body', 'Prompt body')}
            {guide && (
              <div className="paths-syntax-guide" data-testid="step-syntax-guide">
                <p>
                  The body is an OlivLang template (Jinja syntax): <code>{'{{ value }}'}</code> inserts a value, <code>{'{% if … %}…{% endif %}'}</code> and{' '}
                  <code>{'{% for x in list %}…{% endfor %}'}</code> add logic; absent values render empty.
                </p>
                <ul>
                  <li>
                    <code>{'{{ issue.fields.summary }}'}</code>, <code>{'{{ issue.fields.priority.name }}'}</code>, <code>{'{{ issue.fields.customfield_NNNNN }}'}</code>
                  </li>
                  <li>
                    <code>{'{{ approval.name }}'}</code>, <code>{'{{ approval.statusText }}'}</code> (approved, denied … in words; <code>{'{{ approval.status }}'}</code> is the
                    API value), <code>{'{{ approval.steps }}'}</code> (each with decisionText, comment, resultTeaser)
                  </li>
                  <li>
                    <code>{'{{ definition.name }}'}</code>, <code>{'{{ definition.description }}'}</code> — the path’s business purpose
                  </li>
                  <li>
                    <code>{'{{ crossApprovals }}'}</code> — precedent approvals of this path
                  </li>
                </ul>
              </div>
            )}
          </div>
          {props.stepForm?.showCustomFieldPicker === false ? (
            <p className="hint" data-testid="step-custom-fields-all">
              Every custom field is allowed in Settings → AI → Data sharing, so this step sends them all.
            </p>
          ) : (
            <div className="field" data-testid="step-custom-fields">
              <label>Allowed custom fields</label>
              {props.whitelist === null ? (
                <span className="hint">Loading the site’s whitelist…</span>
              ) : props.whitelist.length === 0 ? (
                <span className="hint">
                  The site whitelist is empty, so no custom field reaches the AI.{' '}
                  <button type="button" className="link-button" onClick={() => props.go('ai', 'data')}>
                    Choose fields in Settings → AI → Data sharing
                  </button>
                </span>
              ) : (
                <>
                  <span className="hint">None ticked: every whitelisted field. Ticked: only those.</span>
                  {props.whitelist.map((f) => (
                    <label key={f} className="checkbox-label">
                      <input
                        type="checkbox"
                        data-testid={`step-custom-field-${f}`}
                        checked={(step.customFields ?? []).includes(f)}
                        onChange={(e) => {
                          const s = new Set(step.customFields ?? []);
                          if (e.target.checked) s.add(f);
                          else s.delete(f);
                          set({ customFields: [...s] });
                        }}
                      />{' '}
                      <span className="mono">{f}</span>
                    </label>
                  ))}
                </>
              )}
            </div>
          )}
        </>
      )}

      <div className="paths-row">
        <div className="field paths-wide">
          <label htmlFor={id('condition')}>Run only when (optional OlivLang condition)</label>
          <input
            id={id('condition')}
            className="mono-input"
            data-testid="step-condition"
            placeholder='issue.fields.priority.name == "High"'
            value={step.condition?.expression ?? ''}
            onChange={(e) =>
              set({
                condition: e.target.value.trim()
                  ? { id: step.condition?.id || `c-${step.id || Math.random().toString(36).slice(2, 8)}`, expression: e.target.value }
                  : null,
              })
            }
          />
          {E('condition', 'Condition')}
        </div>
        <div className="field">
          <label htmlFor={id('label')}>…and the work item has the label (optional)</label>
          <input
            id={id('label')}
            data-testid="step-label-condition"
            value={step.labelCondition ?? ''}
            onChange={(e) => set({ labelCondition: e.target.value ? e.target.value : null })}
          />
          {E('labelCondition', 'Label')}
        </div>
      </div>
      {E('type', 'Step type')}
      {E('id', 'Step id')}
    </div>
  );
}
