import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import { FieldError, fmt, usageAppearance } from './common';
import { PROVIDERS, needsApiKey, type GeneralView, type ModelsAnswer, type Provider, type SettingsView, type TestAnswer } from './types';

const CUSTOM = '__custom__';

const STATUS_TEXT: Record<string, { text: string; appearance: 'success' | 'moved' | 'removed' | 'default' }> = {
  READY: { text: 'Ready', appearance: 'success' },
  NOT_CONFIGURED: { text: 'Not configured', appearance: 'default' },
  DISABLED: { text: 'Disabled', appearance: 'moved' },
  OVER_BUDGET: { text: 'Over budget', appearance: 'removed' },
};

interface Form {
  provider: Provider;
  modelChoice: string;
  customModel: string;
  apiKey: string;
  enabled: boolean;
  temperature: string;
  budget: string;
}

function formOf(v: GeneralView): Form {
  const curated = v.models.includes(v.model);
  return {
    provider: v.provider,
    modelChoice: curated ? v.model : CUSTOM,
    customModel: curated ? '' : v.model,
    apiKey: '',
    enabled: v.enabled,
    temperature: String(v.temperature),
    budget: String(v.monthlyTokenBudget),
  };
}

const providerLabel = (p: Provider) => PROVIDERS.find((x) => x.id === p)?.label ?? p;

/** Settings → AI → General: provider, API key (last 4 only), model, test, kill-switch, budget. */
export function GeneralTab(props: { view: GeneralView | null; loadError: ResolverError | null; onSaved: (v: GeneralView) => void }) {
  const { view } = props;
  const [form, setForm] = useState<Form | null>(null);
  const [models, setModels] = useState<string[]>([]);
  const [keyPageUrl, setKeyPageUrl] = useState('');
  const [modelsError, setModelsError] = useState<ResolverError | null>(null);
  const [busy, setBusy] = useState<'save' | 'test' | null>(null);
  const [saveError, setSaveError] = useState<ResolverError | null>(null);
  const [saved, setSaved] = useState(false);
  const [test, setTest] = useState<TestAnswer | null>(null);
  const [testError, setTestError] = useState<ResolverError | null>(null);

  useEffect(() => {
    if (view && !form) {
      setForm(formOf(view));
      setModels(view.models);
      setKeyPageUrl(view.keyPageUrl ?? '');
    }
  }, [view, form]);

  if (!view && props.loadError) return <ErrorMessage error={props.loadError} testId="ai-general-load-error" />;
  if (!view || !form) return <Skeleton />;

  const set = (patch: Partial<Form>) => {
    setForm({ ...form, ...patch });
    setSaved(false);
  };

  const changeProvider = async (p: Provider) => {
    set({ provider: p });
    setModelsError(null);
    setTest(null);
    try {
      const m = await call<ModelsAnswer>('admin.ai.models', { provider: p });
      setModels(m.models);
      setKeyPageUrl(m.keyPageUrl ?? '');
      // A model of the old provider means nothing to the new one: suggest the first curated id.
      setForm((f) => (f ? { ...f, provider: p, modelChoice: m.models[0] ?? CUSTOM, customModel: m.models[0] ? '' : f.customModel } : f));
    } catch (e) {
      setModelsError(asResolverError(e));
    }
  };

  const model = form.modelChoice === CUSTOM ? form.customModel.trim() : form.modelChoice;

  const save = async () => {
    setBusy('save');
    setSaveError(null);
    setSaved(false);
    const payload: Record<string, unknown> = {
      provider: form.provider,
      model,
      enabled: form.enabled,
      temperature: form.temperature.trim() === '' ? null : Number(form.temperature),
      monthlyTokenBudget: form.budget.trim() === '' ? null : Number(form.budget),
    };
    // The key is sent only when the admin typed a new one; the server never returns it.
    if (form.apiKey.trim() && needsApiKey(form.provider)) payload.apiKey = form.apiKey.trim();
    try {
      const v = await call<SettingsView>('admin.ai.settings.save', payload);
      props.onSaved(v);
      setModels(v.models);
      setKeyPageUrl(v.keyPageUrl ?? '');
      setForm((f) => (f ? { ...f, apiKey: '' } : f));
      setSaved(true);
    } catch (e) {
      setSaveError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const runTest = async () => {
    setBusy('test');
    setTest(null);
    setTestError(null);
    const payload: Record<string, unknown> = { provider: form.provider, model };
    if (form.apiKey.trim() && needsApiKey(form.provider)) payload.apiKey = form.apiKey.trim();
    try {
      setTest(await call<TestAnswer>('admin.ai.test', payload));
    } catch (e) {
      setTestError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const st = STATUS_TEXT[view.status] ?? { text: view.status, appearance: 'default' as const };

  return (
    <div className="ai-general" data-testid="ai-general">
      <p className="ai-status-line">
        AI Prompt steps:{' '}
        <Lozenge appearance={st.appearance} testId="ai-status" extra={{ 'data-status': view.status }}>
          {st.text}
        </Lozenge>{' '}
        <span className="hint">
          This month: {view.usagePercent} % of the budget{' '}
          <Lozenge appearance={usageAppearance(view.usageStatus)} testId="ai-general-usage-status">
            {view.usageStatus}
          </Lozenge>
        </span>
      </p>

      <div className="field">
        <label htmlFor="ai-provider">Provider</label>
        <select id="ai-provider" data-testid="ai-provider" value={form.provider} onChange={(e) => void changeProvider(e.target.value as Provider)}>
          {PROVIDERS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
        {keyPageUrl && (
          <a className="hint" href={keyPageUrl} target="_blank" rel="noreferrer" data-testid="ai-key-page-link">
            Get an API key from {providerLabel(form.provider)} ↗
          </a>
        )}
        {!needsApiKey(form.provider) && (
          <span className="hint" data-testid="ai-forge-llm-note">
            No data leaves Atlassian's platform; no API key to manage. Atlassian runs Claude models for this app (Forge LLMs, at most 100 requests a
            minute per site); the tokens count against the monthly budget below.
          </span>
        )}
        <FieldError error={saveError} field="provider" label="Provider" />
        <ErrorMessage error={modelsError} testId="ai-models-error" />
      </div>

      {needsApiKey(form.provider) && (
        <div className="field">
          <label htmlFor="ai-api-key">API key</label>
          <div className="ai-key-row">
            <span className="ai-key-mask mono" data-testid="ai-key-fingerprint" data-has-key={view.keyFingerprint ? 'true' : 'false'}>
              {view.keyFingerprint ?? 'No key stored'}
            </span>
            <input
              id="ai-api-key"
              type="password"
              autoComplete="off"
              spellCheck={false}
              data-testid="ai-api-key"
              placeholder={view.keyFingerprint ? 'Type a new key to replace the stored one' : 'Paste the API key'}
              value={form.apiKey}
              onChange={(e) => set({ apiKey: e.target.value })}
            />
          </div>
          <span className="hint">
            The key is kept in Forge secret storage and never shown again: only its last 4 characters. Leave the field empty to keep the stored key.
          </span>
          <FieldError error={saveError} field="apiKey" label="API key" />
        </div>
      )}

      <div className="field">
        <label htmlFor="ai-model">Model</label>
        <select id="ai-model" data-testid="ai-model" value={form.modelChoice} onChange={(e) => set({ modelChoice: e.target.value })}>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
          <option value={CUSTOM}>Other model id…</option>
        </select>
        {form.modelChoice === CUSTOM && (
          <input
            aria-label="Model id"
            data-testid="ai-model-custom"
            placeholder="Any model id the provider supports"
            value={form.customModel}
            onChange={(e) => set({ customModel: e.target.value })}
          />
        )}
        <FieldError error={saveError} field="model" label="Model" />
      </div>

      <div className="field">
        <div className="button-group">
          <button type="button" className="button" data-testid="ai-test" disabled={busy !== null} onClick={() => void runTest()}>
            Test connection
          </button>
          {busy === 'test' && <Spinner label="Testing" />}
          <span className="hint">
            A one-token probe{' '}
            {needsApiKey(form.provider) ? `with ${form.apiKey.trim() ? 'the key you typed' : 'the stored key'}` : 'to Forge LLMs, no key'} (at most 10 a
            minute).
          </span>
        </div>
        {test && (
          <div
            className={test.ok ? 'action-result' : 'error-message'}
            role="status"
            data-testid="ai-test-result"
            data-ok={test.ok ? 'true' : 'false'}
            data-code={test.errorCode}
          >
            {test.ok ? `Connected: ${providerLabel(form.provider)} answered with ${model}.` : `${test.message ?? 'The test failed.'} `}
            {!test.ok && test.errorCode && <code className="error-code">({test.errorCode})</code>}
          </div>
        )}
        <ErrorMessage error={testError} testId="ai-test-error" />
      </div>

      <div className="field">
        <label className="checkbox-label">
          <input type="checkbox" data-testid="ai-enabled" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enable AI Prompt
          steps
        </label>
        <span className="hint">The kill-switch: when off, Prompt steps are skipped and approval paths continue without them.</span>
        <FieldError error={saveError} field="enabled" label="Enable" />
      </div>

      <div className="ai-row">
        <div className="field">
          <label htmlFor="ai-temperature">Temperature</label>
          <input
            id="ai-temperature"
            type="number"
            min={0}
            max={2}
            step={0.1}
            data-testid="ai-temperature"
            value={form.temperature}
            onChange={(e) => set({ temperature: e.target.value })}
          />
          <span className="hint">0 – 2; lower is more consistent.</span>
          <FieldError error={saveError} field="temperature" label="Temperature" />
        </div>
        <div className="field">
          <label htmlFor="ai-budget">Monthly token budget</label>
          <input
            id="ai-budget"
            type="number"
            min={0}
            step={1000}
            data-testid="ai-budget"
            value={form.budget}
            onChange={(e) => set({ budget: e.target.value })}
          />
          <span className="hint">
            Tokens in + out per calendar month (UTC), currently {fmt(view.monthlyTokenBudget)}. A warning at 90 %, Prompt steps are skipped at 100 %; 0 runs
            nothing.
          </span>
          <FieldError error={saveError} field="monthlyTokenBudget" label="Monthly token budget" />
        </div>
      </div>

      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="ai-general-save" disabled={busy !== null} onClick={() => void save()}>
          Save
        </button>
        {busy === 'save' && <Spinner label="Saving" />}
      </div>
      <ErrorMessage error={saveError} testId="ai-general-error" />
      {saved && (
        <div className="action-result" role="status" data-testid="ai-general-saved">
          Settings saved.
        </div>
      )}
    </div>
  );
}
