import { invoke } from './bridge';

/** Error kinds the resolver envelope carries (mirrors guest/src/error.rs ErrorKind). */
export type ErrorKind =
  | 'invalid'
  | 'not-found'
  | 'forbidden'
  | 'conflict'
  | 'rate-limited'
  | 'too-large'
  | 'unavailable'
  | 'internal'
  | string;

export interface EnvelopeError {
  kind: ErrorKind;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  details?: unknown;
}

export type Envelope<T> = { ok: true; data: T } | { ok: false; error: EnvelopeError };

/** A resolver answered `{ ok: false, error }` (or the call itself failed). */
export class ResolverError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;
  constructor(e: EnvelopeError) {
    super(e.message || e.code);
    this.name = 'ResolverError';
    this.kind = e.kind;
    this.code = e.code;
    this.details = e.details;
    this.retryAfterSeconds = e.retryAfterSeconds;
  }
}

function isEnvelope(v: unknown): v is Envelope<unknown> {
  return typeof v === 'object' && v !== null && 'ok' in v && typeof (v as { ok: unknown }).ok === 'boolean';
}

/** Calls a resolver function and unwraps the envelope: `data`, or a thrown `ResolverError`. */
export async function call<T>(fn: string, payload: Record<string, unknown> = {}): Promise<T> {
  let answer: unknown;
  try {
    answer = await invoke(fn, payload);
  } catch (e) {
    throw new ResolverError({
      kind: 'unavailable',
      code: 'INVOKE_FAILED',
      message: e instanceof Error ? e.message : String(e),
    });
  }
  if (!isEnvelope(answer)) {
    // A resolver without the envelope (should not happen): treat the value as data.
    return answer as T;
  }
  if (answer.ok) return answer.data as T;
  const err = answer.error ?? { kind: 'internal', code: 'UNKNOWN', message: 'unknown error' };
  throw new ResolverError(err);
}

export function asResolverError(e: unknown): ResolverError {
  if (e instanceof ResolverError) return e;
  return new ResolverError({
    kind: 'internal',
    code: 'CLIENT_ERROR',
    message: e instanceof Error ? e.message : String(e),
  });
}
