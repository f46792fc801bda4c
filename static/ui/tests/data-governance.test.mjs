// console-site: scenario
// Governance that knows it is about AI (issue 35), as a requester meets it in the portal: the
// panel's decision preview changes with the tool, the duration and the data declared; a
// prohibited class is refused before Create with the reason; an approval with conditions shows
// them in My Access, on the issue and in the governance log.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, JONAS, LAURA, assertAccessible, consoleApi, frame, frameOf, launch, open as openAs, shot, tick, invoke as invokeIn } from './support/console.mjs';

const PANEL = 'ai-clearance-panel';
const AISHA = '712020:89984cad-7859-5ca0-9ed3-b961974cf056'; // engineering, holds no Copilot yet
const PAGE = 'ai-clearance';
let browser;
let context;

before(async () => {
  ({ browser, context } = await launch());
  // The admin records Copilot's data profile and a prohibition (as the Catalog and Governance
  // screens would): approved for public, internal and source code, with a usage condition;
  // customer data is prohibited in Copilot.
  const data = async (functionKey, payload) => {
    const r = await invokeIn(functionKey, payload, ADMIN, 'ai-clearance-admin');
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.data;
  };
  await data('admin.catalog.upsert', {
    id: 'github-copilot',
    dataProfile: {
      approvedClasses: ['public', 'internal', 'source-code'],
      conditions: ['Code only in repositories under github.com/acme'],
      vendorTerms: { trainsOnInputs: 'no' },
    },
  });
  await data('admin.governance.save', { dataClassRules: { 'github-copilot': { 'customer-data': 'prohibited' } } });
});

after(async () => {
  await browser?.close();
});

const open = (hash, as) => openAs(context, hash, as);
const preview = (panel) => panel.getByTestId('decision-preview');

async function outcome(panel, want) {
  await panel.locator(`[data-testid="decision-preview"][data-outcome="${want}"]`).waitFor();
}

test('the preview changes with the tool, the duration and the data, and refuses a prohibited class before Create', async () => {
  // covers: CL-012, CL-040
  // Jonas already holds Copilot (the scenario approved it): the preview says so before Create.
  const jonas = await open('view=portal&portal=1&type=12', JONAS);
  const jp = frame(jonas, PANEL);
  await jp.getByTestId('tool-select').selectOption('github-copilot');
  await outcome(jp, 'refused');
  assert.match(await jp.getByTestId('preview-refused').textContent(), /already hold access to GitHub Copilot/);
  await jonas.close();

  const page = await open('view=portal&portal=1&type=12', AISHA);
  const panel = frame(page, PANEL);
  // Nothing chosen: no preview.
  await panel.getByTestId('tool-select').waitFor();
  assert.equal(await preview(panel).count(), 0);

  // An engineer's Copilot: the policy approves it at once, with the tool's conditions.
  await panel.getByTestId('tool-select').selectOption('github-copilot');
  await panel.getByTestId('duration-select').selectOption('30');
  await outcome(panel, 'auto-approved');
  assert.match(await panel.getByTestId('preview-summary').textContent(), /Approved automatically.*30 days/);
  assert.match(await panel.getByTestId('preview-conditions').textContent(), /Never with: customer-data/);

  // Declaring source code (by keyboard: focus the box, Space) adds it to the conditions.
  await panel.getByTestId('data-class-source-code').focus();
  await page.keyboard.press('Space');
  await panel.locator('[data-testid="preview-conditions"]', { hasText: 'Only with the data declared: source-code' }).waitFor();

  // Customer data is prohibited in Copilot: refused before Create, with the reason, and
  // Create is blocked.
  await panel.getByTestId('data-class-customer-data').check();
  await outcome(panel, 'refused');
  assert.match(await panel.getByTestId('preview-refused').textContent(), /prohibits customer-data/);
  // The box's own hint agrees with the preview: refused, not "a person decides".
  assert.match(await panel.getByTestId('data-class-prohibited-customer-data').textContent(), /would be refused/);
  assert.equal(await panel.getByTestId('data-class-review-customer-data').count(), 0);
  await page.locator('#panel-submitted', { hasText: 'Create is blocked' }).waitFor();
  await shot(page, 'portal-preview-refused');
  await assertAccessible(await frameOf(page, PANEL), 'the portal panel with a refusal preview');

  // Personal data is not in Copilot's profile: a person decides, and the preview says why.
  await panel.getByTestId('data-class-customer-data').uncheck();
  await panel.getByTestId('data-class-personal-data').check();
  await outcome(panel, 'people');
  assert.match(await panel.getByTestId('preview-auto-approval').textContent(), /personal-data/);
  assert.match(await panel.getByTestId('preview-summary').textContent(), /ai-approvers/);

  // A high-risk tool walks the security review path: its steps by group name, the maximum
  // duration for high risk.
  await panel.getByTestId('data-class-personal-data').uncheck();
  await panel.getByTestId('tool-select').selectOption('windsurf');
  await panel.locator('[data-testid="preview-summary"]', { hasText: 'Security review' }).waitFor();
  const text = await panel.getByTestId('preview-summary').textContent();
  assert.match(text, /group security-reviewers/);
  assert.doesNotMatch(text, /5d610bd6|712020:/, 'no account ids in the preview');
  assert.match(await panel.getByTestId('preview-duration').textContent(), /Longest access allowed for this tool: 30 days/);
  await shot(page, 'portal-preview-path');
  await assertAccessible(await frameOf(page, PANEL), 'the portal panel with a path preview');
  await page.close();
});

test('an approval with conditions shows them in My Access, on the issue and in the governance log', async () => {
  // covers: CL-040, CL-903
  const page = await open('view=portal&portal=1&type=12', AISHA);
  const panel = frame(page, PANEL);
  await panel.getByTestId('tool-select').selectOption('github-copilot');
  await panel.getByTestId('duration-select').selectOption('30');
  await panel.getByTestId('data-class-source-code').check();
  await panel.getByTestId('purpose').fill('Runbook scripts for the on-call rotation');
  await outcome(panel, 'auto-approved');
  await page.locator('#panel-submitted', { hasText: 'Panel value ready.' }).waitFor();
  await page.getByTestId('portal-summary').fill('Copilot for runbook scripts');
  await page.getByTestId('portal-create').click();
  const created = page.getByTestId('portal-created');
  await created.waitFor();
  const key = await created.getAttribute('data-issue-key');
  await page.close();
  await tick('10m');

  const want = [
    'Only with the data declared: source-code',
    'Never with: customer-data',
    'Code only in repositories under github.com/acme',
  ];
  // My Access.
  const mine = await open('view=global', AISHA);
  const ui = frame(mine, PAGE);
  const row = ui.locator('[data-testid="my-access-row"][data-tool="github-copilot"]');
  await row.waitFor();
  const shown = await row.getByTestId('grant-conditions').locator('li').allTextContents();
  assert.deepEqual(shown, want);
  await shot(mine, 'my-access-conditions');
  await assertAccessible(await frameOf(mine, PAGE), 'My Access with conditions');
  await mine.close();

  // The approval comment on the issue.
  const issue = await consoleApi('issue', { issueKey: key });
  const comment = issue.issue.comments.map((c) => c.text).find((t) => t.includes('access auto-approved'));
  assert.ok(comment, JSON.stringify(issue.issue.comments));
  assert.match(comment, /Conditions: Only with the data declared: source-code; Never with: customer-data; Code only in repositories under github\.com\/acme/);
  assert.doesNotMatch(comment, /pendingProvision/, 'no internal status names in the comment');

  // The governance log's entries.
  const r = await invokeIn('admin.audit.search', { issueKey: key }, ADMIN, 'ai-clearance-admin');
  assert.equal(r.ok, true, JSON.stringify(r));
  const hit = r.data.items.find((e) => e.type === 'request_approved');
  assert.ok(hit, JSON.stringify(r.data.items.map((e) => e.type)));
  const got = await invokeIn('admin.audit.get', { seq: hit.seq }, ADMIN, 'ai-clearance-admin');
  assert.equal(got.ok, true, JSON.stringify(got));
  const approved = got.data.entry;
  assert.deepEqual(approved.data.conditions, want);
});

test('a JSM customer sees the preview too, without anyone\'s name or id', async () => {
  const page = await open('view=portal&portal=1&type=12', LAURA);
  const panel = frame(page, PANEL);
  await panel.getByTestId('tool-select').selectOption('claude-team');
  await panel.getByTestId('duration-select').selectOption('30');
  await outcome(panel, 'people');
  const text = await preview(panel).textContent();
  assert.match(text, /Standard AI access/);
  assert.doesNotMatch(text, /[0-9a-f]{24}|712020:/, 'no account ids');
  await page.close();
});

test('an admin limits an auto-approval policy to data classes; the requester\'s preview follows at once', async () => {
  // covers: CL-041 (issue 35 item 5)
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, 'ai-clearance-admin');
  await ui.getByTestId('admin-nav-governance').click();
  await ui.getByTestId('admin-section-governance').waitFor();
  await ui.getByTestId('gov-tab-policies').click();
  const row = ui.locator('[data-testid="policy-row"][data-policy-id="copilot-engineering"]');
  await row.getByTestId('policy-edit').click();
  await ui.getByTestId('policy-data-classes-input').fill('public, internal, source-code');
  await ui.getByTestId('policy-save').click();
  await ui.getByTestId('policy-saved').waitFor();
  assert.equal((await row.getByTestId('policy-data-classes').textContent()).trim(), 'only public, internal, source-code');
  await assertAccessible(await frameOf(page, 'ai-clearance-admin'), 'Governance → Auto-approval with data classes');
  await page.close();

  // An engineer declaring nothing is no longer approved automatically; declaring source code is.
  const tobias = '5fdb308eae00d5270db90753'; // engineering, no Copilot yet
  const portal = await open('view=portal&portal=1&type=12', tobias);
  const panel = frame(portal, PANEL);
  await panel.getByTestId('tool-select').selectOption('github-copilot');
  await panel.getByTestId('duration-select').selectOption('30');
  await outcome(panel, 'people');
  assert.match(await panel.getByTestId('preview-auto-approval').textContent(), /declare their data/);
  await panel.getByTestId('data-class-source-code').check();
  await outcome(panel, 'auto-approved');
  await portal.close();
});

test('an admin edits a tool\'s data profile and the data rules in Governance → Data; requesters meet them at once', async () => {
  // covers: CL-012 (issue 35 items 1 and 3)
  const page = await open('view=admin', ADMIN);
  const ui = frame(page, 'ai-clearance-admin');
  await ui.getByTestId('admin-nav-governance').click();
  await ui.getByTestId('admin-section-governance').waitFor();
  await ui.getByTestId('gov-tab-data').click();
  const rules = ui.getByTestId('data-rules');
  await rules.waitFor();
  // The rule saved in before() shows; Claude's customer data becomes prohibited, by keyboard.
  assert.equal(await ui.getByTestId('data-rule-github-copilot-customer-data').inputValue(), 'prohibited');
  await ui.getByTestId('data-rule-claude-team-customer-data').focus();
  await ui.getByTestId('data-rule-claude-team-customer-data').selectOption('prohibited');
  await ui.getByTestId('data-rules-save').click();
  await ui.getByTestId('data-rules-saved').waitFor();
  assert.match(await ui.getByTestId('data-rules-saved').textContent(), /governance version \d+/);

  // Claude's profile gains a condition every grant carries.
  await ui.locator('[data-testid="data-rule-row"][data-tool="claude-team"]').getByTestId('data-profile-edit').click();
  const form = ui.getByTestId('data-profile-form');
  await form.waitFor();
  await ui.getByTestId('profile-conditions').fill('No client names in prompts');
  await ui.getByTestId('data-profile-save').click();
  await ui.getByTestId('data-profile-saved').waitFor();
  await shot(page, 'governance-data');
  await assertAccessible(await frameOf(page, 'ai-clearance-admin'), 'Governance → Data');
  // A bad terms link is refused at its field, nothing saved.
  await ui.getByTestId('profile-terms').fill('http://not-https.example');
  await ui.getByTestId('data-profile-save').click();
  await ui.getByTestId('data-profile-error').waitFor();
  await page.close();

  // The requester's preview: customer data in Claude is refused; otherwise the new condition shows.
  const portal = await open('view=portal&portal=1&type=12', LAURA);
  const panel = frame(portal, PANEL);
  await panel.getByTestId('tool-select').selectOption('claude-team');
  await panel.getByTestId('duration-select').selectOption('30');
  await panel.getByTestId('data-class-internal').check();
  await panel.locator('[data-testid="preview-conditions"]', { hasText: 'No client names in prompts' }).waitFor();
  await panel.getByTestId('data-class-customer-data').check();
  await outcome(panel, 'refused');
  assert.match(await panel.getByTestId('preview-refused').textContent(), /prohibits customer-data in Claude Team/);
  await portal.close();
});

test("an approved exception lengthens the durations the panel offers that person, and no one else's", async () => {
  // covers: CL-005
  // An admin grants Rafael a 90-day maximum for Windsurf (high risk: 30 days); a second admin
  // reviews it, so it applies (a governance exception, §4.5).
  const RAFAEL = '5b9c98f1ebb230be73cbe9ad';
  const SECOND_ADMIN = '712020:9da8d250-3734-53dd-9c52-3614f0b0a6ac';
  const created = await invokeIn(
    'admin.governance.exceptions.create',
    { toolId: 'windsurf', accountId: RAFAEL, maxDays: 90, reason: 'Migration project', validDays: 10 },
    ADMIN,
    'ai-clearance-admin',
  );
  assert.equal(created.ok, true, JSON.stringify(created));
  const reviewed = await invokeIn('admin.governance.exceptions.review', { id: created.data.exception.id }, SECOND_ADMIN, 'ai-clearance-admin');
  assert.equal(reviewed.ok, true, JSON.stringify(reviewed));

  const options = async (panel) => (await panel.getByTestId('duration-select').locator('option').allTextContents()).join(' | ');
  const page = await open('view=portal&portal=1&type=12', RAFAEL);
  const panel = frame(page, PANEL);
  await panel.getByTestId('tool-select').selectOption('windsurf');
  await panel.locator('[data-testid="duration-hint"]', { hasText: 'At most 90 days for this tool (your approved exception)' }).waitFor();
  assert.match(await options(panel), /90 days/);
  // By keyboard: the longer duration is chosen and the preview and the check accept it.
  await panel.getByTestId('duration-select').focus();
  await page.keyboard.press('End');
  await panel.locator('[data-testid="preview-duration"]', { hasText: 'Longest access allowed for this tool: 90 days' }).waitFor();
  assert.equal(await panel.getByTestId('duration-select').inputValue(), '90');
  await page.locator('#panel-submitted', { hasText: 'Panel value ready.' }).waitFor();
  assert.equal(await panel.locator('[data-testid="field-error"][data-field="durationDays"]').count(), 0);
  await assertAccessible(await frameOf(page, PANEL), 'the portal panel with an exception');
  await page.close();

  // Anyone else still sees governance's 30 days.
  const other = await open('view=portal&portal=1&type=12', AISHA);
  const theirs = frame(other, PANEL);
  await theirs.getByTestId('tool-select').selectOption('windsurf');
  await theirs.locator('[data-testid="preview-duration"]', { hasText: 'Longest access allowed for this tool: 30 days' }).waitFor();
  assert.doesNotMatch(await options(theirs), /90 days/);
  assert.match(await theirs.getByTestId('duration-hint').textContent(), /At most 30 days for this tool\.$/);
  await other.close();
});
