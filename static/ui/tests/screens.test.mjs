// console-site: scenario
// The screens as people use them: headless Chromium (Debian's package) driven by playwright-core
// against `host-sim serve` on the default site, clock paused so every background step happens
// when the test says. The Rust test tests/ui_browser.rs starts the console and runs this file;
// run it alone with CONSOLE_URL=http://127.0.0.1:8787 node --test static/ui/tests/.
//
// Each test builds on the one before (one site, one story): requests are created in the portal,
// decided on the Approvals tab and the issue panel, and analysed by an AI Prompt step.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, JONAS, LAURA, PRIYA, URL, assertAccessible, consoleApi, frame, frameOf, launch, open as openAs, shot, tick, invoke as invokeIn } from './support/console.mjs';


const PANEL = 'ai-clearance-panel';
const ISSUE_PANEL = 'ai-clearance-issue-panel';
const PAGE = 'ai-clearance';

let browser;
let context;
const story = {}; // issue keys the tests create, shared down the file

before(async () => {
  ({ browser, context } = await launch());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: URL });
});

after(async () => {
  await browser?.close();
});

const invoke = (functionKey, payload, accountId, moduleKey = PAGE) => invokeIn(functionKey, payload, accountId, moduleKey);
const open = (hash, as) => openAs(context, hash, as);
const modal = (page) => page.frameLocator('[data-testid="console-modal"] iframe');

/** The portal's create form: pick a tool and duration in the app's panel, then Create. */
async function requestInPortal(as, { tool, days, why, summary }) {
  const page = await open('view=portal&portal=1&type=12', as);
  const panel = frame(page, PANEL);
  await panel.getByTestId('tool-select').selectOption(tool);
  await panel.getByTestId('duration-select').selectOption(String(days));
  await panel.getByTestId('justification').fill(why);
  await page.locator('#panel-submitted', { hasText: 'Panel value ready.' }).waitFor();
  await page.getByTestId('portal-summary').fill(summary);
  await page.getByTestId('portal-create').click();
  const created = page.getByTestId('portal-created');
  await created.waitFor();
  const key = await created.getAttribute('data-issue-key');
  return { page, key };
}

test('a JSM customer sees My Access but no Approvals tab; an approver sees it (CL-050 front end)', async () => {
  // covers: CL-903
  const customer = await open('view=global', LAURA);
  const ui = frame(customer, PAGE);
  await ui.getByTestId('tab-my-access').waitFor();
  await ui.getByTestId('tab-approved-tools').waitFor();
  assert.equal(await ui.getByTestId('tab-approvals').count(), 0, 'a customer must not see the Approvals tab');
  await shot(customer, 'global-customer');

  const approver = await open('view=global', PRIYA);
  await frame(approver, PAGE).getByTestId('tab-approvals').waitFor();
  assert.deepEqual(customer.errors.concat(approver.errors), []);
  await customer.close();
  await approver.close();
});

test('requesters see a tool\'s guidance on Approved Tools, never its internal fulfilment notes (issue 33)', async () => {
  // The admin's Catalog holds both texts; the requester's tab must show the one and none of the other.
  const tools = (await invoke('admin.catalog.list', {}, ADMIN, 'ai-clearance-admin')).data.tools.filter((t) => t.status === 'approved');
  const notes = tools.map((t) => t.fulfilmentNotes).filter(Boolean);
  assert.ok(notes.length > 5, 'the seed catalog has internal notes to leak');
  const page = await open('view=global', JONAS);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approved-tools').click();
  await ui.getByTestId('approved-tool-row').first().waitFor();
  assert.equal(await ui.getByTestId('approved-tool-row').count(), tools.length);
  const text = await ui.locator('body').innerText();
  const claude = tools.find((t) => t.id === 'claude-team');
  assert.ok(text.includes(claude.guidance.slice(0, 40)), 'guidance is shown');
  assert.doesNotMatch(text, /Fulfilment:/);
  for (const n of notes) assert.ok(!text.includes(n.slice(0, 40)), `internal note shown to a requester: ${n}`);
  await assertAccessible(await frameOf(page, PAGE), 'Approved Tools (requester)');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the portal panel shows the resolver\'s field errors, blocks Create while invalid, and submits the snapshot intake ingests', async () => {
  const page = await open('view=portal&portal=1&type=12', JONAS);
  const panel = frame(page, PANEL);
  await panel.getByTestId('tool-select').selectOption('grammarly-business');
  await panel.getByTestId('tool-guidance').waitFor();
  // Back to "Choose a tool…": panel.validate's TOOL error is shown next to the field.
  await panel.getByTestId('tool-select').selectOption('');
  const err = panel.locator('[data-testid="field-error"][data-field="toolId"]');
  await err.waitFor();
  assert.match(await err.getAttribute('data-code'), /TOOL/);
  await page.locator('#panel-submitted', { hasText: 'Create is blocked' }).waitFor();
  await page.getByTestId('portal-summary').fill('Grammarly for release notes');
  await page.getByTestId('portal-create').click();
  const refused = page.getByTestId('portal-error');
  await refused.waitFor();
  assert.equal(await refused.getAttribute('data-code'), 'PANEL_INVALID');
  // Nothing was lost: the summary is still there, and the person finishes the form.
  assert.equal(await page.getByTestId('portal-summary').inputValue(), 'Grammarly for release notes');
  await panel.getByTestId('tool-select').selectOption('grammarly-business');
  await panel.getByTestId('duration-select').selectOption('30');
  await panel.getByTestId('justification').fill('Proofreading release notes');
  await page.locator('#panel-submitted', { hasText: 'Panel value ready.' }).waitFor();
  await shot(page, 'portal-panel');
  await page.getByTestId('portal-create').click();
  const created = page.getByTestId('portal-created');
  await created.waitFor();
  story.grammarly = await created.getAttribute('data-issue-key');
  assert.match(await created.textContent(), /ingested as a pending request/);

  // What intake stored is what the panel chose.
  const mine = await invoke('requests.mine', {}, JONAS);
  const r = mine.data.items.find((x) => x.issueKey === story.grammarly);
  assert.equal(r?.tool?.id, 'grammarly-business');
  assert.equal(r?.durationDays, 30);
  assert.equal(r?.decision, 'pending');
  assert.deepEqual(page.errors, []);
  await page.close();

  // A JSM customer (unlicensed) uses the same panel.
  const laura = await requestInPortal(LAURA, { tool: 'slack-ai', days: 90, why: 'Summaries of support channels', summary: 'Slack AI' });
  story.slack = laura.key;
  await laura.page.close();
  // A third one, for the rate-limit test below.
  const third = await requestInPortal(JONAS, { tool: 'tabnine', days: 30, why: 'Completions in the IDE', summary: 'Tabnine' });
  story.tabnine = third.key;
  await third.page.close();
});

test('the panel renders nothing outside the intake portal and its request types', async () => {
  // Request type 14 (Report an AI incident) is not an allowed type; portal 2 is the IT portal.
  for (const hash of ['view=portal&portal=1&type=14', 'view=portal&portal=2']) {
    const before = (await consoleApi('clock')).seq;
    const page = await open(hash, JONAS);
    // Wait until the app has asked panel.context (the console lists every invocation) …
    for (let i = 0; i < 100; i++) {
      const c = await consoleApi(`clock?since=${before}`);
      if (c.activity.some((a) => a.label === 'resolver panel.context')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const panelFrame = await (await page.locator(`main iframe[data-module="${PANEL}"]`).elementHandle()).contentFrame();
    await page.waitForTimeout(300); // … and React has drawn its answer.
    assert.equal(await panelFrame.locator('#root').innerHTML(), '', `${hash}: the panel must render nothing`);
    assert.equal(await panelFrame.getByTestId('panel-form').count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test('an approver bulk-approves two requests after confirming; the rate limit reads as a sentence', async () => {
  // covers: CL-902
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  for (const key of [story.grammarly, story.slack, story.tabnine]) {
    await ui.locator(`[data-testid="pending-row"][data-issue-key="${key}"]`).waitFor();
  }
  // Requesters appear by name, not account id.
  assert.match(await ui.locator(`[data-testid="pending-row"][data-issue-key="${story.grammarly}"]`).textContent(), /Jonas Lindqvist/);
  const row = (key) => ui.locator(`[data-testid="pending-row"][data-issue-key="${key}"]`);
  await row(story.grammarly).getByTestId('row-select').check();
  await row(story.slack).getByTestId('row-select').check();
  await ui.getByTestId('bulk-approve').click();
  // The confirmation step: cancelling decides nothing.
  const confirm = ui.getByTestId('confirm-dialog');
  await confirm.waitFor();
  assert.match(await confirm.textContent(), /2/);
  await ui.getByTestId('confirm-cancel').click();
  assert.equal(await confirm.count(), 0);
  assert.equal(await row(story.grammarly).count(), 1, 'cancel must not decide');
  await ui.getByTestId('bulk-approve').click();
  await shot(page, 'approvals-confirm');
  await ui.getByTestId('confirm-yes').click();
  await ui.getByTestId('action-result').waitFor();
  await row(story.grammarly).waitFor({ state: 'detached' });
  await row(story.slack).waitFor({ state: 'detached' });
  const decided = await invoke('requests.mine', {}, JONAS);
  assert.equal(decided.data.items.find((x) => x.issueKey === story.grammarly)?.decision, 'approved');

  // Four more bulk calls this minute use up the 5-a-minute allowance; the sixth, from the
  // screen, is refused with a sentence that says when to retry.
  for (let i = 0; i < 4; i++) await invoke('clearance.approvals.bulkDecide', { issueKeys: ['AIR-9999'], decision: 'approve' }, PRIYA);
  await row(story.tabnine).getByTestId('row-select').check();
  await ui.getByTestId('bulk-approve').click();
  await ui.getByTestId('confirm-yes').click();
  const limited = ui.getByTestId('action-error');
  await limited.waitFor();
  const text = await limited.textContent();
  assert.match(text, /minute/i);
  assert.match(text, /BULK_RATE_LIMITED/);
  // The refusal is shown in the dialog, which stays open with the selection.
  assert.equal(await ui.getByTestId('confirm-dialog').locator('[data-testid="action-error"]').count(), 1);
  await shot(page, 'approvals-rate-limited');
  // A minute later the same confirmation goes through.
  await tick('1m');
  await ui.getByTestId('confirm-yes').click();
  await row(story.tabnine).waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('My Access shows the new grant with its expiry label; history links open the issue', async () => {
  // covers: CL-903, CL-904
  await tick('10m'); // decision follow-ups and the manual provisioning job run
  const page = await open('view=global', JONAS);
  const ui = frame(page, PAGE);
  const grant = ui.locator('[data-testid="my-access-row"][data-tool="grammarly-business"]');
  await grant.waitFor();
  assert.match(await grant.getByTestId('expiry-label').textContent(), /30 days remaining/);
  assert.equal(await grant.getAttribute('data-state'), 'active');
  assert.equal(await grant.getByTestId('extend-button').isDisabled(), true, 'self-extension is off');
  await shot(page, 'my-access');

  await ui.getByTestId('tab-history').click();
  const h = ui.locator(`[data-testid="history-row"][data-issue-key="${story.grammarly}"]`);
  await h.waitFor();
  assert.equal(await h.getByTestId('decision-badge').getAttribute('data-decision'), 'approved');
  await h.getByTestId('issue-link').click();
  await page.waitForFunction((key) => location.hash.includes('view=issue') && location.hash.includes(`issue=${key}`), story.grammarly);
  await page.getByTestId('issue-details').getByText(story.grammarly).first().waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an approver marks a manual provisioning task fulfilled; the grant turns active', async () => {
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  const task = ui.locator(`[data-testid="manual-row"][data-issue-key="${story.grammarly}"][data-kind="provision"]`);
  await task.waitFor();
  const button = task.getByTestId('manual-complete');
  assert.equal(await button.getAttribute('data-action'), 'fulfilled');
  assert.match(await button.textContent(), /Mark fulfilled/);
  await button.click();
  await task.waitFor({ state: 'detached' });
  await ui.getByTestId('action-result').waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
  const access = await invoke('page.myAccess', {}, JONAS);
  const g = access.data.grants.find((x) => x.issueKey === story.grammarly);
  assert.equal(g?.status, 'active', JSON.stringify(g));
});

test('selecting more than 50 requests explains the limit, and the server refuses the whole bulk', async () => {
  // 51 pending requests from the portal (Jonas asks for Atlassian Rovo on each).
  const snapshot = (await invoke('panel.validate', { portalId: 1, requestTypeId: 12, toolId: 'atlassian-rovo', durationDays: 30 }, JONAS, PANEL)).data.snapshot;
  const keys = [];
  for (let i = 0; i < 51; i++) {
    const r = await consoleApi('portal/create', { accountId: LAURA, portalId: 1, requestTypeId: '12', summary: `Rovo seat ${i + 1}`,
      panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: snapshot }] } });
    assert.equal(r.ok, true, JSON.stringify(r));
    keys.push(r.issueKey);
  }
  await tick('2m'); // a fresh bulk-decision minute
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  // The tab reads a page at a time: "Show more requests" until the last one is there.
  await ui.getByTestId('pending-row').first().waitFor();
  for (let i = 0; i < 5 && (await ui.locator(`[data-testid="pending-row"][data-issue-key="${keys[50]}"]`).count()) === 0; i++) {
    const before = await ui.getByTestId('pending-row').count();
    await ui.getByTestId('pending-more').click();
    await ui.locator(`[data-testid="pending-row"] >> nth=${before}`).waitFor();
  }
  await ui.locator(`[data-testid="pending-row"][data-issue-key="${keys[50]}"]`).waitFor();
  assert.equal(await ui.getByTestId('pending-more').count(), 0);
  await ui.getByTestId('select-all').check();
  await ui.getByText('At most 50 requests can be decided at once.').waitFor();
  await ui.getByTestId('bulk-deny').click();
  await ui.getByTestId('confirm-yes').click();
  const refused = ui.getByTestId('action-error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /you can decide at most 50 requests at once.*BULK_TOO_LARGE/s);
  // Nothing was decided, and the selection is still there to narrow down.
  assert.equal(await ui.getByTestId('pending-row').count(), 51);
  assert.equal(await ui.locator('[data-testid="row-select"]:checked').count(), 51);
  await shot(page, 'approvals-too-many');
  await ui.getByTestId('confirm-cancel').click();
  await ui.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
  // One row decided on its own: Deny with a reason in its confirmation, and only that row leaves the table.
  await ui.getByTestId('select-all').uncheck();
  await ui.locator(`[data-testid="pending-row"][data-issue-key="${keys[0]}"]`).getByTestId('deny-button').click();
  await ui.getByTestId('confirm-dialog').getByTestId('decision-comment').fill('One Rovo seat per person is enough.');
  await ui.getByTestId('confirm-yes').click();
  await ui.locator(`[data-testid="pending-row"][data-issue-key="${keys[0]}"]`).waitFor({ state: 'detached' });
  assert.equal(await ui.getByTestId('pending-row').count(), 50);
  const items = [];
  for (let cursor = null, pages = 0; pages < 10; pages++) {
    const r = await invoke('requests.mine', { limit: 20, ...(cursor ? { cursor } : {}) }, LAURA);
    items.push(...r.data.items);
    cursor = r.data.nextCursor;
    if (!cursor) break;
  }
  assert.equal(items.filter((x) => keys.includes(x.issueKey) && x.decision === 'pending').length, 50);
  assert.equal(items.find((x) => x.issueKey === keys[0])?.decision, 'denied');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an approver decides a path step on the issue panel, with a comment', async () => {
  const made = await consoleApi('portal/create', {
    accountId: JONAS, portalId: 1, requestTypeId: '12', summary: 'Perplexity Enterprise for support research',
    panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: (await invoke('panel.validate',
      { portalId: 1, requestTypeId: 12, toolId: 'perplexity-enterprise', durationDays: 30, justification: 'Support research' }, JONAS, PANEL)).data.snapshot }] }
  });
  assert.equal(made.ok, true, JSON.stringify(made));
  story.chatgpt = made.issueKey;

  // The requester is no approver of their own path: no decision controls for them.
  const requester = await open(`view=issue&issue=${story.chatgpt}`, JONAS);
  await frame(requester, ISSUE_PANEL).getByTestId('approval-timeline').first().waitFor();
  assert.equal(await frame(requester, ISSUE_PANEL).getByTestId('step-approve').count(), 0);
  await requester.close();

  const page = await open(`view=issue&issue=${story.chatgpt}`, PRIYA);
  const ui = frame(page, ISSUE_PANEL);
  const step = ui.locator('[data-testid="approval-step"]', { has: ui.getByTestId('step-approve') }).first();
  await step.waitFor();
  const stepId = await step.getAttribute('data-step-id');
  assert.equal(await step.getAttribute('data-status'), 'ACTIVE');
  // One vocabulary: Approve / Deny, as on the Approvals tab (never "Reject").
  assert.equal((await step.getByTestId('step-reject').textContent()).trim(), 'Deny');
  assert.doesNotMatch(await ui.locator('.issue-panel').textContent(), /reject/i);
  await step.getByTestId('step-comment').fill('Fine for support macros; no customer PII.');
  await shot(page, 'issue-panel-decide');
  await step.getByTestId('step-approve').click();
  const done = ui.locator(`[data-testid="approval-step"][data-step-id="${stepId}"]`);
  await ui.locator(`[data-testid="approval-step"][data-step-id="${stepId}"][data-status="SUCCESS"]`).first().waitFor();
  const decidedBy = await done.first().getByTestId('step-decided-by').textContent();
  assert.match(decidedBy, /Priya Raman/);
  assert.match(decidedBy, /no customer PII/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an administrator override asks for its reason before either button works', async () => {
  // covers: CL-037
  const page = await open(`view=issue&issue=${story.chatgpt}`, ADMIN);
  const ui = frame(page, ISSUE_PANEL);
  const step = ui.locator('[data-testid="approval-step"][data-status="ACTIVE"]', { has: ui.getByTestId('step-reject') }).first();
  await step.waitFor();
  assert.match(await step.getByTestId('step-authority').textContent(), /admin override, and needs a reason/);
  assert.equal(await step.getByTestId('step-comment').getAttribute('placeholder'), 'Reason for the override (required)');
  assert.equal(await step.getByTestId('step-approve').isDisabled(), true, 'no reason yet');
  assert.equal(await step.getByTestId('step-reject').isDisabled(), true);
  await step.getByTestId('step-comment').fill('Team lead on leave; need confirmed by her manager');
  assert.equal(await step.getByTestId('step-approve').isDisabled(), false);
  const stepId = await step.getAttribute('data-step-id');
  await step.getByTestId('step-approve').click();
  const done = ui.locator(`[data-testid="approval-step"][data-step-id="${stepId}"][data-status="SUCCESS"]`).first();
  await done.waitFor();
  assert.match(await done.getByTestId('step-decided-by').textContent(), /admin override/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a PROMPT step shows Analyzing… and then its teaser without a reload; polling stops', async () => {
  // covers: AP-901, AP-902, AP-903, AP-908
  const started = await invoke('approvals.start', { definitionId: 'ai-assisted-access', issueKey: story.chatgpt }, JONAS);
  assert.equal(started.ok, true, JSON.stringify(started));
  const page = await open(`view=issue&issue=${story.chatgpt}`, PRIYA);
  const ui = frame(page, ISSUE_PANEL);
  const prompt = ui.locator('[data-testid="approval-step"][data-step-type="PROMPT"]').last();
  await prompt.getByTestId('prompt-analyzing').waitFor();
  assert.match(await prompt.getByTestId('prompt-analyzing').textContent(), /Analyzing…/);
  await prompt.getByTestId('ai-sparkle').waitFor();
  await ui.locator('.issue-panel[data-polling="true"]').waitFor();
  await shot(page, 'issue-panel-analyzing');
  // Mark the frame: a reload would lose the mark.
  const panelFrame = page.frames().find((f) => f.url().includes(`/ui/${ISSUE_PANEL}/`));
  await panelFrame.evaluate(() => { window.__stillHere = true; });
  let skeletons = 0;
  const watch = setInterval(async () => {
    skeletons += await ui.getByTestId('loading-skeleton').count().catch(() => 0);
  }, 200);
  // The queue runs the AI job when the clock moves (the console's +1 min button).
  await page.getByTestId('advance-1m').click();
  await prompt.getByTestId('prompt-teaser').waitFor({ timeout: 20_000 });
  clearInterval(watch);
  assert.equal(await panelFrame.evaluate(() => window.__stillHere), true, 'the panel must refresh in place');
  assert.equal(skeletons, 0, 'no loading skeleton during background polls');
  assert.equal((await prompt.getByTestId('teaser-cta').textContent()).trim(), 'Click to view full analysis ›');
  assert.ok(await prompt.getByTestId('teaser-lozenge').count() === 1);
  await ui.locator('.issue-panel[data-polling="false"]').waitFor();
  await shot(page, 'issue-panel-teaser');

  // Keyboard: Enter on the teaser opens the dialog with focus in it (its title); Tab stays in
  // the dialog (the page behind is inert); Escape closes it and focus is back on the teaser.
  await prompt.getByTestId('teaser-cta').focus();
  await page.keyboard.press('Enter');
  const dialog = modal(page);
  await dialog.getByTestId('result-dialog').waitFor();
  const dialogFrame = await frameOf(page, null, { modal: true });
  await dialogFrame.waitForFunction(() => document.hasFocus() && document.activeElement?.getAttribute('data-testid') === 'dialog-title');
  const inModal = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="console-modal"]'));
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    assert.equal(await inModal(), true, `Tab ${i + 1} left the result dialog`);
  }
  await assertAccessible(dialogFrame, 'result dialog (light)');
  await page.keyboard.press('Escape');
  await page.getByTestId('console-modal').waitFor({ state: 'detached' });
  await panelFrame.waitForFunction(() => document.hasFocus() && document.activeElement?.getAttribute('data-testid') === 'teaser-cta');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-module')), ISSUE_PANEL, 'focus back in the issue panel');

  // An approver opens the result dialog: sections, citations, copy; no Re-run for them.
  await page.keyboard.press('Enter');
  await dialog.getByTestId('result-dialog').waitFor();
  await dialog.getByTestId('result-section').first().waitFor();
  assert.ok(await dialog.getByTestId('section-lozenge').count() > 0);
  await dialog.getByTestId('copy-result').click();
  await dialog.locator('[data-testid="copy-result"][data-state="copied"]').waitFor();
  assert.equal(await dialog.getByTestId('rerun-button').count(), 0, 'an approver may not re-run');
  assert.equal(await dialog.getByTestId('provider-calls').count(), 0, 'the prompt stays out of approver views');
  await shot(page, 'result-dialog-approver');
  await dialog.getByTestId('dialog-close').click();
  await page.getByTestId('console-modal').waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the originator re-runs from the dialog; it tells window.parent only and the panel refreshes in place', async () => {
  // covers: AP-904, AP-905
  // The console runs inside a wrapper page here, so the console (the dialog's parent) and
  // window.top are different windows: a message to window.top would reach the wrapper.
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const hash = `view=issue&issue=${story.chatgpt}&as=${encodeURIComponent(JONAS)}`;
  await page.route(`${URL}/__wrapper.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><body style="margin:0"><iframe id="console" src="/#${hash}" style="border:0;width:100%;height:1000px"></iframe>
      <script>window.__toTop = []; addEventListener('message', (e) => { if (e.data && e.data.type) window.__toTop.push(e.data.type); });</script></body>`
  }));
  await page.goto(`${URL}/__wrapper.html`);
  const consoleUi = page.frameLocator('#console');
  const ui = consoleUi.frameLocator(`main iframe[data-module="${ISSUE_PANEL}"]`);
  const prompt = ui.locator('[data-testid="approval-step"][data-step-type="PROMPT"]').last();
  await prompt.getByTestId('prompt-teaser').waitFor();
  const panelFrame = page.frames().find((f) => f.url().includes(`/ui/${ISSUE_PANEL}/`) && !f.url().includes('modal'));
  await panelFrame.evaluate(() => { window.__stillHere = true; });
  const consoleFrame = page.frames().find((f) => f.parentFrame() === page.mainFrame());
  await consoleFrame.evaluate(() => {
    window.__toParent = [];
    addEventListener('message', (e) => { if (e.data && e.data.type === 'ap:prompt-rerun-completed') window.__toParent.push(e.data); });
  });
  await prompt.getByTestId('teaser-cta').click();
  const dialog = consoleUi.frameLocator('[data-testid="console-modal"] iframe');
  await dialog.getByTestId('rerun-button').waitFor();
  await dialog.getByTestId('rerun-button').click();
  await dialog.locator('[data-testid="rerun-status"][data-state="waiting"]').waitFor();
  assert.equal((await consoleFrame.evaluate(() => window.__toParent)).length, 1, 'one ap:prompt-rerun-completed to window.parent');
  assert.deepEqual(await page.evaluate(() => window.__toTop), [], 'nothing posted to window.top');
  // The panel behind the dialog heard it and refetched in place: the step analyses again.
  await prompt.getByTestId('prompt-analyzing').waitFor();
  assert.equal(await panelFrame.evaluate(() => window.__stillHere), true);
  await shot(page, 'result-dialog-rerun');
  await tick('1m');
  await dialog.locator('[data-testid="rerun-status"][data-state="done"]').waitFor({ timeout: 20_000 });
  await dialog.getByTestId('result-section').first().waitFor();
  await dialog.getByTestId('dialog-close').click();
  await consoleUi.getByTestId('console-modal').waitFor({ state: 'detached' });
  await prompt.getByTestId('prompt-teaser').waitFor({ timeout: 20_000 });
  assert.equal(await panelFrame.evaluate(() => window.__stillHere), true, 'closing the dialog must not reload the panel');
  assert.deepEqual(errors, []);
  await page.close();
});

test('an administrator lists every provider call of a step, with the prompt that was sent', async () => {
  // covers: AP-250, AP-260
  const page = await open(`view=issue&issue=${story.chatgpt}`, ADMIN);
  const ui = frame(page, ISSUE_PANEL);
  const prompt = ui.locator('[data-testid="approval-step"][data-step-type="PROMPT"]').last();
  await prompt.getByTestId('teaser-cta').click();
  const dialog = modal(page);
  await dialog.getByTestId('result-section').first().waitFor();
  await dialog.locator('[data-testid="provider-calls"] > summary').click();
  await dialog.getByTestId('provider-calls-table').waitFor();
  // The first analysis and the originator's re-run: two calls, newest first.
  const calls = dialog.getByTestId('provider-call');
  assert.equal(await calls.count(), 2);
  assert.equal(await calls.first().getAttribute('data-error'), '');
  await calls.first().locator('summary', { hasText: 'Prompt sent' }).click();
  const sent = calls.first().getByTestId('provider-call-prompt');
  assert.match(await sent.textContent(), /## Request/);
  // The prompt scrolls by keyboard: it is in the Tab order, with a name.
  assert.equal(await sent.getAttribute('tabindex'), '0');
  assert.match(await sent.getAttribute('aria-label'), /Prompt sent/);
  await sent.focus();
  await page.keyboard.press('PageDown');
  await assertAccessible(await frameOf(page, null, { modal: true }), 'result dialog with provider calls (light)');
  await shot(page, 'result-dialog-provider-calls');
  assert.deepEqual(page.errors, []);
  await page.close();
});
