// Stand-in for @forge/llm (1.0.x) under host-sim: chat, stream and list with the real package's
// names and shapes (out/index.js, out/errors.js, out/interfaces/internal.d.ts). A chat is forwarded
// to host-sim (`llm.chat`, the emulated Forge LLMs) as the prompt's JSON; the answer is the
// `ChatResponse`. A host-sim `err` is thrown as the error the real package raises for it:
// `PromptValidationError` for its client-side validation ("The payload is invalid: …"), otherwise
// `ForgeLlmAPIError { code, status, statusText, message }` with the status the platform answers
// with (a 429 also carries host-sim's wait as `retryAfter`, so both engines retry alike).

import { call, errText } from '../channel.mjs';

// ---- errors (errors.js) -------------------------------------------------------------------------

export const errorCodes = { FORGE_LLM_API_ERROR: 'FORGE_API_ERROR', UNKNOWN_ERROR: 'UNKNOWN_ERROR' };

export class ForgeLlmError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ForgeLlmError';
  }
}
export class PromptValidationError extends ForgeLlmError {
  constructor(message) {
    super(message);
    this.name = 'PromptValidationError';
  }
}
export class ForgeLlmAPIError extends ForgeLlmError {
  constructor({ code, status, statusText, traceId, message }) {
    super(message);
    this.name = 'ForgeLlmAPIError';
    this.code = code;
    this.status = status;
    this.traceId = traceId;
    this.statusText = statusText;
  }
}
export class StreamResponseError extends ForgeLlmError {}

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
const STATUS_OF = { 'rate-limited': 429, forbidden: 403, invalid: 400, 'not-found': 404, conflict: 409, 'too-large': 413, timeout: 504 };

/** host-sim's `err` → what @forge/llm throws. The status comes from the variant (a 5xx from the
 * text); a text reading `"<status> <CODE>: <message>"` with that status gives the platform's
 * `{code, message}` body, anything else an unstructured answer (`UNKNOWN_ERROR`, the text). The
 * adapter puts `"<status> <CODE>: "` back in front, so the text survives the round trip. */
function chatError(err) {
  const val = errText(err);
  if (err.tag === 'invalid' && val.startsWith('The payload is invalid:')) return new PromptValidationError(val);
  const m = /^(\d{3}) ([A-Z_]+): (.*)$/s.exec(val);
  let status = STATUS_OF[err.tag] ?? 500;
  const structured = m && (Number(m[1]) === status || (err.tag === 'unavailable' && Number(m[1]) >= 500));
  if (structured) status = Number(m[1]);
  const e = new ForgeLlmAPIError({
    status,
    statusText: STATUS_TEXT[status] ?? '',
    code: structured ? m[2] : errorCodes.UNKNOWN_ERROR,
    message: structured ? m[3] : val,
    traceId: null
  });
  if (err.tag === 'rate-limited') e.retryAfter = Number(err.val);
  return e;
}

// ---- the API (llm-api.js) -----------------------------------------------------------------------

export async function chat(prompt) {
  const r = call('llm.chat', { prompt: JSON.stringify(prompt) });
  if (r.err) throw chatError(r.err);
  return JSON.parse(r.ok);
}

export async function stream() {
  throw new Error('stand-in: stream is not supported (the app does not use it)');
}

export async function list() {
  throw new Error('stand-in: list is not supported (the app does not use it)');
}

export default { chat, stream, list, ForgeLlmError, PromptValidationError, ForgeLlmAPIError, StreamResponseError, errorCodes };
