#!/usr/bin/env node
// Builds the Forge package the way `forge deploy` does, with Atlassian's own bundler code
// (@forge/bundler, the version @forge/cli pins), offline. Run by build.mjs on Node 22/24 (the CLI's
// supported versions); CommonJS because @forge/bundler needs `require.main`.
//
//   node forge/bundle.cjs --out <dir>            the deploy package: exactly what the CLI's default
//                                                bundler (webpack) emits for manifest.yml's handlers
//   node forge/bundle.cjs --sim --out <dir>      the same webpack configuration, with @forge/kvs,
//                                                @forge/api and @forge/events resolved to the
//                                                simulator's stand-ins (forge/sim/standins)
//
// Deploy: @forge/bundler's getNodeBundler(...).bundle({ appDirectory, entryPoints }) — the code path
// the CLI's deploy and tunnel take (ConfigBundler → NodeBundler: webpack, target node18, output
// `[name].cjs`, CommonJS, source maps). Only the runtime wrapper (`__forge__.cjs`, which the CLI
// downloads from Atlassian's CDN at deploy time) is not produced: a stub provider stands in and its
// files are left out. Entry points are the CLI's: getEntryPoints(handlers) → src/<module> beside
// the manifest.

'use strict';
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const root = path.resolve(here, '..');

function parseArgs(argv) {
  const o = { out: null, sim: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') o.out = path.resolve(argv[++i]);
    else if (argv[i] === '--sim') o.sim = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.out) throw new Error('--out <dir> is required');
  return o;
}

const logger = {
  info() {},
  debug() {},
  trace() {},
  warn: (m) => console.warn(`bundle: webpack warning: ${m}`),
  error: (m) => console.error(`bundle: ${m}`)
};

/** The handler modules manifest.yml names (`handler: <module>.<export>`), as the CLI reads them. */
function handlers(manifest) {
  return (manifest.modules?.function ?? []).map((f) => {
    const h = String(f.handler);
    const dot = h.lastIndexOf('.');
    return { key: f.key, module: h.slice(0, dot), method: h.slice(dot + 1) };
  });
}

function copyDir(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

async function deploy(opts, manifest, bundler) {
  const wrapperProvider = {
    // The real provider downloads the runtime wrapper from Atlassian's CDN; offline there is none.
    getNodeRuntimeWrapper: async () => ({ script: '', source: 'offline', version: 'offline' }),
    getNodeRuntimeLoader: async () => undefined
  };
  const configReader = { readConfig: async () => manifest };
  const statsig = { isTypescriptBundlerEnabled: async () => false };
  const nodeBundler = bundler.getNodeBundler(logger, wrapperProvider, configReader, statsig);
  const entryPoints = bundler.getEntryPoints(handlers(manifest));
  const result = await nodeBundler.bundle({ appDirectory: root, entryPoints });
  copyDir(result.outputDir, opts.out);
  fs.rmSync(result.outputDir, { recursive: true, force: true });
  const skipped = [...(result.additionalOutputs?.keys?.() ?? [])];
  return { entryPoints, metadata: result.metadata, runtimeFilesNotProduced: skipped };
}

async function sim(opts, manifest, bundler) {
  // NodeBundler.getConfigs (@forge/bundler out/runtime.js), then the stand-ins.
  const { getCommonWebpackConfig } = require('@forge/bundler/out/config/common');
  const entryPoints = bundler.getEntryPoints(handlers(manifest));
  const config = getCommonWebpackConfig({ appDirectory: root, entryPoints });
  config.target = 'node18';
  config.output.filename = '[name].cjs';
  config.name = 'node-runtime';
  config.module.rules.push({ test: /\.m?js$/, resolve: { fullySpecified: false } });
  config.output.path = opts.out;
  config.resolve.alias = {
    '@forge/kvs$': path.join(here, 'sim/standins/kvs.mjs'),
    '@forge/api$': path.join(here, 'sim/standins/api.mjs'),
    '@forge/events$': path.join(here, 'sim/standins/events.mjs'),
    '@forge/llm$': path.join(here, 'sim/standins/llm.mjs')
  };
  // The stand-ins talk to host-sim through the harness's own channel (one stdin reader): the
  // bundle takes the module the harness loaded from a global instead of a second copy.
  config.externals = { '../channel.mjs': 'var globalThis[Symbol.for("aiclearance.sim.channel")]' };
  fs.rmSync(opts.out, { recursive: true, force: true });
  await new Promise((resolve, reject) => {
    const compiler = bundler.getCompiler(config);
    compiler.run((err, stats) => {
      try {
        bundler.handleWebpackCompilationResult(logger, err, stats);
        compiler.close(() => resolve());
      } catch (e) {
        reject(e);
      }
    });
  });
  return { entryPoints };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  process.chdir(root); // the CLI runs from the app directory; entry points are relative to it
  const YAML = require('yaml');
  const manifest = YAML.parse(fs.readFileSync(path.join(root, 'manifest.yml'), 'utf8'));
  const bundler = require('@forge/bundler');
  const version = require('@forge/bundler/package.json').version;
  const t0 = Date.now();
  const r = opts.sim ? await sim(opts, manifest, bundler) : await deploy(opts, manifest, bundler);
  const files = fs.readdirSync(opts.out).sort();
  console.log(
    `bundle: @forge/bundler ${version} (${opts.sim ? 'sim: stand-ins for @forge/*' : 'deploy'}) ` +
      `${r.entryPoints.map((e) => path.relative(root, e.path)).join(', ')} → ${path.relative(process.cwd(), opts.out) || '.'}: ` +
      `${files.join(', ')} in ${Date.now() - t0} ms`
  );
  if (!opts.sim) {
    fs.writeFileSync(
      path.join(path.dirname(opts.out), 'package-metadata.json'),
      `${JSON.stringify({ bundler: version, ...r, metadata: { ...r.metadata, dependencies: [...(r.metadata?.dependencies ?? [])], sdkImports: [...(r.metadata?.sdkImports ?? [])] } }, null, 2)}\n`
    );
  }
}

main().catch((e) => {
  console.error(`bundle: ${e?.stack ?? e}`);
  process.exit(1);
});
