// console-site: scenario
// Jira's dark theme and accessibility on the default site (issue 33): the app calls
// view.theme.enable(), the console's "Dark theme" switch re-themes every frame in place (as Jira
// does, through html[data-color-mode] and the design tokens), and every screen visited here has
// no critical or serious axe-core violation in light or in dark. Dark screenshots land in
// target/ui-screenshots/ with a -dark suffix.
//
// Run alone: host-sim serve --paused --fresh --addr 127.0.0.1:8802;
// CONSOLE_URL=http://127.0.0.1:8802 node --test tests/theme-a11y.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN, JONAS, PRIYA, assertAccessible, frame, frameOf, launch, open as openIn, setTheme, shot } from './support/console.mjs';

const PAGE = 'ai-clearance';
const PANEL = 'ai-clearance-panel';
const ISSUE_PANEL = 'ai-clearance-issue-panel';
const ADMIN_PAGE = 'ai-clearance-admin';

let browser;
let context;

before(async () => {
  ({ browser, context } = await launch());
});
after(async () => {
  await browser?.close();
});

const open = (hash, as) => openIn(context, hash, as);

/** Relative luminance of a computed CSS colour (rgb/rgba), 0 (black) … 1 (white). */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The page's background and text colour as the frame paints them. */
const colours = (f) => f.evaluate(() => {
  const s = getComputedStyle(document.documentElement);
  return { background: s.backgroundColor, text: s.color };
});

/** Axe in light and in dark on the frame as it is now; a -dark screenshot of the dark one. */
async function bothThemes(page, f, name, opts) {
  await setTheme(page, 'light', [f]);
  await assertAccessible(f, `${name} (light)`, opts);
  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, `${name} (dark)`, opts);
  await shot(page, `${name}-dark`);
  await setTheme(page, 'light', [f]);
}

test('the app enables theming; the console switch re-themes the frame in place, as Jira does', async () => {
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-my-access').waitFor();
  const f = await frameOf(page, PAGE);
  // view.theme.enable() ran: the host put the mode and the theme map on <html>.
  await f.waitForFunction(() => document.documentElement.getAttribute('data-color-mode') === 'light');
  assert.match(await f.evaluate(() => document.documentElement.getAttribute('data-theme')), /(^| )dark:dark( |$)/);
  const light = await colours(f);
  assert.ok(luminance(light.background) > 0.9, `light background ${light.background}`);
  await f.evaluate(() => { window.__stillHere = true; });

  await setTheme(page, 'dark', [f]);
  const dark = await colours(f);
  assert.ok(luminance(dark.background) < 0.05, `dark background ${dark.background}`);
  assert.ok(luminance(dark.text) > 0.4, `dark text ${dark.text}`);
  assert.equal(await f.evaluate(() => window.__stillHere), true, 'a theme switch must not reload the frame');
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-color-mode')), 'dark', 'the console page is dark too');
  assert.match(page.url(), /theme=dark/, 'the theme is in the link');

  // Every design token the bundle reads has a value in dark: none falls back to a light colour.
  const dist = path.resolve('dist/assets');
  const used = new Set();
  for (const file of fs.readdirSync(dist).filter((n) => /\.(js|css)$/.test(n))) {
    for (const m of fs.readFileSync(path.join(dist, file), 'utf8').matchAll(/--ds-[a-z0-9-]+/g)) used.add(m[0]);
  }
  const colourTokens = [...used].filter((t) => !/^--ds-(font|space|border-radius|border-width)/.test(t));
  assert.ok(colourTokens.length > 30, `found ${colourTokens.length} tokens`);
  const undefinedInDark = await f.evaluate((ts) => ts.filter((t) => !getComputedStyle(document.documentElement).getPropertyValue(t).trim()), colourTokens);
  assert.deepEqual(undefinedInDark, [], 'tokens the app uses that the host leaves undefined in dark');

  // A link opens in dark, and a newly opened frame starts dark.
  const again = await open('view=global&theme=dark', PRIYA);
  await frame(again, PAGE).getByTestId('tab-my-access').waitFor();
  const g = await frameOf(again, PAGE);
  await g.waitForFunction(() => document.documentElement.getAttribute('data-color-mode') === 'dark');
  assert.deepEqual(page.errors.concat(again.errors), []);
  await page.close();
  await again.close();
});

test('global page tabs: no critical or serious axe violation, light and dark', async () => {
  for (const [as, who] of [[PRIYA, 'approver'], [JONAS, 'requester']]) {
    const page = await open('view=global', as);
    const ui = frame(page, PAGE);
    await ui.getByTestId('tab-my-access').waitFor();
    const f = await frameOf(page, PAGE);
    const tabs = [['tab-my-access', 'my-access'], ['tab-approved-tools', 'approved-tools'], ['tab-history', 'history']];
    if (who === 'approver') tabs.push(['tab-approvals', 'approvals']);
    for (const [tab, name] of tabs) {
      await ui.getByTestId(tab).click();
      await ui.locator('[role="tabpanel"]').waitFor();
      await ui.getByTestId('loading-skeleton').waitFor({ state: 'detached' });
      await bothThemes(page, f, `global-${who}-${name}`);
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test('portal panel and issue panel: no critical or serious axe violation, light and dark', async () => {
  const portal = await open('view=portal&portal=1&type=12', JONAS);
  const panel = frame(portal, PANEL);
  await panel.getByTestId('tool-select').waitFor();
  await panel.getByTestId('tool-select').selectOption({ index: 1 });
  await panel.getByTestId('tool-guidance').waitFor();
  await bothThemes(portal, await frameOf(portal, PANEL), 'portal-panel');
  assert.deepEqual(portal.errors, []);
  await portal.close();

  const issue = await open('view=issue&issue=AIR-1', PRIYA);
  const ip = frame(issue, ISSUE_PANEL);
  await ip.getByTestId('approval-timeline').first().waitFor();
  await bothThemes(issue, await frameOf(issue, ISSUE_PANEL), 'issue-panel');
  assert.deepEqual(issue.errors, []);
  await issue.close();
});

test('every admin section: no critical or serious axe violation, light and dark', async () => {
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, ADMIN_PAGE);
  await ui.getByTestId('admin-nav-overview').waitFor();
  const f = await frameOf(page, ADMIN_PAGE);
  const ids = await ui.locator('[data-testid^="admin-nav-"]').evaluateAll((els) => els.map((e) => e.dataset.testid.slice('admin-nav-'.length)));
  assert.ok(ids.length >= 10, ids.join());
  for (const id of ids) {
    await ui.getByTestId(`admin-nav-${id}`).click();
    await ui.getByTestId(`admin-section-${id}`).waitFor();
    // Every skeleton gone (a section may load two parts at once, e.g. the logs and their integrity).
    await ui.getByTestId('loading-skeleton').first().waitFor({ state: 'detached' });
    await page.waitForTimeout(200);
    await bothThemes(page, f, `admin-${id}`);
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** Drives one tablist by keyboard and checks the WAI-ARIA tabs pattern on it. */
async function checkTablist(page, f, tablist, name) {
  const tabs = () => f.evaluate((sel) => [...document.querySelector(sel).querySelectorAll('[role="tab"]')].map((t) => ({
    id: t.id, selected: t.getAttribute('aria-selected') === 'true', tabIndex: t.tabIndex, focused: t === document.activeElement,
    panel: document.querySelector('[role="tabpanel"]:not([hidden])')?.getAttribute('aria-labelledby') ?? null
  })), tablist);
  const state = async () => {
    const ts = await tabs();
    const at = ts.findIndex((t) => t.focused);
    assert.ok(at >= 0, `${name}: focus left the tablist ${JSON.stringify(ts)}`);
    assert.equal(ts[at].selected, true, `${name}: the focused tab is selected`);
    assert.deepEqual(ts.filter((t) => t.tabIndex === 0).map((t) => t.id), [ts[at].id], `${name}: one tab stop, the selected tab`);
    assert.equal(ts[at].panel, ts[at].id, `${name}: the visible panel is labelled by the selected tab`);
    return { at, n: ts.length };
  };
  await f.locator(`${tablist} [role="tab"][aria-selected="true"]`).focus();
  let s = await state();
  const start = s.at;
  await page.keyboard.press('ArrowRight');
  s = await state();
  assert.equal(s.at, (start + 1) % s.n, `${name}: ArrowRight`);
  await page.keyboard.press('ArrowLeft');
  assert.equal((await state()).at, start, `${name}: ArrowLeft`);
  await page.keyboard.press('End');
  assert.equal((await state()).at, s.n - 1, `${name}: End`);
  await page.keyboard.press('Home');
  assert.equal((await state()).at, 0, `${name}: Home`);
  await page.keyboard.press('ArrowLeft');
  assert.equal((await state()).at, s.n - 1, `${name}: ArrowLeft wraps to the last tab`);
  await page.keyboard.press('ArrowRight');
  assert.equal((await state()).at, 0, `${name}: ArrowRight wraps to the first tab`);
  // Tab leaves the tablist (one tab stop).
  await page.keyboard.press('Tab');
  assert.equal(await f.evaluate(() => document.activeElement?.getAttribute('role')), null, `${name}: Tab moves out of the tablist`);
}

test('every tablist follows the arrow keys, Home and End, with one tab stop (WAI-ARIA tabs)', async () => {
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').waitFor();
  await checkTablist(page, await frameOf(page, PAGE), '[role="tablist"]', 'global page');
  assert.deepEqual(page.errors, []);
  await page.close();

  const admin = await open('view=admin', ADMIN);
  const a = frame(admin, ADMIN_PAGE);
  const f = await frameOf(admin, ADMIN_PAGE);
  for (const [section, list] of [['governance', '[role="tablist"][aria-label="Governance"]'], ['paths', '[role="tablist"][aria-label="Approval paths & messages"]'], ['ai', '[role="tablist"][aria-label="Settings → AI"]']]) {
    await a.getByTestId(`admin-nav-${section}`).click();
    await a.locator(list).waitFor();
    await checkTablist(admin, f, list, `admin ${section}`);
  }
  assert.deepEqual(admin.errors, []);
  await admin.close();
});

/** The input's error as assistive technology gets it: aria-invalid and the described-by text. */
const described = (f, testId) => f.evaluate((id) => {
  const input = document.querySelector(`[data-testid="${id}"]`);
  const ref = input.getAttribute('aria-describedby');
  return { invalid: input.getAttribute('aria-invalid'), text: ref ? document.getElementById(ref)?.textContent ?? '(missing element)' : null };
}, testId);

test('form errors are tied to their inputs and summarised above the fields (catalog tool, connector)', async () => {
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, ADMIN_PAGE);
  const f = await frameOf(page, ADMIN_PAGE);
  const above = async (summary, field) => (await ui.getByTestId(summary).boundingBox()).y < (await ui.getByTestId(field).boundingBox()).y;

  // Connector saved with its fields empty: the empty ones are marked, no "reload the page".
  await ui.getByTestId('admin-nav-connectors').click();
  await ui.getByTestId('connector-new').click();
  await ui.getByTestId('connector-save').click();
  const err = ui.getByTestId('connector-save-error');
  await err.waitFor();
  assert.doesNotMatch(await err.textContent(), /reload/i);
  assert.match(await err.textContent(), /marked fields/);
  assert.ok(await above('connector-save-error', 'connector-id'), 'the summary sits above the fields it points to');
  for (const id of ['connector-id', 'connector-name']) {
    const d = await described(f, id);
    assert.equal(d.invalid, 'true', `${id} aria-invalid`);
    assert.match(d.text ?? '', /Required/, `${id} described by its error`);
  }
  assert.equal((await described(f, 'connector-type')).invalid, null, 'a valid field is not marked');
  await bothThemes(page, f, 'admin-connector-form-errors');
  await ui.getByTestId('connector-cancel').click();

  // Catalog tool refused by the server: each field it names is marked and linked.
  await ui.getByTestId('admin-nav-catalog').click();
  await ui.getByTestId('catalog-add').click();
  await ui.getByTestId('tool-id').fill('Bad Tool');
  await ui.getByTestId('tool-save').click();
  await ui.getByTestId('tool-save-error').waitFor();
  assert.ok(await above('tool-save-error', 'tool-id'));
  const id = await described(f, 'tool-id');
  assert.equal(id.invalid, 'true');
  assert.ok(id.text && id.text.length > 3, JSON.stringify(id));
  assert.equal((await described(f, 'tool-name')).invalid, 'true');
  await bothThemes(page, f, 'admin-catalog-form-errors');
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** Types into a filter box and checks the rows and the polite count against each other. */
async function checkFilter(ui, f, { box, rows, total }) {
  const count = ui.getByTestId(`${box}-count`);
  assert.equal(await count.getAttribute('role'), 'status', 'the count is announced politely');
  assert.match(await f.evaluate((id) => document.querySelector(`label[for="${document.querySelector(`[data-testid="${id}"]`).id}"]`)?.textContent ?? '', box), /Search/);
  assert.equal((await count.textContent()).trim(), `${total} tools`);
  // The provider of the last row, typed in lower case: every row left names it.
  const last = ui.locator(rows).last();
  const provider = (await last.locator('.hint').first().textContent()).split('·')[0].trim();
  await ui.getByTestId(box).fill(provider.toLowerCase());
  await ui.locator(rows).first().waitFor();
  const shown = await ui.locator(rows).allTextContents();
  assert.ok(shown.length >= 1 && shown.length <= total, `${shown.length} of ${total}`);
  for (const r of shown) assert.match(r.toLowerCase(), new RegExp(provider.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal((await count.textContent()).trim(), shown.length === total ? `${total} tools` : `${shown.length} of ${total} tools`);
  await ui.getByTestId(box).fill('zzqx-no-such-tool');
  await ui.locator(rows).first().waitFor({ state: 'detached' });
  assert.match(await count.textContent(), /No tools match “zzqx-no-such-tool”/);
  // Escape clears the search.
  await ui.getByTestId(box).press('Escape');
  await ui.locator(rows).nth(total - 1).waitFor();
  assert.equal(await ui.locator(rows).count(), total);
}

test('Approved Tools and the Catalog filter by name or provider as you type, with a polite count', async () => {
  const page = await open('view=global', JONAS);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approved-tools').click();
  await ui.getByTestId('approved-tool-row').first().waitFor();
  const total = await ui.getByTestId('approved-tool-row').count();
  await checkFilter(ui, await frameOf(page, PAGE), { box: 'approved-tools-filter', rows: '[data-testid="approved-tool-row"]', total });
  assert.deepEqual(page.errors, []);
  await page.close();

  const admin = await open('view=admin', ADMIN);
  const a = frame(admin, ADMIN_PAGE);
  await a.getByTestId('admin-nav-catalog').click();
  await a.getByTestId('catalog-row').first().waitFor();
  const n = await a.getByTestId('catalog-row').count();
  await checkFilter(a, await frameOf(admin, ADMIN_PAGE), { box: 'catalog-filter', rows: '[data-testid="catalog-row"]', total: n });
  assert.deepEqual(admin.errors, []);
  await admin.close();
});
