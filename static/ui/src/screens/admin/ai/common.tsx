import type { ResolverError } from '../../../api';

/**
 * Small pieces the Settings → AI and the approval-path editor share: the server's per-field
 * errors (`details.errors: [{ field, message }]`, shown next to the field), a character counter,
 * and the usage-status helpers.
 */

export interface ServerFieldError {
  field: string;
  message: string;
}

/** The per-field problems a validation error carries (empty for other errors). */
export function fieldErrorsOf(e: ResolverError | null | undefined): ServerFieldError[] {
  const d = e?.details as { errors?: unknown } | undefined;
  if (!d || !Array.isArray(d.errors)) return [];
  return d.errors
    .filter((x): x is ServerFieldError => typeof x === 'object' && x !== null && typeof (x as ServerFieldError).field === 'string')
    .map((x) => ({ field: x.field, message: String(x.message ?? '') }));
}

function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/**
 * The server's error for one field, next to it: "<Label>: <server message>." plus the code.
 * `field` matches exactly; `prefix` matches every error whose field starts with it.
 */
export function FieldError(props: { error: ResolverError | null | undefined; field: string; label?: string; prefix?: boolean }) {
  const all = fieldErrorsOf(props.error);
  const mine = all.filter((x) => (props.prefix ? x.field === props.field || x.field.startsWith(`${props.field}.`) : x.field === props.field));
  if (!props.error || mine.length === 0) return null;
  return (
    <>
      {mine.map((m, i) => (
        <div
          key={i}
          className="field-error"
          role="alert"
          data-testid="field-error"
          data-field={m.field}
          data-code={props.error!.code}
        >
          <span className="error-text">{sentence(props.label ? `${props.label}: ${m.message}` : m.message)}</span>{' '}
          <code className="error-code">({props.error!.code})</code>
        </div>
      ))}
    </>
  );
}

/** "123 / 4,000" under a text field; red when over the limit. */
export function Counter(props: { value: string; max: number; testId: string }) {
  const n = [...props.value].length;
  const over = n > props.max;
  return (
    <span
      className={`char-counter${over ? ' char-counter-over' : ''}`}
      data-testid={props.testId}
      data-count={n}
      data-max={props.max}
      aria-live="polite"
    >
      {n.toLocaleString('en-US')} / {props.max.toLocaleString('en-US')}
      {over ? ` — ${(n - props.max).toLocaleString('en-US')} over the limit` : ''}
    </span>
  );
}

export type UsageStatus = 'OK' | 'WARNING' | 'EXHAUSTED' | 'NO_BUDGET';

export interface UsageState {
  status: UsageStatus | string;
  percent: number;
}

export function usageAppearance(status: string): 'success' | 'moved' | 'removed' | 'default' {
  return status === 'OK' ? 'success' : status === 'WARNING' ? 'moved' : status === 'EXHAUSTED' ? 'removed' : 'default';
}

export function fmt(n: number | null | undefined): string {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}
