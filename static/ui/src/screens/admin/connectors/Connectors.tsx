import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDateTime, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import { PeoplePicker, type PickedPerson } from '../../../components/PeoplePicker';
import type { SectionProps } from '../sections';
import { fieldErrors, FieldError, FormError, HelpLink, invalidProps, requiredError, Result, useAnchor } from '../overview/shared';
import type { CatalogTool, Connector, ConnectorTest, ConnectorType, IdentityMapping } from '../overview/setupTypes';

const TYPE_LABEL: Record<ConnectorType, string> = { manual: 'Manual', 'okta-group': 'Okta group', 'entra-group': 'Microsoft Entra group' };
const CONFIG_FIELDS: Record<ConnectorType, { name: string; label: string; secret?: boolean; placeholder?: string }[]> = {
  manual: [],
  'okta-group': [
    { name: 'orgUrl', label: 'Okta org URL', placeholder: 'https://acme.okta.com' },
    { name: 'apiToken', label: 'API token', secret: true },
  ],
  'entra-group': [
    { name: 'tenantId', label: 'Tenant id', placeholder: '00000000-0000-0000-0000-000000000000' },
    { name: 'clientId', label: 'Client id', placeholder: '00000000-0000-0000-0000-000000000000' },
    { name: 'clientSecret', label: 'Client secret', secret: true },
  ],
};
/** Connected mode's preconditions, as `details.missing` names them (provisioning/mod.rs). */
const PREREQ_TEXT: Record<string, string> = {
  AICLEARANCE_CONNECTED_ENABLED: 'Set the environment variable AICLEARANCE_CONNECTED_ENABLED=true (forge variables set).',
  ARDSAOR_CORE_URL: 'Set ARDSAOR_CORE_URL to the ArdSaor Core address.',
  ARDSAOR_CORE_APP_ID: 'Set ARDSAOR_CORE_APP_ID to the app id ArdSaor gave you.',
  ARDSAOR_CORE_APP_SECRET: 'Set ARDSAOR_CORE_APP_SECRET (forge variables set --encrypt).',
  'ARDSAOR_CORE_URL (https)': 'ARDSAOR_CORE_URL must start with https://.',
  license: 'The app needs an active license on this site (development installs have none).',
};

interface Form {
  id: string;
  name: string;
  type: ConnectorType;
  identityMatch: 'emailOrMapping' | 'mappingOnly';
  reconcileMode: 'reportOnly' | 'repair';
  config: Record<string, string>;
}
const NEW_FORM: Form = { id: '', name: '', type: 'manual', identityMatch: 'emailOrMapping', reconcileMode: 'reportOnly', config: {} };

const LABELS: Record<string, string> = {
  id: 'Connector id',
  name: 'Name',
  config: 'Config',
  'config.orgUrl': 'Okta org URL',
  'config.apiToken': 'API token',
  'config.tenantId': 'Tenant id',
  'config.clientId': 'Client id',
  'config.clientSecret': 'Client secret',
};

function missingOf(e: ResolverError | null | undefined): string[] {
  const d = e?.details as { missing?: unknown } | undefined;
  return Array.isArray(d?.missing) ? d!.missing.map(String) : [];
}

/** What blocks connected mode, when the server says so (CORE_ENV_MISSING, LICENSE_INACTIVE …). */
function Prerequisites(props: { error: ResolverError | null | undefined }) {
  const missing = missingOf(props.error);
  if (missing.length === 0) return null;
  return (
    <div className="prereqs" role="note" data-testid="connector-prereqs" data-missing={missing.join(',')}>
      <strong>Connected mode is not available yet.</strong> Okta and Entra connectors work through ArdSaor Core; before they can be tested, enabled or bound:
      <ul>
        {missing.map((m) => (
          <li key={m} data-testid="connector-prereq" data-name={m}>
            <span className="mono">{m}</span>: {PREREQ_TEXT[m] ?? 'required'}
          </li>
        ))}
      </ul>
      Manual connectors need none of this. <HelpLink anchor="connectedMode" testId="connector-prereqs-help">Connected mode prerequisites</HelpLink>
    </div>
  );
}

function testText(t: ConnectorTest): string {
  return `${t.ok ? 'Test passed' : 'Test failed'} (${t.code}) ${formatDateTime(t.at)}: ${t.message}${t.requestId ? ` — Core request ${t.requestId}` : ''}`;
}

type RowNote = { id: string; error?: ResolverError; text?: string };

/** Identity mappings of one connector (admin.identities.*). */
function Mappings(props: { connector: Connector }) {
  const c = props.connector;
  const [rows, setRows] = useState<IdentityMapping[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [form, setForm] = useState({ email: '', externalId: '' });
  const [person, setPerson] = useState<PickedPerson | null>(null);
  const [people, setPeople] = useState<Record<string, string>>({});
  const [error, setError] = useState<ResolverError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    try {
      const r = await call<{ mappings: IdentityMapping[]; people?: Record<string, string> }>('admin.identities.list', { connectorId: c.id });
      setRows(r.mappings);
      setPeople(r.people ?? {});
    } catch (e) {
      setLoadError(asResolverError(e));
      setRows((r) => r ?? []);
    }
  }, [c.id]);
  useEffect(() => {
    void load();
  }, [load]);
  const save = async () => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await call('admin.identities.set', { connectorId: c.id, accountId: person?.accountId ?? '', ...form });
      setNote(`Mapping for ${person?.displayName ?? 'the person'} saved.`);
      setForm({ email: '', externalId: '' });
      setPerson(null);
      await load();
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (accountId: string) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await call('admin.identities.delete', { connectorId: c.id, accountId });
      setNote(`Mapping for ${people[accountId] ?? 'the person'} deleted.`);
      await load();
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(false);
    }
  };
  const bad = fieldErrors(error);
  const name = (id: string) => people[id] ?? 'Unknown person';
  const accountInvalid = invalidProps(error, ['accountId'], `map-acc-${c.id}`);
  return (
    <div className="form-card" data-testid="mappings" data-connector-id={c.id}>
      <h3 className="sub-title">Identity mappings of {c.name}</h3>
      <p className="hint">
        {c.identityMatch === 'mappingOnly'
          ? 'This connector uses explicit mappings only: people without one cannot be provisioned automatically.'
          : "People without a mapping are matched by their Jira email. The provider login is stored in secret storage; only a fingerprint is shown."}
      </p>
      <ErrorMessage error={loadError} testId="mappings-load-error" />
      {rows === null ? (
        <Skeleton lines={2} />
      ) : rows.length === 0 ? (
        <Empty>No explicit mappings.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Jira account</th>
              <th>Fingerprint</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.accountId} data-testid="mapping-row" data-account-id={m.accountId}>
                <td data-testid="mapping-person" title={m.accountId}>
                  {name(m.accountId)}
                </td>
                <td className="mono">{m.fingerprint}</td>
                <td>
                  {formatDateTime(m.updatedAt)} <span className="hint">by {name(m.updatedBy)}</span>
                </td>
                <td>
                  <button type="button" className="button button-subtle" data-testid="mapping-delete" disabled={busy} onClick={() => void remove(m.accountId)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <FormError error={error} testId="mapping-error" labels={{ accountId: 'Person', email: 'Provider login email', externalId: 'Provider user id' }} />
      <div className="row-inline">
        <div className={`field${'accountId' in bad ? ' has-error' : ''}`}>
          <label htmlFor={`map-acc-${c.id}`}>Person</label>
          <PeoplePicker id={`map-acc-${c.id}`} testId="mapping-person-picker" value={person} onChange={setPerson} invalid={!!accountInvalid['aria-invalid']} describedBy={accountInvalid['aria-describedby']} />
          <FieldError error={error} names={['accountId']} inputId={`map-acc-${c.id}`} />
        </div>
        <div className={`field${'email' in bad ? ' has-error' : ''}`}>
          <label htmlFor={`map-email-${c.id}`}>Provider login email</label>
          <input id={`map-email-${c.id}`} {...invalidProps(error, ['email'], `map-email-${c.id}`)} type="email" data-testid="mapping-email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          <FieldError error={error} names={['email']} inputId={`map-email-${c.id}`} />
        </div>
        <div className={`field${'externalId' in bad ? ' has-error' : ''}`}>
          <label htmlFor={`map-ext-${c.id}`}>Provider user id (optional)</label>
          <input id={`map-ext-${c.id}`} {...invalidProps(error, ['externalId'], `map-ext-${c.id}`)} type="text" data-testid="mapping-external" value={form.externalId} onChange={(e) => setForm({ ...form, externalId: e.target.value })} />
          <FieldError error={error} names={['externalId']} inputId={`map-ext-${c.id}`} />
        </div>
      </div>
      <div className="button-group">
        <button type="button" className="button" data-testid="mapping-save" disabled={busy} onClick={() => void save()}>
          Save mapping
        </button>
        {busy && <Spinner />}
      </div>
      <Result text={note} testId="mapping-result" />
    </div>
  );
}

/** Connectors (§4.4, §8): manual, Okta and Entra connectors, their tests, state and identity mappings. */
export default function Connectors(props: SectionProps) {
  const [list, setList] = useState<Connector[] | null>(null);
  const [tools, setTools] = useState<CatalogTool[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [editing, setEditing] = useState<{ form: Form; current?: Connector } | null>(props.anchor === 'new' ? { form: NEW_FORM } : null);
  const [formError, setFormError] = useState<ResolverError | null>(null);
  const [formNote, setFormNote] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [row, setRow] = useState<RowNote | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [mappingsOf, setMappingsOf] = useState<string | null>(null);
  const [bindTool, setBindTool] = useState<Record<string, string>>({});

  const load = useCallback(async () => {
    try {
      setList((await call<{ connectors: Connector[] }>('admin.connectors.list')).connectors);
      setLoadError(null);
    } catch (e) {
      setLoadError(asResolverError(e));
      setList((l) => l ?? []);
    }
  }, []);
  const loadTools = useCallback(async () => {
    try {
      setTools((await call<{ tools: CatalogTool[] }>('admin.catalog.list')).tools);
    } catch {
      setTools((t) => t ?? []);
    }
  }, []);
  useEffect(() => {
    void load();
    void loadTools();
  }, [load, loadTools]);
  useAnchor(props.anchor, list !== null, 'connectors');

  if (list === null) return <Skeleton lines={4} />;

  const save = async () => {
    if (!editing) return;
    const f = editing.form;
    setFormNote(null);
    const fields = CONFIG_FIELDS[f.type];
    // An empty id or name is marked here (the server would answer FIELD_MISSING without naming
    // the field); the provider config is checked by the server, which names each field.
    const missing = requiredError({ id: f.id, name: f.name });
    if (missing) {
      setFormError(missing);
      return;
    }
    setBusy('form');
    setFormError(null);
    const typed = fields.some((x) => (f.config[x.name] ?? '').trim() !== '');
    const payload: Record<string, unknown> = { id: f.id.trim(), name: f.name, identityMatch: f.identityMatch, reconcileMode: f.reconcileMode };
    if (!editing.current) payload.type = f.type;
    // On edit the stored config is kept unless a value is typed (the secret is never shown).
    if (f.type !== 'manual' && (typed || !editing.current)) {
      payload.config = Object.fromEntries(fields.map((x) => [x.name, f.config[x.name] ?? '']));
    }
    try {
      const r = await call<{ connector: Connector }>('admin.connectors.save', payload);
      setFormNote(`${r.connector.name} saved${r.connector.enabled ? '' : ' (disabled: enable it to use it)'}.`);
      setEditing(null);
      await load();
    } catch (e) {
      setFormError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const act = async (c: Connector, what: string, fn: () => Promise<string>) => {
    setBusy(`${what}:${c.id}`);
    setRow(null);
    try {
      setRow({ id: c.id, text: await fn() });
      await load();
    } catch (e) {
      setRow({ id: c.id, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };
  const test = (c: Connector) =>
    act(c, 'test', async () => testText((await call<{ test: ConnectorTest }>('admin.connectors.test', { id: c.id })).test));
  const setEnabled = (c: Connector, on: boolean) =>
    act(c, on ? 'enable' : 'disable', async () => {
      const r = await call<{ changed: boolean }>(on ? 'admin.connectors.enable' : 'admin.connectors.disable', { id: c.id });
      return `${c.name} ${r.changed ? 'is now' : 'was already'} ${on ? 'enabled' : 'disabled'}.`;
    });
  const remove = (c: Connector) =>
    act(c, 'delete', async () => {
      setConfirmDelete(null);
      const r = await call<{ deleted: boolean }>('admin.connectors.delete', { id: c.id });
      return r.deleted ? `${c.name} was deleted.` : `${c.name} was already gone.`;
    });
  const bind = (c: Connector) =>
    act(c, 'bind', async () => {
      const toolId = bindTool[c.id] ?? '';
      const r = await call<{ tool: CatalogTool }>('admin.connectors.bindTool', { toolId, connectorId: c.id });
      await loadTools();
      const g = r.tool.entitlementGroup as { name?: string } | null | undefined;
      return `${r.tool.displayName} is bound to ${c.name}${g?.name ? `; entitlement group “${g.name}”` : ' (manual fulfilment)'}.`;
    });

  const f = editing?.form;
  const setF = <K extends keyof Form>(k: K, v: Form[K]) => setEditing((e) => (e ? { ...e, form: { ...e.form, [k]: v } } : e));
  const bad = fieldErrors(formError);
  const cls = (k: string) => `field${k in bad ? ' has-error' : ''}`;
  const bound = (tools ?? []).filter((t) => t.connectorId);
  const rowError = row?.error;

  return (
    <div className="setup connectors" data-testid="connectors">
      <p className="hint">
        Manual connectors leave fulfilment to approvers; Okta and Entra connectors manage membership of one entitlement group per tool through ArdSaor Core.{' '}
        <HelpLink anchor="connectors" testId="connectors-help" /> · <HelpLink anchor="connectorSetup" testId="connectors-help-setup">Connector setup</HelpLink>
      </p>
      {loadError && <ErrorMessage error={loadError} testId="connectors-load-error" />}
      <div className="toolbar">
        <button
          type="button"
          className="button button-primary"
          data-testid="connector-new"
          disabled={busy !== null}
          onClick={() => {
            setEditing({ form: NEW_FORM });
            setFormError(null);
            setFormNote(null);
          }}
        >
          New connector
        </button>
      </div>
      <Result text={formNote} testId="connector-saved" />

      {f && (
        <div className="form-card" id="connectors-new" data-testid="connector-form" data-mode={editing?.current ? 'edit' : 'new'}>
          <h3 className="sub-title">{editing?.current ? `Edit ${editing.current.name}` : 'New connector'}</h3>
          <FormError error={formError} testId="connector-save-error" labels={LABELS} />
          <div className="row-inline">
            <div className={cls('id')}>
              <label htmlFor="connector-id">Connector id</label>
              <input id="connector-id" {...invalidProps(formError, ['id'], 'connector-id')} type="text" data-testid="connector-id" placeholder="okta-main" value={f.id} disabled={!!editing?.current} onChange={(e) => setF('id', e.target.value)} />
              <span className="hint">Lower-case letters, digits and dashes.</span>
              <FieldError error={formError} names={['id']} inputId="connector-id" />
            </div>
            <div className={cls('name')}>
              <label htmlFor="connector-name">Name</label>
              <input id="connector-name" {...invalidProps(formError, ['name'], 'connector-name')} type="text" data-testid="connector-name" value={f.name} onChange={(e) => setF('name', e.target.value)} />
              <FieldError error={formError} names={['name']} inputId="connector-name" />
            </div>
            <div className="field">
              <label htmlFor="connector-type">Type</label>
              <select id="connector-type" data-testid="connector-type" value={f.type} disabled={!!editing?.current} onChange={(e) => setEditing((x) => (x ? { ...x, form: { ...x.form, type: e.target.value as ConnectorType, config: {} } } : x))}>
                {(Object.keys(TYPE_LABEL) as ConnectorType[]).map((t) => (
                  <option key={t} value={t}>
                    {TYPE_LABEL[t]}
                  </option>
                ))}
              </select>
              {editing?.current && <span className="hint">A connector's type cannot change.</span>}
            </div>
          </div>
          <div className="row-inline">
            <div className="field">
              <label htmlFor="connector-identity">Match Jira users by</label>
              <select id="connector-identity" data-testid="connector-identity-match" value={f.identityMatch} onChange={(e) => setF('identityMatch', e.target.value as Form['identityMatch'])}>
                <option value="emailOrMapping">Explicit mapping, else Jira email</option>
                <option value="mappingOnly">Explicit mapping only</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="connector-reconcile">Reconciliation</label>
              <select id="connector-reconcile" data-testid="connector-reconcile" value={f.reconcileMode} onChange={(e) => setF('reconcileMode', e.target.value as Form['reconcileMode'])}>
                <option value="reportOnly">Report drift only</option>
                <option value="repair">Repair drift</option>
              </select>
            </div>
          </div>
          {f.type !== 'manual' && (
            <fieldset>
              <legend>Provider config</legend>
              <p className="hint">
                Stored in Forge secret storage; never shown again.
                {editing?.current?.configured ? ` Saved config fingerprint ${editing.current.configFingerprint ?? '—'}: leave every field empty to keep it.` : ''}
              </p>
              <FieldError error={formError} names={['config']} />
              <div className="row-inline">
                {CONFIG_FIELDS[f.type].map((x) => (
                  <div key={x.name} className={cls(`config.${x.name}`)}>
                    <label htmlFor={`connector-config-${x.name}`}>{x.label}</label>
                    <input
                      id={`connector-config-${x.name}`}
                      {...invalidProps(formError, [`config.${x.name}`, 'config'], `connector-config-${x.name}`)}
                      type={x.secret ? 'password' : 'text'}
                      autoComplete="off"
                      data-testid={`connector-config-${x.name}`}
                      placeholder={x.placeholder}
                      value={f.config[x.name] ?? ''}
                      onChange={(e) => setF('config', { ...f.config, [x.name]: e.target.value })}
                    />
                    <FieldError error={formError} names={[`config.${x.name}`]} inputId={`connector-config-${x.name}`} />
                  </div>
                ))}
              </div>
            </fieldset>
          )}
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="connector-save" disabled={busy !== null} onClick={() => void save()}>
              Save connector
            </button>
            <button type="button" className="button" data-testid="connector-cancel" onClick={() => setEditing(null)}>
              Cancel
            </button>
            {busy === 'form' && <Spinner />}
          </div>
          <Prerequisites error={formError} />
        </div>
      )}

      {list.length === 0 ? (
        <Empty>No connectors yet. Without one, every approved request is fulfilled by hand from the Approvals tab.</Empty>
      ) : (
        <table className="table" data-testid="connectors-table">
          <thead>
            <tr>
              <th>Connector</th>
              <th>State</th>
              <th>Last test</th>
              <th>Bind a tool</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((c) => {
              const tool = bindTool[c.id] ?? '';
              return (
                <tr key={c.id} data-testid="connector-row" data-connector-id={c.id} data-enabled={String(c.enabled)} data-type={c.type}>
                  <td>
                    <strong>{c.name}</strong>
                    <span className="hint">
                      {TYPE_LABEL[c.type] ?? c.type} · <span className="mono">{c.id}</span>
                    </span>
                    <span className="hint">
                      {c.identityMatch === 'mappingOnly' ? 'mapping only' : 'mapping or Jira email'} · {c.reconcileMode === 'repair' ? 'repairs drift' : 'reports drift'}
                    </span>
                  </td>
                  <td>
                    <Lozenge appearance={c.enabled ? 'success' : 'default'} testId="connector-enabled">
                      {c.enabled ? 'Enabled' : 'Disabled'}
                    </Lozenge>
                    <span className="hint">{c.type === 'manual' ? 'no config needed' : c.configured ? `config ${c.configFingerprint ?? ''}` : 'not configured'}</span>
                  </td>
                  <td data-testid="connector-last-test" data-ok={c.lastTest ? String(c.lastTest.ok) : ''}>
                    {c.lastTest ? (
                      <>
                        <Lozenge appearance={c.lastTest.ok ? 'success' : 'removed'}>{c.lastTest.ok ? 'passed' : 'failed'}</Lozenge>
                        <span className="hint">
                          {c.lastTest.code} · {formatDateTime(c.lastTest.at)}
                        </span>
                      </>
                    ) : (
                      <span className="muted">never tested</span>
                    )}
                  </td>
                  <td>
                    <div className="button-group">
                      <select aria-label={`Tool to bind to ${c.name}`} data-testid="connector-bind-tool" value={tool} disabled={busy !== null} onChange={(e) => setBindTool((b) => ({ ...b, [c.id]: e.target.value }))}>
                        <option value="">Choose a tool…</option>
                        {(tools ?? []).map((t) => (
                          <option key={t.id} value={t.id}>
                            {t.displayName}
                            {t.connectorId ? ` (on ${t.connectorId})` : ''}
                          </option>
                        ))}
                      </select>
                      <button type="button" className="button" data-testid="connector-bind" disabled={busy !== null || !tool} onClick={() => void bind(c)}>
                        Bind
                      </button>
                    </div>
                    <span className="hint" data-testid="connector-bound-tools">
                      {(tools ?? []).filter((t) => t.connectorId === c.id).map((t) => t.displayName).join(', ') || 'no tools bound'}
                    </span>
                  </td>
                  <td>
                    <div className="button-group">
                      <button type="button" className="button" data-testid="connector-test" disabled={busy !== null} onClick={() => void test(c)}>
                        Test
                      </button>
                      {c.enabled ? (
                        <button type="button" className="button" data-testid="connector-disable" disabled={busy !== null} onClick={() => void setEnabled(c, false)}>
                          Disable
                        </button>
                      ) : (
                        <button type="button" className="button button-primary" data-testid="connector-enable" disabled={busy !== null} onClick={() => void setEnabled(c, true)}>
                          Enable
                        </button>
                      )}
                      <button
                        type="button"
                        className="button"
                        data-testid="connector-edit"
                        disabled={busy !== null}
                        onClick={() => {
                          setEditing({ form: { id: c.id, name: c.name, type: c.type, identityMatch: c.identityMatch, reconcileMode: c.reconcileMode, config: {} }, current: c });
                          setFormError(null);
                          setFormNote(null);
                        }}
                      >
                        Edit
                      </button>
                      <button type="button" className="button button-subtle" data-testid="connector-mappings" onClick={() => setMappingsOf(mappingsOf === c.id ? null : c.id)}>
                        {mappingsOf === c.id ? 'Hide mappings' : 'Identity mappings'}
                      </button>
                      {confirmDelete === c.id ? (
                        <>
                          <button type="button" className="button button-danger" data-testid="connector-delete-confirm" onClick={() => void remove(c)}>
                            Delete {c.name}
                          </button>
                          <button type="button" className="button" data-testid="connector-delete-cancel" onClick={() => setConfirmDelete(null)}>
                            Keep
                          </button>
                        </>
                      ) : (
                        <button type="button" className="button button-subtle" data-testid="connector-delete" disabled={busy !== null} onClick={() => setConfirmDelete(c.id)}>
                          Delete
                        </button>
                      )}
                      {busy?.endsWith(`:${c.id}`) && <Spinner />}
                    </div>
                    {row?.id === c.id && rowError && (
                      <>
                        <ErrorMessage error={rowError} testId="connector-error" />
                        <Prerequisites error={rowError} />
                      </>
                    )}
                    {row?.id === c.id && row.text && <Result text={row.text} testId="connector-result" />}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {row?.text && !list.some((c) => c.id === row.id) && <Result text={row.text} testId="connector-result" />}
      {mappingsOf && list.find((c) => c.id === mappingsOf) && <Mappings key={mappingsOf} connector={list.find((c) => c.id === mappingsOf)!} />}

      <h3 className="sub-title" id="connectors-bindings">
        Connector automation
      </h3>
      <p className="hint" data-testid="connectors-bindings" data-count={bound.length}>
        {bound.length === 0
          ? 'No catalog tool is bound to a connector: approved requests are fulfilled by hand. Bind a tool to an enabled connector above, or in the Catalog.'
          : `${bound.length} tool${bound.length === 1 ? '' : 's'} bound: ${bound.map((t) => `${t.displayName} → ${t.connectorId}`).join(', ')}.`}{' '}
        <button type="button" className="link-button" data-testid="connectors-open-catalog" onClick={() => props.go('catalog', 'binding')}>
          Open the Catalog
        </button>
      </p>
    </div>
  );
}
