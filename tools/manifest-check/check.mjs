#!/usr/bin/env node
// manifest-check: validates the AI Clearance Forge manifest with Atlassian's own validator
// (@forge/manifest) and with this project's rules. Usage:
//   node check.mjs [path/to/manifest.yml]      (default: ../../manifest.yml from this file)
// Prints one line per check and ends with "manifest-check: N passed, M failed"; exits 1 on failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { createRequire } from 'node:module';
import forgeManifest from '@forge/manifest';

const {
  ProcessorBuilder,
  ValidationTypes,
  validateTriggerScopes,
  getHandlersDirectory,
  HANDLER_EXTENSIONS,
  errors: forgeText
} = forgeManifest;

const here = path.dirname(fileURLToPath(import.meta.url));
const manifestPath = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'manifest.yml'));
const manifestDir = path.dirname(manifestPath);
const manifestFile = path.basename(manifestPath);

// The app's rules (spec §13, FORGE-FACTS "Scheduled triggers", "Invocation", "Manifest").
// Every Node runtime Forge offers runs the package (JSPI from Node 24.20, binaryen asyncify below:
// forge/src/jspi.js); nodejs24.x is the one picked from measurements (BENCHMARKS.md "Forge package").
const REQUIRED_RUNTIME = 'nodejs24.x';
const SUPPORTED_RUNTIMES = ['nodejs20.x', 'nodejs22.x', 'nodejs24.x'];
const MAX_SCHEDULED_TRIGGERS = 5;
const EXPECTED_SCOPES = [
  'manage:jira-configuration',
  'read:jira-user',
  'read:jira-work',
  'write:jira-work',
  'read:servicedesk-request',
  'write:servicedesk-request',
  'storage:app'
];
const PORTAL_PANEL = 'jiraServiceManagement:portalRequestCreatePropertyPanel';
const JSM_UNLICENSED_TYPES = ['customer', 'unlicensed', 'anonymous'];
const REQUIRED_UNLICENSED = ['customer', 'unlicensed'];
const DEFAULT_TIMEOUT_SECONDS = 55;

// The library resolves handler files and resource folders against the manifest's directory,
// and `app.package.extraFiles` globs against the working directory: run from the manifest's
// directory, as the Forge CLI does.
process.chdir(manifestDir);

const results = [];
function record(name, ok, detail = '', notes = []) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}${detail ? ` — ${detail}` : ''}`);
  for (const note of notes) console.log(`        ${note}`);
}
async function check(name, fn) {
  try {
    const { ok, detail, notes } = await fn();
    record(name, ok, detail, notes);
  } catch (e) {
    record(name, false, `threw: ${e?.message ?? e}`);
  }
}
const fmt = (e) => `${e.level ?? 'error'}${e.line ? ` line ${e.line}` : ''}: ${e.message}`;
const eventName = (e) => (typeof e === 'string' ? e : e?.eventType);

console.log(`manifest-check: ${manifestPath} (@forge/manifest ${readVersion()})`);
console.log('manifest-check: expects `npm install --prefix forge` (for forge lint) and static/ui built (FULL validation)');

// 1. The file parses as YAML (our own parse, used by the rule checks below).
let doc = null;
await check('manifest parses as YAML', () => {
  const text = fs.readFileSync(manifestPath, 'utf8');
  const parsed = YAML.parseDocument(text);
  if (parsed.errors.length) return { ok: false, detail: parsed.errors.map((e) => e.message.split('\n')[0]).join('; ') };
  doc = parsed.toJS();
  return { ok: doc !== null && typeof doc === 'object', detail: manifestFile };
});
const modules = () => doc?.modules ?? {};

// 2. @forge/manifest BASIC validation (the reduced schema the CLI checks first).
await check('@forge/manifest BASIC validation', async () => {
  const r = await ProcessorBuilder.instance().withValidation(ValidationTypes.BASIC).build().process(manifestFile);
  const problems = r.errors ?? [];
  return { ok: r.success && problems.length === 0, detail: `${problems.length} problem(s)`, notes: problems.map(fmt) };
});

// 3. Full JSON-schema validation. @forge/manifest has no schema-only ValidationTypes member;
//    PRODUCT_TRIGGER runs file + YAML + the full manifest schema + product-trigger scopes.
await check('@forge/manifest full schema + product-trigger scopes (PRODUCT_TRIGGER)', async () => {
  const r = await ProcessorBuilder.instance().withValidation(ValidationTypes.PRODUCT_TRIGGER).build().process(manifestFile);
  const problems = r.errors ?? [];
  return { ok: r.success && problems.length === 0, detail: `${problems.length} problem(s)`, notes: problems.map(fmt) };
});

// 4. FULL validation. It also requires every handler file and resource folder to exist: the
//    handler files are the Forge package `node forge/build.mjs` writes (<app.package.path>/index.js)
//    and the Custom UI resource is static/ui/dist (host-sim's build script builds it). Nothing is
//    tolerated: a missing file FAILS the check (build first).
await check('@forge/manifest FULL validation (handler files and the built Custom UI)', async () => {
  const r = await ProcessorBuilder.instance().withValidation(ValidationTypes.FULL).build().process(manifestFile);
  const missingHandlers = new Set(missingHandlerMessages());
  const all = r.errors ?? [];
  const notes = all.map((e) => `${missingHandlers.has(e.message) ? 'missing handler file' : 'problem'} ${fmt(e)}`);
  if (missingHandlers.size) {
    notes.push(`handler files are looked up in ${getHandlersDirectory(doc ?? {})}/ beside the manifest`);
  }
  return { ok: all.length === 0, detail: `${all.length} problem(s)`, notes };
});

// 4b. Every Custom UI resource is a built bundle Forge can serve: an index.html whose scripts are
//     external and relative (Forge's CSP refuses inline script; the CDN serves a sub path).
for (const r of doc?.resources ?? []) {
  await check(`resource ${r.key}: built Custom UI at ${r.path}`, async () => {
    const index = path.resolve(manifestDir, r.path, 'index.html');
    if (!fs.existsSync(index)) return { ok: false, detail: `${index} is missing (cargo build builds static/ui)` };
    const html = fs.readFileSync(index, 'utf8');
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)].length;
    const absolute = [...html.matchAll(/(?:src|href)="\//g)].length;
    return { ok: inline === 0 && absolute === 0, detail: `${inline} inline script(s), ${absolute} absolute asset URL(s)` };
  });
}

// 4c. covers: CL-901 — approvals are served through the global page's Approvals tab: the app
//     declares no standalone approval-queue module, and every UI module renders the one bundle.
await check('UI modules: no standalone approval queue; every UI module uses the shared resource', async () => {
  const ui = Object.entries(modules()).filter(([type]) => type.includes(':')).flatMap(([type, list]) => (list ?? []).map((m) => ({ type, ...m })));
  const queue = ui.filter((m) => /queue|approval-?list/i.test(`${m.key} ${m.title ?? ''}`));
  const other = ui.filter((m) => m.resource !== 'main');
  return {
    ok: queue.length === 0 && other.length === 0 && ui.length > 0,
    detail: `${ui.length} UI module(s): ${ui.map((m) => `${m.type} ${m.key}`).join(', ')}`,
    notes: [...queue.map((m) => `standalone queue module ${m.key}`), ...other.map((m) => `${m.key} renders resource ${m.resource}`)]
  };
});

// 5. Every product trigger event: validateTriggerScopes(event, scopes) finds no missing scope.
{
  const scopes = doc?.permissions?.scopes ?? [];
  const triggers = modules().trigger ?? [];
  if (triggers.length === 0) record('product trigger scopes', false, 'no trigger module declared');
  for (const t of triggers) {
    for (const ev of t.events ?? []) {
      const name = eventName(ev);
      await check(`trigger ${t.key}: scopes for ${name}`, async () => {
        const v = await validateTriggerScopes(name, scopes);
        if (!v.requiredScopes) return { ok: false, detail: 'event unknown to @forge/manifest scope mapping' };
        return {
          ok: v.valid,
          detail: v.valid
            ? `needs ${v.requiredScopes.current.join(', ')}: declared`
            : `missing ${v.missingScopes.join(', ')}`
        };
      });
    }
  }
}

// 6. Forge allows at most 5 scheduled triggers per app.
await check(`at most ${MAX_SCHEDULED_TRIGGERS} scheduled triggers`, () => {
  const st = modules().scheduledTrigger ?? [];
  return {
    ok: st.length <= MAX_SCHEDULED_TRIGGERS,
    detail: `${st.length}: ${st.map((s) => `${s.key} (${s.interval})`).join(', ')}`
  };
});

// 7. Runtime: the one the measurements picked, and one the package runs on.
await check(`runtime is ${REQUIRED_RUNTIME}`, () => {
  const name = doc?.app?.runtime?.name;
  return { ok: name === REQUIRED_RUNTIME && SUPPORTED_RUNTIMES.includes(name), detail: `app.runtime.name = ${name}` };
});

// 7b. Packaging: Forge's default bundler (generally available). `manual@2026` and `typescript` are
//     Early Access bundlers, not usable in production.
await check('app.package: the default bundler (no Early Access bundler, no package path)', () => {
  const pkg = doc?.app?.package ?? {};
  const bad = [];
  if (pkg.bundler !== undefined) bad.push(`bundler ${pkg.bundler}`);
  if (pkg.path !== undefined) bad.push(`path ${pkg.path}`);
  return { ok: bad.length === 0, detail: bad.length ? bad.join(', ') : `handlers in ${getHandlersDirectory(doc ?? {})}/` };
});

// 7c. `forge lint`, offline. The CLI command itself needs credentials (it asks Atlassian for the
//     user behind FORGE_EMAIL / FORGE_API_TOKEN before linting) and its server-side linter is a
//     GraphQL call; everything else it runs is @forge/cli's LintService with the client-side
//     linters. That is what runs here: the same class, file list (./src less .gitignore'd files),
//     manifest reader and linters, from the @forge/cli that forge/package.json pins, with the
//     dynamic config it fetches (deprecated runtimes) as the CLI's own offline default, [].
//     Nothing tolerated: any error, warning or approval fails the check.
await check('forge lint (@forge/cli LintService, client-side linters, offline)', async () => {
  const forgeRequire = createRequire(path.resolve(manifestDir, 'forge', 'package.json'));
  let cliDir;
  try {
    cliDir = path.dirname(forgeRequire.resolve('@forge/cli/package.json'));
  } catch {
    return { ok: false, detail: '@forge/cli is not installed in forge/ (npm install --prefix forge)' };
  }
  const cliRequire = createRequire(path.join(cliDir, 'package.json'));
  const { LintService } = cliRequire('./out/service/lint-service.js');
  const shared = cliRequire('@forge/cli-shared');
  const { problemCount } = cliRequire('@forge/lint');
  const cliVersion = cliRequire('./package.json').version;
  const reader = new shared.FileSystemReader();
  const configFile = new shared.ConfigFile(reader, new shared.FileSystemWriter());
  const statsig = { getDeprecatedRuntimes: async () => [] };
  const offline = { query: () => Promise.reject(new Error('offline')), mutate: () => Promise.reject(new Error('offline')) };
  const notes = [];
  const logger = { info: (m) => notes.push(String(m)), warn: (m) => notes.push(String(m)), debug() {}, trace() {}, error: (m) => notes.push(String(m)) };
  // The permission linter downloads the product REST specs; offline it reads local files instead
  // (its USE_LOCAL_SWAGGER switch). Jira's platform spec is the one in shared/reference (the app's
  // requests are all Jira platform or JSM routes built at run time, which no linter resolves);
  // the JSM, Jira Software, Confluence and Bitbucket specs are not available here: empty.
  const jiraSpec = [path.resolve(manifestDir, '..', 'shared', 'reference', 'jira-platform-swagger-v3.json')].find((f) => fs.existsSync(f));
  const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-check-')), 'empty-spec.json');
  fs.writeFileSync(empty, '{"paths":{}}');
  Object.assign(process.env, {
    USE_LOCAL_SWAGGER: 'true',
    LOCAL_JIRA_SWAGGER: jiraSpec ?? empty,
    LOCAL_JSM_SWAGGER: empty,
    LOCAL_JSW_SWAGGER: empty,
    LOCAL_CONF_SWAGGER: empty,
    LOCAL_CONF_V2_SWAGGER: empty,
    LOCAL_BB_SWAGGER: empty
  });
  if (!jiraSpec) notes.push('no shared/reference/jira-platform-swagger-v3.json beside the repository: Jira routes checked against an empty spec');
  const service = new LintService(configFile, reader, statsig, offline);
  const { lintResults } = await service.run('development', { fix: false, linterMode: 'client-side' }, logger);
  const counts = problemCount(lintResults);
  const problems = [];
  for (const r of lintResults) {
    for (const kind of ['errors', 'warnings', 'approvals']) {
      for (const p of r[kind]) problems.push(`${kind.slice(0, -1)} ${path.relative(manifestDir, path.resolve(r.file))}:${p.line}:${p.column} ${p.message}`);
    }
  }
  const total = counts.errors + counts.warnings + counts.approvals;
  return {
    ok: total === 0,
    detail: `@forge/cli ${cliVersion}: ${lintResults.length} file(s) linted, ${counts.errors} error(s), ${counts.warnings} warning(s), ${counts.approvals} approval(s)`,
    notes: problems
  };
});

// 8. Exactly the seven scopes of spec §13, no more, no fewer, no duplicates.
await check('permissions.scopes are exactly the 7 app scopes', () => {
  const scopes = doc?.permissions?.scopes;
  if (!Array.isArray(scopes)) return { ok: false, detail: 'permissions.scopes is not a list' };
  const extra = scopes.filter((s) => !EXPECTED_SCOPES.includes(s));
  const missing = EXPECTED_SCOPES.filter((s) => !scopes.includes(s));
  const dupes = scopes.filter((s, i) => scopes.indexOf(s) !== i);
  const ok = extra.length === 0 && missing.length === 0 && dupes.length === 0;
  const parts = [];
  if (missing.length) parts.push(`missing ${missing.join(', ')}`);
  if (extra.length) parts.push(`extra ${extra.join(', ')}`);
  if (dupes.length) parts.push(`duplicate ${dupes.join(', ')}`);
  return { ok, detail: ok ? scopes.join(', ') : parts.join('; ') };
});

// 9. Timeouts above the 55 s default are only for functions used solely by scheduled triggers
//    and queue consumers; product-trigger and UI-resolver functions stay within 25 s.
await check('long timeouts only on scheduled/consumer-only functions', () => {
  const m = modules();
  const users = new Map(); // function key -> Set of module types that use it
  const use = (fnKey, type) => {
    if (!fnKey) return;
    if (!users.has(fnKey)) users.set(fnKey, new Set());
    users.get(fnKey).add(type);
  };
  for (const [type, list] of Object.entries(m)) {
    if (type === 'function' || !Array.isArray(list)) continue;
    for (const mod of list) {
      use(typeof mod.function === 'string' ? mod.function : undefined, type);
      use(mod.resolver?.function, type);
    }
  }
  const bad = [];
  for (const f of m.function ?? []) {
    const types = [...(users.get(f.key) ?? [])];
    if (types.length === 0) { bad.push(`${f.key} is not used by any module`); continue; }
    const longOnly = types.every((ty) => ty === 'scheduledTrigger' || ty === 'consumer');
    const t = f.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (!longOnly && f.timeoutSeconds !== undefined && f.timeoutSeconds > 25) {
      bad.push(`${f.key} (${f.timeoutSeconds}s) serves ${types.join(', ')}: those invocations are limited to 25 s`);
    } else if (!longOnly && t > DEFAULT_TIMEOUT_SECONDS) {
      bad.push(`${f.key} (${t}s) is not used solely by scheduled triggers / consumers`);
    }
  }
  return { ok: bad.length === 0, detail: bad.length ? `${bad.length} problem(s)` : `${(m.function ?? []).length} functions`, notes: bad };
});

// 10. The portal create panel admits JSM customers and unlicensed users (spec §12, CL-014).
await check(`${PORTAL_PANEL} allows customer + unlicensed access`, () => {
  const panels = modules()[PORTAL_PANEL] ?? [];
  if (panels.length === 0) return { ok: false, detail: 'module not declared' };
  const bad = [];
  for (const p of panels) {
    const ua = p.unlicensedAccess;
    if (!Array.isArray(ua)) { bad.push(`${p.key}: no unlicensedAccess list`); continue; }
    const unknown = ua.filter((v) => !JSM_UNLICENSED_TYPES.includes(v));
    const missing = REQUIRED_UNLICENSED.filter((v) => !ua.includes(v));
    if (unknown.length) bad.push(`${p.key}: unknown type(s) ${unknown.join(', ')}`);
    if (missing.length) bad.push(`${p.key}: missing ${missing.join(', ')}`);
  }
  return {
    ok: bad.length === 0,
    detail: bad.length ? bad.join('; ') : panels.map((p) => `${p.key}: [${p.unlicensedAccess.join(', ')}]`).join('; ')
  };
});

// 11. Backend egress is HTTPS only (CL-203).
await check('backend egress is https only', () => {
  const backend = doc?.permissions?.external?.fetch?.backend ?? [];
  const addrs = backend.map((b) => (typeof b === 'string' ? b : b?.address ?? `remote:${b?.remote}`));
  const bad = addrs.filter((a) => !/^https:\/\//.test(a));
  return { ok: addrs.length > 0 && bad.length === 0, detail: bad.length ? `not https: ${bad.join(', ')}` : addrs.join(', ') };
});

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`manifest-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// The FULL-validation message for each handler file that does not exist, built with
// @forge/manifest's own message function and its handler-directory rule.
function missingHandlerMessages() {
  if (!doc) return [];
  const out = [];
  const handlersDir = getHandlersDirectory(doc);
  for (const f of modules().function ?? []) {
    const handler = String(f.handler ?? '');
    const dot = handler.lastIndexOf('.');
    if (dot <= 0) continue;
    const fileName = handler.slice(0, dot);
    const exists = HANDLER_EXTENSIONS.some((ext) => fs.existsSync(path.resolve(manifestDir, handlersDir, `${fileName}.${ext}`)));
    if (!exists) out.push(forgeText.modules.function.handler.fileNotExists(handler, fileName));
  }
  return out;
}

function readVersion() {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(here, 'node_modules', '@forge', 'manifest', 'package.json'), 'utf8'));
    return pkg.version;
  } catch {
    return '?';
  }
}
