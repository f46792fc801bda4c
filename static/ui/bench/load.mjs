// The Custom UI's weight and its time to first content, in headless Chromium against
// `host-sim serve` (CONSOLE_URL). Run by `cargo bench --bench ui`; prints one JSON line.
//   bundle: every file of static/ui/dist, raw and gzip -9 (what Forge's CDN serves compressed)
//   load:   page.goto → the first rendered row, per screen, N fresh pages (cold bridge + React)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const URL = process.env.CONSOLE_URL;
const RUNS = Number(process.env.RUNS || 15);
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)]);
}
const bundle = files(dist).map((f) => {
  const b = fs.readFileSync(f);
  return { file: path.relative(dist, f), raw: b.length, gzip: zlib.gzipSync(b, { level: 9 }).length };
});
// What a first view loads: index.html, the entry script and the stylesheet (the bridge's
// iframe-resizer chunk and every admin section load on demand).
const first = bundle.filter((b) => b.file === 'index.html' || /^assets\/index-.*\.(js|css)$/.test(b.file));
const sum = (list, k) => list.reduce((n, b) => n + b[k], 0);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync']
});
const JONAS = '5ad8a1033b4801af4cd6c510';
const PRIYA = '5dcd5fe52bbec7f9dfdb4be0';
const screens = [
  { name: 'global page → first My Access row', hash: `view=global&as=${JONAS}`, module: 'ai-clearance', first: '[data-testid="my-access-row"]' },
  { name: 'portal panel → tool select', hash: `view=portal&as=${JONAS}`, module: 'ai-clearance-panel', first: '[data-testid="tool-select"]' },
  { name: 'issue panel → approval timeline', hash: `view=issue&issue=AIR-3&as=${PRIYA}`, module: 'ai-clearance-issue-panel', first: '[data-testid="approval-timeline"]' },
  { name: 'admin page → readiness cards', hash: `view=admin&as=5ad71d4ed1503a19896557c0`, module: 'ai-clearance-admin', first: '[data-testid^="card-status-"]' }
];
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const load = [];
for (const s of screens) {
  const ms = [];
  const app = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const ctx = await browser.newContext(); // cold: no cache between runs
    const page = await ctx.newPage();
    const t0 = performance.now();
    await page.goto(`${URL}/#${s.hash}`);
    // The console (Jira's part) is up once its frame for the module exists.
    await page.locator(`main iframe[data-module="${s.module}"]`).waitFor({ state: 'attached' });
    const shell = performance.now() - t0;
    await page.frameLocator(`main iframe[data-module="${s.module}"]`).locator(s.first).first().waitFor();
    const t = performance.now() - t0;
    if (i > 0) { // the first run warms Chromium itself
      ms.push(t);
      app.push(t - shell);
    }
    await ctx.close();
  }
  load.push({ screen: s.name, runs: RUNS, p50_ms: +pct(ms, 0.5).toFixed(1), p90_ms: +pct(ms, 0.9).toFixed(1), min_ms: +Math.min(...ms).toFixed(1), app_p50_ms: +pct(app, 0.5).toFixed(1) });
}
await browser.close();
console.log(JSON.stringify({
  bundle, firstView: { raw: sum(first, 'raw'), gzip: sum(first, 'gzip') }, total: { raw: sum(bundle, 'raw'), gzip: sum(bundle, 'gzip') }, load
}));
