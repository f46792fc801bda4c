import { delegatesToSave } from '../../../components/DelegatesList';
import { useEffect, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, formatDateTime, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import type { SectionId } from '../sections';
import { Counter, FieldError, fieldErrorsOf } from '../ai/common';
import type { DataSharingView, StepFormInfo } from '../ai/types';
import { newStep, PHASES, STEP_TYPES, TYPE_LABEL, type DefinitionDraft, type Phase, type StepDraft, type StepType } from './model';
import { StepForm } from './StepForm';

interface Item {
  key: string;
  step: StepDraft;
}
type Phases = Record<Phase, Item[]>;

let seq = 0;
const keyOf = () => `k${++seq}`;

function toPhases(d: DefinitionDraft): Phases {
  const out = {} as Phases;
  for (const p of PHASES) out[p.id] = (d[p.id] ?? []).map((step) => ({ key: keyOf(), step }));
  return out;
}

const EMPTY: DefinitionDraft = { id: '', name: '', description: '', steps: [], successSteps: [], rejectionSteps: [], expirationSteps: [], decisionDeadlineHours: null, validityDays: null };

/** The definition editor: name, business purpose, deadline and validity, four phases of steps. */
export function DefinitionEditor(props: { id: string | null; events: string[]; onClose: (saved: boolean) => void; go: (s: SectionId, anchor?: string) => void }) {
  const [def, setDef] = useState<DefinitionDraft | null>(props.id ? null : EMPTY);
  const [phases, setPhases] = useState<Phases | null>(props.id ? null : toPhases(EMPTY));
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [stepForm, setStepForm] = useState<StepFormInfo | null>(null);
  const [stepFormError, setStepFormError] = useState<ResolverError | null>(null);
  const [whitelist, setWhitelist] = useState<string[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [picker, setPicker] = useState<Phase | null>(null);
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState<ResolverError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [dirty, setDirty] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState<string | null>(null);
  // Display names of the people USER and EMAIL steps name (account id → name; issue 33 items 1-2).
  const [names, setNames] = useState<Record<string, string>>({});
  const errRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    // The definition, the Prompt step form's state and the site whitelist load side by side.
    if (props.id) {
      call<{ definition: DefinitionDraft; people?: Record<string, string> }>('admin.definitions.get', { id: props.id })
        .then((r) => {
          setNames((n) => ({ ...n, ...(r.people ?? {}) }));
          setDef(r.definition);
          setPhases(toPhases(r.definition));
        })
        .catch((e) => setLoadError(asResolverError(e)));
    }
    call<StepFormInfo>('ai.stepForm')
      .then(setStepForm)
      .catch((e) => setStepFormError(asResolverError(e)));
    call<DataSharingView>('admin.ai.dataSharing.get')
      .then((d) => setWhitelist(d.customFieldWhitelist))
      .catch(() => setWhitelist([]));
  }, [props.id]);

  if (loadError) return <ErrorMessage error={loadError} testId="def-load-error" />;
  if (!def || !phases) return <Skeleton />;

  const setField = (patch: Partial<DefinitionDraft>) => {
    setDef({ ...def, ...patch });
    setDirty(true);
    setSaved(null);
  };
  const setPhase = (p: Phase, items: Item[]) => {
    setPhases({ ...phases, [p]: items });
    setDirty(true);
    setSaved(null);
  };

  const promptNames = new Map<string, number>();
  for (const p of PHASES)
    for (const it of phases[p.id])
      if (it.step.type === 'PROMPT') promptNames.set(it.step.name.trim().toLowerCase(), (promptNames.get(it.step.name.trim().toLowerCase()) ?? 0) + 1);

  const addStep = (p: Phase, type: StepType) => {
    const items = phases[p];
    const group = items.reduce((m, it) => Math.max(m, it.step.parallelGroupNumber || 1), 0) + 1;
    const taken = new Set(items.map((it) => it.step.name.trim().toLowerCase()));
    const base = type === 'PROMPT' ? 'AI analysis' : TYPE_LABEL[type];
    let name = base;
    for (let i = 2; taken.has(name.toLowerCase()) || (type === 'PROMPT' && promptNames.has(name.toLowerCase())); i++) name = `${base} ${i}`;
    const it = { key: keyOf(), step: newStep(type, name, group) };
    setPhase(p, [...items, it]);
    setPicker(null);
    setOpen(it.key);
  };

  const move = (p: Phase, i: number, d: -1 | 1) => {
    const items = [...phases[p]];
    const j = i + d;
    if (j < 0 || j >= items.length) return;
    [items[i], items[j]] = [items[j], items[i]];
    setPhase(p, items);
  };

  const save = async () => {
    setBusy(true);
    setSaveError(null);
    setSaved(null);
    const payload: DefinitionDraft = { ...def };
    // An approver picked for delegation without delegates yet delegates nothing: left out.
    for (const p of PHASES) payload[p.id] = phases[p.id].map((it) => (it.step.delegates ? { ...it.step, delegates: delegatesToSave(it.step.delegates) } : it.step));
    try {
      const r = await call<{ definition: DefinitionDraft }>('admin.definitions.save', { definition: payload });
      setDef(r.definition);
      setPhases(toPhases(r.definition));
      setOpen(null);
      setDirty(false);
      setSaved(`Saved “${r.definition.name}” as version ${r.definition.version}.`);
    } catch (e) {
      const err = asResolverError(e);
      setSaveError(err);
      // Open the first step the server complained about, so its error shows next to the field.
      const first = fieldErrorsOf(err).map((x) => /^(\w+)\[(\d+)\]/.exec(x.field)).find(Boolean);
      if (first) {
        const it = phases[first[1] as Phase]?.[Number(first[2])];
        if (it) setOpen(it.key);
      }
      setTimeout(() => errRef.current?.scrollIntoView?.({ block: 'nearest' }), 0);
    } finally {
      setBusy(false);
    }
  };

  const stepErrors = (at: string) => fieldErrorsOf(saveError).filter((x) => x.field === at || x.field.startsWith(`${at}.`)).length;

  return (
    <div className="def-editor" data-testid="def-editor" data-definition-id={def.id}>
      <div className="button-group">
        <button type="button" className="button button-subtle" data-testid="def-back" onClick={() => props.onClose(!dirty && saved !== null)}>
          ← All approval paths
        </button>
        {def.version ? (
          <span className="hint">
            Version {def.version}
            {def.updatedAt ? ` · saved ${formatDateTime(def.updatedAt)}` : ''}
          </span>
        ) : (
          <Lozenge appearance="new">New</Lozenge>
        )}
        {dirty && <span className="warning">Unsaved changes</span>}
      </div>

      <div className="paths-row">
        <div className="field">
          <label htmlFor="def-name">Name</label>
          <input id="def-name" data-testid="def-name" value={def.name} onChange={(e) => setField({ name: e.target.value })} />
          <Counter value={def.name} max={120} testId="def-name-counter" />
          <FieldError error={saveError} field="name" label="Name" />
        </div>
        <div className="field paths-narrow">
          <label htmlFor="def-deadline">Decision deadline (hours)</label>
          <input
            id="def-deadline"
            type="number"
            min={1}
            data-testid="def-deadline"
            value={def.decisionDeadlineHours ?? ''}
            onChange={(e) => setField({ decisionDeadlineHours: e.target.value === '' ? null : Number(e.target.value) })}
          />
          <FieldError error={saveError} field="decisionDeadlineHours" label="Deadline" />
        </div>
        <div className="field paths-narrow">
          <label htmlFor="def-validity">Valid for (days after approval)</label>
          <input
            id="def-validity"
            type="number"
            min={1}
            data-testid="def-validity"
            value={def.validityDays ?? ''}
            onChange={(e) => setField({ validityDays: e.target.value === '' ? null : Number(e.target.value) })}
          />
        </div>
      </div>
      <div className="field paths-wide paths-purpose">
        <label htmlFor="def-description">
          Description — the business purpose <Lozenge appearance="new">Read by AI</Lozenge>
        </label>
        <textarea id="def-description" rows={3} data-testid="def-description" value={def.description} onChange={(e) => setField({ description: e.target.value })} />
        <Counter value={def.description} max={2000} testId="def-description-counter" />
        <span className="hint">Shown to approvers and given to every AI Prompt step: a short paragraph on why this path exists improves each analysis.</span>
        <FieldError error={saveError} field="description" label="Description" />
      </div>
      {stepFormError && <ErrorMessage error={stepFormError} testId="def-stepform-error" />}

      {PHASES.map((ph) => {
        const items = phases[ph.id];
        const groups = [...new Set(items.map((it) => it.step.parallelGroupNumber))].sort((a, b) => a - b);
        return (
          <section key={ph.id} className="paths-phase" data-testid={`def-phase-${ph.id}`}>
            <h3 className="ai-subtitle">
              {ph.label} <span className="hint">{ph.hint}</span>
            </h3>
            <FieldError error={saveError} field={ph.id} label={ph.label} />
            {items.length === 0 && <p className="empty">No steps.</p>}
            {groups.map((g) => {
              const inGroup = items.map((it, i) => ({ it, i })).filter(({ it }) => it.step.parallelGroupNumber === g);
              return (
                <div key={g} className={`paths-group${inGroup.length > 1 ? ' paths-group-parallel' : ''}`} data-testid="def-group" data-group={g}>
                  <div className="hint paths-group-label">
                    Group {g}
                    {inGroup.length > 1 ? ` · ${inGroup.length} steps in parallel` : ''}
                  </div>
                  {inGroup.map(({ it, i }) => {
                    const at = `${ph.id}[${i}]`;
                    const nErr = stepErrors(at);
                    const isOpen = open === it.key;
                    return (
                      <div
                        key={it.key}
                        className={`paths-step${isOpen ? ' paths-step-open' : ''}${nErr ? ' paths-step-error' : ''}`}
                        data-testid="def-step"
                        data-step-type={it.step.type}
                        data-step-name={it.step.name}
                      >
                        <div className="paths-step-head">
                          <Lozenge appearance={it.step.type === 'PROMPT' ? 'new' : 'default'}>{it.step.type}</Lozenge>
                          <strong className="paths-step-name">{it.step.name || '(no name)'}</strong>
                          {it.step.condition?.expression && <span className="hint">conditional</span>}
                          {nErr > 0 && (
                            <Lozenge appearance="removed" testId="def-step-error-count">
                              {nErr} problem{nErr === 1 ? '' : 's'}
                            </Lozenge>
                          )}
                          <span className="spacer" />
                          <button type="button" className="button button-subtle" aria-label="Move up" onClick={() => move(ph.id, i, -1)} disabled={i === 0}>
                            ↑
                          </button>
                          <button type="button" className="button button-subtle" aria-label="Move down" onClick={() => move(ph.id, i, 1)} disabled={i === items.length - 1}>
                            ↓
                          </button>
                          <button type="button" className="button button-subtle" data-testid="def-step-toggle" onClick={() => setOpen(isOpen ? null : it.key)}>
                            {isOpen ? 'Close' : 'Edit'}
                          </button>
                          <button type="button" className="button button-subtle" data-testid="def-step-remove" onClick={() => setConfirmRemove(it.key)}>
                            Remove
                          </button>
                        </div>
                        {confirmRemove === it.key && (
                          <div className="confirm" role="alertdialog" data-testid="def-step-confirm-remove">
                            <p>Remove “{it.step.name}”? It is gone once you save.</p>
                            <button
                              type="button"
                              className="button button-danger"
                              data-testid="def-step-remove-yes"
                              onClick={() => {
                                setConfirmRemove(null);
                                setPhase(
                                  ph.id,
                                  items.filter((x) => x.key !== it.key),
                                );
                              }}
                            >
                              Remove
                            </button>
                            <button type="button" className="button" onClick={() => setConfirmRemove(null)}>
                              Cancel
                            </button>
                          </div>
                        )}
                        {isOpen && (
                          <StepForm
                            step={it.step}
                            at={at}
                            error={saveError}
                            onChange={(s) => setPhase(ph.id, items.map((x) => (x.key === it.key ? { ...x, step: s } : x)))}
                            stepForm={stepForm}
                            whitelist={whitelist}
                            duplicatePromptName={it.step.type === 'PROMPT' && (promptNames.get(it.step.name.trim().toLowerCase()) ?? 0) > 1}
                            events={props.events}
                            go={props.go}
                            names={names}
                            onNamed={(pp) => setNames((n) => ({ ...n, [pp.accountId]: pp.displayName }))}
                          />
                        )}
                      </div>
                    );
                  })}
                </div>
              );
            })}
            {picker === ph.id ? (
              <div className="paths-picker" data-testid="step-picker" data-phase={ph.id}>
                <div className="paths-picker-head">
                  <strong>Add a step</strong>
                  <button type="button" className="button button-subtle" data-testid="step-picker-close" onClick={() => setPicker(null)}>
                    Cancel
                  </button>
                </div>
                <div className="paths-tiles">
                  {STEP_TYPES.map((t) => {
                    const off = t.human && ph.id !== 'steps';
                    return (
                      <button
                        key={t.type}
                        type="button"
                        className="paths-tile"
                        data-testid={`step-tile-${t.type}`}
                        disabled={off}
                        title={off ? 'Only the main steps take decisions' : undefined}
                        onClick={() => addStep(ph.id, t.type)}
                      >
                        <span className="paths-tile-title">
                          {t.label}
                          {t.isNew && (
                            <Lozenge appearance="new" testId="step-tile-new-badge">
                              New
                            </Lozenge>
                          )}
                        </span>
                        <span className="hint">{off ? 'Main steps only' : t.hint}</span>
                      </button>
                    );
                  })}
                </div>
              </div>
            ) : (
              <button type="button" className="button" data-testid={`def-add-step-${ph.id}`} onClick={() => setPicker(ph.id)}>
                + Add step
              </button>
            )}
          </section>
        );
      })}

      <div className="paths-savebar" ref={errRef}>
        <div className="button-group">
          <button type="button" className="button button-primary" data-testid="def-save" disabled={busy} onClick={() => void save()}>
            Save approval path
          </button>
          {busy && <Spinner label="Saving" />}
        </div>
        <ErrorMessage error={saveError} testId="def-save-error" />
        {saveError && fieldErrorsOf(saveError).length > 0 && (
          <ul className="paths-error-list" data-testid="def-save-problems">
            {fieldErrorsOf(saveError).map((x, i) => (
              <li key={i}>
                <code>{x.field}</code>: {x.message}
              </li>
            ))}
          </ul>
        )}
        {saved && (
          <div className="action-result" role="status" data-testid="def-saved">
            {saved}
          </div>
        )}
      </div>
    </div>
  );
}
