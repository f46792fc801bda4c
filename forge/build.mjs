#!/usr/bin/env node
// Builds the Forge package directory (manifest.yml `app.package.path: forge/dist`):
//
//   node forge/build.mjs [--component <path>] [--out <dir>] [--install] [--force]
//
//   --component  the Rust component (default target/guest-build/wasm32-wasip2/guest/aiclearance.wasm)
//   --out        the package directory (default forge/dist)
//   --install    also run `npm install --omit=dev` inside it (needed for a real `forge deploy`)
//   --force      transpile even if the component is unchanged
//
// Steps: jco transpiles the component (`--instantiation async --async-mode jspi`, the Forge-facing
// imports async, the four handler exports async) into <out>/component/ — skipped when the
// component's sha256 matches <out>/component/.source-sha256 and the jco options are unchanged;
// the adapter (forge/src/*.js) is copied to <out>/; <out>/package.json lists the runtime
// dependencies. Runs on Node 20 or later (only running the output needs Node 24: JSPI).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function parseArgs(argv) {
  const o = {
    component: path.join(repo, 'target/guest-build/wasm32-wasip2/guest/aiclearance.wasm'),
    out: path.join(here, 'dist'),
    install: false,
    force: false
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) die(`${a} needs a value`);
      return path.resolve(v);
    };
    if (a === '--component') o.component = value();
    else if (a === '--out') o.out = value();
    else if (a === '--install') o.install = true;
    else if (a === '--force') o.force = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node forge/build.mjs [--component <path>] [--out <dir>] [--install] [--force]');
      process.exit(0);
    } else die(`unknown argument ${a}`);
  }
  return o;
}

function die(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

// The WIT package and the functions that await a Forge promise (wit/forge.wit).
const PKG = 'aiclearance:forge';
const VERSION = '0.1.0';
const ASYNC_IMPORTS = {
  kvs: ['get', 'set', 'delete', 'query', 'batch-get', 'transact'],
  secrets: ['get', 'set', 'delete'],
  jira: ['request'],
  fetch: ['request'],
  queue: ['push']
};
const ASYNC_EXPORTS = { handlers: ['resolve', 'on-product-event', 'on-scheduled', 'on-queue-event'] };
const qualify = (table) =>
  Object.entries(table).flatMap(([iface, fns]) => fns.map((f) => `${PKG}/${iface}@${VERSION}#${f}`));

// Runtime dependencies of the package: the versions forge/package.json pins.
const RUNTIME_DEPS = ['@bytecodealliance/preview2-shim', '@forge/api', '@forge/events', '@forge/kvs', 'tslib'];

function jcoArgs() {
  return [
    '--name', 'component',
    '--instantiation', 'async',
    '--async-mode', 'jspi',
    '--async-imports', ...qualify(ASYNC_IMPORTS),
    '--async-exports', ...qualify(ASYNC_EXPORTS),
    '--no-typescript',
    '--quiet'
  ];
}

const sha256File = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

function dirBytes(dir, skip = new Set()) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

function transpile(opts) {
  const componentDir = path.join(opts.out, 'component');
  const shaFile = path.join(componentDir, '.source-sha256');
  const argsFile = path.join(componentDir, '.jco-args.json');
  const jcoPkg = path.join(here, 'node_modules/@bytecodealliance/jco/package.json');
  if (!fs.existsSync(jcoPkg)) die(`jco is not installed: run \`npm ci\` in ${path.relative(process.cwd(), here) || '.'}`);
  const jcoVersion = readJson(jcoPkg).version;
  const args = jcoArgs();
  const fingerprint = JSON.stringify({ jco: jcoVersion, args });

  if (!fs.existsSync(opts.component)) die(`no component at ${opts.component} (build the guest first)`);
  const sha = sha256File(opts.component);
  const upToDate =
    !opts.force &&
    fs.existsSync(path.join(componentDir, 'component.js')) &&
    fs.existsSync(shaFile) &&
    fs.readFileSync(shaFile, 'utf8').trim() === sha &&
    fs.existsSync(argsFile) &&
    fs.readFileSync(argsFile, 'utf8') === fingerprint;
  if (upToDate) {
    console.log(`build: component unchanged (sha256 ${sha.slice(0, 12)}…), transpile skipped`);
    return;
  }

  fs.rmSync(componentDir, { recursive: true, force: true });
  fs.mkdirSync(componentDir, { recursive: true });
  const jco = path.join(here, 'node_modules/@bytecodealliance/jco', readJson(jcoPkg).bin.jco);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [jco, 'transpile', opts.component, '-o', componentDir, ...args], {
    stdio: ['ignore', 'inherit', 'inherit']
  });
  if (r.status !== 0) die(`jco transpile failed (exit ${r.status ?? r.signal})`);
  // TypeScript declarations are not needed at run time (jco 1.35 writes them despite --no-typescript).
  fs.rmSync(path.join(componentDir, 'interfaces'), { recursive: true, force: true });
  for (const f of fs.readdirSync(componentDir)) if (f.endsWith('.d.ts')) fs.rmSync(path.join(componentDir, f));
  fs.writeFileSync(shaFile, `${sha}\n`);
  fs.writeFileSync(argsFile, fingerprint);
  const files = fs.readdirSync(componentDir).filter((f) => !f.startsWith('.'));
  console.log(
    `build: transpiled ${path.relative(repo, opts.component)} (sha256 ${sha.slice(0, 12)}…) with jco ${jcoVersion} ` +
      `in ${Date.now() - t0} ms → ${files.join(', ')}`
  );
}

function copyAdapter(opts) {
  const src = path.join(here, 'src');
  const copied = [];
  const keep = new Set(fs.readdirSync(src).filter((f) => f.endsWith('.js')));
  for (const f of keep) {
    fs.copyFileSync(path.join(src, f), path.join(opts.out, f));
    copied.push(f);
  }
  // Adapter files removed from src/ must not linger in the package.
  for (const f of fs.readdirSync(opts.out)) {
    if (f.endsWith('.js') && !keep.has(f)) fs.rmSync(path.join(opts.out, f));
  }
  console.log(`build: adapter ${copied.sort().join(', ')}`);
}

function writePackageJson(opts) {
  const pkg = readJson(path.join(here, 'package.json'));
  const deps = {};
  for (const name of RUNTIME_DEPS) {
    const v = pkg.dependencies?.[name];
    if (!v) die(`forge/package.json does not pin runtime dependency ${name}`);
    deps[name] = v;
  }
  const out = {
    name: 'aiclearance-forge-package',
    version: pkg.version,
    private: true,
    description: 'Built by forge/build.mjs: the Forge adapter and the jco-transpiled AI Clearance component (runs on nodejs24.x: JSPI). Do not edit.',
    type: 'module',
    main: 'index.js',
    dependencies: deps
  };
  const file = path.join(opts.out, 'package.json');
  const text = `${JSON.stringify(out, null, 2)}\n`;
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
}

function install(opts) {
  console.log('build: npm install --omit=dev in the package directory');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--omit=dev', '--no-audit', '--no-fund'], { cwd: opts.out, stdio: 'inherit' });
  if (r.status !== 0) die(`npm install failed (exit ${r.status ?? r.signal})`);
}

const opts = parseArgs(process.argv.slice(2));
fs.mkdirSync(opts.out, { recursive: true });
transpile(opts);
copyAdapter(opts);
writePackageJson(opts);
if (opts.install) install(opts);
const bytes = dirBytes(opts.out, new Set(['node_modules', 'package-lock.json']));
console.log(`build: ${path.relative(process.cwd(), opts.out) || '.'} is ${bytes} bytes (without node_modules)`);
