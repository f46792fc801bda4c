// Maps what the Forge packages throw to the WIT `host-error` variants (wit/forge.wit, `types`).
//
// jco's generated bindings turn an import that throws a plain `{ tag, val }` object (no `payload`
// property, not an `Error`) into the `err` case of the import's `result`. Anything that is an
// `Error` is rethrown into the guest and ends the invocation (the component traps): that is what
// must happen to errors this module does not recognise (a bug, a platform crash, the simulator's
// `SimCrash`), so every mapper returns `null` for them and the caller rethrows the original.
//
// Mapping rules are by duck typing (constructor name, `name`, `code`, HTTP status), never by
// `instanceof` against a particular copy of a package: @forge/kvs pulls in its own @forge/api, and
// the simulator substitutes stand-ins with the same class names.

/** Retry-after used when a rate-limit error carries no hint (host-sim's default is also 1 s). */
export const DEFAULT_RETRY_AFTER_S = 1;

/** A WIT host-error value as jco expects it in an import's `err` case. */
export const hostError = (tag, val) => (val === undefined ? { tag } : { tag, val });

/** Throws the WIT error (see above: a plain object, so jco lowers it instead of trapping). */
export function fail(tag, val) {
  throw hostError(tag, val);
}

const isObject = (e) => e !== null && typeof e === 'object';
const ctorName = (e) => (isObject(e) && typeof e.constructor === 'function' ? e.constructor.name : '');
const text = (e) => (isObject(e) && typeof e.message === 'string' ? e.message : String(e));

/** A non-negative u32 retry hint from an error, or the default. */
function retryAfter(...candidates) {
  for (const c of candidates) {
    const n = typeof c === 'string' ? Number(c) : c;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return Math.min(Math.ceil(n), 0xffffffff);
  }
  return DEFAULT_RETRY_AFTER_S;
}

/** Network-level failures any of the packages can surface unchanged (undici, Node sockets). */
function transportError(e) {
  if (!isObject(e)) return null;
  const name = e.name ?? '';
  const code = e.code ?? e.cause?.code ?? '';
  if (name === 'TimeoutError' || name === 'AbortError' || /TIMEOUT/i.test(String(code)) || code === 'ETIMEDOUT') {
    return hostError('timeout');
  }
  if (
    ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET'].includes(code) ||
    (name === 'TypeError' && /fetch failed/i.test(text(e)))
  ) {
    return hostError('unavailable', text(e));
  }
  return null;
}

/** Maps an HTTP-ish status to a variant; `conflictVal` names what conflicted. */
function byStatus(status, message, { retry, conflictVal } = {}) {
  if (typeof status !== 'number') return null;
  if (status === 404) return hostError('not-found');
  if (status === 409 || status === 412) return hostError('conflict', conflictVal ?? message);
  if (status === 429) return hostError('rate-limited', retryAfter(retry));
  if (status === 413) return hostError('too-large', message);
  if (status === 401 || status === 403) return hostError('forbidden', message);
  if (status === 408 || status === 504) return hostError('timeout');
  if (status >= 500) return hostError('unavailable', message);
  if (status >= 400) return hostError('invalid', message);
  return null;
}

// ---- @forge/kvs ------------------------------------------------------------------------------
// ForgeKvsAPIError: { code, message, context, responseDetails: { status, ... } } (errors.js).
// Documented codes: KEY_TOO_SHORT / EMPTY_KEY / KEY_TOO_LONG / INVALID_KEY (400), MAX_SIZE and
// MAX_DEPTH (400), RATE_LIMIT_EXCEEDED (429), KEY_NOT_FOUND (swallowed by get/delete), and the
// query/entity validation codes (400). The code for a failed transaction condition or a
// FAIL_IF_EXISTS collision is not documented: any 409/412, or a code in CONFLICT_CODES, is taken
// as one (see README "Unverified").

const NOT_FOUND_CODES = new Set(['KEY_NOT_FOUND', 'NOT_FOUND']);
const TOO_LARGE_CODES = new Set(['MAX_SIZE', 'PAYLOAD_TOO_LARGE', 'TRANSACTION_TOO_LARGE']);
const CONFLICT_CODES = new Set([
  'KEY_ALREADY_EXISTS',
  'KEY_EXISTS',
  'CONDITION_FAILED',
  'CONDITIONS_NOT_MET',
  'CONDITIONAL_CHECK_FAILED',
  'CONDITION_CHECK_FAILED',
  'TRANSACTION_CONFLICT',
  'TRANSACTION_CANCELLED'
]);
/** Codes that say nothing beyond the message (@forge/kvs uses UNKNOWN_ERROR for non-JSON bodies). */
const GENERIC_CODES = new Set(['', 'UNKNOWN_ERROR']);

const isKvsApiError = (e) => isObject(e) && isObject(e.responseDetails) && typeof e.code === 'string';
const isKvsError = (e) => isObject(e) && (e.name === 'ForgeKvsError' || ctorName(e) === 'ForgeKvsError');

/** The message the guest sees: the platform's text, prefixed with the code unless it says it. */
function kvsText(e) {
  const m = text(e);
  const code = e.code ?? '';
  return GENERIC_CODES.has(code) || m.includes(code) ? m : `${code}: ${m}`;
}

/** True when the error is a storage conflict (failed condition or FAIL_IF_EXISTS collision). */
export function isKvsConflict(e) {
  if (!isKvsApiError(e)) return false;
  const s = e.responseDetails.status;
  return CONFLICT_CODES.has(e.code) || s === 409 || s === 412;
}

/**
 * Maps a @forge/kvs error (also for secrets). `conflictKey` is the key reported for a conflict;
 * transact resolves it itself (see imports.js) and passes it in.
 * Returns null for anything unrecognised (the caller rethrows).
 */
export function mapKvsError(e, conflictKey) {
  if (isKvsApiError(e)) {
    const status = e.responseDetails.status;
    const code = e.code;
    const message = kvsText(e);
    const retry = e.context?.retryAfter ?? e.context?.retryAfterSeconds;
    if (NOT_FOUND_CODES.has(code)) return hostError('not-found');
    if (code === 'RATE_LIMIT_EXCEEDED') return hostError('rate-limited', retryAfter(retry));
    if (TOO_LARGE_CODES.has(code)) return hostError('too-large', message);
    if (isKvsConflict(e)) return hostError('conflict', conflictKey ?? message);
    return byStatus(status, message, { retry }) ?? hostError('unavailable', message);
  }
  // Raised by the SDK itself before any request (e.g. an empty condition builder).
  if (isKvsError(e)) return hostError('invalid', text(e));
  return transportError(e);
}

// ---- @forge/api (requestJira, fetch) -----------------------------------------------------------
// errors.js: NotAllowedError and its subclasses (name REQUEST_EGRESS_ALLOWLIST_ERR, status 403),
// NeedsAuthenticationError (NEEDS_AUTHENTICATION_ERR, 401), ProxyRequestError (PROXY_ERR, the
// proxy's status), FetchError (FUNCTION_FETCH_ERR), HttpError (status). A non-2xx answer from
// Jira or a remote is a Response, not an error.

export function mapApiError(e) {
  if (!isObject(e)) return null;
  const name = e.name ?? '';
  const message = text(e);
  if (name === 'REQUEST_EGRESS_ALLOWLIST_ERR' || name === 'NEEDS_AUTHENTICATION_ERR') {
    return hostError('forbidden', message);
  }
  if (name === 'FUNCTION_FETCH_ERR') {
    return /time(d)?\s?out/i.test(message) ? hostError('timeout') : hostError('unavailable', message);
  }
  if (name === 'PROXY_ERR' || ctorName(e) === 'HttpError' || ctorName(e) === 'ProxyRequestError') {
    return byStatus(e.status, message, { retry: e.retryAfter }) ?? hostError('unavailable', message);
  }
  if (ctorName(e) === 'InvalidRemoteError' || ctorName(e) === 'InvalidWorkspaceRequestedError') {
    return hostError('invalid', message);
  }
  return transportError(e);
}

// ---- @forge/llm (chat) -------------------------------------------------------------------------
// errors.js: PromptValidationError (client-side validation, before any request) and
// ForgeLlmAPIError { code, status, statusText, traceId, message } (utils/error-handling.js: the
// platform's `{code, message}` body, or the `forge-proxy-error` header and the text). The package
// exposes no Retry-After: a 429 waits out the minute Forge LLMs counts in (100 requests a minute
// per installation) unless the error carries a `retryAfter`.

/** Seconds a Forge LLMs 429 asks for when the error names none: the limit's one-minute window. */
export const LLM_RETRY_AFTER_S = 60;

export function mapLlmError(e) {
  if (!isObject(e)) return null;
  const name = e.name ?? ctorName(e);
  const message = text(e);
  if (name === 'PromptValidationError') return hostError('invalid', message);
  if (name === 'ForgeLlmAPIError' || ctorName(e) === 'ForgeLlmAPIError') {
    const detail = e.code && e.code !== 'UNKNOWN_ERROR' ? `${e.status} ${e.code}: ${message}` : message;
    if (e.status === 429) return hostError('rate-limited', retryAfter(e.retryAfter, LLM_RETRY_AFTER_S));
    return byStatus(e.status, detail) ?? hostError('unavailable', detail);
  }
  if (name === 'ForgeLlmError') return hostError('invalid', message);
  return mapApiError(e);
}

// ---- @forge/events (Queue.push) ----------------------------------------------------------------
// errors.js: InvalidQueueNameError, InvalidPushSettingsError, InvalidPayloadError,
// TooManyEventsError, NoEventsToPushError (client-side validation), PayloadTooBigError (client
// side or 413), RateLimitError (429), InvocationLimitReachedError (405), PartialSuccessError
// (202), InternalServerError (other statuses, `errorCode`). Only some are exported, so by name.

const QUEUE_INVALID = new Set([
  'InvalidQueueNameError',
  'InvalidPushSettingsError',
  'InvalidPayloadError',
  'TooManyEventsError',
  'NoEventsToPushError'
]);

export function mapQueueError(e) {
  if (!isObject(e)) return null;
  const n = ctorName(e);
  const message = text(e);
  if (QUEUE_INVALID.has(n)) return hostError('invalid', message);
  if (n === 'PayloadTooBigError') return hostError('too-large', message);
  if (n === 'RateLimitError' || n === 'InvocationLimitReachedError') {
    return hostError('rate-limited', retryAfter(e.retryAfter));
  }
  if (n === 'InternalServerError') {
    const status = typeof e.errorCode === 'number' ? e.errorCode : Number(e.errorCode);
    return (Number.isFinite(status) ? byStatus(status, message, { retry: e.retryAfter }) : null) ?? hostError('unavailable', message);
  }
  if (n === 'PartialSuccessError' || n === 'JobDoesNotExistError' || n === 'EventsError') {
    return hostError('unavailable', message);
  }
  return mapApiError(e);
}
