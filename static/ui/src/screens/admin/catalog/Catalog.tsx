import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDateTime, Skeleton, Spinner } from '../../../components/ui';
import type { SectionProps } from '../sections';
import { fieldErrors, FieldError, FormError, HelpLink, invalidProps, numberOrText, plural, Result, useAnchor } from '../overview/shared';
import { FilterBox, useFilter } from '../../../components/Filter';
import { RISK_MAX_DAYS, RISKS, type CatalogTool, type Connector, type RiskLevel, type SeedResult, type ToolStatus } from '../overview/setupTypes';

const STATUSES: ToolStatus[] = ['approved', 'blocked', 'denied'];
const STATUS_LABEL: Record<ToolStatus, string> = { approved: 'Approved', blocked: 'Blocked', denied: 'Denied' };

interface Form {
  id: string;
  displayName: string;
  provider: string;
  status: ToolStatus;
  riskLevel: RiskLevel;
  defaultExpiryDays: string;
  guidance: string;
  fulfilmentNotes: string;
  entitlementGroup: string;
}

const NEW_FORM: Form = {
  id: '',
  displayName: '',
  provider: '',
  status: 'approved',
  riskLevel: 'medium',
  defaultExpiryDays: '90',
  guidance: '',
  fulfilmentNotes: '',
  entitlementGroup: '',
};

function toForm(t: CatalogTool): Form {
  return {
    id: t.id,
    displayName: t.displayName,
    provider: t.provider,
    status: t.status,
    riskLevel: t.riskLevel,
    defaultExpiryDays: String(t.defaultExpiryDays),
    guidance: t.guidance ?? '',
    fulfilmentNotes: t.fulfilmentNotes ?? '',
    entitlementGroup: t.entitlementGroup ? JSON.stringify(t.entitlementGroup, null, 2) : '',
  };
}

/** The upsert payload: an edit keeps the tool's connector binding (bindTool changes that). */
function toPayload(f: Form, current: CatalogTool | undefined): Record<string, unknown> {
  let group: unknown = null;
  const g = f.entitlementGroup.trim();
  if (g) {
    try {
      group = JSON.parse(g);
    } catch {
      group = g; // the server names the field
    }
  }
  return {
    id: f.id.trim(),
    displayName: f.displayName,
    provider: f.provider,
    status: f.status,
    riskLevel: f.riskLevel,
    defaultExpiryDays: numberOrText(f.defaultExpiryDays),
    guidance: f.guidance,
    fulfilmentNotes: f.fulfilmentNotes,
    connectorId: current?.connectorId ?? null,
    entitlementGroup: group,
  };
}

function toolPayload(t: CatalogTool, change: Partial<CatalogTool>): Record<string, unknown> {
  const n = { ...t, ...change };
  return {
    id: n.id,
    displayName: n.displayName,
    provider: n.provider,
    status: n.status,
    riskLevel: n.riskLevel,
    defaultExpiryDays: n.defaultExpiryDays,
    guidance: n.guidance,
    fulfilmentNotes: n.fulfilmentNotes,
    connectorId: n.connectorId ?? null,
    entitlementGroup: n.entitlementGroup ?? null,
  };
}

const NO_TOOLS: CatalogTool[] = [];

const LABELS: Record<string, string> = {
  id: 'Tool id',
  displayName: 'Display name',
  provider: 'Provider',
  status: 'Status',
  riskLevel: 'Risk level',
  defaultExpiryDays: 'Default expiry',
  guidance: 'Guidance for requesters',
  fulfilmentNotes: 'Internal fulfilment notes',
  connectorId: 'Connector',
  entitlementGroup: 'Entitlement group',
};

type RowWhere = { id: string; error?: ResolverError; text?: string };

/** Catalog (§4.3): the governed AI tools, the seed, statuses and connector bindings. */
export default function Catalog(props: SectionProps) {
  const [tools, setTools] = useState<CatalogTool[] | null>(null);
  const [connectors, setConnectors] = useState<Connector[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [seedResult, setSeedResult] = useState<string | null>(null);
  const [seedError, setSeedError] = useState<ResolverError | null>(null);
  const [editing, setEditing] = useState<{ form: Form; current?: CatalogTool } | null>(props.anchor === 'add' ? { form: NEW_FORM } : null);
  const [formError, setFormError] = useState<ResolverError | null>(null);
  const [formResult, setFormResult] = useState<string | null>(null);
  const [row, setRow] = useState<RowWhere | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [bindChoice, setBindChoice] = useState<Record<string, string>>({});

  const loadTools = useCallback(async () => {
    try {
      const r = await call<{ tools: CatalogTool[] }>('admin.catalog.list');
      setTools(r.tools);
      setLoadError(null);
    } catch (e) {
      setLoadError(asResolverError(e));
      setTools((t) => t ?? []);
    }
  }, []);
  useEffect(() => {
    void loadTools();
    // Independent: the connector list only fills the binding choices.
    call<{ connectors: Connector[] }>('admin.connectors.list')
      .then((r) => setConnectors(r.connectors))
      .catch(() => setConnectors([]));
  }, [loadTools]);
  useAnchor(props.anchor, tools !== null, 'catalog');
  const filter = useFilter(tools ?? NO_TOOLS, (t) => [t.displayName, t.provider, t.id]);

  if (tools === null) return <Skeleton lines={5} />;

  const seed = async () => {
    setBusy('seed');
    setSeedError(null);
    setSeedResult(null);
    try {
      const r = await call<SeedResult>('admin.catalog.seed');
      setSeedResult(
        `Seeded the supported tools (seed version ${r.seedVersion}): ${plural(r.created.length, 'tool')} added${r.kept.length ? `, ${r.kept.length} already in the catalog kept as they are` : ''}.`,
      );
      await loadTools();
    } catch (e) {
      setSeedError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const saveForm = async () => {
    if (!editing) return;
    setBusy('form');
    setFormError(null);
    setFormResult(null);
    try {
      const r = await call<{ tool: CatalogTool }>('admin.catalog.upsert', toPayload(editing.form, editing.current));
      setFormResult(`${r.tool.displayName} saved (version ${r.tool.version}).`);
      setEditing(null);
      await loadTools();
    } catch (e) {
      setFormError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const rowAction = async (id: string, what: string, fn: () => Promise<string>) => {
    setBusy(`${what}:${id}`);
    setRow(null);
    try {
      const text = await fn();
      setRow({ id, text });
      await loadTools();
    } catch (e) {
      setRow({ id, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  const changeStatus = (t: CatalogTool, status: ToolStatus) =>
    rowAction(t.id, 'status', async () => {
      await call('admin.catalog.upsert', toolPayload(t, { status }));
      return `${t.displayName} is now ${STATUS_LABEL[status].toLowerCase()}.`;
    });

  const remove = (t: CatalogTool) =>
    rowAction(t.id, 'delete', async () => {
      setConfirmDelete(null);
      const r = await call<{ deleted: boolean }>('admin.catalog.delete', { id: t.id });
      return r.deleted ? `${t.displayName} was deleted.` : `${t.displayName} was already gone.`;
    });

  const bind = (t: CatalogTool) =>
    rowAction(t.id, 'bind', async () => {
      const choice = bindChoice[t.id] ?? t.connectorId ?? '';
      const r = await call<{ tool: CatalogTool }>('admin.connectors.bindTool', { toolId: t.id, connectorId: choice || null });
      const g = r.tool.entitlementGroup as { name?: string } | null | undefined;
      return choice ? `${t.displayName} is bound to ${choice}${g?.name ? ` (group “${g.name}”)` : ''}.` : `${t.displayName} is back to manual fulfilment.`;
    });

  const f = editing?.form;
  const setF = <K extends keyof Form>(k: K, v: Form[K]) => setEditing((e) => (e ? { ...e, form: { ...e.form, [k]: v } } : e));
  const bad = fieldErrors(formError);
  const cls = (k: string) => `field${k in bad ? ' has-error' : ''}`;
  const approved = tools.filter((t) => t.status === 'approved').length;

  return (
    <div className="setup catalog" data-testid="catalog">
      <p className="hint">
        Approved tools are requestable; blocked and denied tools stay governed but cannot be requested. <HelpLink anchor="catalog" testId="catalog-help" />
      </p>
      {loadError && <ErrorMessage error={loadError} testId="catalog-load-error" />}

      <div className="toolbar" id="catalog-seed">
        <button type="button" className="button button-primary" data-testid="catalog-seed" disabled={busy !== null} onClick={() => void seed()}>
          Seed supported tools
        </button>
        <button
          type="button"
          className="button"
          data-testid="catalog-add"
          disabled={busy !== null}
          onClick={() => {
            setEditing({ form: NEW_FORM });
            setFormError(null);
            setFormResult(null);
          }}
        >
          Add tool
        </button>
        {busy === 'seed' && <Spinner />}
        <span className="hint" data-testid="catalog-count">
          {plural(tools.length, 'tool')}, {approved} approved
        </span>
        <HelpLink anchor="supportedTools" testId="catalog-help-supported">
          Supported tools and risk catalog
        </HelpLink>
      </div>
      <ErrorMessage error={seedError} testId="catalog-seed-error" />
      <Result text={seedResult} testId="catalog-seed-result" />
      <Result text={formResult} testId="tool-saved" />

      {f && (
        <div className="form-card" data-testid="catalog-form" id="catalog-add" data-mode={editing?.current ? 'edit' : 'add'}>
          <h3 className="sub-title">{editing?.current ? `Edit ${editing.current.displayName}` : 'Add a tool'}</h3>
          <FormError error={formError} testId="tool-save-error" labels={LABELS} />
          <div className="row-inline">
            <div className={cls('id')}>
              <label htmlFor="tool-id">Tool id</label>
              <input id="tool-id" {...invalidProps(formError, ['id'], 'tool-id')} type="text" data-testid="tool-id" value={f.id} disabled={!!editing?.current} placeholder="chatgpt-enterprise" onChange={(e) => setF('id', e.target.value)} />
              <span className="hint">Lower-case letters, digits and dashes; fixed once saved.</span>
              <FieldError error={formError} names={['id']} inputId="tool-id" />
            </div>
            <div className={cls('displayName')}>
              <label htmlFor="tool-name">Display name</label>
              <input id="tool-name" {...invalidProps(formError, ['displayName'], 'tool-name')} type="text" data-testid="tool-name" value={f.displayName} onChange={(e) => setF('displayName', e.target.value)} />
              <FieldError error={formError} names={['displayName']} inputId="tool-name" />
            </div>
            <div className={cls('provider')}>
              <label htmlFor="tool-provider">Provider</label>
              <input id="tool-provider" {...invalidProps(formError, ['provider'], 'tool-provider')} type="text" data-testid="tool-provider" value={f.provider} onChange={(e) => setF('provider', e.target.value)} />
              <FieldError error={formError} names={['provider']} inputId="tool-provider" />
            </div>
          </div>
          <div className="row-inline">
            <div className={cls('status')}>
              <label htmlFor="tool-status">Status</label>
              <select id="tool-status" {...invalidProps(formError, ['status'], 'tool-status')} data-testid="tool-status-input" value={f.status} onChange={(e) => setF('status', e.target.value as ToolStatus)}>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {STATUS_LABEL[s]}
                  </option>
                ))}
              </select>
              <FieldError error={formError} names={['status']} inputId="tool-status" />
            </div>
            <div className={cls('riskLevel')}>
              <label htmlFor="tool-risk">Risk level</label>
              <select id="tool-risk" {...invalidProps(formError, ['riskLevel'], 'tool-risk')} data-testid="tool-risk" value={f.riskLevel} onChange={(e) => setF('riskLevel', e.target.value as RiskLevel)}>
                {RISKS.map((r) => (
                  <option key={r} value={r}>
                    {r} (default expiry at most {RISK_MAX_DAYS[r]} days)
                  </option>
                ))}
              </select>
              <FieldError error={formError} names={['riskLevel']} inputId="tool-risk" />
            </div>
            <div className={cls('defaultExpiryDays')}>
              <label htmlFor="tool-expiry">Default expiry (days)</label>
              <input id="tool-expiry" {...invalidProps(formError, ['defaultExpiryDays'], 'tool-expiry')} type="number" min={1} max={180} data-testid="tool-expiry" value={f.defaultExpiryDays} onChange={(e) => setF('defaultExpiryDays', e.target.value)} />
              <FieldError error={formError} names={['defaultExpiryDays']} inputId="tool-expiry" />
            </div>
          </div>
          <div className={cls('guidance')}>
            <label htmlFor="tool-guidance">Guidance for requesters (shown in the portal and Approved Tools)</label>
            <textarea id="tool-guidance" {...invalidProps(formError, ['guidance'], 'tool-guidance')} rows={3} maxLength={2000} data-testid="tool-guidance" value={f.guidance} onChange={(e) => setF('guidance', e.target.value)} />
            <span className="hint">What requesters and portal customers read before they ask: what the tool is approved for and what not to put in it.</span>
            <FieldError error={formError} names={['guidance']} inputId="tool-guidance" />
          </div>
          <div className={cls('fulfilmentNotes')}>
            <label htmlFor="tool-fulfilment">Internal fulfilment notes (admins only, never shown to requesters)</label>
            <textarea id="tool-fulfilment" {...invalidProps(formError, ['fulfilmentNotes'], 'tool-fulfilment')} rows={2} maxLength={2000} data-testid="tool-fulfilment" value={f.fulfilmentNotes} onChange={(e) => setF('fulfilmentNotes', e.target.value)} />
            <span className="hint">How IT grants and removes access (seats, groups, keys). Stays in the Catalog.</span>
            <FieldError error={formError} names={['fulfilmentNotes']} inputId="tool-fulfilment" />
          </div>
          <div className={cls('entitlementGroup')}>
            <label htmlFor="tool-entitlement">Entitlement group metadata (JSON, optional)</label>
            <textarea id="tool-entitlement" {...invalidProps(formError, ['entitlementGroup', 'connectorId'], 'tool-entitlement')} rows={2} className="mono" data-testid="tool-entitlement" placeholder='{"name": "ai-chatgpt-users"}' value={f.entitlementGroup} onChange={(e) => setF('entitlementGroup', e.target.value)} />
            <span className="hint">
              {editing?.current?.connectorId
                ? `Bound to connector ${editing.current.connectorId}: binding sets this; change the binding in the table below.`
                : 'Connector binding is set per tool in the table below (it needs an enabled connector).'}
            </span>
            <FieldError error={formError} names={['entitlementGroup', 'connectorId']} inputId="tool-entitlement" />
          </div>
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="tool-save" disabled={busy !== null} onClick={() => void saveForm()}>
              {editing?.current ? 'Save tool' : 'Add tool'}
            </button>
            <button type="button" className="button" data-testid="tool-cancel" onClick={() => setEditing(null)}>
              Cancel
            </button>
            {busy === 'form' && <Spinner />}
          </div>
        </div>
      )}

      <div id="catalog-tools" />
      <div id="catalog-binding" />
      {tools.length === 0 ? (
        <Empty>The catalog is empty. Seed the supported tools or add one.</Empty>
      ) : (
        <>
        <FilterBox
          id="catalog-filter"
          label="Search the catalog"
          placeholder="Name, provider or id"
          query={filter.query}
          onChange={filter.setQuery}
          shown={filter.shown.length}
          total={tools.length}
          noun={['tool', 'tools']}
          testId="catalog-filter"
        />
        <table className="table" data-testid="catalog-table">
          <thead>
            <tr>
              <th>Tool</th>
              <th>Status</th>
              <th>Risk</th>
              <th>Default expiry</th>
              <th>Connector</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {filter.shown.map((t) => {
              const choice = bindChoice[t.id] ?? t.connectorId ?? '';
              const group = t.entitlementGroup as { name?: string; groupId?: string } | null | undefined;
              return (
                <tr key={t.id} data-testid="catalog-row" data-tool-id={t.id} data-status={t.status}>
                  <td>
                    <strong>{t.displayName}</strong>
                    <span className="hint">
                      {t.provider} · <span className="mono">{t.id}</span> · v{t.version}, {formatDateTime(t.updatedAt)}
                    </span>
                  </td>
                  <td>
                    {/* The status once: the control that changes it shows it (issue 33 item 9). */}
                    <select
                      aria-label={`Status of ${t.displayName}`}
                      data-testid="tool-status-select"
                      value={t.status}
                      disabled={busy !== null}
                      onChange={(e) => void changeStatus(t, e.target.value as ToolStatus)}
                    >
                      {STATUSES.map((s) => (
                        <option key={s} value={s}>
                          {STATUS_LABEL[s]}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td data-testid="tool-risk-cell">{t.riskLevel}</td>
                  <td>{t.defaultExpiryDays} days</td>
                  <td data-testid="tool-connector" data-connector-id={t.connectorId ?? ''}>
                    <div className="button-group">
                      <select
                        aria-label={`Connector for ${t.displayName}`}
                        data-testid="tool-bind-select"
                        value={choice}
                        disabled={busy !== null}
                        onChange={(e) => setBindChoice((b) => ({ ...b, [t.id]: e.target.value }))}
                      >
                        <option value="">No connector (manual)</option>
                        {(connectors ?? []).map((c) => (
                          <option key={c.id} value={c.id}>
                            {c.name} ({c.type}{c.enabled ? '' : ', disabled'})
                          </option>
                        ))}
                        {t.connectorId && !(connectors ?? []).some((c) => c.id === t.connectorId) && <option value={t.connectorId}>{t.connectorId}</option>}
                      </select>
                      {choice !== (t.connectorId ?? '') && (
                        <button type="button" className="button" data-testid="tool-bind" disabled={busy !== null} onClick={() => void bind(t)}>
                          {choice ? 'Bind' : 'Unbind'}
                        </button>
                      )}
                    </div>
                    {group?.name && <span className="hint">group {group.name}</span>}
                  </td>
                  <td>
                    <div className="button-group">
                      <button
                        type="button"
                        className="button"
                        data-testid="tool-edit"
                        disabled={busy !== null}
                        onClick={() => {
                          setEditing({ form: toForm(t), current: t });
                          setFormError(null);
                          setFormResult(null);
                          setTimeout(() => document.getElementById('catalog-add')?.scrollIntoView({ block: 'start' }), 0);
                        }}
                      >
                        Edit
                      </button>
                      {confirmDelete === t.id ? (
                        <>
                          <button type="button" className="button button-danger" data-testid="tool-delete-confirm" onClick={() => void remove(t)}>
                            Delete {t.displayName}
                          </button>
                          <button type="button" className="button" data-testid="tool-delete-cancel" onClick={() => setConfirmDelete(null)}>
                            Keep
                          </button>
                        </>
                      ) : (
                        <button type="button" className="button button-subtle" data-testid="tool-delete" disabled={busy !== null} onClick={() => setConfirmDelete(t.id)}>
                          Delete
                        </button>
                      )}
                      {busy?.endsWith(`:${t.id}`) && <Spinner />}
                    </div>
                    {row?.id === t.id && row.error && <ErrorMessage error={row.error} testId="tool-row-error" />}
                    {row?.id === t.id && row.text && <Result text={row.text} testId="tool-row-result" />}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        </>
      )}
      {row && row.text && !tools.some((t) => t.id === row.id) && <Result text={row.text} testId="tool-row-result" />}
    </div>
  );
}
