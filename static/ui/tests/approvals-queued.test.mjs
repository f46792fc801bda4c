// console-site: scenario
// A request a bulk decision queued for a later minute (inside the app's write budget, D-253)
// shows on the Approvals tab as "Decision queued — applies within N min": no checkbox to
// select it, no Approve / Deny of its own, and "Select all" leaves it out. The server marks the
// row (tests/scale.rs keys_a_bulk_queued_…); here the tab's answer is given one queued row so the
// screen is checked on its own. axe runs on the tab in light and dark.
//
// Run alone: host-sim serve --paused --fresh --addr 127.0.0.1:8793;
// CONSOLE_URL=http://127.0.0.1:8793 node --test tests/approvals-queued.test.mjs

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
  const make = async (as, toolId, summary) => {
    const v = await invoke('panel.validate', { portalId: 1, requestTypeId: 12, toolId, durationDays: 30, justification: summary }, as, PANEL);
    assert.equal(v.ok, true, JSON.stringify(v));
    const r = await consoleApi('portal/create', { accountId: as, portalId: 1, requestTypeId: '12', summary,
      panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: v.data.snapshot }] } });
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.issueKey;
  };
  keys.queued = await make(JONAS, 'grammarly-business', 'Grammarly for release notes');
  keys.open = await make(LAURA, 'slack-ai', 'Slack AI channel summaries');
  // The tab's answer as the server gives it while a bulk decision of this request is queued.
  await context.route('**/__console/api/invoke', async (route) => {
    const req = route.request();
    const body = req.postDataJSON?.() ?? JSON.parse(req.postData() || '{}');
    if (body.functionKey !== 'clearance.approvals.tab') return route.continue();
    const resp = await route.fetch();
    const json = await resp.json();
    for (const row of json?.data?.pending ?? []) {
      if (row.issueKey === keys.queued) row.queued = { withinMinutes: 3 };
    }
    await route.fulfill({ response: resp, json });
  });
});
after(async () => {
  await browser?.close();
});

test('a queued request is shown as queued and offers no decision', async () => {
  const page = await openIn(context, 'view=global', PRIYA);
  const ui = frame(page, PAGE);
  await ui.getByTestId('tab-approvals').click();
  const row = (k) => ui.locator(`[data-testid="pending-row"][data-issue-key="${k}"]`);
  await row(keys.queued).waitFor();
  await row(keys.open).waitFor();
  const f = await frameOf(page, PAGE);
  const q = row(keys.queued);
  assert.match(await q.getByTestId('row-queued').innerText(), /decision queued\s*— applies within 3 min/i);
  assert.equal(await q.getByTestId('approve-button').count(), 0);
  assert.equal(await q.getByTestId('deny-button').count(), 0);
  assert.equal(await q.getByTestId('row-select').isDisabled(), true);
  // The other row is decided as before.
  assert.equal(await row(keys.open).getByTestId('approve-button').isEnabled(), true);
  // Select all takes only what can be decided.
  await ui.getByTestId('select-all').check();
  assert.equal(await q.getByTestId('row-select').isChecked(), false);
  assert.equal(await row(keys.open).getByTestId('row-select').isChecked(), true);
  assert.match(await ui.getByTestId('bulk-approve').innerText(), /Approve selected/);
  await shot(page, 'approvals-queued-light');
  await assertAccessible(f, 'approvals tab with a queued row (light)');
  await setTheme(page, 'dark', [f]);
  await shot(page, 'approvals-queued-dark');
  await assertAccessible(f, 'approvals tab with a queued row (dark)');
});
