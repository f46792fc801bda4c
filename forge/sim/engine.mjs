#!/usr/bin/env node
// The Node harness host-sim's `node` engine runs (host-sim/src/runtime/node.rs):
//
//   <node 24> forge/sim/engine.mjs --dist forge/dist
//
// It resolves @forge/kvs, @forge/api and @forge/events to stand-ins that forward every platform
// operation to host-sim (sim/standins, sim/channel.mjs), loads the REAL adapter (<dist>/index.js,
// as built by forge/build.mjs) and serves invocations over the line protocol on stdin/stdout
// (forge/README.md "Simulator protocol"). stdout carries protocol lines only: console.* becomes
// `log.write` calls, harness diagnostics go to stderr. Date.now, crypto.getRandomValues and
// process.env are the invocation's (nowMs, runtime.randomBytes, env), so host-sim's clock and
// seeded RNG are the only sources.

// CPU this process used before the harness's first line ran (Node's boot and these imports).
const BOOT_CPU_MS = ((c) => (c.user + c.system) / 1000)(process.cpuUsage());

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { format } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { installStandins } from './hooks.mjs';
import * as channel from './channel.mjs';
import { SimCrash, call, diag, readLineAsync, sim, writeLine, writeRaw } from './channel.mjs';

function parseArgs(argv) {
  let dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  let adapter = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dist' && argv[i + 1] !== undefined) dist = path.resolve(argv[++i]);
    else if (argv[i] === '--adapter' && argv[i + 1] !== undefined) adapter = path.resolve(argv[++i]);
    else {
      writeLine({ op: 'fatal', message: `unknown argument ${argv[i]} (usage: engine.mjs [--dist <dir>] [--adapter <dir>])` });
      process.exit(1);
    }
  }
  return { dist, adapter };
}

/**
 * What to load: `--adapter <dir>` → <dir>/index.js unbundled (the stand-ins through module hooks);
 * else the simulator bundle build.mjs makes with Forge's webpack configuration: <dist>/sim/index.cjs
 * (or <dist>/index.cjs when --dist names the bundle directory itself).
 */
function entry({ dist, adapter }) {
  if (adapter) return { file: path.join(adapter, 'index.js'), bundled: false };
  const nested = path.join(dist, 'sim', 'index.cjs');
  return { file: fs.existsSync(nested) ? nested : path.join(dist, 'index.cjs'), bundled: true };
}

// ---- the process environment host-sim controls ------------------------------------------------

// stdout is the protocol: nothing else may write it (the fd-1 stream is never even created).
Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => process.stderr });

const LEVELS = { debug: 'debug', trace: 'debug', log: 'info', info: 'info', warn: 'warn', error: 'error' };
for (const [method, level] of Object.entries(LEVELS)) {
  console[method] = (...args) => {
    const message = format(...args);
    if (sim.inv) {
      const r = call('log.write', { level, message });
      if (r.err) diag(`log.write failed: ${JSON.stringify(r.err)}`);
    } else {
      diag(`(${level}, outside an invocation) ${message}`);
    }
  };
}

const realNow = Date.now.bind(Date);
Date.now = () => (sim.inv ? sim.inv.nowMs : realNow());

const webCrypto = globalThis.crypto;
const realGetRandomValues = webCrypto.getRandomValues.bind(webCrypto);
webCrypto.getRandomValues = function getRandomValues(array) {
  if (!sim.inv) return realGetRandomValues(array);
  if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array) {
    throw new TypeError('getRandomValues: an integer typed array is required');
  }
  const len = array.byteLength;
  if (len > 65536) throw new RangeError(`getRandomValues: ${len} bytes is over the 65,536-byte quota`);
  const r = call('runtime.randomBytes', { len });
  if (r.err) throw new Error(`runtime.randomBytes failed: ${JSON.stringify(r.err)}`);
  const bytes = Buffer.from(String(r.ok), 'hex');
  if (bytes.length !== len) throw new Error(`runtime.randomBytes returned ${bytes.length} bytes, not ${len}`);
  new Uint8Array(array.buffer, array.byteOffset, len).set(bytes);
  return array;
};

function setEnv(env) {
  for (const k of Object.keys(process.env)) delete process.env[k];
  for (const [k, v] of Object.entries(env ?? {})) process.env[k] = String(v);
}

// A rejection nobody awaited (e.g. jco task bookkeeping after a trap) must not kill the harness.
process.on('unhandledRejection', (reason) => diag(`unhandled rejection: ${describe(reason)}`));

function describe(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

// ---- Forge-shaped arguments from an `invoke` ---------------------------------------------------

function platformContext(ctx) {
  const c = { installContext: `ari:cloud:jira::site/${ctx.cloudId}` };
  if (ctx.accountId) c.principal = { accountId: ctx.accountId };
  if (typeof ctx.licenseActive === 'boolean') c.license = { isActive: ctx.licenseActive };
  return c;
}

function handlerArgs(msg) {
  const ctx = msg.ctx ?? {};
  switch (msg.kind) {
    case 'resolve': {
      const context = { cloudId: ctx.cloudId, moduleKey: ctx.moduleKey, localId: `${ctx.moduleKey}-sim` };
      if (ctx.accountId) context.accountId = ctx.accountId;
      if (typeof ctx.licenseActive === 'boolean') context.license = { isActive: ctx.licenseActive };
      if (ctx.extension !== null && ctx.extension !== undefined) context.extension = ctx.extension;
      // @forge/resolver's shape: the invoke request, and the platform's context as the second argument.
      return [{ call: { functionKey: msg.functionKey, payload: msg.payload }, context }, platformContext(ctx)];
    }
    case 'productEvent':
      return [msg.event, platformContext(ctx)];
    case 'scheduled':
      return [{ context: { cloudId: ctx.cloudId, moduleKey: ctx.moduleKey }, contextToken: 'sim-context-token' }, platformContext(ctx)];
    case 'queue':
      return [
        { queueName: msg.queueKey, body: msg.body, jobId: `sim-job-${msg.seq}`, eventId: `sim-event-${msg.seq}` },
        platformContext(ctx)
      ];
    default:
      throw new Error(`unknown invocation kind ${msg.kind}`);
  }
}

// The adapter keeps the component's exact JSON texts on the envelope under this symbol
// (src/handlers.js): the outcome carries them verbatim, not a JavaScript re-serialisation.
const RAW_JSON = Symbol.for('aiclearance.forge.rawJson');

/** The handler's return → the `done` outcome, as JSON text. */
function outcomeText(ret) {
  if (ret && typeof ret === 'object') {
    const raw = ret[RAW_JSON] ?? {};
    if (ret._retry === true) return JSON.stringify({ retry: ret.retryOptions?.retryAfter ?? 0 });
    if (ret.ok === true) return `{"ok":${raw.data ?? JSON.stringify(ret.data ?? null)}}`;
    if (ret.ok === false && ret.error) {
      if (raw.details === undefined) return JSON.stringify({ err: ret.error });
      const { details, ...rest } = ret.error;
      void details;
      return `{"err":${JSON.stringify(rest).slice(0, -1)},"details":${raw.details}}}`;
    }
  }
  return JSON.stringify({ trapped: `the handler returned no envelope: ${describe(ret)}` });
}

let seq = 0;

async function invoke(mod, msg) {
  seq += 1;
  msg.seq = seq;
  sim.inv = msg;
  sim.crashed = false;
  sim.calls = 0;
  setEnv(msg.env);
  let outcome;
  try {
    const fn = mod[msg.handler];
    if (typeof fn !== 'function') throw new Error(`${msg.handler} is not an export of the adapter`);
    const ret = await fn(...handlerArgs(msg));
    outcome = sim.crashed ? JSON.stringify({ crashed: true }) : outcomeText(ret);
  } catch (e) {
    outcome = JSON.stringify(sim.crashed || e instanceof SimCrash ? { crashed: true } : { trapped: describe(e) });
  } finally {
    sim.inv = null;
  }
  return outcome;
}

// ---- main ----------------------------------------------------------------------------------------

/** AICLEARANCE_SIM_TIMING=1: one stderr line per invocation (handler, ms, platform calls). */
const TIMING = process.env.AICLEARANCE_SIM_TIMING === '1';

const target = entry(parseArgs(process.argv.slice(2)));
let mod;
let mode;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let importCpuMs = 0;
try {
  if (target.bundled) {
    // The bundle takes the stand-ins' channel from here (bundle.cjs: externals), so it shares this
    // process's one stdin reader and invocation state.
    globalThis[Symbol.for('aiclearance.sim.channel')] = channel;
    mod = createRequire(import.meta.url)(target.file);
  } else {
    installStandins();
    mod = await import(pathToFileURL(target.file).href);
  }
  const c = process.cpuUsage(cpu0);
  importCpuMs = (c.user + c.system) / 1000;
  if (typeof mod.prepare === 'function') mode = await mod.prepare();
} catch (e) {
  writeLine({ op: 'fatal', message: `loading ${target.file}: ${describe(e)}` });
  process.exit(1);
}
const cpu = process.cpuUsage(cpu0);
const round = (ms) => Math.round(ms * 1000) / 1000;
writeLine({
  op: 'ready',
  node: process.version,
  mode: mode ?? mod.mode ?? null,
  loadMs: round(performance.now() - t0),
  // CPU (user + sys, all threads) of this process: boot until the harness ran, loading the
  // adapter bundle, and compiling the core modules (prepare).
  cpu: { bootMs: round(BOOT_CPU_MS), importMs: round(importCpuMs), compileMs: round((cpu.user + cpu.system) / 1000 - importCpuMs) }
});

for (;;) {
  const line = await readLineAsync();
  if (line === null) process.exit(0);
  if (line.trim() === '') continue;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    diag(`ignored a line that is not JSON: ${e.message}`);
    continue;
  }
  if (msg.op !== 'invoke') {
    diag(`ignored op ${JSON.stringify(msg.op)} (expected invoke)`);
    continue;
  }
  const started = TIMING ? performance.now() : 0;
  const outcome = await invoke(mod, msg);
  if (TIMING) diag(`timing ${msg.handler} ${msg.functionKey ?? msg.queueKey ?? msg.ctx?.moduleKey ?? ''}: ${(performance.now() - started).toFixed(2)} ms, ${sim.calls} calls`);
  writeRaw(`{"op":"done","outcome":${outcome}}`);
}
