// console-site: scenario
// What an approver decides on, and words people read (issue 33 items 3, 7 and 9):
// - the Approvals tab's rows carry the facts (justification, risk, route with the path's name and
//   step, requested vs allowed days, whether the requester already holds the tool), the same as
//   clearance.approvals.tab answers, and the confirmation repeats them;
// - admin Requests names its expired-grant filter for what it is and says how a request was
//   decided in words, never a slug; Governance logs label event types in words and say "newest
//   first" because they are; a finished approval path shows the phases it can no longer run as
//   "Not run", never "Waiting"; the Catalog shows a tool's status once.
// axe runs on every screen visited, light and dark.
//
// Run alone: host-sim serve --paused --fresh --addr 127.0.0.1:8803;
// CONSOLE_URL=http://127.0.0.1:8803 node --test tests/approver-facts.test.mjs
//
// covers: CL-050, CL-168, CL-175, CL-143

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, JONAS, PRIYA, URL, assertAccessible, consoleApi, frame, frameOf, invoke, launch, open as openIn, setTheme, shot } from './support/console.mjs';

const PAGE = 'ai-clearance';
const PANEL = 'ai-clearance-panel';
const ISSUE_PANEL = 'ai-clearance-issue-panel';
const ADMIN_MODULE = 'ai-clearance-admin';

let browser;
let context;
const keys = {};
const WHY = 'Drafting release notes and changelogs for the mobile team; no customer data goes in, only our public commit messages and ticket titles, reviewed by a person before publishing.';

before(async () => {
  ({ browser, context } = await launch());
  const make = async (as, toolId, summary, justification, durationDays = 30) => {
    const v = await invoke('panel.validate', { portalId: 1, requestTypeId: 12, toolId, durationDays, justification }, as, PANEL);
    assert.equal(v.ok, true, JSON.stringify(v));
    const r = await consoleApi('portal/create', { accountId: as, portalId: 1, requestTypeId: '12', summary,
      panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: v.data.snapshot }] } });
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.issueKey;
  };
  keys.path = await make(JONAS, 'perplexity-enterprise', 'Perplexity for release notes', WHY);
  keys.denied = await make(JONAS, 'grammarly-business', 'Grammarly for the docs team', 'Docs style checks');
});
after(async () => {
  await browser?.close();
});

const open = (hash, as) => openIn(context, hash, as);
const data = async (functionKey, payload, as, moduleKey = PAGE) => {
  const r = await invoke(functionKey, payload, as, moduleKey);
  assert.equal(r.ok, true, `${functionKey}: ${JSON.stringify(r)}`);
  return r.data;
};

test('each pending row shows the facts an approver needs, the same the resolver gives, and the confirmation repeats them', async () => {
  const tab = await data('clearance.approvals.tab', {}, PRIYA);
  const want = tab.pending.find((r) => r.issueKey === keys.path);
  assert.ok(want, `${keys.path} waits for Priya: ${JSON.stringify(tab.pending.map((r) => r.issueKey))}`);
  assert.equal(want.route, 'path');
  assert.ok(want.pathName, JSON.stringify(want));
  assert.ok(want.maxDays >= 1 && want.riskLevel, JSON.stringify(want));

  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  for (const r of tab.pending) {
    const row = ui.locator(`[data-testid="pending-row"][data-issue-key="${r.issueKey}"]`);
    await row.waitFor();
    assert.equal((await row.getByTestId('row-risk').textContent()).trim(), `${r.riskLevel} risk`, r.issueKey);
    assert.equal((await row.getByTestId('duration-text').textContent()).trim(), `${r.durationDays} of ${r.maxDays} days`, r.issueKey);
    assert.equal(await row.getByTestId('duration-over').count(), r.durationDays > r.maxDays ? 1 : 0, r.issueKey);
    assert.equal(await row.getByTestId('row-open-grant').getAttribute('data-held'), r.openGrantForTool ? 'yes' : 'no', r.issueKey);
    const route = (await row.getByTestId('row-route').textContent()).trim();
    if (r.route === 'path') {
      assert.ok(route.includes(r.pathName), `${r.issueKey}: ${route}`);
      if (r.step) assert.ok(route.includes(r.step), `${r.issueKey}: ${route}`);
    } else {
      assert.match(route, /directly by approvers|Held/);
    }
  }
  const row = ui.locator(`[data-testid="pending-row"][data-issue-key="${keys.path}"]`);
  // The justification, cut short in the row (the whole text in its title and the confirmation).
  const why = row.getByTestId('row-justification');
  assert.equal(await why.getAttribute('title'), WHY);
  const shown = (await why.textContent()).trim();
  assert.ok(shown.startsWith('Why: ') && shown.endsWith('…') && shown.length < WHY.length, shown);
  assert.match(await row.getByTestId('row-route').textContent(), new RegExp(`Approval path “${want.pathName}”`));
  const f = await frameOf(page, PAGE);
  await assertAccessible(f, 'Approvals tab with facts (light)');
  await shot(page, 'approvals-facts');

  await row.getByTestId('deny-button').click();
  const dialog = ui.getByTestId('confirm-dialog');
  await dialog.waitFor();
  const facts = await dialog.getByTestId('confirm-facts').textContent();
  for (const must of [WHY, want.pathName, `${want.durationDays} of ${want.maxDays} days`]) assert.ok(facts.includes(must), `${must} in ${facts}`);
  await assertAccessible(f, 'decision confirmation with facts');
  await dialog.getByTestId('confirm-cancel').click();

  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, 'Approvals tab with facts (dark)');
  await shot(page, 'approvals-facts-dark');
  await setTheme(page, 'light', [f]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a path row whose AI read ran shows the verdict chip (Reject reads Deny) in the row and the confirmation", async () => {
  // The data is the server's (tests/screens_data.rs an_approvals_row_carries_its_paths_ai_read_verdict);
  // here the screen: the tab's answer gets an AI read on the path row.
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.route('**/__console/api/invoke', async (route) => {
    const body = route.request().postDataJSON();
    if (body?.functionKey !== 'clearance.approvals.tab') return route.continue();
    const answer = await (await route.fetch()).json();
    for (const r of answer.data?.pending ?? []) {
      if (r.issueKey === keys.path) r.aiRead = { step: 'Risk read', lozenge: { kind: 'verdict', value: 'Reject' }, confidence: { kind: 'score', value: 7, reason: 'x' }, analysisPerformed: true };
    }
    return route.fulfill({ json: answer });
  });
  await page.goto(`${URL}/#view=global&as=${encodeURIComponent(PRIYA)}`);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  const row = ui.locator(`[data-testid="pending-row"][data-issue-key="${keys.path}"]`);
  const chip = row.getByTestId('row-ai-read');
  await chip.waitFor();
  assert.equal(await chip.getAttribute('data-value'), 'Reject');
  assert.match(await chip.textContent(), /AI read \(Risk read\):\s*Verdict: Deny · Confidence: 7\/10/);
  assert.doesNotMatch(await chip.textContent(), /Reject/);
  // Rows without an AI read show none.
  assert.equal(await ui.getByTestId('row-ai-read').count(), 1);
  await row.getByTestId('approve-button').click();
  const dialog = ui.getByTestId('confirm-dialog');
  await dialog.waitFor();
  assert.match(await dialog.getByTestId('confirm-facts').textContent(), /AI read.*Verdict: Deny/s);
  const f = await frameOf(page, PAGE);
  await assertAccessible(f, 'Approvals row with an AI read');
  await dialog.getByTestId('confirm-cancel').click();
  await shot(page, 'approvals-ai-read');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a finished path shows the phases it can no longer run as not run, and says denied, not rejected', async () => {
  // Priya denies the request on its path (the Team lead step): the path ends denied.
  const out = await data('clearance.approvals.decide', { issueKey: keys.path, decision: 'deny', comment: 'Use the approved writing tool instead.' }, PRIYA);
  assert.ok(out.outcome, JSON.stringify(out));
  await consoleApi('tick', { advance: '1m' });
  const page = await open(`view=issue&issue=${keys.path}`, PRIYA);
  const ui = frame(page, ISSUE_PANEL);
  const timeline = ui.locator('[data-testid="approval-timeline"][data-status="REJECTED"]').first();
  await timeline.waitFor();
  assert.equal((await timeline.getByTestId('approval-status').textContent()).trim(), 'denied');
  for (const [phase, title] of [['successSteps', 'After approval'], ['expirationSteps', 'After expiry']]) {
    const p = timeline.locator(`[data-phase="${phase}"]`);
    assert.equal(await p.getAttribute('data-not-run'), 'true', phase);
    assert.match(await p.textContent(), new RegExp(`${title}.*\\d steps? not run: the path was denied\\.`, 's'));
    assert.equal(await p.getByTestId('approval-step').count(), 0, `${phase}: no steps "waiting"`);
  }
  // The phase that does run after a denial is shown with its steps.
  assert.equal(await timeline.locator('[data-phase="rejectionSteps"]').getAttribute('data-not-run'), null);
  assert.doesNotMatch(await timeline.textContent(), /reject/i);
  const f = await frameOf(page, ISSUE_PANEL);
  await assertAccessible(f, 'issue panel, finished path (light)');
  await shot(page, 'issue-panel-finished-path');
  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, 'issue panel, finished path (dark)');
  await shot(page, 'issue-panel-finished-path-dark');
  await setTheme(page, 'light', [f]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** The admin page open at a section. */
async function adminAt(section) {
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, ADMIN_MODULE);
  await ui.getByTestId(`admin-nav-${section}`).click();
  await ui.getByTestId(`admin-section-${section}`).waitFor();
  return { page, ui, f: await frameOf(page, ADMIN_MODULE) };
}

test('admin Requests: the expired-grants filter says so, and how a request was decided reads as words, never a slug', async () => {
  // Jonas's Grammarly request denied by Priya directly: its source is "approver".
  await data('clearance.approvals.decide', { issueKey: keys.denied, decision: 'deny' }, PRIYA);
  const { page, ui, f } = await adminAt('requests');
  const expired = ui.getByTestId('requests-filter-historical');
  assert.match((await expired.textContent()).trim(), /^Expired access/);
  assert.doesNotMatch(await ui.locator('[data-testid^="requests-filter-"]').allTextContents().then((t) => t.join(' ')), /\bHistory\b/);
  await ui.getByTestId('requests-filter-denied').click();
  await ui.locator('[data-testid="requests-table"][data-category="denied"]').waitFor();
  await ui.getByTestId('decision-source').first().waitFor();
  const WORDS = {
    'auto-policy': 'An auto-approval policy',
    approver: 'An approver',
    bulk: 'An approver, in a bulk decision',
    'approval-path': 'The approval path',
    'approval-expired': 'The approval expired before it was decided',
    'decision-deadline': 'Nobody decided before the decision deadline',
  };
  const shownSources = await ui.getByTestId('decision-source').evaluateAll((els) => els.map((e) => [e.dataset.source, e.textContent.trim()]));
  assert.ok(shownSources.length > 0 && shownSources.every(([s]) => s), JSON.stringify(shownSources));
  for (const [source, text] of shownSources) {
    if (source) assert.equal(text, WORDS[source] ?? text, source);
    assert.doesNotMatch(text, /[a-z]+-[a-z]+|_/, `slug shown: ${text}`);
  }
  await assertAccessible(f, 'admin Requests, denied');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Governance logs: event types in words, the filter lists them by label, and the order label matches the order', async () => {
  const { page, ui, f } = await adminAt('logs');
  await ui.getByTestId('logs-table').waitFor();
  const summary = (await ui.getByTestId('logs-summary').textContent()).trim();
  const seqs = await ui.getByTestId('log-row').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.ok(seqs.length > 1);
  if (/newest first/.test(summary)) assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), summary);
  else if (/oldest first/.test(summary)) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), summary);
  else assert.fail(`the summary names no order: ${summary}`);
  const cells = await ui.getByTestId('log-row').evaluateAll((els) => els.map((e) => [e.dataset.type, e.children[1].textContent.trim()]));
  for (const [type, label] of cells) {
    assert.doesNotMatch(label, /_/, `${type} shown as ${label}`);
    assert.match(label, /^[A-Z]/, `${type} shown as ${label}`);
  }
  assert.ok(cells.some(([t, l]) => t === 'request_created' && l === 'Request created'), JSON.stringify(cells.slice(0, 5)));
  // The filter offers the labels and searches by the type behind them.
  const filter = ui.getByTestId('logs-filter-type');
  assert.equal(await filter.locator('option[value="request_denied"]').textContent(), 'Request denied');
  await filter.selectOption('request_denied');
  await ui.getByTestId('logs-search').click();
  await ui.getByTestId('log-row').first().waitFor();
  await ui.locator('[data-testid="log-row"]:not([data-type="request_denied"])').first().waitFor({ state: 'detached' });
  const types = await ui.getByTestId('log-row').evaluateAll((els) => els.map((e) => e.dataset.type));
  assert.ok(types.length > 0 && types.every((t) => t === 'request_denied'), JSON.stringify(types));
  await assertAccessible(f, 'Governance logs (light)');
  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, 'Governance logs (dark)');
  await shot(page, 'admin-logs-words-dark');
  await setTheme(page, 'light', [f]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the Catalog shows each status once, as the control that changes it, in words', async () => {
  const { page, ui, f } = await adminAt('catalog');
  const row = ui.getByTestId('catalog-row').first();
  await row.waitFor();
  assert.equal(await ui.getByTestId('tool-status').count(), 0, 'no second status lozenge');
  const status = await row.getAttribute('data-status');
  const label = (await row.locator('[data-testid="tool-status-select"] option:checked').textContent()).trim();
  assert.equal(label, status[0].toUpperCase() + status.slice(1));
  await assertAccessible(f, 'Catalog');
  await shot(page, 'admin-catalog-status-once');
  assert.deepEqual(page.errors, []);
  await page.close();
});
