// console-site: scenario
// Settings → AI and Approval paths & messages, as the Jira admin uses them on the default site
// after its scenario (one AI Prompt step has run: AI-assisted access on AIR-3). Headless Chromium
// (Debian's package) driven by playwright-core against `host-sim serve --paused`; run alone with
// CONSOLE_URL=http://127.0.0.1:8803 node --test static/ui/tests/admin-ai.test.mjs.
//
// The tests build on each other (one site, one story): a custom prompt template is created and
// previewed, then used by a Prompt step added in the definition editor; then the budget is cut
// so the usage banner shows on every tab.
//
// covers: AP-906, AP-907

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, PRIYA, URL, SHOTS, consoleApi, frame, launch, open as openIn, shot, tick, invoke as invokeIn } from './support/console.mjs';

if (!URL) throw new Error('CONSOLE_URL is not set: start `host-sim serve --paused` and point CONSOLE_URL at it');

const ADMIN_MODULE = 'ai-clearance-admin';

let browser;
let context;
const story = {};

before(async () => {
  ({ browser, context } = await launch());
});

after(async () => {
  await browser?.close();
});

const invoke = (functionKey, payload, accountId = ADMIN, moduleKey = ADMIN_MODULE) => invokeIn(functionKey, payload, accountId, moduleKey);
/** The resolver's data, failing the test on an error envelope. */
async function data(functionKey, payload = {}, accountId = ADMIN) {
  const r = await invoke(functionKey, payload, accountId);
  const env = r.result ?? r;
  assert.equal(env.ok, true, `${functionKey} failed: ${JSON.stringify(r)}`);
  return env.data;
}

const open = (hash, as) => openIn(context, hash, as);
const adminFrame = (page, moduleKey = ADMIN_MODULE) => frame(page, moduleKey);

/** The admin page at a section. */
async function adminAt(section) {
  const page = await open('view=admin', ADMIN);
  const ui = adminFrame(page);
  await ui.getByTestId('admin-nav-overview').waitFor();
  await ui.getByTestId(`admin-nav-${section}`).click();
  await ui.getByTestId(`admin-section-${section}`).waitFor();
  return { page, ui };
}

test('a person who is not a Jira admin gets the refusal, on the page and from every Settings → AI resolver', async () => {
  const page = await open('view=admin', PRIYA);
  const ui = adminFrame(page);
  const denied = ui.getByTestId('admin-denied');
  await denied.waitFor();
  assert.equal(await denied.getAttribute('data-code'), 'ADMIN_REQUIRED');
  assert.match(await denied.innerText(), /Only Jira administrators/);
  assert.equal(await ui.getByTestId('ai-settings').count(), 0);
  for (const fn of ['admin.ai.general.get', 'admin.ai.settings.save', 'admin.ai.templates.list', 'admin.ai.preview', 'admin.ai.usage', 'ai.stepForm', 'admin.definitions.save']) {
    const r = await invoke(fn, {}, PRIYA);
    const env = r.result ?? r;
    assert.equal(env.ok, false, `${fn} must refuse a non-admin`);
    assert.equal(env.error.code, 'ADMIN_REQUIRED', fn);
  }
  await shot(page, 'admin-ai-denied');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a custom prompt template: live counters, the server\'s over-limit error next to the field, then a live preview against a real approval with its estimated tokens', async () => {
  // covers: AP-906
  const { page, ui } = await adminAt('ai');
  await ui.getByTestId('ai-tab-templates').click();
  const rows = ui.getByTestId('ai-template-row');
  await rows.first().waitFor();
  // The six built-ins first, read-only (no Edit / Delete).
  const builtins = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-builtin')));
  assert.deepEqual(builtins.slice(0, 6), ['true', 'true', 'true', 'true', 'true', 'true']);
  assert.equal(await rows.first().getByTestId('ai-template-edit').count(), 0);
  assert.equal(await rows.first().getByTestId('ai-template-delete').count(), 0);

  await ui.getByTestId('ai-template-new').click();
  const name = ui.getByTestId('ai-template-name-input');
  const body = ui.getByTestId('ai-template-body-input');
  const tooLong = 'Vendor due diligence '.repeat(6) + 'x'.repeat(5); // 131 characters
  assert.equal(tooLong.length, 131);
  await name.fill(tooLong);
  const templateBody = 'Vendor check for {{ issue.fields.summary }} ({{ approval.name }}): list what the approver must verify.';
  await body.fill(templateBody);
  const nameCounter = ui.getByTestId('ai-template-name-counter');
  assert.equal(await nameCounter.getAttribute('data-count'), '131');
  assert.match(await nameCounter.innerText(), /131 \/ 120/);
  assert.match(await nameCounter.getAttribute('class'), /char-counter-over/);
  assert.equal(await ui.getByTestId('ai-template-body-counter').getAttribute('data-count'), String(templateBody.length));
  assert.match(await ui.getByTestId('ai-template-body-counter').innerText(), /\/ 4,000/);

  // The server refuses; its error is shown next to the name field and nothing typed is lost.
  await ui.getByTestId('ai-template-save').click();
  const nameErr = ui.locator('[data-testid="field-error"][data-field="name"]');
  await nameErr.waitFor();
  assert.equal(await nameErr.getAttribute('data-code'), 'TEMPLATE_INVALID');
  assert.match(await nameErr.innerText(), /1-120 characters/);
  assert.equal(await ui.locator('[data-testid="field-error"][data-field="body"]').count(), 0);
  assert.equal(await name.inputValue(), tooLong);
  assert.equal(await body.inputValue(), templateBody);
  await shot(page, 'admin-ai-template-too-long');

  await name.fill('Vendor check');
  assert.equal(await nameCounter.getAttribute('data-count'), '12');
  await ui.getByTestId('ai-template-save').click();
  await ui.getByTestId('ai-template-notice').waitFor();
  const row = ui.locator('[data-testid="ai-template-row"][data-builtin="false"]', { hasText: 'Vendor check' });
  await row.waitFor();
  story.templateId = await row.getAttribute('data-template-id');
  const listed = await data('admin.ai.templates.list');
  const saved = listed.templates.find((t) => t.id === story.templateId);
  assert.equal(saved.name, 'Vendor check');
  assert.equal(saved.body, templateBody);
  assert.match(await ui.getByTestId('ai-template-count').innerText(), /1 of 50/);

  // Live preview of the saved template against the AI-assisted approval on AIR-3.
  await row.getByTestId('ai-template-preview').click();
  assert.equal(await ui.getByTestId('ai-preview-source').innerText(), 'Vendor check');
  await ui.getByTestId('ai-preview-issue').selectOption('AIR-3');
  const approvalSelect = ui.getByTestId('ai-preview-approval');
  await approvalSelect.locator('option', { hasText: 'AI-assisted access' }).waitFor({ state: 'attached' });
  const approvalId = await approvalSelect.inputValue();
  assert.match(approvalId, /^apr-/);
  const stepId = await ui.getByTestId('ai-preview-step').inputValue();
  const tokens = ui.getByTestId('ai-preview-tokens');
  await tokens.waitFor();
  const expected = await data('admin.ai.preview', { approvalId, stepId, templateId: story.templateId });
  assert.equal(Number(await tokens.getAttribute('data-tokens')), expected.estimatedTokens);
  assert.ok(expected.estimatedTokens > 0);
  assert.equal(expected.estimatedTokens, Math.ceil(expected.characters / 4));
  // The exact prompt: the template rendered against the real issue and approval.
  const user = await ui.getByTestId('ai-preview-user').innerText();
  assert.ok(user.includes('Vendor check for Claude Team seat for API design reviews (AI-assisted access)'), user.slice(0, 400));
  assert.equal(user.trim(), expected.user.trim());
  assert.equal((await ui.getByTestId('ai-preview-system').innerText()).trim(), expected.system.trim());
  // The ~8,000-token warning shows exactly when the server says so.
  assert.equal(await ui.getByTestId('ai-preview-warning').count(), expected.warning ? 1 : 0);
  assert.equal(expected.warning, expected.estimatedTokens >= 8000);

  // Editing the body re-renders the preview live (the draft is sent, not the saved template).
  await row.getByTestId('ai-template-edit').click();
  await ui.getByTestId('ai-template-body-input').fill(`${templateBody}\n{{ definition.description }}`);
  await ui.getByTestId('ai-preview-user').filter({ hasText: 'High-risk AI tools: an AI risk read first' }).waitFor();
  await ui.getByTestId('ai-template-cancel').click();
  await shot(page, 'admin-ai-template-preview');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the definition editor adds a Prompt step from the "Prompt" tile (New badge) with the custom template, and the saved definition has it', async () => {
  // covers: AP-906
  assert.ok(story.templateId, 'the template test runs first');
  const before = (await data('admin.definitions.get', { id: 'security-review' })).definition;
  const { page, ui } = await adminAt('paths');
  await ui.locator('[data-testid="def-row"][data-definition-id="security-review"]').getByTestId('def-edit').click();
  const editor = ui.getByTestId('def-editor');
  await editor.waitFor();
  assert.equal(await editor.getAttribute('data-definition-id'), 'security-review');
  await ui.getByTestId('def-step').first().waitFor();
  assert.equal(await ui.getByTestId('def-phase-steps').getByTestId('def-step').count(), before.steps.length);

  await ui.getByTestId('def-add-step-steps').click();
  const picker = ui.getByTestId('step-picker');
  await picker.waitFor();
  for (const t of ['USER', 'GROUP', 'AUTOMATION', 'HTTP', 'EMAIL', 'PROMPT']) await picker.getByTestId(`step-tile-${t}`).waitFor();
  const tile = picker.getByTestId('step-tile-PROMPT');
  assert.equal((await tile.getByTestId('step-tile-new-badge').innerText()).trim().toLowerCase(), 'new');
  assert.equal(await picker.getByTestId('step-tile-new-badge').count(), 1, 'only the Prompt tile is new');
  await shot(page, 'admin-paths-step-picker');
  await tile.click();

  const form = ui.locator('[data-testid="step-form"][data-step-type="PROMPT"]');
  await form.waitFor();
  // AI is configured and enabled on this site: no explanatory panel.
  assert.equal(await form.getByTestId('step-ai-blocked').count(), 0);
  await form.getByTestId('step-name').fill('Vendor briefing');
  const tpl = form.getByTestId('step-prompt-template');
  await tpl.locator(`option[value="${story.templateId}"]`).waitFor({ state: 'attached' });
  const builtinOptions = await tpl.locator('optgroup[label="Built-in"] option').count();
  assert.equal(builtinOptions, 6);
  await tpl.selectOption(story.templateId);
  const promptBody = 'Also flag anything about {{ issue.fields.priority.name }} priority.';
  await form.getByTestId('step-prompt-body').fill(promptBody);
  const counter = form.getByTestId('step-prompt-body-counter');
  assert.equal(await counter.getAttribute('data-count'), String(promptBody.length));
  assert.match(await counter.innerText(), /\/ 4,000/);
  await form.getByTestId('step-syntax-guide-link').click();
  await form.getByTestId('step-syntax-guide').waitFor();
  // "Allow all custom fields" is off: the per-step picker is shown.
  await form.getByTestId('step-custom-fields').waitFor();
  assert.equal(await form.getByTestId('step-custom-fields-all').count(), 0);
  await form.getByTestId('step-condition').fill('issue.fields.priority.name != "Lowest"');
  await shot(page, 'admin-paths-prompt-step');

  await ui.getByTestId('def-save').click();
  await ui.getByTestId('def-saved').waitFor();
  assert.match(await ui.getByTestId('def-saved').innerText(), new RegExp(`version ${before.version + 1}`));

  const after = (await data('admin.definitions.get', { id: 'security-review' })).definition;
  assert.equal(after.version, before.version + 1);
  assert.equal(after.steps.length, before.steps.length + 1);
  const prompt = after.steps.find((s) => s.type === 'PROMPT');
  assert.ok(prompt, `the saved definition has a PROMPT step: ${JSON.stringify(after.steps)}`);
  assert.equal(prompt.name, 'Vendor briefing');
  assert.equal(prompt.promptTemplate, story.templateId);
  assert.equal(prompt.body, promptBody);
  assert.equal(prompt.condition.expression, 'issue.fields.priority.name != "Lowest"');
  assert.ok(prompt.parallelGroupNumber > Math.max(...before.steps.map((s) => s.parallelGroupNumber)), 'a new step runs after the others');
  // The steps that were there are unchanged.
  for (const s of before.steps) assert.deepEqual(after.steps.find((x) => x.id === s.id), s);

  // A second Prompt step with the same name: the server's error is shown at that step's name.
  await ui.getByTestId('def-add-step-steps').click();
  await ui.getByTestId('step-tile-PROMPT').click();
  const second = ui.locator('[data-testid="step-form"][data-step-type="PROMPT"]');
  await second.getByTestId('step-name').fill('Vendor briefing');
  await second.getByTestId('step-name-hint').filter({ hasText: 'must be unique' }).waitFor();
  await ui.getByTestId('def-save').click();
  const dup = second.locator('[data-testid="field-error"]').first();
  await dup.waitFor();
  assert.equal(await dup.getAttribute('data-code'), 'DEFINITION_INVALID');
  assert.match(await dup.getAttribute('data-field'), /^steps\[\d+\]\.name$/);
  assert.match(await dup.innerText(), /duplicate|unique/);
  assert.equal((await data('admin.definitions.get', { id: 'security-review' })).definition.version, after.version, 'nothing saved');
  assert.deepEqual(page.errors, []);
  await page.close();

  // "Allow all custom fields" on: the per-step picker is hidden.
  await tick('1m');
  await data('admin.ai.settings.save', { allowAllCustomFields: true });
  const again = await adminAt('paths');
  await again.ui.locator('[data-testid="def-row"][data-definition-id="security-review"]').getByTestId('def-edit').click();
  await again.ui.locator('[data-testid="def-step"][data-step-type="PROMPT"]').getByTestId('def-step-toggle').click();
  const f2 = again.ui.locator('[data-testid="step-form"][data-step-type="PROMPT"]');
  await f2.getByTestId('step-custom-fields-all').waitFor();
  assert.equal(await f2.getByTestId('step-custom-fields').count(), 0);
  await again.page.close();
  await tick('1m');
  await data('admin.ai.settings.save', { allowAllCustomFields: false });
});

test('the API key shows its last 4 characters only; a budget near the month\'s usage shows the WARNING banner on every tab, at the usage EXHAUSTED', async () => {
  // covers: AP-907
  const usage = await data('admin.ai.usage');
  assert.ok(usage.tokensUsed > 0, 'the scenario ran an AI Prompt step this month');
  // A budget the month's usage fills to about 95 %: WARNING (≥ 90 %, < 100 %).
  const budget = Math.floor((usage.tokensUsed * 100) / 95);
  assert.ok(usage.tokensUsed * 10 >= budget * 9 && usage.tokensUsed < budget);

  const { page, ui } = await adminAt('ai');
  await ui.getByTestId('ai-general').waitFor();
  assert.equal(await ui.getByTestId('ai-usage-banner').count(), 0, 'no banner at 0 % of 500,000');
  // The provider's API-key page link.
  assert.equal(await ui.getByTestId('ai-key-page-link').getAttribute('href'), 'https://console.anthropic.com/settings/keys');
  await ui.getByTestId('ai-provider').selectOption('groq');
  await ui.getByTestId('ai-key-page-link').filter({ hasText: 'Groq' }).waitFor();
  assert.match(await ui.getByTestId('ai-key-page-link').getAttribute('href'), /groq\.com/);
  // Atlassian-hosted (Forge LLMs): what it means, no key to manage, and a probe without one.
  await ui.getByTestId('ai-provider').selectOption('forge-llm');
  const note = ui.getByTestId('ai-forge-llm-note');
  await note.waitFor();
  assert.match(await note.innerText(), /No data leaves Atlassian's platform; no API key to manage/);
  await ui.locator('[data-testid="ai-model"] option[value="claude-sonnet-4-5-20250929"]').waitFor({ state: 'attached' });
  assert.equal(await ui.getByTestId('ai-model').inputValue(), 'claude-sonnet-4-5-20250929');
  assert.equal(await ui.getByTestId('ai-api-key').count(), 0, 'no API key field for Forge LLMs');
  assert.equal(await ui.getByTestId('ai-key-page-link').count(), 0, 'no key page to link to');
  await ui.getByTestId('ai-test').click();
  await ui.locator('[data-testid="ai-test-result"][data-ok="true"]').waitFor();
  assert.match(await ui.getByTestId('ai-test-result').innerText(), /Atlassian-hosted \(Forge LLMs\) answered/);
  await ui.getByTestId('ai-provider').selectOption('anthropic');
  await ui.getByTestId('ai-key-page-link').filter({ hasText: 'Anthropic' }).waitFor();
  await ui.getByTestId('ai-model').selectOption('claude-sonnet-4-6');

  // A new key, typed once: afterwards only "••••" and its last 4 characters are anywhere on the page.
  // Test connection with the stored key (the scenario's), then with a typed key the provider rejects.
  assert.equal((await ui.getByTestId('ai-key-fingerprint').innerText()).trim(), '••••7f3a');
  await ui.getByTestId('ai-test').click();
  const probe = ui.getByTestId('ai-test-result');
  await probe.waitFor();
  assert.equal(await probe.getAttribute('data-ok'), 'true');
  const key = 'sk-ant-console-test-0123456789wxyz';
  await ui.getByTestId('ai-api-key').fill(key);
  assert.equal(await ui.getByTestId('ai-api-key').getAttribute('type'), 'password');
  await ui.getByTestId('ai-test').click();
  await ui.locator('[data-testid="ai-test-result"][data-ok="false"]').waitFor();
  assert.equal(await probe.getAttribute('data-code'), 'INVALID_KEY');
  assert.match(await probe.innerText(), /rejected the API key/);
  await ui.getByTestId('ai-budget').fill(String(budget));
  await tick('1m');
  await ui.getByTestId('ai-general-save').click();
  await ui.getByTestId('ai-general-saved').waitFor();
  const fp = ui.getByTestId('ai-key-fingerprint');
  await fp.filter({ hasText: 'wxyz' }).waitFor();
  assert.equal((await fp.innerText()).trim(), '••••wxyz');
  assert.equal(await ui.getByTestId('ai-api-key').inputValue(), '', 'the key field is emptied after saving');
  const html = await ui.locator('body').innerHTML();
  assert.ok(html.includes('••••wxyz') && !html.includes('0123456789wxyz'), 'the key is not in the page');
  const general = await data('admin.ai.general.get');
  assert.equal(general.keyFingerprint, '••••wxyz');
  assert.ok(!JSON.stringify(general).includes('0123456789'), 'the server never returns the key');
  assert.equal(general.monthlyTokenBudget, budget);
  assert.equal(general.usageStatus, 'WARNING');

  // The banner, on every tab.
  const banner = ui.getByTestId('ai-usage-banner');
  await banner.waitFor();
  assert.equal(await banner.getAttribute('data-status'), 'WARNING');
  assert.equal(Number(await banner.getAttribute('data-percent')), general.usagePercent);
  for (const t of ['general', 'data', 'templates', 'usage']) {
    await ui.getByTestId(`ai-tab-${t}`).click();
    await ui.getByTestId(`ai-panel-${t}`).waitFor();
    assert.equal(await ui.getByTestId(`ai-tab-${t}`).getAttribute('aria-selected'), 'true');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-status'), 'WARNING', `banner on ${t}`);
    assert.match(await banner.innerText(), new RegExp(`${general.usagePercent} %`));
  }
  // Usage: the coloured bar, the lozenge, executions and errors, the sortable per-path table.
  const bar = ui.getByTestId('ai-usage-bar');
  await bar.waitFor();
  assert.equal(await bar.getAttribute('data-status'), 'WARNING');
  assert.equal(await ui.getByTestId('ai-usage-status').getAttribute('data-status'), 'WARNING');
  assert.equal((await ui.getByTestId('ai-usage-executions').innerText()).trim(), usage.executions.toLocaleString('en-US'));
  assert.equal((await ui.getByTestId('ai-usage-errors').innerText()).trim(), usage.errors.toLocaleString('en-US'));
  const usageRows = ui.getByTestId('ai-usage-row');
  assert.equal(await usageRows.count(), usage.definitions.length);
  assert.equal(await usageRows.first().getAttribute('data-definition-id'), usage.definitions[0].definitionId);
  await ui.getByTestId('ai-usage-sort-name').click();
  await ui.locator('th[aria-sort="ascending"]').getByTestId('ai-usage-sort-name').waitFor();
  await ui.getByTestId('ai-usage-sort-name').click();
  await ui.locator('th[aria-sort="descending"]').getByTestId('ai-usage-sort-name').waitFor();
  const byName = await data('admin.ai.usage', { sort: 'name', direction: 'desc' });
  assert.deepEqual(await usageRows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-definition-id'))), byName.definitions.map((d) => d.definitionId));
  await shot(page, 'admin-ai-usage-warning');

  // At the cap: EXHAUSTED, and the Prompt step form explains it and points to Settings → AI.
  await ui.getByTestId('ai-tab-general').click();
  await ui.getByTestId('ai-budget').fill(String(usage.tokensUsed));
  await tick('1m');
  await ui.getByTestId('ai-general-save').click();
  await banner.and(ui.locator('[data-status="EXHAUSTED"]')).waitFor();
  for (const t of ['data', 'templates', 'usage']) {
    await ui.getByTestId(`ai-tab-${t}`).click();
    assert.equal(await banner.getAttribute('data-status'), 'EXHAUSTED', `banner on ${t}`);
  }
  await ui.getByTestId('ai-usage-bar').and(ui.locator('[data-status="EXHAUSTED"]')).waitFor();
  await shot(page, 'admin-ai-usage-exhausted');

  await ui.getByTestId('admin-nav-paths').click();
  await ui.locator('[data-testid="def-row"][data-definition-id="ai-assisted-access"]').getByTestId('def-edit').click();
  await ui.locator('[data-testid="def-step"][data-step-type="PROMPT"]').first().getByTestId('def-step-toggle').click();
  const blocked = ui.getByTestId('step-ai-blocked');
  await blocked.waitFor();
  assert.equal(await blocked.getAttribute('data-reason'), 'OVER_BUDGET');
  await ui.getByTestId('step-ai-settings-link').click();
  await ui.getByTestId('ai-usage').waitFor();
  assert.equal(await ui.getByTestId('ai-tab-usage').getAttribute('aria-selected'), 'true');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('message templates list their variables and save an edit', async () => {
  const { page, ui } = await adminAt('paths');
  await ui.getByTestId('paths-tab-messages').click();
  const vars = ui.getByTestId('msg-variables');
  await vars.waitFor();
  for (const v of ['{{ approvalLink }}', '{{ stepDetails }}', '{{ promptSteps["Step name"].result }}']) assert.ok((await vars.innerText()).includes(v), v);
  const card = ui.locator('[data-testid="msg-card"][data-event="APPROVAL_COMPLETED"]');
  await card.waitFor();
  assert.equal((await card.getByTestId('msg-custom').innerText()).trim().toLowerCase(), 'default');
  const body = '"{{ approval.name }}" for {{ issue.key }}: {{ approval.status }}.\n{{ promptSteps["Risk read"].result }}\n{{ appName }}';
  await card.getByTestId('msg-body').fill(body);
  assert.equal(await card.getByTestId('msg-body-counter').getAttribute('data-count'), String(body.length));
  // A broken template: the server's error next to the body, the text kept.
  await card.getByTestId('msg-subject').fill('Done {{ approval.name');
  await card.getByTestId('msg-save').click();
  const err = card.locator('[data-testid="field-error"][data-field="subject"]');
  await err.waitFor();
  assert.equal(await err.getAttribute('data-code'), 'TEMPLATE_INVALID');
  assert.equal(await card.getByTestId('msg-body').inputValue(), body);
  await card.getByTestId('msg-subject').fill('Done: {{ approval.name }}');
  await card.getByTestId('msg-save').click();
  await card.getByTestId('msg-saved').waitFor();
  assert.equal((await card.getByTestId('msg-custom').innerText()).trim().toLowerCase(), 'customised');
  const saved = (await data('admin.messages.list')).templates.find((t) => t.event === 'APPROVAL_COMPLETED');
  assert.equal(saved.subject, 'Done: {{ approval.name }}');
  assert.equal(saved.body, body);
  assert.equal(saved.custom, true);
  await shot(page, 'admin-paths-messages');
  assert.deepEqual(page.errors, []);
  await page.close();
});
