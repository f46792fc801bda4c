import type { ReactNode } from 'react';
import type { ResolverError } from '../api';
import { friendlyMessage } from '../lib/errors';

export type LozengeAppearance = 'success' | 'removed' | 'inprogress' | 'moved' | 'default' | 'new';

export function Lozenge(props: {
  appearance?: LozengeAppearance;
  children: ReactNode;
  testId?: string;
  bold?: boolean;
  title?: string;
  extra?: Record<string, string>;
}) {
  const a = props.appearance ?? 'default';
  return (
    <span
      className={`lozenge lozenge-${a}${props.bold ? ' lozenge-bold' : ''}`}
      data-testid={props.testId}
      data-appearance={a}
      title={props.title}
      {...(props.extra ?? {})}
    >
      {props.children}
    </span>
  );
}

/** A resolver error shown where the person acted: a sentence plus the code in small text. */
export function ErrorMessage(props: { error: ResolverError | null | undefined; testId?: string; field?: string }) {
  if (!props.error) return null;
  const e = props.error;
  return (
    <div className="error-message" role="alert" data-testid={props.testId} data-code={e.code} data-field={props.field}>
      <span className="error-text">{friendlyMessage(e)}</span> <code className="error-code">({e.code})</code>
    </div>
  );
}

export function Spinner(props: { size?: number; label?: string }) {
  const s = props.size ?? 16;
  return <span className="spinner" style={{ width: s, height: s }} role="status" aria-label={props.label ?? 'Loading'} />;
}

/** The AI sparkle icon (AP-908). */
export function Sparkle(props: { testId?: string }) {
  return (
    <svg
      className="ai-sparkle"
      data-testid={props.testId ?? 'ai-sparkle'}
      width="16"
      height="16"
      viewBox="0 0 24 24"
      aria-label="AI"
      role="img"
    >
      <path
        fill="currentColor"
        d="M12 2l1.9 5.6L19.5 9.5l-5.6 1.9L12 17l-1.9-5.6L4.5 9.5l5.6-1.9L12 2zm6.5 11l.95 2.55L22 16.5l-2.55.95L18.5 20l-.95-2.55L15 16.5l2.55-.95L18.5 13zM5.5 14l.7 1.8 1.8.7-1.8.7-.7 1.8-.7-1.8-1.8-.7 1.8-.7.7-1.8z"
      />
    </svg>
  );
}

export function Skeleton(props: { lines?: number }) {
  const n = props.lines ?? 3;
  return (
    <div className="skeleton" data-testid="loading-skeleton" aria-busy="true">
      {Array.from({ length: n }, (_, i) => (
        <div key={i} className="skeleton-line" style={{ width: `${90 - i * 15}%` }} />
      ))}
    </div>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
