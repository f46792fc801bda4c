// What every browser test file needs to drive `host-sim serve`: the console's URL and API, a
// Chromium launched the way this machine allows (Debian's package, no background networking),
// and the console's frames. Each *.test.mjs file imports these instead of repeating them.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const URL = process.env.CONSOLE_URL;
export const SHOTS = process.env.SCREENSHOT_DIR || path.resolve('target/ui-screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!URL) throw new Error('CONSOLE_URL is not set: start `host-sim serve --paused` and point CONSOLE_URL at it');

/** The fixture site's people. */
export const ADMIN = '5ad71d4ed1503a19896557c0'; // Ada Okafor, Jira admin
export const PRIYA = '5dcd5fe52bbec7f9dfdb4be0'; // approver (ai-approvers), not an admin
export const JONAS = '5ad8a1033b4801af4cd6c510'; // requester (engineering)
export const LAURA = '712020:d7e80c80-d3f2-5fa3-8081-794445b993cf'; // JSM customer

/** Headless Chromium and one browser context (1360×1000) for a test file. */
export async function launch() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  return { browser, context };
}

/** The console's own API, as the console page calls it (resolver calls get the envelope). */
export async function consoleApi(p, body) {
  const r = await fetch(`${URL}/__console/api/${p}`, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  });
  return r.json();
}
export const invoke = (functionKey, payload, accountId, moduleKey) =>
  consoleApi('invoke', { moduleKey, accountId, functionKey, payload });
export const tick = (advance) => consoleApi('tick', { advance });

/** Opens the console on a view as a person; `page.errors` collects page errors of any frame. */
export async function open(context, hash, as) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${URL}/#${hash}&as=${encodeURIComponent(as)}`);
  return page;
}
/** A module's frame in the console's main area. */
export const frame = (page, moduleKey) => page.frameLocator(`main iframe[data-module="${moduleKey}"]`);
export const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** A module's frame as a playwright Frame (for evaluate), by module key; `modal` picks the dialog's. */
export async function frameOf(page, moduleKey, { modal = false } = {}) {
  const sel = modal ? '[data-testid="console-modal"] iframe' : `main iframe[data-module="${moduleKey}"]`;
  const handle = await page.locator(sel).first().elementHandle();
  return handle.contentFrame();
}

/** Jira's theme in the console: the header's switch, as a person flips it. Waits until the
 *  given frames (playwright Frames) show the mode on their <html>. */
export async function setTheme(page, mode, frames = []) {
  const sw = page.getByTestId('theme-switch');
  if ((await sw.isChecked()) !== (mode === 'dark')) await sw.click();
  for (const f of frames) {
    await f.waitForFunction((m) => document.documentElement.getAttribute('data-color-mode') === m, mode);
  }
}

const AXE_SOURCE = fs.readFileSync(path.resolve('node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * axe-core (WCAG 2.x A and AA rules) in one frame. Returns the critical and serious violations,
 * each as `rule (impact): target …`, so an assertion prints what failed. The script goes in
 * through the DevTools protocol (evaluate), not a <script> tag: the frame's CSP stays as Forge's.
 */
export async function axeViolations(frame, { exclude = [] } = {}) {
  await frame.evaluate(`${AXE_SOURCE};0`);
  const violations = await frame.evaluate(async (ex) => {
    const r = await globalThis.axe.run({ exclude: ex.map((s) => [s]) }, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}${n.any[0]?.message ? ` — ${n.any[0].message}` : ''}`)
    }));
  }, exclude);
  return violations
    .filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 5).join(' | ')}${v.nodes.length > 5 ? ` … ${v.nodes.length} nodes` : ''}`);
}

/** Asserts 0 critical and 0 serious axe violations in a frame; `where` names the screen. */
export async function assertAccessible(frame, where, opts) {
  const bad = await axeViolations(frame, opts);
  if (bad.length) throw new Error(`axe: ${bad.length} critical/serious violation(s) on ${where}:\n  ${bad.join('\n  ')}`);
}
