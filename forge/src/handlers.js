// The Forge function handlers (manifest.yml `function[].handler: index.<export>`), each running one
// export of a fresh component instance.

import { getAppContext } from '@forge/api';
import { InvocationError, InvocationErrorCode } from '@forge/events';
import { forgeImports } from './imports.js';
import { instantiateComponent } from './component.js';

/** Forge's limits: UI resolvers and product triggers 25 s; scheduled and consumer functions 900 s. */
const SHORT_MS = 25_000;
const LONG_MS = 900_000;

function appContext() {
  try {
    return getAppContext();
  } catch {
    return undefined; // outside a Forge invocation (e.g. `forge tunnel` without a runtime)
  }
}

/** `ari:cloud:jira::site/<cloudId>` (installContext) → `<cloudId>`. */
export function cloudIdFromAri(ari) {
  if (typeof ari !== 'string') return undefined;
  const m = /^ari:cloud:[^:]*::site\/(.+)$/.exec(ari);
  return m ? m[1] : undefined;
}

const str = (v) => (typeof v === 'string' && v !== '' ? v : undefined);
const bool = (v) => (typeof v === 'boolean' ? v : undefined);

/** The WIT invocation-context from what Forge handed the function. */
function invocationContext({ moduleKey, cloudId, accountId, license, extension, installContext }) {
  const app = appContext();
  const ctx = {
    appAri: app?.appAri !== undefined ? String(app.appAri) : '',
    cloudId: str(cloudId) ?? cloudIdFromAri(installContext) ?? '',
    moduleKey: str(moduleKey) ?? str(app?.moduleKey) ?? '',
    accountId: str(accountId),
    licenseActive: bool(license?.isActive) ?? bool(license?.active),
    extension: extension === undefined || extension === null ? undefined : JSON.stringify(extension)
  };
  return ctx;
}

/** `{ value, json }`: the parsed value, or the text itself when it is not JSON. */
function parseJson(text) {
  try {
    return { value: JSON.parse(text), json: true };
  } catch {
    return { value: text, json: false };
  }
}

/**
 * The exact JSON texts the component returned (`data`, `details`), kept on the envelope under a
 * symbol: Forge never serialises it, and an observer that compares runs byte for byte (the
 * simulator's harness) can use the text instead of a JavaScript re-serialisation (`1.0` → `1`).
 */
const RAW_JSON = Symbol.for('aiclearance.forge.rawJson');
const withRaw = (envelope, raw) => Object.defineProperty(envelope, RAW_JSON, { value: raw, enumerable: false });

/** A ComponentError carries the WIT app-error as `payload` → the error envelope; else undefined. */
function appError(e) {
  const p = e !== null && typeof e === 'object' && Object.hasOwn(e, 'payload') ? e.payload : undefined;
  if (!p || typeof p !== 'object' || typeof p.code !== 'string' || typeof p.kind !== 'string') return undefined;
  const error = { kind: p.kind, code: p.code, message: p.message };
  if (p.retryAfterSeconds !== undefined) error.retryAfterSeconds = p.retryAfterSeconds;
  const raw = {};
  if (p.details !== undefined) {
    const d = parseJson(p.details);
    error.details = d.value;
    if (d.json) raw.details = p.details;
  }
  return withRaw({ ok: false, error }, raw);
}

/**
 * Runs one export on a fresh instance. App errors become `{ ok: false, error }`; any other
 * exception (a guest trap, an unrecognised platform failure) propagates and fails the invocation.
 */
async function run(timeoutMs, call, onOk) {
  const startedMs = Date.now();
  const handlers = await instantiateComponent(forgeImports({ startedMs, timeoutMs }));
  let result;
  try {
    result = await call(handlers);
  } catch (e) {
    const envelope = appError(e);
    if (envelope) return envelope;
    throw e;
  }
  return onOk(result);
}

function envelope(text) {
  const d = parseJson(text);
  return withRaw({ ok: true, data: d.value }, d.json ? { data: text } : {});
}

/**
 * Custom UI resolver (`invoke(functionKey, payload)` from the UI). Forge calls it with the invoke
 * request `{ call: { functionKey, payload }, context }` and, as @forge/resolver's getDefinitions()
 * reads it, a second argument with `installContext`, `principal.accountId` and `license`.
 */
export async function resolver(request, backend) {
  const call = request?.call ?? {};
  const uiContext = request?.context ?? {};
  const ctx = invocationContext({
    moduleKey: uiContext.moduleKey,
    cloudId: uiContext.cloudId,
    accountId: backend?.principal?.accountId ?? uiContext.accountId,
    license: backend?.license ?? uiContext.license,
    extension: uiContext.extension,
    installContext: backend?.installContext ?? uiContext.installContext
  });
  const payload = call.payload === undefined || call.payload === null ? '{}' : JSON.stringify(call.payload);
  return run(SHORT_MS, (h) => h.resolve(String(call.functionKey ?? ''), payload, ctx), envelope);
}

/** Product trigger (`avi:jira:created:issue`): `(event, context)`. */
export async function intake(event, context) {
  const ctx = invocationContext({
    moduleKey: context?.moduleKey ?? event?.context?.moduleKey,
    cloudId: context?.cloudId ?? event?.context?.cloudId,
    accountId: context?.principal?.accountId,
    license: context?.license,
    installContext: context?.installContext
  });
  return run(SHORT_MS, (h) => h.onProductEvent(JSON.stringify(event), ctx), envelope);
}

/** Scheduled trigger: `({ context: { cloudId, moduleKey }, contextToken }, context?)`, bound to its key. */
function scheduled(triggerKey) {
  return async (request, context) => {
    const ctx = invocationContext({
      moduleKey: triggerKey,
      cloudId: request?.context?.cloudId ?? context?.cloudId,
      license: context?.license,
      installContext: context?.installContext ?? request?.context?.installContext
    });
    return run(LONG_MS, (h) => h.onScheduled(ctx), envelope);
  };
}

export const jobRunner = scheduled('job-runner');
export const escalationSweep = scheduled('escalation-sweep');
export const promptStepCleanup = scheduled('prompt-step-cleanup');
export const dailyMaintenance = scheduled('daily-maintenance');
export const weeklyReconciliation = scheduled('weekly-reconciliation');

/**
 * Queue consumer: `(event: AsyncEvent, context)`; AsyncEvent is `{ queueName, body, jobId,
 * eventId, retryContext? }`. `retry(n)` asks Forge to redeliver by returning an InvocationError.
 */
export async function queueWorker(event, context) {
  const queueKey = String(event?.queueName ?? '');
  const ctx = invocationContext({
    moduleKey: context?.moduleKey,
    cloudId: context?.cloudId,
    license: context?.license,
    installContext: context?.installContext
  });
  if (ctx.moduleKey === '') ctx.moduleKey = queueKey;
  return run(
    LONG_MS,
    (h) => h.onQueueEvent(queueKey, JSON.stringify(event?.body ?? {}), ctx),
    (outcome) =>
      outcome?.tag === 'retry'
        ? new InvocationError({ retryAfter: outcome.val, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST })
        : { ok: true, data: { done: true } }
  );
}
