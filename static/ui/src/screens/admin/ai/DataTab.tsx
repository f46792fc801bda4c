import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, Skeleton, Spinner } from '../../../components/ui';
import { FieldError } from './common';
import type { DataSharingView, JiraField, SettingsView } from './types';

type Toggle = 'piiSensitive' | 'includeComments' | 'includeAttachments' | 'includeLinkedItems' | 'includeSubtasks' | 'includePrecedents';

const TOGGLES: { key: Toggle; label: string; hint: string }[] = [
  {
    key: 'piiSensitive',
    label: 'PII-sensitive mode',
    hint: 'Also redact phone numbers, card-like numbers, IBANs and US SSNs from free text, and drop custom fields whose name suggests personal data.',
  },
  { key: 'includeComments', label: 'Include comments', hint: 'The most recent comments on the work item (capped, each truncated).' },
  { key: 'includeAttachments', label: 'Include attachments', hint: 'Attachment metadata only (file name, type, size, date) — never file contents.' },
  { key: 'includeLinkedItems', label: 'Include linked work items', hint: 'Relation type and the linked item’s key, summary and status (capped).' },
  { key: 'includeSubtasks', label: 'Include subtasks', hint: 'Each subtask’s key, summary and status (capped).' },
  { key: 'includePrecedents', label: 'Include precedent approvals', hint: 'Up to 5 decided approvals of the same approval path, for calibration.' },
];

/** Settings → AI → Data sharing: what leaves the site on every prompt. */
export function DataTab(props: { onUsage: (u: DataSharingView) => void; onSaved: (v: SettingsView) => void }) {
  const [form, setForm] = useState<DataSharingView | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [fields, setFields] = useState<JiraField[] | null>(null);
  const [fieldsError, setFieldsError] = useState<ResolverError | null>(null);
  const [refreshing, setRefreshing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState<ResolverError | null>(null);
  const [saved, setSaved] = useState(false);

  const refresh = async () => {
    setRefreshing(true);
    setFieldsError(null);
    try {
      const r = await call<{ fields: JiraField[]; allowAll: boolean }>('admin.ai.fields.refresh');
      setFields(r.fields);
    } catch (e) {
      setFieldsError(asResolverError(e));
    } finally {
      setRefreshing(false);
    }
  };

  useEffect(() => {
    // The settings and Jira's field list load side by side; each shows when it arrives.
    call<DataSharingView>('admin.ai.dataSharing.get')
      .then((d) => {
        setForm(d);
        props.onUsage(d);
      })
      .catch((e) => setLoadError(asResolverError(e)));
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  if (!form && loadError) return <ErrorMessage error={loadError} testId="ai-data-load-error" />;
  if (!form) return <Skeleton />;

  const set = (patch: Partial<DataSharingView>) => {
    setForm({ ...form, ...patch });
    setSaved(false);
  };
  const toggleField = (id: string, on: boolean) => {
    const w = new Set(form.customFieldWhitelist);
    if (on) w.add(id);
    else w.delete(id);
    set({ customFieldWhitelist: [...w] });
  };

  const save = async () => {
    setBusy(true);
    setSaveError(null);
    setSaved(false);
    const payload: Record<string, unknown> = {
      allowAllCustomFields: form.allowAllCustomFields,
      customFieldWhitelist: form.customFieldWhitelist,
    };
    for (const t of TOGGLES) payload[t.key] = form[t.key];
    try {
      const v = await call<SettingsView>('admin.ai.settings.save', payload);
      props.onSaved(v);
      setSaved(true);
    } catch (e) {
      setSaveError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };

  // Whitelisted ids Jira no longer lists are still shown, so they can be removed.
  const known = new Set((fields ?? []).map((f) => f.id));
  const orphans = form.customFieldWhitelist.filter((id) => !known.has(id));

  return (
    <div className="ai-data" data-testid="ai-data">
      <p className="hint">Always on, for every site: e-mail addresses, real names and Atlassian account ids are removed before anything leaves the site.</p>
      {TOGGLES.map((t) => (
        <div className="field" key={t.key}>
          <label className="checkbox-label">
            <input type="checkbox" data-testid={`ai-toggle-${t.key}`} checked={form[t.key]} onChange={(e) => set({ [t.key]: e.target.checked } as Partial<DataSharingView>)} />{' '}
            {t.label}
          </label>
          <span className="hint">{t.hint}</span>
          <FieldError error={saveError} field={t.key} label={t.label} />
        </div>
      ))}

      <h3 className="ai-subtitle">Custom fields</h3>
      <div className="field">
        <label className="checkbox-label">
          <input
            type="checkbox"
            data-testid="ai-toggle-allowAllCustomFields"
            checked={form.allowAllCustomFields}
            onChange={(e) => set({ allowAllCustomFields: e.target.checked })}
          />{' '}
          Allow all custom fields
        </label>
        <span className="hint">
          Off: only the custom fields ticked below reach the AI, and each Prompt step can narrow them further. On: every custom field is sent and the per-step
          picker is hidden.
        </span>
        <FieldError error={saveError} field="allowAllCustomFields" label="Allow all custom fields" />
      </div>
      <div className={`ai-whitelist${form.allowAllCustomFields ? ' ai-whitelist-off' : ''}`} data-testid="ai-whitelist" aria-disabled={form.allowAllCustomFields}>
        <div className="button-group">
          <strong>Whitelist</strong>
          <span className="hint">{form.customFieldWhitelist.length} selected</span>
          <button type="button" className="button button-subtle" data-testid="ai-fields-refresh" disabled={refreshing} onClick={() => void refresh()}>
            Refresh from Jira
          </button>
          {refreshing && <Spinner label="Reading Jira's fields" />}
        </div>
        <ErrorMessage error={fieldsError} testId="ai-fields-error" />
        {fields && fields.length === 0 && orphans.length === 0 && <Empty>Jira lists no custom fields on this site.</Empty>}
        <ul className="ai-field-list">
          {(fields ?? []).map((f) => (
            <li key={f.id}>
              <label className="checkbox-label">
                <input
                  type="checkbox"
                  data-testid={`ai-field-${f.id}`}
                  disabled={form.allowAllCustomFields}
                  checked={form.allowAllCustomFields || form.customFieldWhitelist.includes(f.id)}
                  onChange={(e) => toggleField(f.id, e.target.checked)}
                />{' '}
                {f.name} <span className="mono">{f.id}</span>
              </label>
            </li>
          ))}
          {orphans.map((id) => (
            <li key={id}>
              <label className="checkbox-label">
                <input type="checkbox" data-testid={`ai-field-${id}`} disabled={form.allowAllCustomFields} checked onChange={() => toggleField(id, false)} />{' '}
                <span className="mono">{id}</span> <span className="hint">(not listed by Jira any more)</span>
              </label>
            </li>
          ))}
        </ul>
        <FieldError error={saveError} field="customFieldWhitelist" label="Whitelist" />
      </div>

      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="ai-data-save" disabled={busy} onClick={() => void save()}>
          Save
        </button>
        {busy && <Spinner label="Saving" />}
      </div>
      <ErrorMessage error={saveError} testId="ai-data-error" />
      {saved && (
        <div className="action-result" role="status" data-testid="ai-data-saved">
          Data sharing saved.
        </div>
      )}
    </div>
  );
}
