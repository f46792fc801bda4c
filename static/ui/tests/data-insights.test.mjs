// console-site: scenario
// Insights that know about data (issue 35 item 6), as an admin meets them: requests and open
// access by declared data class and tool (from the daily rollups), and the grants approved
// before their tool's data profile weakened, recertified with one click (the recertification's
// review issues, once per grant, audited).
//
// covers: CL-185, CL-186, CL-133

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, assertAccessible, consoleApi, frame, frameOf, launch, open as openAs, shot, tick, invoke as invokeIn } from './support/console.mjs';

const ADMIN_MODULE = 'ai-clearance-admin';
const PANEL = 'ai-clearance-panel';
const AISHA = '712020:89984cad-7859-5ca0-9ed3-b961974cf056'; // engineering, holds no Copilot yet
let browser;
let context;

async function data(functionKey, payload, accountId = ADMIN, moduleKey = ADMIN_MODULE) {
  const r = await invokeIn(functionKey, payload, accountId, moduleKey);
  assert.equal(r.ok, true, `${functionKey}: ${JSON.stringify(r)}`);
  return r.data;
}

const profile = (trainsOnInputs) =>
  data('admin.catalog.upsert', {
    id: 'github-copilot',
    dataProfile: {
      approvedClasses: ['public', 'internal', 'source-code'],
      vendorTerms: { trainsOnInputs, dataResidency: 'US', enterpriseAgreement: true, verify: false },
    },
  });

before(async () => {
  ({ browser, context } = await launch());
  // The admin records Copilot's profile; Aisha asks for Copilot declaring source code and
  // internal data (the engineering policy approves it at once).
  await profile('no');
  const v = await data('panel.validate', {
    portalId: 1, requestTypeId: 12, toolId: 'github-copilot', durationDays: 30,
    justification: 'Runbook scripts', dataClasses: ['source-code', 'internal'], purpose: 'Runbook scripts',
  }, AISHA, PANEL);
  const made = await consoleApi('portal/create', {
    accountId: AISHA, portalId: 1, requestTypeId: '12', summary: 'Copilot for runbooks',
    panel: { isValid: true, fields: [{ key: 'aiclearance.snapshot.v1', value: v.snapshot }] },
  });
  assert.equal(made.ok, true, JSON.stringify(made));
  // A day passes: the daily analytics runner folds it. Then the vendor starts training on inputs.
  await tick('1d');
  await tick('1m');
  await profile('yes');
});

after(async () => {
  await browser?.close();
});

async function adminAt(section) {
  const page = await openAs(context, 'view=admin', ADMIN);
  const ui = frame(page, ADMIN_MODULE);
  await ui.getByTestId(`admin-nav-${section}`).click();
  await ui.getByTestId(`admin-section-${section}`).waitFor();
  return { page, ui };
}

test('Insights shows requests and open access by data class and tool, as admin.insights answers', async () => {
  const want = await data('admin.insights', { months: 12 });
  assert.equal(want.byDataClass.requests['source-code']['github-copilot'], 1, JSON.stringify(want.byDataClass));
  const { page, ui } = await adminAt('insights');
  const table = ui.getByTestId('insights-class-table');
  await table.waitFor();
  const row = table.locator('[data-testid="class-row"][data-class="source-code"][data-tool="github-copilot"]');
  assert.equal(await row.getByTestId('class-requests').textContent(), '1');
  assert.equal(await row.getByTestId('class-open').textContent(), String(want.byDataClass.openGrants['source-code']['github-copilot']));
  assert.match(await row.textContent(), /GitHub Copilot/);
  // Every (class, tool) the resolver counts has its row; "undeclared" reads as words.
  const rows = await table.locator('[data-testid="class-row"]').count();
  const pairs = new Set();
  for (const m of [want.byDataClass.requests, want.byDataClass.openGrants]) {
    for (const [c, tools] of Object.entries(m)) for (const t of Object.keys(tools)) pairs.add(`${c}/${t}`);
  }
  assert.equal(rows, pairs.size);
  if (pairs.has('undeclared/github-copilot')) {
    assert.match(await table.locator('[data-class="undeclared"][data-tool="github-copilot"]').textContent(), /Not declared/);
  }
  await assertAccessible(await frameOf(page, ADMIN_MODULE), 'Insights (data classes)');
  await page.close();
});

test('grants approved before Copilot started training on inputs are listed and recertified with one click', async () => {
  const { page, ui } = await adminAt('insights');
  const change = ui.locator('[data-testid="profile-change"][data-tool="github-copilot"]');
  await change.waitFor();
  assert.match(await change.getByTestId('profile-change-why').textContent(), /Trains on inputs: no → yes/);
  await change.getByTestId('profile-change-show').click();
  const grants = change.getByTestId('profile-change-grants');
  await grants.waitFor();
  const before = await data('admin.insights.profileChanges', { toolId: 'github-copilot' });
  assert.ok(before.grants.length >= 2, JSON.stringify(before)); // Aisha's and the scenario's
  assert.equal(await grants.getByTestId('profile-change-grant').count(), before.grants.length);
  assert.match(await grants.textContent(), /Aisha/);
  assert.match(await grants.getByTestId('grant-recertification').first().textContent(), /Not asked yet/);
  await assertAccessible(await frameOf(page, ADMIN_MODULE), 'Insights (profile changes)');

  await change.getByTestId('profile-change-recertify').click();
  const result = change.getByTestId('profile-change-result');
  await result.waitFor();
  // One review issue per grant, except a grant the admin holds (left to another admin).
  const others = before.grants.filter((g) => g.accountId !== ADMIN).length;
  assert.match(await result.textContent(), new RegExp(`^${others} review issues? created`));
  await change.locator('[data-testid="grant-recertification"]', { hasText: 'Review issue' }).first().waitFor();
  const after = await data('admin.insights.profileChanges', { toolId: 'github-copilot' });
  for (const g of after.grants) assert.equal(g.recertification?.state ?? null, g.accountId === ADMIN ? null : 'created', JSON.stringify(g));
  await shot(page, 'admin-insights-data');

  // Again: nothing new, said so.
  await change.getByTestId('profile-change-recertify').click();
  await change.locator('[data-testid="profile-change-result"]', { hasText: `0 review issues created, ${others} already asked for` }).waitFor();
  const asked = await data('admin.audit.search', { type: 'grants_recertification_requested' });
  const rows = asked.items ?? asked.hits ?? asked.entries ?? [];
  assert.equal(rows.length, 1, JSON.stringify(asked).slice(0, 400));
  assert.deepEqual(page.errors, []);
  await page.close();
});
