// console-site: scenario
//
// The admin's operational sections (Jira settings → Apps → AI Clearance): Requests (one table
// for every category, single and bulk decisions with a confirmation step, manual tasks, exports
// that download as files), Insights (charts whose numbers are admin.insights') and Governance
// logs (search, the detail drawer with the chain fields, chain verification). Headless Chromium
// (playwright-core) against `host-sim serve --paused` on the default site with its scenario.
// Run alone: CONSOLE_URL=http://127.0.0.1:8802 node --test tests/admin-operations.test.mjs
//
// covers: CL-175, CL-176, CL-177, CL-180, CL-181, CL-182, CL-185, CL-143, CL-142, CL-902, CL-905

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ADMIN, JONAS, URL, SHOTS, consoleApi, frame, launch, open as openIn, shot, tick, invoke as invokeIn } from './support/console.mjs';

if (!URL) throw new Error('CONSOLE_URL is not set: start `host-sim serve --paused` and point CONSOLE_URL at it');

const ADMIN_MODULE = 'ai-clearance-admin';
const PANEL = 'ai-clearance-panel';
const DAY = 86_400_000;

let browser;
let context;
const story = {};

before(async () => {
  ({ browser, context } = await launch());
});

after(async () => {
  await browser?.close();
});

const invoke = (functionKey, payload, accountId, moduleKey = ADMIN_MODULE) => invokeIn(functionKey, payload, accountId, moduleKey);
/** A resolver answer's data, failing the test on an error envelope. */
async function data(functionKey, payload, accountId = ADMIN) {
  const r = await invoke(functionKey, payload, accountId);
  assert.equal(r.ok, true, `${functionKey}: ${JSON.stringify(r)}`);
  return r.data;
}

const open = (hash, as) => openIn(context, hash, as);

/** The admin page open at a section. */
async function adminAt(section) {
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, ADMIN_MODULE);
  await ui.getByTestId(`admin-nav-${section}`).click();
  await ui.getByTestId(`admin-section-${section}`).waitFor();
  return { page, ui };
}

/** A request created in the portal (the console's create endpoint with the panel's snapshot). */
async function createRequest(tool, summary) {
  const v = await invoke('panel.validate', { portalId: 1, requestTypeId: 12, toolId: tool, durationDays: 30, justification: summary }, JONAS, PANEL);
  assert.equal(v.ok, true, JSON.stringify(v));
  const made = await consoleApi('portal/create', {
    accountId: JONAS, portalId: 1, requestTypeId: '12', summary,
    panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: v.data.snapshot }] }
  });
  assert.equal(made.ok, true, JSON.stringify(made));
  return made.issueKey;
}

const CATEGORIES = ['pending', 'approved', 'denied', 'active', 'pendingProvision', 'historical', 'revoked', 'manualFollowUp'];

test('a non-admin gets the refusal instead of the admin sections (CL-177)', async () => {
  const page = await open('view=admin', JONAS);
  const ui = frame(page, ADMIN_MODULE);
  const denied = ui.getByTestId('admin-denied');
  await denied.waitFor();
  assert.equal(await denied.getAttribute('data-code'), 'ADMIN_REQUIRED');
  assert.equal(await ui.getByTestId('admin-nav-requests').count(), 0);
  // The resolvers refuse too, not just the screen.
  const r = await invoke('admin.requests.list', { category: 'pending' }, JONAS);
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'ADMIN_REQUIRED');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Requests shows every category in one table, matching the resolver row for row (CL-175)', async () => {
  story.single = await createRequest('grammarly-business', 'Grammarly for release notes');
  story.bulk = [await createRequest('tabnine', 'Tabnine in the IDE'), await createRequest('slack-ai', 'Slack AI for channel summaries')];
  const { page, ui } = await adminAt('requests');
  for (const c of CATEGORIES) {
    const want = (await data('admin.requests.list', { category: c })).items;
    await ui.getByTestId(`requests-filter-${c}`).click();
    assert.equal(await ui.getByTestId(`requests-filter-${c}`).getAttribute('aria-pressed'), 'true');
    if (want.length === 0) {
      await ui.getByTestId('requests-empty').waitFor();
      assert.equal(await ui.getByTestId('request-row').count(), 0, c);
      continue;
    }
    const table = ui.locator(`[data-testid="requests-table"][data-category="${c}"]`);
    await table.waitFor();
    const keys = await table.getByTestId('request-row').evaluateAll((rows) => rows.map((r) => r.dataset.issueKey));
    assert.deepEqual(keys, want.map((x) => x.issueKey), c);
  }
  // The scenario has rows in each of these (and the three requests just created are pending).
  for (const c of ['pending', 'approved', 'denied', 'active', 'pendingProvision', 'revoked', 'manualFollowUp']) {
    assert.ok(Number(await ui.getByTestId(`requests-filter-${c}`).getAttribute('data-count')) > 0, `${c} has rows`);
  }
  await ui.getByTestId('requests-filter-pending').click();
  for (const k of [story.single, ...story.bulk]) await ui.locator(`[data-testid="request-row"][data-issue-key="${k}"]`).waitFor();
  // The filter box narrows the loaded rows.
  await ui.getByTestId('requests-search').fill('tabnine');
  assert.deepEqual(await ui.getByTestId('request-row').evaluateAll((rows) => rows.map((r) => r.dataset.issueKey)), [story.bulk[0]]);
  await ui.getByTestId('requests-search').fill('');
  await shot(page, 'admin-requests');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the admin decides a pending request after confirming, and bulk-denies two (CL-176, CL-902)', async () => {
  const { page, ui } = await adminAt('requests');
  const row = ui.locator(`[data-testid="request-row"][data-issue-key="${story.single}"]`);
  await row.waitFor();
  await ui.getByTestId('requests-comment').fill('Fine for release notes.');
  await row.getByTestId('request-approve').click();
  const confirm = row.getByTestId('request-confirm');
  await confirm.waitFor();
  assert.equal(await confirm.getAttribute('data-decision'), 'approve');
  // Nothing is decided until the admin confirms.
  const still = (await data('admin.requests.list', { category: 'pending' })).items.map((x) => x.issueKey);
  assert.ok(still.includes(story.single));
  await shot(page, 'admin-requests-confirm');
  await confirm.getByTestId('request-confirm-yes').click();
  const done = ui.getByTestId('action-result');
  await done.waitFor();
  assert.match(await done.textContent(), new RegExp(`${story.single} approved`));
  await row.waitFor({ state: 'detached' });
  const approved = (await data('admin.requests.list', { category: 'approved' })).items.find((x) => x.issueKey === story.single);
  assert.equal(approved?.decision, 'approved');
  assert.equal(approved?.decidedBy, ADMIN);

  // Bulk: select the other two, confirm, both denied.
  for (const k of story.bulk) await ui.locator(`[data-testid="request-row"][data-issue-key="${k}"]`).getByTestId('request-select').check();
  await ui.getByTestId('requests-bulk-deny').click();
  const bulk = ui.getByTestId('requests-confirm');
  await bulk.waitFor();
  assert.match(await bulk.textContent(), /Deny 2 requests\?/);
  await ui.getByTestId('requests-confirm-yes').click();
  await ui.getByText('2 requests denied.').waitFor();
  const denied = (await data('admin.requests.list', { category: 'denied' })).items.map((x) => x.issueKey);
  for (const k of story.bulk) assert.ok(denied.includes(k), `${k} denied`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a manual follow-up task is completed from the Requests table', async () => {
  const before = (await data('admin.requests.list', { category: 'manualFollowUp' })).items;
  const job = before.find((j) => j.kind === 'provision');
  assert.ok(job, 'the scenario leaves a manual provisioning task');
  const { page, ui } = await adminAt('requests');
  await ui.getByTestId('requests-filter-manualFollowUp').click();
  const row = ui.locator(`[data-testid="request-row"][data-job-id="${job.id}"]`);
  await row.waitFor();
  const button = row.getByTestId('job-complete');
  assert.equal(await button.getAttribute('data-action'), 'fulfilled');
  await button.click();
  await ui.getByText(`${job.issueKey}: task marked fulfilled.`).waitFor();
  await row.waitFor({ state: 'detached' });
  const after = (await data('admin.requests.list', { category: 'manualFollowUp' })).items;
  assert.equal(after.some((j) => j.id === job.id), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('exports 90 days of requests as a CSV download; a range over 365 days shows the server\'s error next to the range (CL-180…CL-182)', async () => {
  await tick('2m'); // a fresh export minute
  const now = (await consoleApi('clock')).now;
  const to = now.slice(0, 10);
  const from = new Date(Date.parse(now) - 90 * DAY).toISOString().slice(0, 10);
  const { page, ui } = await adminAt('requests');
  const panel = ui.getByTestId('requests-export');
  await panel.waitFor();
  assert.equal(await panel.getByTestId('export-preset').inputValue(), 'default');
  await panel.getByTestId('export-dataset').selectOption('requests');
  await panel.getByTestId('export-format-csv').check();
  const [download] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-run').click()]);
  assert.equal(download.suggestedFilename(), `ai-clearance-requests-${from}-${to}.csv`);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const [header, ...lines] = csv.split('\r\n').filter(Boolean);
  assert.equal(header, 'issueKey,projectKey,requester,tool,toolName,riskLevel,durationDays,decision,decisionSource,decidedAt,decidedBy,grantId,policyVersion,requestedAt');
  assert.ok(lines.some((l) => l.startsWith('AIR-1,')), 'AIR-1 is in the export');
  assert.ok(lines.some((l) => l.startsWith(`${story.single},`)), 'the request decided above is in the export');
  const result = panel.getByTestId('export-result');
  assert.equal(Number(await result.getAttribute('data-count')), lines.length);
  assert.equal(await panel.getByTestId('export-download').getAttribute('download'), `ai-clearance-requests-${from}-${to}.csv`);

  // A custom range of more than 365 days: the server refuses; its error sits next to the range.
  await panel.getByTestId('export-preset').selectOption('custom');
  await panel.getByTestId('export-from').fill('2025-01-01');
  await panel.getByTestId('export-to').fill(to);
  await panel.getByTestId('export-run').click();
  const err = panel.getByTestId('export-range').getByTestId('export-range-error');
  await err.waitFor();
  assert.equal(await err.getAttribute('data-code'), 'EXPORT_RANGE_TOO_LONG');
  assert.match(await err.textContent(), /at most 365 days/);
  // The range is still there to correct.
  assert.equal(await panel.getByTestId('export-from').inputValue(), '2025-01-01');
  await shot(page, 'admin-requests-export');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Insights draws its charts with the numbers admin.insights answers (CL-185)', async () => {
  const want = await data('admin.insights', { months: 12 });
  const { page, ui } = await adminAt('insights');
  await ui.getByTestId('insights-counters').waitFor();
  const counter = async (k) => Number(await ui.getByTestId(`insights-counter-${k}`).getAttribute('data-value'));
  assert.equal(await counter('requests'), want.counters.requests);
  assert.equal(await counter('approved'), want.counters.approved);
  assert.equal(await counter('denied'), want.counters.denied);
  assert.equal(await counter('active'), want.activeAccess.active);
  assert.equal(await counter('pendingProvision'), want.activeAccess.pendingProvision);
  assert.equal(await counter('manualFollowUp'), want.manualFollowUp);
  assert.equal(await counter('requesters'), want.adoption.requesters);
  assert.equal(await counter('tools'), want.adoption.tools);
  assert.ok(want.counters.requests > 0, 'the scenario has rolled-up requests');

  for (const name of ['monthly', 'grants', 'decisions', 'risk-mix', 'request-risk', 'active-by-tool', 'requests-by-tool', 'people']) {
    const chart = ui.getByTestId(`insights-chart-${name}`);
    await chart.waitFor();
    // Each chart has a text alternative.
    assert.ok((await chart.locator('svg[role="img"]').getAttribute('aria-label'))?.length > 10, `${name} has an aria-label`);
  }
  // Monthly columns: one group per month, each bar the month's number.
  const monthly = ui.getByTestId('insights-chart-monthly');
  assert.equal(await monthly.getByTestId('chart-group').count(), want.monthly.length);
  const bars = await monthly.getByTestId('chart-bar').evaluateAll((els) => els.map((e) => [e.dataset.label.split(':')[1], Number(e.dataset.value)]));
  const sorted = [...want.monthly].sort((a, b) => a.month.localeCompare(b.month));
  const expected = sorted.flatMap((m) => [['requests', m.requests], ['approved', m.approved], ['autoApproved', m.autoApproved], ['denied', m.denied]]);
  assert.deepEqual(bars, expected);
  // Risk mix of open access: one slice per risk level.
  const slices = await ui.getByTestId('insights-chart-risk-mix').getByTestId('chart-slice')
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.label, Number(e.dataset.value)])));
  assert.deepEqual(slices, Object.fromEntries(Object.entries(want.riskMix).filter(([, v]) => v > 0)));
  // Open access by tool and the top requesters.
  const byTool = await ui.getByTestId('insights-chart-active-by-tool').getByTestId('chart-bar')
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.id, Number(e.dataset.value)])));
  assert.deepEqual(byTool, want.activeAccess.byTool);
  const people = await ui.getByTestId('insights-chart-people').getByTestId('chart-bar')
    .evaluateAll((els) => els.map((e) => [e.dataset.id, Number(e.dataset.value)]));
  assert.deepEqual(people, want.people.topRequesters.map((p) => [p.accountId, p.requests]));
  await shot(page, 'admin-insights');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Governance logs: search by issue key, the drawer shows the chain fields, and Verify reports the chain verified (CL-143, CL-142)', async () => {
  const want = await data('admin.audit.search', { issueKey: 'AIR-1' });
  assert.ok(want.items.length > 1);
  const { page, ui } = await adminAt('logs');
  await ui.getByTestId('logs-table').waitFor();
  await ui.getByTestId('logs-filter-issue').fill('AIR-1');
  await ui.getByTestId('logs-search').click();
  await ui.getByTestId('logs-summary').filter({ hasText: `${want.items.length} entries shown` }).waitFor();
  const rows = await ui.getByTestId('log-row').evaluateAll((els) => els.map((e) => [Number(e.dataset.seq), e.dataset.issueKey, e.dataset.type]));
  assert.deepEqual(rows, want.items.map((h) => [h.seq, 'AIR-1', h.type]));

  const first = want.items[0];
  await ui.locator(`[data-testid="log-row"][data-seq="${first.seq}"]`).click();
  const drawer = ui.getByTestId('log-drawer');
  await drawer.waitFor();
  await drawer.getByTestId('log-field-entryHash').waitFor();
  const { entry } = await data('admin.audit.get', { seq: first.seq });
  for (const f of ['seq', 'type', 'actor', 'issueKey', 'prevHash', 'entryHash', 'entryMac', 'macKeyId']) {
    assert.equal(await drawer.getByTestId(`log-field-${f}`).getAttribute('data-value'), String(entry[f]), f);
  }
  assert.match(entry.entryHash, /^[0-9a-f]{64}$/);
  assert.deepEqual(JSON.parse(await drawer.getByTestId('log-data').textContent()), entry.data);
  await shot(page, 'admin-logs-drawer');

  await tick('2m'); // a fresh verification minute
  await ui.getByTestId('logs-verify').click();
  const verified = ui.getByTestId('logs-verify-result');
  await verified.waitFor();
  assert.equal(await verified.getAttribute('data-ok'), 'true');
  const report = await data('admin.audit.verify', {});
  assert.equal(report.ok, true);
  assert.equal(Number(await verified.getAttribute('data-checked')), report.checked);
  assert.match(await verified.textContent(), new RegExp(`verified.*${report.checked} entries checked`, 's'));
  await shot(page, 'admin-logs-verified');
  assert.deepEqual(page.errors, []);
  await page.close();
});
