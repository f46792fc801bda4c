// The component's imports (wit/forge.wit, world `app`) over the real Forge packages.
//
// kvs, secrets, jira, fetch, llm and queue return promises: the build lists them as jco `--async-imports`,
// so the (synchronous) guest call suspends through JSPI until the promise settles. runtime, log and
// config are synchronous. A WIT `err` is signalled by throwing a plain `{ tag, val }` (errors.js);
// anything else thrown traps the component.

import { createHash } from 'node:crypto';
import { kvs, Filter, FilterConditions, WhereConditions, Sort } from '@forge/kvs';
import { asApp, asUser, fetch as forgeFetch, assumeTrustedRoute, getAppContext } from '@forge/api';
import { Queue } from '@forge/events';
import { chat as llmChat } from '@forge/llm';
import { fail, mapKvsError, mapApiError, mapLlmError, mapQueueError, isKvsConflict } from './errors.js';

/** The custom entity every app record is stored as (manifest.yml `app.storage.entities`). */
export const ENTITY = 'record';
/** Its index on `key`, used for prefix queries. */
export const KEY_INDEX = 'key';

export const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The stored entity for a record: the exact JSON text, and its digest for conditions. */
const recordValue = (key, text) => ({ key, text, digest: sha256(text) });

/** Runs `op`; a recognised platform error becomes the WIT error, anything else is rethrown. */
async function guard(op, map) {
  try {
    return await op();
  } catch (e) {
    const mapped = map(e);
    if (mapped) throw mapped;
    throw e;
  }
}
const kvsGuard = (op, conflictKey) => guard(op, (e) => mapKvsError(e, conflictKey));

/** WIT condition → an entity filter on `digest` (absent / present / equals(text)). */
function conditionFilter(c) {
  switch (c.tag) {
    case 'absent':
      return new Filter().and('digest', FilterConditions.notExists());
    case 'present':
      return new Filter().and('digest', FilterConditions.exists());
    case 'equals':
      return new Filter().and('digest', FilterConditions.equalTo(sha256(c.val)));
    default:
      throw new TypeError(`unknown condition ${c?.tag}`);
  }
}

/** Whether a condition holds for the stored entity value (for conflict attribution only). */
function holds(c, stored) {
  switch (c.tag) {
    case 'absent':
      return stored === undefined;
    case 'present':
      return stored !== undefined;
    case 'equals':
      return stored !== undefined && stored.digest === sha256(c.val);
    default:
      return false;
  }
}

/** The key and condition of each conditional op, in the guest's order. */
function conditionalOps(ops) {
  const out = [];
  for (const op of ops) {
    if (op.tag === 'check' || op.tag === 'delete-if') out.push({ key: op.val[0], cond: op.val[1] });
    else if (op.tag === 'set-if') out.push({ key: op.val[0].key, cond: op.val[1] });
  }
  return out;
}
const opKey = (op) => (op.tag === 'set' ? op.val.key : op.tag === 'delete' ? op.val : op.tag === 'set-if' ? op.val[0].key : op.val[0]);

/**
 * Which key a failed transaction failed on (WIT: `conflict` names it). In order: a key of this
 * transaction that the error names; the only conditional op; else re-read the conditional keys
 * and take the first whose condition does not hold now (the first conditional key if all hold,
 * i.e. the state moved on since).
 */
async function conflictKey(e, ops) {
  const keys = new Set(ops.map(opKey));
  const ctx = e?.context ?? {};
  for (const v of [ctx.key, ctx.failedKey, ...(Array.isArray(ctx.keys) ? ctx.keys : []), ...(Array.isArray(ctx.failedKeys) ? ctx.failedKeys : [])]) {
    const k = typeof v === 'string' ? v : v?.key;
    if (typeof k === 'string' && keys.has(k)) return k;
  }
  const conds = conditionalOps(ops);
  if (conds.length === 0) return opKey(ops[0]);
  if (conds.length === 1) return conds[0].key;
  for (const { key, cond } of conds) {
    const stored = await kvs.entity(ENTITY).get(key);
    if (!holds(cond, stored)) return key;
  }
  return conds[0].key;
}

/** WIT http-request → RequestInit (headers as an object; repeated names are joined). */
function requestInit(req) {
  const headers = {};
  for (const [name, value] of req.headers) {
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
  }
  const init = { method: req.method, headers };
  if (req.body !== undefined) init.body = req.body;
  return init;
}

/** A fetch Response → WIT http-response (header names lower-case, body as text). */
async function httpResponse(res) {
  const headers = [];
  res.headers.forEach((value, name) => headers.push([name.toLowerCase(), value]));
  return { status: res.status, headers, body: await res.text() };
}

/** Fills `buf` from the Web Crypto global (65,536 bytes per call at most). */
function randomFill(buf) {
  for (let i = 0; i < buf.length; i += 65536) {
    globalThis.crypto.getRandomValues(buf.subarray(i, Math.min(buf.length, i + 65536)));
  }
  return buf;
}

/**
 * The import object for one invocation. `inv.startedMs` and `inv.timeoutMs` back remaining-ms
 * when the runtime cannot tell (`getAppContext().invocationRemainingTimeInMillis` missing).
 */
export function forgeImports(inv) {
  const entity = () => kvs.entity(ENTITY);

  const kvsIface = {
    get: (key) =>
      kvsGuard(async () => {
        const v = await entity().get(key);
        return v === undefined || v === null ? undefined : v.text;
      }),

    set: (key, value, options) =>
      kvsGuard(async () => {
        const o = {};
        if (options.failIfExists) o.keyPolicy = 'FAIL_IF_EXISTS';
        if (options.ttlSeconds !== undefined) o.ttl = { value: Number(options.ttlSeconds), unit: 'SECONDS' };
        await entity().set(key, recordValue(key, value), Object.keys(o).length ? o : undefined);
      }, key),

    delete: (key) => kvsGuard(() => entity().delete(key)),

    query: (prefix, cursor, limit) =>
      kvsGuard(async () => {
        let q = entity().query().index(KEY_INDEX).where(WhereConditions.beginsWith(prefix)).sort(Sort.ASC).limit(limit);
        if (cursor !== undefined) q = q.cursor(cursor);
        const page = await q.getMany();
        return {
          entries: (page.results ?? []).map((r) => ({ key: r.key, value: r.value.text })),
          nextCursor: page.nextCursor || undefined
        };
      }),

    batchGet: (keys) =>
      kvsGuard(async () => {
        // An empty batch is forwarded too (the guest sends one; host-sim meters it as a read).
        const r = await kvs.batchGet(keys.map((key) => ({ key, entityName: ENTITY })));
        for (const f of r.failedKeys ?? []) {
          const code = f.error?.code ?? '';
          if (code !== 'KEY_NOT_FOUND' && code !== 'NOT_FOUND') {
            fail(code === 'RATE_LIMIT_EXCEEDED' ? 'rate-limited' : 'invalid', code === 'RATE_LIMIT_EXCEEDED' ? 1 : `${code}: ${f.error?.message ?? ''} (${f.key})`);
          }
        }
        const found = new Map((r.successfulKeys ?? []).map((s) => [s.key, s.value?.text]));
        return keys.filter((k) => typeof found.get(k) === 'string').map((k) => ({ key: k, value: found.get(k) }));
      }),

    transact: async (ops) => {
      const tx = kvs.transact();
      for (const op of ops) {
        switch (op.tag) {
          case 'set':
            tx.set(op.val.key, recordValue(op.val.key, op.val.value), { entityName: ENTITY });
            break;
          case 'delete':
            tx.delete(op.val, { entityName: ENTITY });
            break;
          case 'check':
            tx.check(op.val[0], { entityName: ENTITY, conditions: conditionFilter(op.val[1]) });
            break;
          case 'set-if': {
            const [e, c] = op.val;
            tx.set(e.key, recordValue(e.key, e.value), { entityName: ENTITY, conditions: conditionFilter(c) });
            break;
          }
          case 'delete-if':
            tx.delete(op.val[0], { entityName: ENTITY, conditions: conditionFilter(op.val[1]) });
            break;
          default:
            throw new TypeError(`unknown transaction op ${op?.tag}`);
        }
      }
      try {
        await tx.execute();
      } catch (e) {
        if (isKvsConflict(e)) fail('conflict', await kvsGuard(() => conflictKey(e, ops)));
        const mapped = mapKvsError(e);
        if (mapped) throw mapped;
        throw e;
      }
    }
  };

  const secrets = {
    get: (key) =>
      kvsGuard(async () => {
        const v = await kvs.getSecret(key);
        return v === undefined || v === null ? undefined : String(v);
      }),
    set: (key, value) => kvsGuard(() => kvs.setSecret(key, value)),
    delete: (key) => kvsGuard(() => kvs.deleteSecret(key))
  };

  const jira = {
    request: (principal, req) =>
      guard(async () => {
        const api = principal === 'user' ? asUser() : asApp();
        return httpResponse(await api.requestJira(assumeTrustedRoute(req.url), requestInit(req)));
      }, mapApiError)
  };

  const fetchIface = {
    request: (req) => guard(async () => httpResponse(await forgeFetch(req.url, requestInit(req))), mapApiError)
  };

  // Forge LLMs: the guest's prompt is @forge/llm's `Prompt` as JSON, the answer its `ChatResponse`.
  const llm = {
    chat: (prompt) =>
      guard(async () => {
        let p;
        try {
          p = JSON.parse(prompt);
        } catch (e) {
          fail('invalid', `prompt is not JSON: ${e.message}`);
        }
        return JSON.stringify(await llmChat(p));
      }, mapLlmError)
  };

  const queue = {
    push: (queueKey, events, delaySeconds) =>
      guard(async () => {
        const batch = events.map((text) => {
          let body;
          try {
            body = JSON.parse(text);
          } catch (e) {
            fail('invalid', `queue event is not JSON: ${e.message}`);
          }
          return delaySeconds > 0 ? { body, delayInSeconds: delaySeconds } : { body };
        });
        await new Queue({ key: queueKey }).push(batch);
      }, mapQueueError)
  };

  const runtime = {
    nowMs: () => BigInt(Date.now()),
    remainingMs: () => {
      let app;
      try {
        app = getAppContext();
      } catch {
        app = undefined; // 'Forge runtime not found.': not inside a Forge invocation
      }
      let ms;
      if (typeof app?.invocationRemainingTimeInMillis === 'function') {
        try {
          ms = app.invocationRemainingTimeInMillis();
        } catch (e) {
          // @forge/api's stand-in when the runtime has no Lambda context (e.g. `forge tunnel`).
          if (!/remaining time is not available/i.test(e?.message ?? '')) throw e;
        }
      }
      if (typeof ms !== 'number' || !Number.isFinite(ms)) ms = inv.startedMs + inv.timeoutMs - Date.now();
      return BigInt(Math.max(0, Math.floor(ms)));
    },
    randomBytes: (len) => randomFill(new Uint8Array(len))
  };

  const log = {
    write: (level, message) => {
      switch (level) {
        case 'debug':
          console.debug(message);
          break;
        case 'warn':
          console.warn(message);
          break;
        case 'error':
          console.error(message);
          break;
        default:
          console.info(message);
      }
    }
  };

  const config = {
    env: (name) => {
      const v = process.env[name];
      return v === undefined ? undefined : v;
    }
  };

  return {
    'aiclearance:forge/kvs': kvsIface,
    'aiclearance:forge/secrets': secrets,
    'aiclearance:forge/jira': jira,
    'aiclearance:forge/fetch': fetchIface,
    'aiclearance:forge/llm': llm,
    'aiclearance:forge/queue': queue,
    'aiclearance:forge/runtime': runtime,
    'aiclearance:forge/log': log,
    'aiclearance:forge/config': config
  };
}
