// console-site: scenario
// The approver's decisions on the Approvals tab, keyboard only (issue 33): Approve/Deny opens a
// confirmation dialog that names the request, takes focus, keeps Tab inside, closes on Escape
// and gives focus back to the button that opened it; Confirm decides and focus moves to the next
// row (or the table's heading when none is left), never to <body>. Bulk decisions confirm the
// same way, listing the requests. axe runs on the open dialog in light and dark.
//
// Run alone: host-sim serve --paused --fresh --addr 127.0.0.1:8802;
// CONSOLE_URL=http://127.0.0.1:8802 node --test tests/approvals-keyboard.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JONAS, LAURA, PRIYA, assertAccessible, consoleApi, frame, frameOf, invoke, launch, open as openIn, setTheme, shot } from './support/console.mjs';

const PAGE = 'ai-clearance';
const PANEL = 'ai-clearance-panel';

let browser;
let context;
const keys = {};

before(async () => {
  ({ browser, context } = await launch());
  // Three requests for Priya to decide: Jonas's two, Laura's one.
  const make = async (as, toolId, summary) => {
    const v = await invoke('panel.validate', { portalId: 1, requestTypeId: 12, toolId, durationDays: 30, justification: summary }, as, PANEL);
    assert.equal(v.ok, true, JSON.stringify(v));
    const r = await consoleApi('portal/create', { accountId: as, portalId: 1, requestTypeId: '12', summary,
      panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: v.data.snapshot }] } });
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.issueKey;
  };
  keys.a = await make(JONAS, 'grammarly-business', 'Grammarly for release notes');
  keys.b = await make(JONAS, 'tabnine', 'Tabnine in the IDE');
  keys.c = await make(LAURA, 'slack-ai', 'Slack AI channel summaries');
});
after(async () => {
  await browser?.close();
});

const open = (hash, as) => openIn(context, hash, as);

/** What has focus inside the frame: test id, the row it sits in, and whether it is in the dialog. */
const focused = (f) => f.evaluate(() => {
  const a = document.activeElement;
  return {
    testId: a?.getAttribute('data-testid') ?? null,
    tag: a?.tagName.toLowerCase() ?? null,
    row: a?.closest('[data-testid="pending-row"]')?.getAttribute('data-issue-key') ?? null,
    inDialog: !!a?.closest('[role="dialog"]'),
    frameHasFocus: document.hasFocus(),
  };
});

const decisionOf = async (as, key) => {
  const r = await invoke('requests.mine', { limit: 20 }, as, PAGE);
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.data.items.find((x) => x.issueKey === key)?.decision;
};

test('one decision by keyboard: the dialog names the request, keeps focus, Escape returns it; Confirm decides and focus moves on', async () => {
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  const row = (k) => ui.locator(`[data-testid="pending-row"][data-issue-key="${k}"]`);
  for (const k of [keys.a, keys.b, keys.c]) await row(k).waitFor();
  const f = await frameOf(page, PAGE);

  // No shared comment box on the page any more: each confirmation has its own.
  assert.equal(await ui.locator('.approvals > .field [data-testid="decision-comment"]').count(), 0);

  await row(keys.a).getByTestId('approve-button').focus();
  await page.keyboard.press('Enter');
  const dialog = ui.getByTestId('confirm-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('role'), 'dialog');
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  const text = await dialog.textContent();
  for (const must of [keys.a, 'Grammarly for release notes', 'Jonas Lindqvist', /Grammarly/]) assert.match(text, must instanceof RegExp ? must : new RegExp(must));
  assert.doesNotMatch(text, /5ad8a1033b4801af4cd6c510/, 'the requester by name, not account id');
  let at = await focused(f);
  assert.equal(at.inDialog, true, `focus on open: ${JSON.stringify(at)}`);
  // Tab and Shift+Tab stay in the dialog (comment, Cancel, Approve, and round again).
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    at = await focused(f);
    assert.equal(at.inDialog && at.frameHasFocus, true, `Tab ${i + 1} left the dialog: ${JSON.stringify(at)}`);
  }
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Shift+Tab');
    at = await focused(f);
    assert.equal(at.inDialog && at.frameHasFocus, true, `Shift+Tab ${i + 1} left the dialog: ${JSON.stringify(at)}`);
  }
  await assertAccessible(f, 'approve confirmation (light)');
  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, 'approve confirmation (dark)');
  await shot(page, 'approvals-confirm-one-dark');
  await setTheme(page, 'light', [f]);
  await shot(page, 'approvals-confirm-one');
  // The switch is on the console page: back into the dialog, as a keyboard user would be.
  await ui.getByTestId('decision-comment').focus();

  // Escape: closed, nothing decided, focus back on the row's Approve.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  at = await focused(f);
  assert.deepEqual([at.testId, at.row], ['approve-button', keys.a], `focus after Escape: ${JSON.stringify(at)}`);
  assert.equal(await decisionOf(JONAS, keys.a), 'pending');

  // Again, with a comment typed in the dialog, then Tab to Approve and Enter.
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await ui.getByTestId('decision-comment').focus();
  await page.keyboard.type('Fine for release notes.');
  for (let i = 0; i < 5 && (await focused(f)).testId !== 'confirm-yes'; i++) await page.keyboard.press('Tab');
  assert.equal((await focused(f)).testId, 'confirm-yes');
  await page.keyboard.press('Enter');
  await row(keys.a).waitFor({ state: 'detached' });
  await dialog.waitFor({ state: 'detached' });
  await page.waitForTimeout(100);
  at = await focused(f);
  assert.deepEqual([at.testId, at.row], ['approve-button', keys.b], `focus after the decision: ${JSON.stringify(at)}`);
  assert.match(await ui.getByTestId('action-result').textContent(), new RegExp(`${keys.a} approved`));
  assert.equal(await decisionOf(JONAS, keys.a), 'approved');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a bulk decision by keyboard lists the requests; after it focus goes to the heading when no row is left', async () => {
  const page = await open('view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  const row = (k) => ui.locator(`[data-testid="pending-row"][data-issue-key="${k}"]`);
  await row(keys.b).waitFor();
  await row(keys.c).waitFor();
  const f = await frameOf(page, PAGE);
  for (const k of [keys.b, keys.c]) {
    await row(k).getByTestId('row-select').focus();
    await page.keyboard.press('Space');
  }
  await ui.getByTestId('bulk-deny').focus();
  await page.keyboard.press('Enter');
  const dialog = ui.getByTestId('confirm-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('data-scope'), 'bulk');
  const listed = await dialog.getByTestId('confirm-list').locator('li').evaluateAll((ls) => ls.map((l) => l.textContent));
  assert.equal(listed.length, 2);
  assert.match(listed.join('\n'), /Tabnine in the IDE — Jonas Lindqvist/);
  assert.match(listed.join('\n'), /Slack AI channel summaries — Laura/);
  assert.equal((await focused(f)).inDialog, true);
  await assertAccessible(f, 'bulk confirmation (light)');
  await shot(page, 'approvals-confirm-bulk');

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await focused(f)).testId, 'bulk-deny', 'focus returns to the button that opened the dialog');
  assert.equal(await decisionOf(JONAS, keys.b), 'pending');

  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await page.keyboard.type('Not this quarter.');
  for (let i = 0; i < 5 && (await focused(f)).testId !== 'confirm-yes'; i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await row(keys.b).waitFor({ state: 'detached' });
  await row(keys.c).waitFor({ state: 'detached' });
  await page.waitForTimeout(100);
  const at = await focused(f);
  assert.equal(at.testId, 'pending-heading', `focus after the last rows left: ${JSON.stringify(at)}`);
  assert.equal(await decisionOf(JONAS, keys.b), 'denied');
  assert.equal(await decisionOf(LAURA, keys.c), 'denied');
  assert.deepEqual(page.errors, []);
  await page.close();
});
