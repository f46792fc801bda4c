// The harness's side of the host-sim protocol (forge/README.md "Simulator protocol"): newline-
// delimited JSON, host-sim writes the child's stdin, the child writes stdout. Everything here is
// synchronous: a platform call is one line out and one line back, read with a blocking
// fs.readSync, so the stand-ins can answer before returning (already-resolved) promises.

import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** The fault plan killed the function at a host call (reply `{"crash":true}`). */
export class SimCrash extends Error {
  constructor(message = 'the simulator crashed the function at this host call') {
    super(message);
    this.name = 'SimCrash';
  }
}

/** The invocation being served (the `invoke` message), and whether it has crashed. */
export const sim = { inv: null, crashed: false, calls: 0 };

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(sleeper, 0, 0, ms);

// stdin may be a non-blocking pipe (a Node parent makes it so): then every read that comes too
// early fails with EAGAIN and has to be retried. A fresh open file description of the same pipe
// (/proc/self/fd/0, Linux) blocks instead. Anything else — or no /proc — keeps fd 0.
const IN = (() => {
  try {
    if (!fs.fstatSync(0).isFIFO()) return 0;
    return fs.openSync('/proc/self/fd/0', 'r');
  } catch {
    return 0;
  }
})();

/** Harness diagnostics: stderr only (stdout is the protocol). */
export function diag(message) {
  writeAll(2, `[forge-sim] ${message}\n`);
}

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        sleep(0.02);
        continue;
      }
      throw e;
    }
  }
}

/** Writes one protocol line to stdout. */
export function writeLine(obj) {
  writeAll(1, `${JSON.stringify(obj)}\n`);
}

/** Writes one protocol line already serialised (must be one line of JSON). */
export function writeRaw(json) {
  if (/[\r\n]/.test(json)) json = JSON.stringify(JSON.parse(json)); // never split a protocol line
  writeAll(1, `${json}\n`);
}

const chunk = Buffer.alloc(1 << 16);
const decoder = new StringDecoder('utf8');
let pending = '';
let eof = false;

/** The next complete line from what was read, or undefined (null at end of input). */
function takeLine() {
  const nl = pending.indexOf('\n');
  if (nl >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    return line;
  }
  if (!eof) return undefined;
  if (pending === '') return null;
  const line = pending;
  pending = '';
  return line;
}

function feed(n) {
  if (n === 0) {
    eof = true;
    pending += decoder.end();
  } else {
    pending += decoder.write(chunk.subarray(0, n));
  }
}

/** Reads one protocol line from stdin, blocking the thread (inside an invocation); null at EOF. */
export function readLine() {
  for (;;) {
    const line = takeLine();
    if (line !== undefined) return line;
    let n;
    try {
      n = fs.readSync(IN, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') {
        sleep(0.02);
        continue;
      }
      if (e.code !== 'EOF') throw e;
      n = 0;
    }
    feed(n);
  }
}

/**
 * Reads one protocol line without blocking the event loop (between invocations); null at EOF.
 * jco's generated code leaves timers behind after every export call (a deadlock check and a
 * 10 ms scheduler tick) that hold the finished instance; they must get to run, or every instance
 * — its whole linear memory — stays alive while host-sim keeps the child busy.
 */
export async function readLineAsync() {
  await new Promise((resolve) => setImmediate(resolve)); // one loop turn: due timers run
  for (;;) {
    const line = takeLine();
    if (line !== undefined) return line;
    let n;
    try {
      n = await new Promise((resolve, reject) => fs.read(IN, chunk, 0, chunk.length, null, (e, k) => (e ? reject(e) : resolve(k))));
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      if (e.code !== 'EOF') throw e;
      n = 0;
    }
    feed(n);
  }
}

/** The default transport: one line to host-sim, one line back. */
function stdioExchange(request) {
  writeLine(request);
  const line = readLine();
  if (line === null) {
    diag(`host-sim closed the protocol during ${request.fn}`);
    process.exit(1);
  }
  return JSON.parse(line);
}

let transport = stdioExchange;

/** Replaces the exchange (sim/roundtrip.mjs answers calls in-process); null restores stdio. */
export function setTransport(fn) {
  transport = fn ?? stdioExchange;
}

/**
 * One platform call: `{"op":"call","fn","args"}` out, `{"ok"}` | `{"err":{tag,val}}` |
 * `{"crash":true}` back. Returns `{ ok }` or `{ err }`; throws SimCrash on a crash and, without
 * asking host-sim, for every later call of the same invocation.
 */
export function call(fn, args) {
  if (sim.crashed) throw new SimCrash(`${fn} after the simulated crash`);
  if (!sim.inv) throw new Error(`platform call ${fn} outside an invocation`);
  sim.calls += 1;
  const reply = transport({ op: 'call', fn, args });
  if (reply.crash) {
    sim.crashed = true;
    throw new SimCrash(`crashed at ${fn}`);
  }
  if (reply.err !== undefined) return { err: reply.err };
  return { ok: reply.ok };
}

/** The `val` of an err reply as text (host-sim sends strings; rate-limited sends a number). */
export const errText = (err) => (err.val === undefined || err.val === null ? '' : String(err.val));
