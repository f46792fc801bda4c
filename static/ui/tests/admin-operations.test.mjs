// console-site: scenario
//
// The admin's operational sections (Jira settings → Apps → AI Clearance): Requests (one table
// for every category, single and bulk decisions with a confirmation step, manual tasks, export
// jobs whose file downloads when done, a request's evidence pack), Insights (charts whose numbers
// are admin.insights') and Governance logs (search, the detail drawer with the chain fields, the
// audit trail's integrity: verification runs with progress, checkpoints, the verifier key).
// Headless Chromium (playwright-core) against `host-sim serve --paused` on the default site with
// its scenario; background jobs (verification, exports) run when a test advances the clock.
// Run alone: CONSOLE_URL=http://127.0.0.1:8802 node --test tests/admin-operations.test.mjs
//
// covers: CL-175, CL-176, CL-177, CL-180, CL-181, CL-182, CL-183, CL-185, CL-143, CL-142, CL-902, CL-905

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ADMIN, JONAS, URL, SHOTS, assertAccessible, consoleApi, frame, frameOf, launch, open as openIn, shot, tick, invoke as invokeIn } from './support/console.mjs';

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

/** Advances the simulated clock a minute at a time until `done()` holds (background jobs run a
 *  slice a minute); fails after `max` minutes. */
async function advanceUntil(done, what, max = 10) {
  for (let i = 0; i < max; i++) {
    if (await done()) return;
    await tick('1m');
  }
  assert.ok(await done(), `${what} within ${max} simulated minutes`);
}

/** Rows the page-at-a-time export answers for the same window (every page, following nextCursor). */
async function pagedRows(kind, from, to) {
  let n = 0;
  let cursor;
  do {
    const page = await data(`admin.exports.${kind}`, { format: 'json', from, to, ...(cursor ? { cursor } : {}) });
    n += page.count;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

/** Starts the export in `panel`, runs its job to the end (advancing the clock) and returns the
 *  download, its text and the job as the server has it. */
async function exportJob(page, panel) {
  const downloaded = page.waitForEvent('download');
  await panel.getByTestId('export-run').click();
  const progress = panel.getByTestId('export-progress');
  await progress.waitFor();
  assert.equal(await progress.getAttribute('data-status'), 'running');
  const id = await progress.getAttribute('data-job-id');
  let job;
  await advanceUntil(async () => {
    ({ job } = await data('admin.exports.status', { id }));
    return job.status !== 'running';
  }, 'the export job finishes');
  assert.equal(job.status, 'done', JSON.stringify(job));
  const download = await downloaded;
  return { download, text: fs.readFileSync(await download.path(), 'utf8'), job };
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
  // The search box asks the resolver, which reads the tool's and the people's indexes.
  await ui.getByTestId('requests-search').fill('tabnine');
  await ui.getByTestId('requests-search-status').filter({ hasText: /match/ }).waitFor();
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

test('exports 90 days of requests as a CSV file made by an export job, with progress and no row cap; a range over 365 days shows the server\'s error next to the range (CL-180…CL-182)', async () => {
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
  const started = page.waitForEvent('download');
  await panel.getByTestId('export-run').click();
  // The job runs in the background: its progress shows (rows so far) until the clock moves.
  const progress = panel.getByTestId('export-progress');
  await progress.waitFor();
  assert.equal(await progress.getAttribute('data-status'), 'running');
  assert.match(await progress.textContent(), /Exporting requests \(CSV\) from .* 0 rows so far/);
  await shot(page, 'admin-requests-export-running');
  const id = await progress.getAttribute('data-job-id');
  let job;
  await advanceUntil(async () => {
    ({ job } = await data('admin.exports.status', { id }));
    return job.status !== 'running';
  }, 'the export job finishes');
  assert.equal(job.status, 'done', JSON.stringify(job));
  const download = await started;
  assert.equal(download.suggestedFilename(), `ai-clearance-requests-${from}-${to}.csv`);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const [header, ...lines] = csv.split('\r\n').filter(Boolean);
  assert.equal(header, 'issueKey,projectKey,requester,tool,toolName,riskLevel,durationDays,decision,decisionSource,decidedAt,decidedBy,grantId,policyVersion,requestedAt');
  // Every part of the job, in order, is the file: one header, then the job's rows.
  assert.equal(lines.length, job.rows);
  const result = panel.getByTestId('export-result');
  await result.waitFor();
  assert.equal(Number(await result.getAttribute('data-count')), lines.length);
  assert.equal(await panel.getByTestId('export-download').getAttribute('download'), `ai-clearance-requests-${from}-${to}.csv`);
  await progress.waitFor({ state: 'detached' });
  // The same window, page by page, has as many rows.
  assert.equal(await pagedRows('requests', job.from, job.to), lines.length);
  assert.ok(lines.some((l) => l.startsWith('AIR-1,')), 'AIR-1 is in the export');
  assert.ok(lines.some((l) => l.startsWith(`${story.single},`)), 'the request decided above is in the export');

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

test('"Download evidence" on a request row saves its evidence pack, which verifies offline with the public key', async () => {
  await tick('2m'); // evidence packs count against the export minute
  const { publicKey } = await data('admin.audit.verify', {});
  let category;
  for (const c of ['pending', 'approved', 'denied']) {
    if ((await data('admin.requests.list', { category: c })).items.some((x) => x.issueKey === 'AIR-1')) category = c;
  }
  assert.ok(category, 'AIR-1 is in one of the request lists');
  const { page, ui } = await adminAt('requests');
  await ui.getByTestId(`requests-filter-${category}`).click();
  const row = ui.locator('[data-testid="request-row"][data-issue-key="AIR-1"]');
  await row.waitFor();
  // The button says which request it is for.
  const button = row.getByRole('button', { name: 'Download evidence for AIR-1' });
  assert.equal(await button.count(), 1);
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), 'evidence-AIR-1.json');
  const file = path.join(SHOTS, 'evidence-AIR-1.json');
  await download.saveAs(file);
  const text = fs.readFileSync(file, 'utf8');
  const pack = JSON.parse(text);
  assert.equal(pack.format, 'aiclearance.evidence.v1');
  assert.equal(pack.issueKey, 'AIR-1');
  assert.ok(pack.entries.length > 0);
  // Saved byte for byte: canonical JSON with one final newline, as the server wrote it.
  assert.ok(text.endsWith('}\n') && !text.endsWith('\n\n'));
  const saved = row.getByTestId('action-result');
  await saved.waitFor();
  assert.match(await saved.textContent(), /Evidence pack for AIR-1 saved as evidence-AIR-1\.json/);
  // The auditor's script accepts it with the key Governance logs shows.
  const script = path.resolve('../../tools/evidence-verify/verify.mjs');
  if (fs.existsSync(script)) {
    const run = spawnSync(process.execPath, [script, file, '--key', publicKey.verifierKey], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  }
  await shot(page, 'admin-requests-evidence');
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

test('Governance logs: search by issue key, the drawer shows the chain fields, and a full re-verification runs to "Verified up to entry N" (CL-143, CL-142)', async () => {
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

  // Audit trail integrity: the verifier key for auditors, then a full re-verification run with
  // its progress, to the end.
  await tick('2m'); // a fresh verification minute
  const before = await data('admin.audit.verify', {});
  const integrity = ui.getByTestId('logs-integrity');
  await integrity.waitFor();
  assert.ok(before.publicKey, 'the scenario has a signing key');
  assert.equal(await integrity.getByTestId('logs-verifier-key').inputValue(), before.publicKey.verifierKey);
  assert.equal(await integrity.getByRole('textbox', { name: 'Public verifier key' }).count(), 1);
  assert.match(await integrity.textContent(), /node verify\.mjs pack\.json --key/);
  await integrity.getByTestId('logs-copy-key').click();
  await integrity.getByTestId('logs-copy-result').filter({ hasText: /Copied|Copying/ }).waitFor();
  assert.equal(Number(await integrity.getByTestId('logs-head').getAttribute('data-size')), before.head.seq);

  await integrity.getByTestId('logs-verify-full').click();
  const progress = integrity.getByTestId('logs-verify-progress');
  await progress.waitFor();
  assert.match(await progress.textContent(), /Full re-verification under way.*checked \d+ of \d+ entries/s);
  assert.equal(await progress.locator('progress').count(), 1);
  await shot(page, 'admin-logs-verifying');
  let status;
  await advanceUntil(async () => {
    status = await data('admin.audit.verify', {});
    return status.run === null;
  }, 'the verification run finishes');
  assert.equal(status.last.ok, true, JSON.stringify(status.last.problems));
  assert.equal(status.verified.size, status.head.seq);
  await integrity.getByTestId('logs-verified').filter({ hasText: `Verified up to entry ${status.head.seq} (` }).waitFor();
  await progress.waitFor({ state: 'detached' });
  const verified = integrity.getByTestId('logs-verify-result');
  await verified.waitFor();
  assert.equal(await verified.getAttribute('data-ok'), 'true');
  assert.equal(await verified.getAttribute('data-mode'), 'full');
  assert.equal(Number(await verified.getAttribute('data-checked')), status.last.checked);
  assert.match(await verified.textContent(), new RegExp(`verified.*intact up to entry ${status.head.seq}`, 's'));
  assert.equal(await integrity.getByTestId('logs-verify-problems').count(), 0);

  // Signing a checkpoint now covers the whole trail.
  await integrity.getByTestId('logs-sign-checkpoint').click();
  await integrity.getByTestId('logs-checkpoint-result').waitFor();
  const signed = await data('admin.audit.verify', {});
  assert.equal(signed.checkpoint.size, signed.head.seq);
  assert.equal(Number(await integrity.getByTestId('logs-checkpoint').getAttribute('data-size')), signed.checkpoint.size);
  assert.match(await integrity.getByTestId('logs-checkpoint').textContent(), new RegExp(`Up to entry ${signed.checkpoint.size}, signed`));
  await shot(page, 'admin-logs-verified');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Governance logs name who acted, and a person is found by typing their name, by keyboard (issue 33 item 1)', async () => {
  const ADA = ADMIN; // Ada Okafor, the admin who set the site up
  const want = await data('admin.audit.search', { actor: ADA });
  assert.ok(want.items.length > 0, 'the admin has log entries');
  assert.equal(want.people[ADA], 'Ada Okafor');
  const { page, ui } = await adminAt('logs');
  await ui.getByTestId('logs-table').waitFor();
  // The Actor column reads names (or "the app"), never an account id.
  const actors = await ui.getByTestId('log-actor').allTextContents();
  assert.ok(actors.length > 0);
  for (const a of actors) assert.doesNotMatch(a, /^(712020:|5[0-9a-f]{23}$)/, `an id in the Actor column: ${a}`);
  // By keyboard: choose "A person…", type part of the name, pick it, search.
  await ui.getByTestId('logs-filter-actor-kind').selectOption('person');
  const picker = ui.getByRole('combobox', { name: 'Person' });
  await picker.waitFor();
  await picker.focus();
  await page.keyboard.type('Ada', { delay: 30 });
  await ui.getByTestId('logs-filter-actor-option').filter({ hasText: 'Ada Okafor' }).first().waitFor();
  const options = await ui.getByTestId('logs-filter-actor-option').allTextContents();
  for (let i = 0; i < options.findIndex((o) => o.includes('Ada Okafor')); i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await picker.inputValue(), 'Ada Okafor');
  await ui.getByTestId('logs-search').focus();
  await page.keyboard.press('Enter');
  await ui.getByTestId('logs-summary').filter({ hasText: `${want.items.length} entr` }).waitFor();
  const rows = await ui.getByTestId('log-actor').evaluateAll((els) => els.map((e) => [e.dataset.accountId, e.textContent]));
  assert.deepEqual(rows, want.items.map(() => [ADA, 'Ada Okafor']));
  // The drawer shows the name with the id beside it (ids only in details).
  await ui.getByTestId('log-row').first().click();
  const actor = ui.getByTestId('log-drawer').getByTestId('log-field-actor');
  await actor.waitFor();
  assert.equal(await actor.locator('dd').textContent(), `Ada Okafor (${ADA})`);
  await assertAccessible(await frameOf(page, ADMIN_MODULE), 'Governance logs filtered by a person');
  await shot(page, 'admin-logs-by-person');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Governance logs exports the audit events as a JSON file by an export job, with the verifier key (CL-183)', async () => {
  await tick('2m'); // a fresh export minute
  const { publicKey } = await data('admin.audit.verify', {});
  const { page, ui } = await adminAt('logs');
  const panel = ui.getByTestId('logs-export');
  await panel.waitFor();
  await panel.getByTestId('export-format-json').check();
  const { download, text, job } = await exportJob(page, panel);
  assert.equal(download.suggestedFilename(), `ai-clearance-audit-${job.from.slice(0, 10)}-${job.to.slice(0, 10)}.json`);
  const file = JSON.parse(text);
  assert.equal(file.kind, 'audit');
  assert.equal(file.rows.length, job.rows);
  assert.ok(job.rows > 0);
  assert.equal(file.verification.publicKey, publicKey.verifierKey);
  const seqs = file.rows.map((r) => r.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'entries oldest first');
  const result = panel.getByTestId('export-result');
  await result.waitFor();
  assert.equal(Number(await result.getAttribute('data-count')), job.rows);
  assert.equal(await pagedRows('audit', job.from, job.to), job.rows);
  await shot(page, 'admin-logs-export');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a broken audit trail shows a banner, and each problem of the last run as a sentence with its entry number', async () => {
  // The simulator cannot tamper with its own trail from the browser: the test rewrites the
  // status answer (admin.audit.verify) into one a damaged trail gives.
  const problems = [
    { seq: 12, kind: 'edited', detail: "the entry's content does not match its entryHash" },
    { seq: 13, kind: 'broken-link', detail: 'prevHash does not match the previous entry' },
    { seq: 40, kind: 'forged', detail: 'entryMac does not match (hash recomputed without the key?)' },
    { seq: 88, kind: 'rolled-back', detail: 'the latest checkpoint is not a prefix of the current tree' },
  ];
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.route('**/__console/api/invoke', async (route) => {
    const body = route.request().postDataJSON();
    if (body?.functionKey !== 'admin.audit.verify') return route.continue();
    const answer = await (await route.fetch()).json();
    if (answer.ok) {
      answer.data.broken = { detectedAt: '2026-11-17T12:00:00.000Z', detail: 'the head disagrees with the MAC key anchor' };
      answer.data.last = { ...answer.data.last, ok: false, mode: 'full', checked: 88, problems };
    }
    return route.fulfill({ json: answer });
  });
  await page.goto(`${URL}/#view=admin&as=${encodeURIComponent(ADMIN)}`);
  const ui = frame(page, ADMIN_MODULE);
  await ui.getByTestId('admin-nav-logs').click();
  const banner = ui.getByTestId('logs-broken');
  await banner.waitFor();
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.match(await banner.textContent(), /The audit trail is broken\..*cannot record any change/s);
  const result = ui.getByTestId('logs-verify-result');
  assert.equal(await result.getAttribute('data-ok'), 'false');
  assert.match(await result.textContent(), /4 problems found in 88 entries checked/);
  const items = await ui.getByTestId('logs-verify-problems').locator('li').evaluateAll((els) => els.map((e) => e.textContent));
  assert.equal(items.length, 4);
  assert.match(items[0], /^Entry 12: An entry's content was changed/);
  assert.match(items[1], /^Entry 13: An entry does not follow on from the entry before it/);
  assert.match(items[2], /^Entry 40: An entry or the head is not signed with the app's key/);
  assert.match(items[3], /^Entry 88: The trail was rolled back or rewritten/);
  // Sentences, not slugs.
  for (const t of items) assert.doesNotMatch(t.split('Details:')[0], /edited|broken-link|forged|rolled-back/);
  await shot(page, 'admin-logs-broken');
  assert.deepEqual(page.errors, []);
  await page.close();
});
