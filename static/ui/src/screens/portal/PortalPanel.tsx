import { useEffect, useMemo, useRef, useState } from 'react';
import { view } from '../../bridge';
import { asResolverError, call, ResolverError } from '../../api';
import { ErrorMessage, Spinner } from '../../components/ui';
import { friendlyMessage } from '../../lib/errors';
import type { FieldError, ForgeContext, PanelContext, PanelOptions, PanelPreview, PanelValidation, Snapshot } from '../../types';

export const SNAPSHOT_KEY = 'aiclearance.snapshot.v1';
const NEW = '__new__';
const DEBOUNCE_MS = 250;

function numeric(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

function pickDefault(durations: number[], wanted: number | undefined): number | null {
  if (durations.length === 0) return null;
  if (wanted !== undefined && durations.includes(wanted)) return wanted;
  if (wanted !== undefined) {
    const below = durations.filter((d) => d <= wanted);
    if (below.length) return below[below.length - 1];
  }
  return durations.includes(30) ? 30 : durations[durations.length - 1];
}

function FieldMessage(props: { field: string; error?: FieldError }) {
  if (!props.error) return null;
  return (
    <div className="field-error" role="alert" data-testid="field-error" data-field={props.field} data-code={props.error.code}>
      {friendlyMessage(props.error)} <code className="error-code">({props.error.code})</code>
    </div>
  );
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Who decides, in words: group names and how many named people, never who they are. */
function whoDecides(p: PanelPreview): string {
  const r = p.route;
  if (!r) return '';
  if (r.kind === 'held') return r.message ?? 'The request would wait until a Jira admin fixes governance.';
  if (r.kind === 'direct') {
    const parts: string[] = [];
    if (r.groups?.length) parts.push(`members of ${r.groups.join(', ')}`);
    if (r.namedApprovers) parts.push(plural(r.namedApprovers, 'named approver', 'named approvers'));
    if (!parts.length) parts.push('a Jira administrator');
    return `An approver decides: ${parts.join(' or ')}.`;
  }
  if (r.kind === 'path') {
    const steps = (r.steps ?? []).map((s) => {
      const who =
        s.kind === 'group'
          ? `group ${s.group}`
          : s.kind === 'people'
            ? plural(s.namedApprovers ?? 0, 'named approver', 'named approvers')
            : s.kind === 'ai-read'
              ? 'an advisory AI read'
              : 'automatic';
      return `${s.name} (${who}${s.conditional ? ', only in some cases' : ''})`;
    });
    return `The approval path “${r.name}” decides${steps.length ? `: ${steps.join(' → ')}` : ''}.`;
  }
  return '';
}

/** The decision preview (issue 35): what will happen when the request is created. */
function DecisionPreview(props: { preview: PanelPreview | null }) {
  const p = props.preview;
  if (!p || p.outcome === 'incomplete' || p.outcome === 'unavailable') return null;
  const tone = p.outcome === 'refused' ? 'error' : p.outcome === 'auto-approved' ? 'success' : 'info';
  return (
    <section className={`decision-preview preview-${tone}`} data-testid="decision-preview" data-outcome={p.outcome} aria-labelledby="ac-preview-title">
      <h3 id="ac-preview-title" className="preview-title">
        What will happen
      </h3>
      <div role="status" aria-live="polite">
        {p.outcome === 'refused' && (
          <p data-testid="preview-refused">
            <strong>This request would be refused:</strong> {p.message}
          </p>
        )}
        {p.outcome === 'auto-approved' && (
          <p data-testid="preview-summary">
            <strong>Approved automatically</strong> when you create it, for {p.durationDays} days.
          </p>
        )}
        {p.outcome === 'people' && (
          <>
            <p data-testid="preview-summary">
              <strong>A person decides.</strong> {whoDecides(p)}
            </p>
            {p.autoApproval && (
              <p className="hint" data-testid="preview-auto-approval">
                Not approved automatically: {p.autoApproval.message}
              </p>
            )}
          </>
        )}
        {p.outcome !== 'refused' && p.maxDays !== undefined && (
          <p className="hint" data-testid="preview-duration">
            {p.requestedDays !== undefined && p.durationDays !== undefined && p.durationDays < p.requestedDays
              ? `You asked for ${p.requestedDays} days; governance allows at most ${p.maxDays}, so access would last ${p.durationDays} days.`
              : `Longest access allowed for this tool: ${p.maxDays} days.`}
          </p>
        )}
        {p.outcome !== 'refused' && (p.conditions?.length ?? 0) > 0 && (
          <div data-testid="preview-conditions">
            <p className="hint">If approved, only under these conditions:</p>
            <ul>
              {p.conditions!.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </section>
  );
}

/** JSM portal request-create panel "Select AI tool" (spec §7.1, §7.3). */
export function PortalPanel(props: { context: ForgeContext }) {
  const ext = props.context.extension ?? {};
  const portalId = numeric(ext.portal?.id);
  const requestTypeId = numeric(ext.request?.typeId);
  const ids = useMemo(() => ({ portalId, requestTypeId }), [portalId, requestTypeId]);

  const [gate, setGate] = useState<PanelContext | null>(null);
  const [options, setOptions] = useState<PanelOptions | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);

  const [choice, setChoice] = useState('');
  const [duration, setDuration] = useState<number | null>(null);
  const [justification, setJustification] = useState('');
  const [newName, setNewName] = useState('');
  const [newUrl, setNewUrl] = useState('');
  const [classes, setClasses] = useState<string[]>([]);
  const [purpose, setPurpose] = useState('');
  const [touched, setTouched] = useState(false);

  const [errors, setErrors] = useState<Record<string, FieldError>>({});
  const [validateError, setValidateError] = useState<ResolverError | null>(null);
  const [validating, setValidating] = useState(false);
  const [preview, setPreview] = useState<PanelPreview | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        // Both at once (one round): options are refused when the gate is closed, and then
        // the panel renders nothing anyway.
        const options = call<PanelOptions>('panel.options', ids);
        options.catch(() => undefined);
        const c = await call<PanelContext>('panel.context', ids);
        if (!live) return;
        setGate(c);
        if (!c.enabled) return;
        const o = await options;
        if (live) setOptions(o);
      } catch (e) {
        if (live) setLoadError(asResolverError(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [ids]);

  const tool = options?.tools.find((t) => t.id === choice) ?? null;
  const isNew = choice === NEW && !!options?.newTool;
  // The preview knows the requester's own maximum (an active exception for this tool lengthens
  // governance's); the options list only governance's, which is the same for everyone.
  const personal =
    !isNew && tool && preview?.tool?.id === tool.id && (preview.maxDays ?? 0) > tool.maxDays ? preview : null;
  const durations = isNew ? (options?.newTool?.durations ?? []) : (personal?.durations ?? tool?.durations ?? []);
  const maxDays = isNew ? options?.newTool?.maxDays : (personal?.maxDays ?? tool?.maxDays);

  const draft: Snapshot = useMemo(() => {
    const d: Snapshot = {
      toolId: isNew ? null : choice || null,
      newTool: isNew ? { name: newName, url: newUrl } : null,
      durationDays: duration,
      justification: justification.trim() ? justification : null,
      portalId,
      requestTypeId,
    };
    // Issue 35's fields travel only when used, so an undeclared request keeps the old shape.
    if (classes.length) d.dataClasses = classes;
    if (purpose.trim()) d.purpose = purpose;
    return d;
  }, [isNew, choice, newName, newUrl, duration, justification, portalId, requestTypeId, classes, purpose]);

  // Validate (debounced) on every change, then hand the value to JSM.
  useEffect(() => {
    if (!options) return;
    const mine = ++seq.current;
    const timer = window.setTimeout(async () => {
      setValidating(true);
      let valid = false;
      let value: Snapshot = draft;
      // The preview travels beside the check (one round trip each, in parallel); a preview
      // that fails only hides the box, it never blocks the form.
      const pv = draft.toolId || draft.newTool ? call<PanelPreview>('panel.preview', { ...draft }) : Promise.resolve(null);
      pv.then(
        (x) => mine === seq.current && setPreview(x),
        () => mine === seq.current && setPreview(null),
      );
      try {
        const r = await call<PanelValidation>('panel.validate', { ...draft });
        if (mine !== seq.current) return;
        valid = r.valid === true;
        if (valid && r.snapshot) value = r.snapshot;
        setErrors(r.errors ?? {});
        setValidateError(null);
      } catch (e) {
        if (mine !== seq.current) return;
        setValidateError(asResolverError(e));
        setErrors({});
      } finally {
        if (mine === seq.current) setValidating(false);
      }
      try {
        await view.submit({ fields: [{ key: SNAPSHOT_KEY, value }], isValid: valid });
      } catch {
        // The host may not accept submit outside the create form; the value is re-sent on the next change.
      }
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [draft, options]);

  if (loadError) {
    return (
      <div className="panel-form">
        <ErrorMessage error={loadError} testId="panel-error" />
      </div>
    );
  }
  // Gate closed (wrong portal / request type / not configured): render nothing at all (§7.3).
  if (!gate || !gate.enabled) return null;
  if (!options) {
    return (
      <div className="panel-loading">
        <Spinner /> Loading AI tools…
      </div>
    );
  }

  const show = (field: string) => (touched || field !== 'toolId' ? errors[field] : undefined);
  const onChoice = (v: string) => {
    setTouched(true);
    setChoice(v);
    if (v === NEW) {
      setDuration(pickDefault(options.newTool?.durations ?? [], undefined));
    } else {
      const t = options.tools.find((x) => x.id === v);
      setDuration(t ? pickDefault(t.durations, t.defaultExpiryDays) : null);
    }
  };

  return (
    <form className="panel-form" data-testid="panel-form" onSubmit={(e) => e.preventDefault()} noValidate>
      <div className="field">
        <label htmlFor="ac-tool">AI tool <span className="required">*</span></label>
        <select id="ac-tool" data-testid="tool-select" value={choice} onChange={(e) => onChoice(e.target.value)}>
          <option value="">Choose a tool…</option>
          {options.tools.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
              {t.provider ? ` (${t.provider})` : ''}
            </option>
          ))}
          {options.newTool && <option value={NEW}>{options.newTool.label || 'Request new tool'}</option>}
        </select>
        <FieldMessage field="toolId" error={show('toolId')} />
        {tool?.guidance && (
          <div className="guidance" data-testid="tool-guidance">
            {tool.guidance}
          </div>
        )}
      </div>

      {isNew && (
        <>
          <div className="field">
            <label htmlFor="ac-new-name">Tool name <span className="required">*</span></label>
            <input
              id="ac-new-name"
              data-testid="new-tool-name"
              value={newName}
              maxLength={120}
              onChange={(e) => {
                setTouched(true);
                setNewName(e.target.value);
              }}
            />
            <FieldMessage field="newTool.name" error={show('newTool.name')} />
          </div>
          <div className="field">
            <label htmlFor="ac-new-url">
              Tool URL {options.newTool?.needsUrl ? <span className="required">*</span> : <span className="hint">(optional)</span>}
            </label>
            <input
              id="ac-new-url"
              data-testid="new-tool-url"
              type="url"
              placeholder="https://"
              value={newUrl}
              maxLength={2048}
              onChange={(e) => {
                setTouched(true);
                setNewUrl(e.target.value);
              }}
            />
            <FieldMessage field="newTool.url" error={show('newTool.url')} />
          </div>
        </>
      )}

      {(tool || isNew) && (
        <div className="field">
          <label htmlFor="ac-duration">Access duration <span className="required">*</span></label>
          <select
            id="ac-duration"
            data-testid="duration-select"
            value={duration ?? ''}
            onChange={(e) => {
              setTouched(true);
              setDuration(e.target.value ? Number(e.target.value) : null);
            }}
          >
            {duration === null && <option value="">Choose…</option>}
            {durations.map((d) => (
              <option key={d} value={d}>
                {d} days
              </option>
            ))}
          </select>
          <div className="hint" data-testid="duration-hint">
            At most {maxDays} days for this tool{personal ? ' (your approved exception)' : ''}.
          </div>
          <FieldMessage field="durationDays" error={show('durationDays')} />
        </div>
      )}

      {(options.dataClasses?.length ?? 0) > 0 && (
        <fieldset className="field" data-testid="data-classes">
          <legend>
            Data you will use with this tool <span className="hint">(tick every class that applies)</span>
          </legend>
          {options.dataClasses!.map((c) => {
            const prohibited = !!tool && (tool.prohibitedClasses ?? []).includes(c);
            const outside = !!tool && !prohibited && !(tool.approvedClasses ?? []).includes(c);
            return (
              <label key={c} className="checkbox">
                <input
                  type="checkbox"
                  data-testid={`data-class-${c}`}
                  checked={classes.includes(c)}
                  onChange={(e) => {
                    setTouched(true);
                    setClasses((now) => (e.target.checked ? [...now, c] : now.filter((x) => x !== c)));
                  }}
                />{' '}
                {c.replace(/-/g, ' ')}
                {outside && classes.includes(c) && (
                  <span className="hint" data-testid={`data-class-review-${c}`}>
                    {' '}
                    (not approved for this tool without review: a person decides)
                  </span>
                )}
                {prohibited && classes.includes(c) && (
                  <span className="hint" data-testid={`data-class-prohibited-${c}`}>
                    {' '}
                    (governance prohibits this data in {tool.label}: the request would be refused)
                  </span>
                )}
              </label>
            );
          })}
          <FieldMessage field="dataClasses" error={show('dataClasses')} />
        </fieldset>
      )}

      <div className="field">
        <label htmlFor="ac-purpose">Purpose <span className="hint">(optional)</span></label>
        <input
          id="ac-purpose"
          data-testid="purpose"
          maxLength={options.maxPurposeChars ?? 500}
          value={purpose}
          onChange={(e) => {
            setTouched(true);
            setPurpose(e.target.value);
          }}
        />
        <FieldMessage field="purpose" error={show('purpose')} />
      </div>

      <div className="field">
        <label htmlFor="ac-justification">Justification <span className="hint">(optional)</span></label>
        <textarea
          id="ac-justification"
          data-testid="justification"
          rows={3}
          maxLength={2000}
          value={justification}
          onChange={(e) => {
            setTouched(true);
            setJustification(e.target.value);
          }}
        />
        <FieldMessage field="justification" error={show('justification')} />
      </div>

      <DecisionPreview preview={preview} />

      <FieldMessage field="gate" error={errors.gate} />
      <FieldMessage field="snapshot" error={errors.snapshot} />
      <ErrorMessage error={validateError} testId="validate-error" />
      {validating && <span className="hint validating" data-testid="validating">Checking…</span>}
    </form>
  );
}
