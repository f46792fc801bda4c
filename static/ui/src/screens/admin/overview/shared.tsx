import { useEffect, type ReactNode } from 'react';
import { ResolverError } from '../../../api';
import { router } from '../../../bridge';
import { friendlyMessage } from '../../../lib/errors';
import './setup.css';

/** The one place the documentation's address lives (CL-905: embedded help links). */
export const DOCS_BASE = 'https://docs.ardsaor.io/ai-clearance/operations-guide';

/** Documentation anchors, named after the operations guide's sections. */
export const DOC_ANCHORS = {
  quickLaunch: '2-getting-started-and-prerequisites',
  connectedMode: 'connected-mode-prerequisites',
  overview: '4-1-overview',
  intake: '4-2-intake-and-approvals',
  catalog: '4-3-catalog',
  connectors: '4-4-connectors',
  governance: '4-5-governance',
  connectorSetup: '8-connector-setup-and-operational-flows',
  autoApproval: '9-access-grant-deny-workflows-with-examples',
  troubleshooting: '11-troubleshooting-by-symptom',
  supportedTools: '16-supported-tools-models-and-risk-catalog',
} as const;
export type DocAnchor = keyof typeof DOC_ANCHORS;

export function docsUrl(anchor: DocAnchor): string {
  return `${DOCS_BASE}#${DOC_ANCHORS[anchor]}`;
}

/** A help link to the documentation, opened in a new tab through the Forge router. */
export function HelpLink(props: { anchor: DocAnchor; children?: ReactNode; testId?: string }) {
  const url = docsUrl(props.anchor);
  return (
    <a
      href={url}
      className="help-link"
      target="_blank"
      rel="noreferrer"
      data-testid={props.testId ?? `help-${props.anchor}`}
      data-anchor={DOC_ANCHORS[props.anchor]}
      onClick={(e) => {
        e.preventDefault();
        void Promise.resolve()
          .then(() => router.open(url))
          .catch(() => window.open(url, '_blank', 'noopener'));
      }}
    >
      {props.children ?? 'Help'}
      <span aria-hidden="true"> ↗</span>
    </a>
  );
}

/** `details` of a resolver error as field → message ("config.orgUrl", "approvals.escalationAfterHours"). */
export function fieldErrors(e: ResolverError | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const d = e?.details;
  const walk = (v: unknown, prefix: string) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, prefix ? `${prefix}.${k}` : k);
    } else if (prefix) {
      out[prefix] = Array.isArray(v) ? v.join(', ') : String(v);
    }
  };
  walk(d, '');
  return out;
}

/** A server's per-field message as a sentence ("1-720 hours" → "Must be 1-720 hours."). */
export function fieldSentence(msg: string): string {
  const t = msg.trim();
  if (!t) return t;
  if (t === 'required') return 'Required.';
  const body = /^(an? |\d|at most |lower-case |true |approved|low,|the provider|one of )/.test(t) ? `Must be ${t}` : t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(body) ? body : `${body}.`;
}

/** The id of the error shown under the input `inputId` (what its aria-describedby names). */
export const errorId = (inputId: string) => `${inputId}-error`;

/** Ties an input to its error: aria-invalid and aria-describedby while `names` has a message. */
export function invalidProps(error: ResolverError | null | undefined, names: string[], inputId: string): { 'aria-invalid'?: true; 'aria-describedby'?: string } {
  if (!error) return {};
  const all = fieldErrors(error);
  return names.some((n) => n in all) ? { 'aria-invalid': true, 'aria-describedby': errorId(inputId) } : {};
}

/** Empty required fields as a client-side error, in the shape the server's field errors have,
 *  so the same field messages, summary and ARIA links show it; null when all are filled. */
export function requiredError(values: Record<string, string>): ResolverError | null {
  const missing = Object.entries(values).filter(([, v]) => !v.trim());
  if (missing.length === 0) return null;
  return new ResolverError({
    kind: 'validation',
    code: 'FIELD_REQUIRED',
    message: `${missing.map(([k]) => k).join(', ')} required`,
    details: Object.fromEntries(missing.map(([k]) => [k, 'required'])),
  } as ConstructorParameters<typeof ResolverError>[0]);
}

/** The server's message for one field, shown under that field. `names` are tried in order;
 *  `inputId` gives it the id the input's aria-describedby names. */
export function FieldError(props: { error: ResolverError | null | undefined; names: string[]; inputId?: string }) {
  if (!props.error) return null;
  const all = fieldErrors(props.error);
  const name = props.names.find((n) => n in all);
  if (!name) return null;
  return (
    <div className="field-error" id={props.inputId ? errorId(props.inputId) : undefined} data-testid="field-error" data-field={name} data-code={props.error.code}>
      {fieldSentence(all[name])} <code className="error-code">({props.error.code})</code>
    </div>
  );
}

/** A form-level error: the sentence and code, plus every field the server named. */
export function FormError(props: { error: ResolverError | null | undefined; testId: string; labels?: Record<string, string> }) {
  if (!props.error) return null;
  const e = props.error;
  const fields = Object.entries(fieldErrors(e)).filter(([k]) => k !== 'missing');
  return (
    <div className="error-message" role="alert" data-testid={props.testId} data-code={e.code}>
      <span className="error-text">{friendlyMessage(e)}</span> <code className="error-code">({e.code})</code>
      {fields.length > 0 && (
        <ul className="error-fields">
          {fields.map(([k, v]) => (
            <li key={k} data-field={k}>
              <strong>{props.labels?.[k] ?? k}</strong>: {fieldSentence(v)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Result(props: { text: string | null | undefined; testId: string }) {
  if (!props.text) return null;
  return (
    <div className="action-result" role="status" data-testid={props.testId}>
      {props.text}
    </div>
  );
}

/** Scrolls the element with `id` into view and focuses its first input once it exists. */
export function useAnchor(anchor: string | undefined, ready: boolean, prefix: string) {
  useEffect(() => {
    if (!anchor || !ready) return;
    const el = document.getElementById(`${prefix}-${anchor}`);
    if (!el) return;
    el.scrollIntoView({ block: 'start' });
    el.classList.add('anchor-target');
    const input = el.querySelector<HTMLElement>('input:not([disabled]), select:not([disabled]), textarea, button');
    input?.focus({ preventScroll: true });
  }, [anchor, ready, prefix]);
}

/** "a, b\nc" → ["a", "b", "c"]. */
export function splitList(s: string): string[] {
  return s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** A number when the text is one, else the text as typed (the server says what is wrong). */
export function numberOrText(s: string): number | string {
  const t = s.trim();
  return /^\d+$/.test(t) ? Number(t) : t;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
