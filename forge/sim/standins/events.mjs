// Stand-in for @forge/events (2.x/3.x: the same API) under host-sim: Queue.push, InvocationError,
// InvocationErrorCode and the error classes, with the real names and shapes (out/index.d.ts,
// queue.js, errors.js, invocationError.js). A push is forwarded to host-sim as is — the real
// package validates counts, size and delay before sending (same errors, its own messages); here
// host-sim decides, so both engines meter the same calls.

import { call, errText } from '../channel.mjs';

// ---- errors (errors.js) -------------------------------------------------------------------------

export class EventsError extends Error {}
export class InvalidPushSettingsError extends EventsError {}
export class InvalidQueueNameError extends EventsError {}
export class InvalidPayloadError extends EventsError {}
export class TooManyEventsError extends EventsError {}
export class PayloadTooBigError extends EventsError {}
export class NoEventsToPushError extends EventsError {}
export class RateLimitError extends EventsError {}
export class PartialSuccessError extends EventsError {
  constructor(message, result, failedEvents) {
    super(message);
    this.result = result;
    this.failedEvents = failedEvents;
  }
}
export class InternalServerError extends EventsError {
  constructor(message, errorCode, details) {
    super(message);
    this.errorCode = errorCode;
    this.details = details;
  }
}
export class JobDoesNotExistError extends EventsError {}
export class InvocationLimitReachedError extends EventsError {}

/** host-sim's `err` for a push → the error @forge/events throws for it. */
function pushError(err) {
  const val = errText(err);
  switch (err.tag) {
    case 'invalid':
      if (/delay/i.test(val)) return new InvalidPushSettingsError(val);
      if (/\bnot 0\b|no events/i.test(val)) return new NoEventsToPushError(val);
      if (/events/i.test(val)) return new TooManyEventsError(val);
      if (/queue/i.test(val)) return new InvalidQueueNameError(val);
      return new InvalidPayloadError(val);
    case 'too-large':
      return new PayloadTooBigError(val);
    case 'rate-limited':
      return Object.assign(new RateLimitError('Too many requests'), { retryAfter: Number(err.val) });
    case 'forbidden':
      return new InternalServerError(val, 403);
    case 'not-found':
      return new InternalServerError('Not Found', 404);
    case 'conflict':
      return new InternalServerError(val, 409);
    case 'timeout':
      return new InternalServerError('Gateway Timeout', 504);
    default:
      return new InternalServerError(val, 503);
  }
}

// ---- Queue (queue.js) -----------------------------------------------------------------------------

let jobs = 0;

export class Queue {
  constructor(queueParams) {
    this.queueParams = queueParams;
  }
  async push(events) {
    const list = Array.isArray(events) ? events : [events];
    const delays = new Set(list.map((e) => e?.delayInSeconds ?? 0));
    if (delays.size > 1) throw new InvalidPushSettingsError('stand-in: one push carries one delay (the WIT push has one)');
    const r = call('queue.push', {
      queueKey: this.queueParams?.key,
      events: list.map((e) => JSON.stringify(e?.body)),
      delaySeconds: list.length ? (list[0]?.delayInSeconds ?? 0) : 0
    });
    if (r.err) throw pushError(r.err);
    jobs += 1;
    return { jobId: `sim-job-${jobs}` };
  }
  getJob() {
    throw new Error('stand-in: Queue.getJob is not supported (the app does not use it)');
  }
  async cancel() {
    throw new Error('stand-in: Queue.cancel is not supported (the app does not use it)');
  }
  async getStats() {
    throw new Error('stand-in: Queue.getStats is not supported (the app does not use it)');
  }
}

// ---- consumer responses (invocationErrorCode.js, retryOptions.js, invocationError.js) -----------

export const InvocationErrorCode = Object.freeze({
  FUNCTION_OUT_OF_MEMORY: 'FUNCTION_OUT_OF_MEMORY',
  FUNCTION_TIME_OUT: 'FUNCTION_TIME_OUT',
  FUNCTION_PLATFORM_UNKNOWN_ERROR: 'FUNCTION_PLATFORM_UNKNOWN_ERROR',
  FUNCTION_PLATFORM_RATE_LIMITED: 'FUNCTION_PLATFORM_RATE_LIMITED',
  FUNCTION_UPSTREAM_RATE_LIMITED: 'FUNCTION_UPSTREAM_RATE_LIMITED',
  FUNCTION_RETRY_REQUEST: 'FUNCTION_RETRY_REQUEST'
});
const MIN_RETRY_AFTER = 1;
const DEFAULT_RETRY_OPTIONS = { retryAfter: MIN_RETRY_AFTER, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST };

export class QueueResponse {
  constructor(retry = false) {
    this._retry = retry;
  }
}

/** As in the real package, the constructor returns the plain `{ _retry: true, retryOptions }`. */
export class InvocationError extends QueueResponse {
  constructor(retryOptions = DEFAULT_RETRY_OPTIONS) {
    super(true);
    this.retryOptions = retryOptions;
    if (this.retryOptions.retryAfter !== undefined && this.retryOptions.retryAfter <= 0) {
      this.retryOptions.retryAfter = MIN_RETRY_AFTER;
    }
    return this.toJSON();
  }
  toJSON() {
    return { _retry: this._retry, retryOptions: this.retryOptions };
  }
}

export const appEvents = {
  publish: async () => {
    throw new Error('stand-in: appEvents.publish is not supported (the app does not use it)');
  }
};

// As an ES module importer sees the CommonJS package: the default export is `module.exports`.
export default {
  Queue,
  InvocationError,
  InvocationErrorCode,
  QueueResponse,
  appEvents,
  InvalidQueueNameError,
  TooManyEventsError,
  PayloadTooBigError,
  NoEventsToPushError,
  RateLimitError,
  PartialSuccessError,
  InternalServerError,
  JobDoesNotExistError,
  InvalidPushSettingsError,
  InvocationLimitReachedError
};
