// console-site: scenario
//
// People and groups entered by name (issue 33 items 1-3): Intake & Approvals' delegates are
// (approver → delegates) rows picked with the people picker; approver groups, approval-path
// GROUP steps and auto-approval policies pick Jira groups by typing part of the name (Jira's
// group picker API through admin.groups.search); a path's USER step names its approvers and
// delegates by name; an EMAIL step's recipients are the reporter / originator ticked, people
// picked by name and Jira groups picked by name. Each is driven by the keyboard (type, arrow keys, Enter), saved, reloaded
// and read back by name, with the saved settings still holding account ids and group names;
// axe (0 critical, 0 serious) on every screen, light and dark.
// Run alone: CONSOLE_URL=http://127.0.0.1:8794 node --test tests/people-pickers.test.mjs
//
// covers: CL-200

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, JONAS, PRIYA, URL, assertAccessible, frame, frameOf, launch, open as openIn, setTheme, shot, invoke } from './support/console.mjs';

if (!URL) throw new Error('CONSOLE_URL is not set: start `host-sim serve --paused` and point CONSOLE_URL at it');

const ADMIN_MODULE = 'ai-clearance-admin';
const HELENA = '5c41318d11064151843f092c';
const TOMAS = '712020:9da8d250-3734-53dd-9c52-3614f0b0a6ac';
const MARCUS = '712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4';

let browser;
let context;

before(async () => {
  ({ browser, context } = await launch());
});
after(async () => {
  await browser?.close();
});

async function data(functionKey, payload) {
  const r = await invoke(functionKey, payload, ADMIN, ADMIN_MODULE);
  assert.equal(r.ok, true, `${functionKey}: ${JSON.stringify(r)}`);
  return r.data;
}

async function adminAt(section) {
  const page = await openIn(context, 'view=admin', ADMIN);
  const ui = frame(page, ADMIN_MODULE);
  await ui.getByTestId(`admin-nav-${section}`).click();
  await ui.getByTestId(`admin-section-${section}`).waitFor();
  return { page, ui };
}

/** Types into a combobox, waits for the option and picks it with the arrow keys and Enter. */
async function pickByKeyboard(ui, combo, text, optionTestId, name) {
  await combo.focus();
  await combo.pressSequentially(text, { delay: 30 });
  const option = ui.getByTestId(optionTestId).filter({ hasText: name });
  await option.waitFor();
  assert.equal(await combo.getAttribute('aria-expanded'), 'true');
  // Arrow to the option (the first is active after a search), then Enter.
  const options = await ui.getByTestId(optionTestId).allInnerTexts();
  const at = options.findIndex((t) => t.includes(name));
  assert.ok(at >= 0, `${name} among ${options}`);
  for (let i = 0; i < at; i++) await combo.press('ArrowDown');
  const active = await combo.getAttribute('aria-activedescendant');
  assert.ok(active, 'an active option');
  assert.match(await ui.locator(`[id="${active}"]`).innerText(), new RegExp(name));
  await combo.press('Enter');
  assert.equal(await combo.getAttribute('aria-expanded'), 'false');
}

async function bothThemes(page, where, name) {
  const f = await frameOf(page, ADMIN_MODULE);
  await assertAccessible(f, `${where} (light)`);
  await shot(page, `${name}-light`);
  await setTheme(page, 'dark', [f]);
  await assertAccessible(f, `${where} (dark)`);
  await shot(page, `${name}-dark`);
  await setTheme(page, 'light', [f]);
}

test('Intake & Approvals: delegates are people picked by name and approver groups are searched as you type; saved, reloaded, read by name', async () => {
  const { page, ui } = await adminAt('intake');
  await ui.getByTestId('intake').waitFor();
  // The scenario's delegation reads names: Priya Raman is represented by Helena Vogt, no ids.
  const rows = ui.getByTestId('intake-delegates-row');
  await rows.first().waitFor();
  const priya = ui.locator(`[data-testid="intake-delegates-row"][data-account-id="${PRIYA}"]`);
  assert.match(await priya.innerText(), /Priya Raman[\s\S]*Helena Vogt/);
  assert.doesNotMatch(await ui.getByTestId('intake-delegates').innerText(), /5dcd5fe5|5c41318d/);

  // Jonas joins Priya's delegates: typed, arrowed to, Enter.
  const priyaBox = ui.getByRole('combobox', { name: 'Delegates of Priya Raman' });
  await pickByKeyboard(ui, priyaBox, 'Lind', 'intake-delegates-delegates-picker-option', 'Jonas Lindqvist');
  assert.match(await priya.innerText(), /Jonas Lindqvist/);

  // A new approver who delegates (Tomás), and his delegate (Ada), by keyboard.
  await pickByKeyboard(ui, ui.getByRole('combobox', { name: 'Add an approver who delegates' }), 'Tom', 'intake-delegates-add-option', 'Tomás Brennan');
  const tomas = ui.locator(`[data-testid="intake-delegates-row"][data-account-id="${TOMAS}"]`);
  await tomas.waitFor();
  await pickByKeyboard(ui, ui.getByRole('combobox', { name: 'Delegates of Tomás Brennan' }), 'Oka', 'intake-delegates-delegates-picker-option', 'Ada Okafor');

  // A group by typing part of its name: "review" finds security-reviewers.
  const groups = ui.getByRole('combobox', { name: 'Approver groups' });
  await pickByKeyboard(ui, groups, 'review', 'intake-approver-groups-picker-option', 'security-reviewers');
  const chips = await ui.getByTestId('intake-approver-groups-chip').allInnerTexts();
  assert.deepEqual(chips.map((c) => c.replace('×', '').trim()), ['ai-approvers', 'security-reviewers']);
  // Escape closes an open list and keeps focus in the box; the box is empty for the next group.
  await groups.pressSequentially('fin', { delay: 30 });
  await ui.getByTestId('intake-approver-groups-picker-option').filter({ hasText: 'finance' }).waitFor();
  await groups.press('Escape');
  assert.equal(await groups.getAttribute('aria-expanded'), 'false');
  await groups.press('Escape');
  assert.equal(await groups.inputValue(), '');
  await bothThemes(page, 'Intake & Approvals pickers', 'people-pickers-intake');

  await ui.getByTestId('intake-save').click();
  await ui.getByTestId('intake-saved').waitFor();
  const saved = (await data('admin.intake.get', {})).config.approvals;
  assert.deepEqual(saved.delegates, { [PRIYA]: [HELENA, JONAS], [TOMAS]: [ADMIN] });
  assert.deepEqual(saved.approverGroups, ['ai-approvers', 'security-reviewers']);
  await page.close();

  // Reloaded: names, not ids.
  const again = await adminAt('intake');
  await again.ui.getByTestId('intake-delegates-row').nth(1).waitFor();
  const text = await again.ui.getByTestId('intake-delegates').innerText();
  for (const n of ['Priya Raman', 'Helena Vogt', 'Jonas Lindqvist', 'Tomás Brennan', 'Ada Okafor']) assert.match(text, new RegExp(n));
  assert.doesNotMatch(text, /5dcd5fe5|5c41318d|5ad8a103|712020:|5ad71d4e/);
  assert.equal(await again.ui.getByTestId('intake-approver-groups-chip').count(), 2);
  await again.page.close();
});

test('an approval path names its USER step by people and its GROUP step by a group searched as you type', async () => {
  const { page, ui } = await adminAt('paths');
  await ui.locator('[data-testid="def-row"][data-definition-id="standard-ai-access"]').getByTestId('def-edit').click();
  await ui.getByTestId('def-editor').waitFor();
  await ui.locator('[data-testid="def-step"][data-step-type="USER"]').first().getByTestId('def-step-toggle').click();
  const user = ui.locator('[data-testid="step-form"][data-step-type="USER"]');
  await user.waitFor();
  // Names where the form had account ids.
  assert.match(await user.getByTestId('step-approvers').innerText(), /Priya Raman/);
  assert.match(await user.getByTestId('step-delegates').innerText(), /Priya Raman[\s\S]*Helena Vogt/);
  assert.doesNotMatch(await user.innerText(), /5dcd5fe5|5c41318d/);
  const approvers = user.getByRole('combobox', { name: 'Approvers' });
  await pickByKeyboard(ui, approvers, 'Lind', 'step-approvers-picker-option', 'Jonas Lindqvist');
  assert.equal(await user.getByTestId('step-approvers-chip').count(), 2);

  await ui.locator('[data-testid="def-step"][data-step-type="GROUP"]').first().getByTestId('def-step-toggle').click();
  const group = ui.locator('[data-testid="step-form"][data-step-type="GROUP"]');
  await group.waitFor();
  const box = group.getByRole('combobox', { name: 'Jira group' });
  assert.equal(await box.inputValue(), 'ai-approvers');
  await box.fill('');
  await pickByKeyboard(ui, box, 'SECUR', 'step-jira-group-option', 'security-reviewers');
  assert.equal(await box.inputValue(), 'security-reviewers');
  await bothThemes(page, 'approval path editor pickers', 'people-pickers-paths');

  await ui.getByTestId('def-save').click();
  await ui.getByTestId('def-saved').waitFor();
  const def = (await data('admin.definitions.get', { id: 'standard-ai-access' })).definition;
  const u = def.steps.find((s) => s.type === 'USER');
  assert.deepEqual(u.approvers, [PRIYA, JONAS]);
  assert.deepEqual(u.delegates, { [PRIYA]: [HELENA] });
  assert.equal(def.steps.find((s) => s.type === 'GROUP').group, 'security-reviewers');
  await page.close();

  const again = await adminAt('paths');
  await again.ui.locator('[data-testid="def-row"][data-definition-id="standard-ai-access"]').getByTestId('def-edit').click();
  await again.ui.locator('[data-testid="def-step"][data-step-type="USER"]').first().getByTestId('def-step-toggle').click();
  const u2 = again.ui.locator('[data-testid="step-form"][data-step-type="USER"]');
  assert.match(await u2.getByTestId('step-approvers').innerText(), /Priya Raman[\s\S]*Jonas Lindqvist/);
  await again.page.close();
});

test("an approval path's EMAIL step names its recipients: roles ticked, people and groups picked by name; saved as ids, group:<name> and the roles", async () => {
  const { page, ui } = await adminAt('paths');
  await ui.locator('[data-testid="def-row"][data-definition-id="standard-ai-access"]').getByTestId('def-edit').click();
  await ui.getByTestId('def-editor').waitFor();
  await ui.getByTestId('def-phase-successSteps').locator('[data-testid="def-step"][data-step-type="EMAIL"]').first().getByTestId('def-step-toggle').click();
  const email = ui.locator('[data-testid="step-form"][data-step-type="EMAIL"]');
  await email.waitFor();
  // The scenario's step mails the reporter: ticked; nobody and no group yet; no textarea of ids.
  const reporter = email.getByRole('checkbox', { name: 'The request’s reporter' });
  const originator = email.getByRole('checkbox', { name: /The originator/ });
  assert.equal(await reporter.isChecked(), true);
  assert.equal(await originator.isChecked(), false);
  assert.equal(await email.locator('textarea').count(), 0);
  assert.equal(await email.getByTestId('step-recipient-people-chip').count(), 0);

  // By keyboard: Space ticks the originator; a person typed and picked; a group typed and picked.
  await originator.focus();
  await originator.press('Space');
  assert.equal(await originator.isChecked(), true);
  await pickByKeyboard(ui, email.getByRole('combobox', { name: 'People' }), 'Marc', 'step-recipient-people-picker-option', 'Marcus Webb');
  await pickByKeyboard(ui, email.getByRole('combobox', { name: 'Jira groups' }), 'leg', 'step-recipient-groups-picker-option', 'legal');
  const chip = email.getByTestId('step-recipient-people-chip');
  assert.match(await chip.innerText(), /Marcus Webb/);
  assert.equal(await chip.getAttribute('title'), MARCUS, 'the id only in the tooltip');
  assert.match(await email.getByTestId('step-recipient-groups-chip').innerText(), /legal/);
  assert.doesNotMatch(await email.innerText(), /712020:|group:/);
  await bothThemes(page, 'approval path EMAIL recipients', 'people-pickers-email');

  await ui.getByTestId('def-save').click();
  await ui.getByTestId('def-saved').waitFor();
  const got = await data('admin.definitions.get', { id: 'standard-ai-access' });
  const step = got.definition.successSteps.find((s) => s.type === 'EMAIL');
  assert.deepEqual(step.recipients, ['reporter', 'originator', MARCUS, 'group:legal']);
  assert.equal(got.people[MARCUS], 'Marcus Webb');
  await page.close();

  // Reloaded: the roles ticked, the person by name, the group.
  const again = await adminAt('paths');
  await again.ui.locator('[data-testid="def-row"][data-definition-id="standard-ai-access"]').getByTestId('def-edit').click();
  await again.ui.getByTestId('def-phase-successSteps').locator('[data-testid="def-step"][data-step-type="EMAIL"]').first().getByTestId('def-step-toggle').click();
  const e2 = again.ui.locator('[data-testid="step-form"][data-step-type="EMAIL"]');
  await e2.getByTestId('step-recipient-people-chip').waitFor();
  assert.match(await e2.getByTestId('step-recipient-people-chip').innerText(), /Marcus Webb/);
  assert.doesNotMatch(await e2.innerText(), /712020:|Unknown person/);
  assert.match(await e2.getByTestId('step-recipient-groups-chip').innerText(), /legal/);
  assert.equal(await e2.getByRole('checkbox', { name: 'The request’s reporter' }).isChecked(), true);
  assert.equal(await e2.getByRole('checkbox', { name: /The originator/ }).isChecked(), true);
  await again.page.close();
});

test('an auto-approval policy picks its groups by typing part of the name', async () => {
  const { page, ui } = await adminAt('governance');
  await ui.getByTestId('gov-tab-policies').click();
  await ui.locator('[data-testid="policy-row"]').first().getByTestId('policy-edit').click();
  await ui.getByTestId('policy-form').waitFor();
  const box = ui.getByRole('combobox', { name: 'Allowed Jira groups' });
  await pickByKeyboard(ui, box, 'sup', 'policy-groups-picker-option', 'support');
  await assertAccessible(await frameOf(page, ADMIN_MODULE), 'policy form group picker');
  await shot(page, 'people-pickers-policy');
  await ui.getByTestId('policy-save').click();
  await ui.getByTestId('policy-form').waitFor({ state: 'detached' });
  const p = (await data('admin.policies.list', {})).policies[0];
  assert.deepEqual(p.allowedGroups, ['engineering', 'support']);
  await page.close();
});
