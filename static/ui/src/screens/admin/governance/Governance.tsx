import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, formatDateTime, Lozenge, Skeleton, Spinner } from '../../../components/ui';
import { TabList, panelId, tabId } from '../../../components/Tabs';
import { PeoplePicker, type PickedPerson } from '../../../components/PeoplePicker';
import { GroupList } from '../../../components/GroupPicker';
import type { SectionProps } from '../sections';
import { DataRules } from './DataRules';
import { fieldErrors, FieldError, FormError, HelpLink, invalidProps, numberOrText, Result, splitList, useAnchor } from '../overview/shared';
import {
  RISKS,
  type AutoPolicy,
  type CatalogTool,
  type DefinitionSummary,
  type DryRun,
  type Governance as Gov,
  type GovernanceException,
  type GovernanceVersion,
  type RiskLevel,
} from '../overview/setupTypes';

type TabId = 'rules' | 'data' | 'history' | 'exceptions' | 'policies';
const TABS: { id: TabId; title: string }[] = [
  { id: 'rules', title: 'Risk rules' },
  { id: 'data', title: 'Data' },
  { id: 'history', title: 'Version history' },
  { id: 'exceptions', title: 'Exceptions' },
  { id: 'policies', title: 'Auto-approval' },
];
const ANCHOR_TAB: Record<string, TabId> = { data: 'data', rules: 'rules', paths: 'rules', history: 'history', exceptions: 'exceptions', policies: 'policies', 'dry-run': 'policies' };

interface RulesForm {
  maxDays: Record<RiskLevel, string>;
  path: Record<RiskLevel, string>;
  toolRules: { tool: string; def: string }[];
  blockUnknownTools: boolean;
  criticalExceptionLimit: string;
  decisionDeadlineDays: string;
}

function toRules(g: Gov): RulesForm {
  return {
    maxDays: { low: String(g.low.maxDays), medium: String(g.medium.maxDays), high: String(g.high.maxDays), critical: String(g.critical.maxDays) },
    path: {
      low: g.low.approvalDefinitionId ?? '',
      medium: g.medium.approvalDefinitionId ?? '',
      high: g.high.approvalDefinitionId ?? '',
      critical: g.critical.approvalDefinitionId ?? '',
    },
    toolRules: Object.entries(g.toolRules ?? {}).map(([tool, def]) => ({ tool, def })),
    blockUnknownTools: g.blockUnknownTools,
    criticalExceptionLimit: String(g.criticalExceptionLimit),
    decisionDeadlineDays: String(g.decisionDeadlineDays ?? 30),
  };
}

function rulesPayload(f: RulesForm): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const r of RISKS) p[r] = { maxDays: numberOrText(f.maxDays[r]), approvalDefinitionId: f.path[r] || null };
  p.toolRules = Object.fromEntries(f.toolRules.filter((t) => t.tool.trim()).map((t) => [t.tool.trim(), t.def]));
  p.blockUnknownTools = f.blockUnknownTools;
  p.criticalExceptionLimit = numberOrText(f.criticalExceptionLimit);
  p.decisionDeadlineDays = numberOrText(f.decisionDeadlineDays);
  return p;
}

/** What one save changed, field by field (the history resolver does not return contents). */
function diff(a: Gov, b: Gov): string[] {
  const out: string[] = [];
  for (const r of RISKS) {
    if (a[r].maxDays !== b[r].maxDays) out.push(`${r} risk: maximum ${a[r].maxDays} → ${b[r].maxDays} days`);
    if ((a[r].approvalDefinitionId ?? null) !== (b[r].approvalDefinitionId ?? null))
      out.push(`${r} risk: approval path ${a[r].approvalDefinitionId ?? 'approvers (fallback)'} → ${b[r].approvalDefinitionId ?? 'approvers (fallback)'}`);
  }
  const tools = new Set([...Object.keys(a.toolRules ?? {}), ...Object.keys(b.toolRules ?? {})]);
  for (const t of tools) {
    const x = a.toolRules?.[t];
    const y = b.toolRules?.[t];
    if (x !== y) out.push(`tool ${t}: ${x ?? 'risk rule'} → ${y ?? 'risk rule'}`);
  }
  if (a.blockUnknownTools !== b.blockUnknownTools) out.push(`unknown tools ${b.blockUnknownTools ? 'blocked' : 'allowed'}`);
  if (a.criticalExceptionLimit !== b.criticalExceptionLimit) out.push(`critical exception limit ${a.criticalExceptionLimit} → ${b.criticalExceptionLimit}`);
  if ((a.decisionDeadlineDays ?? 30) !== (b.decisionDeadlineDays ?? 30))
    out.push(`decision deadline ${a.decisionDeadlineDays ?? 30} → ${b.decisionDeadlineDays ?? 30} days`);
  return out.length ? out : ['no setting changed (saved as is)'];
}

/** A version's changes, worded from both policies the history returns (the server's own lines
 *  when it sends no policies). */
function versionChanges(v: GovernanceVersion, local: Record<number, string[]>): string[] | undefined {
  if (v.policy && v.previous) return diff(v.previous as Gov, v.policy as Gov);
  return local[v.version] ?? v.changes;
}

const RULE_LABELS: Record<string, string> = {
  maxDays: 'Maximum durations',
  toolRules: 'Tool review rules',
  blockUnknownTools: 'Unknown tools',
  criticalExceptionLimit: 'Critical exception limit',
  decisionDeadlineDays: 'Decision deadline',
  ...Object.fromEntries(RISKS.flatMap((r) => [[`${r}.maxDays`, `${r} risk maximum`], [`${r}.approvalDefinitionId`, `${r} risk approval path`]])),
};

/** Governance (§4.5): risk rules, versions, exceptions and auto-approval policies. */
export default function Governance(props: SectionProps) {
  const [tab, setTab] = useState<TabId>(ANCHOR_TAB[props.anchor ?? ''] ?? 'rules');
  const [gov, setGov] = useState<Gov | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [versions, setVersions] = useState<GovernanceVersion[] | null>(null);
  const [defs, setDefs] = useState<DefinitionSummary[]>([]);
  const [tools, setTools] = useState<CatalogTool[]>([]);
  const [form, setForm] = useState<RulesForm | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [changes, setChanges] = useState<Record<number, string[]>>({});

  const loadHistory = useCallback(() => {
    call<{ versions: GovernanceVersion[] }>('admin.governance.history')
      .then((r) => setVersions(r.versions))
      .catch(() => setVersions((v) => v ?? []));
  }, []);
  useEffect(() => {
    // Independent calls in parallel; each part shows as soon as its answer is in.
    call<{ governance: Gov }>('admin.governance.get')
      .then((r) => {
        setGov(r.governance);
        setForm(toRules(r.governance));
      })
      .catch((e) => setLoadError(asResolverError(e)));
    loadHistory();
    call<{ definitions: DefinitionSummary[] }>('admin.definitions.list')
      .then((r) => setDefs(r.definitions))
      .catch(() => setDefs([]));
    call<{ tools: CatalogTool[] }>('admin.catalog.list')
      .then((r) => setTools(r.tools))
      .catch(() => setTools([]));
  }, [loadHistory]);
  useAnchor(props.anchor, gov !== null, 'governance');

  const save = async () => {
    if (!form || !gov) return;
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      const r = await call<{ governance: Gov }>('admin.governance.save', rulesPayload(form));
      setChanges((c) => ({ ...c, [r.governance.version]: diff(gov, r.governance) }));
      setGov(r.governance);
      setForm(toRules(r.governance));
      setSaved(`Saved as version ${r.governance.version}. New decisions record this version.`);
      loadHistory();
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setSaving(false);
    }
  };

  const bad = fieldErrors(error);

  return (
    <div className="setup governance" data-testid="governance">
      <p className="hint">
        Which approval path decides each risk level, the longest grant per level, unknown-tool handling and exceptions. Every save is a new version; decisions record the version that was active.{' '}
        <HelpLink anchor="governance" testId="governance-help" />
      </p>
      <TabList className="sub-tabs" label="Governance" idPrefix="gov-" tabs={TABS.map((t) => ({ id: t.id, label: t.title, testId: `gov-tab-${t.id}` }))} selected={tab} onSelect={setTab} />
      <div role="tabpanel" id={panelId('gov-', tab)} aria-labelledby={tabId('gov-', tab)}>

      {tab === 'rules' &&
        (loadError && !gov ? (
          <ErrorMessage error={loadError} testId="governance-load-error" />
        ) : !gov || !form ? (
          <Skeleton lines={5} />
        ) : (
          <div data-testid="gov-rules" data-version={gov.version}>
            <p className="hint" data-testid="gov-version">
              {gov.version > 0 ? `Active: version ${gov.version}, saved ${formatDateTime(gov.updatedAt)} by ${gov.updatedBy}.` : 'Active: the built-in defaults (version 0). Save to make them a version of your own.'}
            </p>
            <div id="governance-rules" />
            <table className="table risk-table" id="governance-paths">
              <thead>
                <tr>
                  <th>Risk level</th>
                  <th>Maximum duration</th>
                  <th>Approval path</th>
                </tr>
              </thead>
              <tbody>
                {RISKS.map((r) => (
                  <tr key={r} data-testid="gov-risk-row" data-risk={r}>
                    <td>
                      <strong>{r}</strong>
                    </td>
                    <td className={`${r}.maxDays` in bad ? 'has-error' : ''}>
                      <input
                        type="number"
                        min={1}
                        max={180}
                        aria-label={`Maximum days for ${r} risk`}
                        data-testid={`gov-${r}-max`}
                        value={form.maxDays[r]}
                        onChange={(e) => setForm({ ...form, maxDays: { ...form.maxDays, [r]: e.target.value } })}
                      />{' '}
                      days
                      <FieldError error={error} names={[`${r}.maxDays`]} />
                    </td>
                    <td>
                      <select aria-label={`Approval path for ${r} risk`} data-testid={`gov-${r}-path`} value={form.path[r]} onChange={(e) => setForm({ ...form, path: { ...form.path, [r]: e.target.value } })}>
                        <option value="">Approvers from Intake & Approvals (admin fallback)</option>
                        {defs.map((d) => (
                          <option key={d.id} value={d.id}>
                            {d.name} ({d.steps} steps)
                          </option>
                        ))}
                        {form.path[r] && !defs.some((d) => d.id === form.path[r]) && <option value={form.path[r]}>{form.path[r]}</option>}
                      </select>
                      <FieldError error={error} names={[`${r}.approvalDefinitionId`]} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <FieldError error={error} names={['maxDays']} />
            {defs.length === 0 && (
              <p className="hint" data-testid="gov-no-paths">
                No approval paths are saved yet, so every risk level is decided by the approvers of{' '}
                <button type="button" className="link-button" data-testid="gov-open-intake" onClick={() => props.go('intake', 'approvers')}>
                  Intake & Approvals
                </button>
                {' '}(or Jira admins). Build paths under{' '}
                <button type="button" className="link-button" data-testid="gov-open-paths" onClick={() => props.go('paths')}>
                  Approval paths & messages
                </button>
                .
              </p>
            )}

            <h3 className="sub-title">Security and Jira-admin review rules</h3>
            <p className="hint">A tool listed here is always decided by its own path, whatever its risk level.</p>
            {form.toolRules.length === 0 && <Empty>No tool has its own review rule.</Empty>}
            {form.toolRules.map((t, i) => (
              <div key={i} className="button-group" data-testid="gov-tool-rule">
                <select
                  aria-label="Tool"
                  data-testid="gov-tool-rule-tool"
                  value={t.tool}
                  onChange={(e) => setForm({ ...form, toolRules: form.toolRules.map((x, j) => (j === i ? { ...x, tool: e.target.value } : x)) })}
                >
                  <option value="">Choose a tool…</option>
                  {tools.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.displayName}
                    </option>
                  ))}
                  {t.tool && !tools.some((x) => x.id === t.tool) && <option value={t.tool}>{t.tool}</option>}
                </select>
                <span>decided by</span>
                <select
                  aria-label="Approval path"
                  data-testid="gov-tool-rule-def"
                  value={t.def}
                  onChange={(e) => setForm({ ...form, toolRules: form.toolRules.map((x, j) => (j === i ? { ...x, def: e.target.value } : x)) })}
                >
                  <option value="">Choose a path…</option>
                  {defs.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                    </option>
                  ))}
                  {t.def && !defs.some((d) => d.id === t.def) && <option value={t.def}>{t.def}</option>}
                </select>
                <button type="button" className="button button-subtle" data-testid="gov-tool-rule-remove" onClick={() => setForm({ ...form, toolRules: form.toolRules.filter((_, j) => j !== i) })}>
                  Remove
                </button>
                <FieldError error={error} names={[`toolRules.${t.tool}`]} />
              </div>
            ))}
            <div className="button-group">
              <button type="button" className="button" data-testid="gov-tool-rule-add" disabled={defs.length === 0} onClick={() => setForm({ ...form, toolRules: [...form.toolRules, { tool: '', def: '' }] })}>
                Add a tool review rule
              </button>
              {defs.length === 0 && <span className="hint">Needs a saved approval path.</span>}
            </div>
            <FieldError error={error} names={['toolRules']} />

            <h3 className="sub-title">Unknown tools and exceptions</h3>
            <label className="check">
              <input type="checkbox" data-testid="gov-block-unknown" checked={form.blockUnknownTools} onChange={(e) => setForm({ ...form, blockUnknownTools: e.target.checked })} />
              Block “Request new tool” requests (tools not in the catalog) at intake and approval
            </label>
            <FieldError error={error} names={['blockUnknownTools']} />
            <div className={`field${'criticalExceptionLimit' in bad ? ' has-error' : ''}`}>
              <label htmlFor="gov-limit">Active critical-risk exceptions allowed</label>
              <input id="gov-limit" type="number" min={0} max={100} data-testid="gov-exception-limit" value={form.criticalExceptionLimit} onChange={(e) => setForm({ ...form, criticalExceptionLimit: e.target.value })} />
              <FieldError error={error} names={['criticalExceptionLimit']} />
            </div>
            <div className={`field${'decisionDeadlineDays' in bad ? ' has-error' : ''}`}>
              <label htmlFor="gov-deadline">Days a request decided by approvers may wait</label>
              <input id="gov-deadline" type="number" min={1} max={365} aria-describedby="gov-deadline-help" data-testid="gov-deadline" value={form.decisionDeadlineDays} onChange={(e) => setForm({ ...form, decisionDeadlineDays: e.target.value })} />
              <p id="gov-deadline-help" className="hint">After this many days undecided, the request expires and the requester is told on the issue. Requests an approval path decides follow the path's own timeout.</p>
              <FieldError error={error} names={['decisionDeadlineDays']} />
            </div>

            <div className="button-group">
              <button type="button" className="button button-primary" data-testid="gov-save" disabled={saving} onClick={() => void save()}>
                Save governance
              </button>
              {saving && <Spinner />}
            </div>
            <FormError error={error} testId="gov-save-error" labels={RULE_LABELS} />
            <Result text={saved} testId="gov-saved" />
          </div>
        ))}

      {tab === 'history' && (
        <div id="governance-history" data-testid="gov-history">
          {versions === null ? (
            <Skeleton lines={3} />
          ) : versions.length === 0 ? (
            <Empty>No saved versions: the built-in defaults (version 0) apply.</Empty>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Saved</th>
                  <th>By</th>
                  <th>What changed</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version} data-testid="gov-history-row" data-version={v.version}>
                    <td>
                      {v.version} {gov?.version === v.version && <Lozenge appearance="success">active</Lozenge>}
                    </td>
                    <td>{formatDateTime(v.updatedAt)}</td>
                    <td className="mono">{v.updatedBy}</td>
                    <td data-testid="gov-history-changes">
                      {versionChanges(v, changes) ? (
                        <ul className="diff">
                          {versionChanges(v, changes)!.map((c) => (
                            <li key={c}>{c}</li>
                          ))}
                        </ul>
                      ) : (
                        <span className="muted">Saved earlier; the history does not record the changes.</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}

      {tab === 'exceptions' && <Exceptions tools={tools} />}
      {tab === 'policies' && <Policies tools={tools} anchor={props.anchor} />}
      {tab === 'data' && <DataRules tools={tools} onToolSaved={(t) => setTools((all) => all.map((x) => (x.id === t.id ? t : x)))} />}
      </div>
    </div>
  );
}

// ---- exceptions --------------------------------------------------------------------------------

function Exceptions(props: { tools: CatalogTool[] }) {
  const [rows, setRows] = useState<GovernanceException[] | null>(null);
  const [people, setPeople] = useState<Record<string, string>>({});
  const [person, setPerson] = useState<PickedPerson | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [form, setForm] = useState({ toolId: '', accountId: '', maxDays: '30', validDays: '30', reason: '' });
  const [error, setError] = useState<ResolverError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [row, setRow] = useState<{ id: string; error?: ResolverError; text?: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const r = await call<{ exceptions: GovernanceException[]; people?: Record<string, string> }>('admin.governance.exceptions.list');
      setRows(r.exceptions);
      setPeople(r.people ?? {});
    } catch (e) {
      setLoadError(asResolverError(e));
      setRows((r) => r ?? []);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const create = async () => {
    setBusy('create');
    setError(null);
    setNote(null);
    try {
      const r = await call<{ exception: GovernanceException }>('admin.governance.exceptions.create', {
        toolId: form.toolId,
        accountId: person?.accountId ?? '',
        maxDays: numberOrText(form.maxDays),
        validDays: numberOrText(form.validDays),
        reason: form.reason,
      });
      setNote(`Exception for ${person?.displayName ?? 'the person'} created; it applies until ${formatDateTime(r.exception.expiresAt)} and waits for review by another admin.`);
      setForm({ ...form, reason: '' });
      setPerson(null);
      await load();
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };
  const change = async (e: GovernanceException, action: 'review' | 'revoke') => {
    setBusy(`${action}:${e.id}`);
    setRow(null);
    try {
      await call(`admin.governance.exceptions.${action}`, { id: e.id });
      setRow({ id: e.id, text: action === 'review' ? 'Marked reviewed.' : 'Revoked: it no longer applies.' });
      await load();
    } catch (x) {
      setRow({ id: e.id, error: asResolverError(x) });
    } finally {
      setBusy(null);
    }
  };
  const name = (id: string) => people[id] ?? 'Unknown person';
  const bad = fieldErrors(error);
  const cls = (k: string) => `field${k in bad ? ' has-error' : ''}`;
  const accountInvalid = invalidProps(error, ['accountId'], 'exc-account');
  return (
    <div id="governance-exceptions" data-testid="gov-exceptions">
      <p className="hint">An exception lets one person get a longer grant of one tool than its risk level allows, for a limited time; a different admin reviews it.</p>
      <ErrorMessage error={loadError} testId="exceptions-load-error" />
      {rows === null ? (
        <Skeleton lines={2} />
      ) : rows.length === 0 ? (
        <Empty>No exceptions.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Tool and person</th>
              <th>Allows</th>
              <th>State</th>
              <th>Reason</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} data-testid="exception-row" data-exception-id={e.id} data-active={String(e.active)} data-review={e.reviewStatus}>
                <td>
                  <strong>{props.tools.find((t) => t.id === e.toolId)?.displayName ?? e.toolId}</strong> <span className="hint">{e.riskLevel} risk</span>
                  <div data-testid="exception-person" title={e.accountId}>
                    {name(e.accountId)}
                  </div>
                </td>
                <td>{e.maxDays} days</td>
                <td>
                  <Lozenge appearance={e.active ? 'success' : 'default'}>{e.revokedAt ? 'revoked' : e.active ? 'active' : 'expired'}</Lozenge>{' '}
                  <Lozenge appearance={e.reviewStatus === 'reviewed' ? 'success' : 'moved'}>{e.reviewStatus === 'reviewed' ? 'reviewed' : 'review pending'}</Lozenge>
                  <span className="hint">
                    until {formatDateTime(e.expiresAt)}; by {name(e.createdBy)}
                    {e.reviewedBy ? `, reviewed by ${name(e.reviewedBy)}` : ''}
                  </span>
                </td>
                <td>{e.reason}</td>
                <td>
                  <div className="button-group">
                    {e.reviewStatus !== 'reviewed' && (
                      <button type="button" className="button" data-testid="exception-review" disabled={busy !== null} onClick={() => void change(e, 'review')}>
                        Mark reviewed
                      </button>
                    )}
                    {!e.revokedAt && (
                      <button type="button" className="button button-danger" data-testid="exception-revoke" disabled={busy !== null} onClick={() => void change(e, 'revoke')}>
                        Revoke
                      </button>
                    )}
                    {busy?.endsWith(`:${e.id}`) && <Spinner />}
                  </div>
                  {row?.id === e.id && row.error && <ErrorMessage error={row.error} testId="exception-error" />}
                  {row?.id === e.id && row.text && <Result text={row.text} testId="exception-result" />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="form-card" data-testid="exception-form">
        <h3 className="sub-title">New exception</h3>
        <div className="row-inline">
          <div className={cls('toolId')}>
            <label htmlFor="exc-tool">Tool</label>
            <select id="exc-tool" data-testid="exception-tool" value={form.toolId} onChange={(e) => setForm({ ...form, toolId: e.target.value })}>
              <option value="">Choose a tool…</option>
              {props.tools.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.displayName} ({t.riskLevel})
                </option>
              ))}
            </select>
            <FieldError error={error} names={['toolId']} />
          </div>
          <div className={cls('accountId')}>
            <label htmlFor="exc-account">Person</label>
            <PeoplePicker id="exc-account" testId="exception-person-picker" value={person} onChange={setPerson} invalid={!!accountInvalid['aria-invalid']} describedBy={accountInvalid['aria-describedby']} />
            <FieldError error={error} names={['accountId']} inputId="exc-account" />
          </div>
          <div className={cls('maxDays')}>
            <label htmlFor="exc-max">Longest grant (days)</label>
            <input id="exc-max" type="number" min={1} max={180} data-testid="exception-max-days" value={form.maxDays} onChange={(e) => setForm({ ...form, maxDays: e.target.value })} />
            <FieldError error={error} names={['maxDays']} />
          </div>
          <div className={cls('validDays')}>
            <label htmlFor="exc-valid">Applies for (days)</label>
            <input id="exc-valid" type="number" min={1} max={90} data-testid="exception-valid-days" value={form.validDays} onChange={(e) => setForm({ ...form, validDays: e.target.value })} />
            <FieldError error={error} names={['validDays']} />
          </div>
        </div>
        <div className={cls('reason')}>
          <label htmlFor="exc-reason">Reason</label>
          <textarea id="exc-reason" rows={2} maxLength={1000} data-testid="exception-reason" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })} />
          <FieldError error={error} names={['reason']} />
        </div>
        <div className="button-group">
          <button type="button" className="button button-primary" data-testid="exception-create" disabled={busy !== null} onClick={() => void create()}>
            Create exception
          </button>
          {busy === 'create' && <Spinner />}
        </div>
        <FormError error={error} testId="exception-create-error" />
        <Result text={note} testId="exception-created" />
      </div>
    </div>
  );
}

// ---- auto-approval policies ------------------------------------------------------------------

interface PolicyForm {
  id: string;
  name: string;
  projectKey: string;
  toolId: string;
  autoApprove: boolean;
  allowedGroups: string;
  maxDays: string;
  /** Comma-separated data classes; empty: the policy does not look at data (issue 35). */
  dataClasses: string;
}
const NEW_POLICY: PolicyForm = { id: '', name: '', projectKey: '', toolId: '', autoApprove: true, allowedGroups: '', maxDays: '', dataClasses: '' };

function Policies(props: { tools: CatalogTool[]; anchor?: string }) {
  const [rows, setRows] = useState<AutoPolicy[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [row, setRow] = useState<{ id: string; error?: ResolverError } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dry, setDry] = useState({ mode: 'facts' as 'facts' | 'issue', issueKey: '', projectKey: '', toolId: '', accountId: '', durationDays: '30', dataClasses: '' });
  const [dryResult, setDryResult] = useState<DryRun | null>(null);
  // The dry run's requester is a person picked by name (issue 33: no account ids to type).
  const [dryPerson, setDryPerson] = useState<PickedPerson | null>(null);
  const [dryError, setDryError] = useState<ResolverError | null>(null);

  const load = useCallback(async () => {
    try {
      setRows((await call<{ policies: AutoPolicy[] }>('admin.policies.list')).policies);
    } catch (e) {
      setLoadError(asResolverError(e));
      setRows((r) => r ?? []);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (props.anchor === 'dry-run' && rows !== null) document.getElementById('governance-dry-run')?.scrollIntoView({ block: 'start' });
  }, [props.anchor, rows]);

  const save = async () => {
    if (!form) return;
    setBusy('save');
    setError(null);
    setNote(null);
    try {
      const r = await call<{ policy: AutoPolicy }>('admin.policies.save', {
        id: form.id.trim(),
        name: form.name,
        projectKey: form.projectKey.trim(),
        toolId: form.toolId || null,
        autoApprove: form.autoApprove,
        allowedGroups: splitList(form.allowedGroups),
        maxDays: form.maxDays.trim() ? numberOrText(form.maxDays) : null,
        allowedDataClasses: splitList(form.dataClasses).length ? splitList(form.dataClasses) : null,
      });
      setNote(`Policy ${r.policy.name} saved (version ${r.policy.version}).`);
      setForm(null);
      await load();
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };
  const remove = async (p: AutoPolicy) => {
    setBusy(`delete:${p.id}`);
    setRow(null);
    setNote(null);
    try {
      await call('admin.policies.delete', { id: p.id });
      setNote(`Policy ${p.name} deleted.`);
      await load();
    } catch (e) {
      setRow({ id: p.id, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };
  const runDry = async () => {
    setBusy('dry');
    setDryError(null);
    setDryResult(null);
    try {
      const payload =
        dry.mode === 'issue'
          ? { issueKey: dry.issueKey.trim() }
          : { projectKey: dry.projectKey.trim(), toolId: dry.toolId || null, accountId: dry.accountId.trim(), durationDays: numberOrText(dry.durationDays), dataClasses: splitList(dry.dataClasses) };
      setDryResult(await call<DryRun>('admin.policies.dryRun', payload));
    } catch (e) {
      setDryError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };

  const bad = fieldErrors(error);
  const cls = (k: string) => `field${k in bad ? ' has-error' : ''}`;
  const toolName = (id: string | null) => (id ? (props.tools.find((t) => t.id === id)?.displayName ?? id) : 'every tool');

  return (
    <div id="governance-policies" data-testid="gov-policies">
      <p className="hint">
        A policy approves a request automatically when it is for its project and tool, auto-approve is on, the requester is in one of its groups, the duration is within its maximum and, when it names data classes, the request declares only those. Tool policies are tried
        before all-tools ones. <HelpLink anchor="autoApproval" testId="policies-help" />
      </p>
      <ErrorMessage error={loadError} testId="policies-load-error" />
      <div className="toolbar">
        <button
          type="button"
          className="button"
          data-testid="policy-new"
          onClick={() => {
            setForm(NEW_POLICY);
            setEditing(false);
            setError(null);
          }}
        >
          New policy
        </button>
      </div>
      <Result text={note} testId="policy-saved" />
      {rows === null ? (
        <Skeleton lines={2} />
      ) : rows.length === 0 ? (
        <Empty>No auto-approval policies: every request waits for an approver.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Policy</th>
              <th>Scope</th>
              <th>Groups</th>
              <th>Max</th>
              <th>Data</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.id} data-testid="policy-row" data-policy-id={p.id}>
                <td>
                  <strong>{p.name}</strong> <span className="hint mono">{p.id} · v{p.version}</span>
                  {!p.autoApprove && <Lozenge>auto-approve off</Lozenge>}
                </td>
                <td>
                  {p.projectKey} · {toolName(p.toolId)}
                </td>
                <td>{p.allowedGroups.join(', ')}</td>
                <td>{p.maxDays ? `${p.maxDays} days` : 'none'}</td>
                <td data-testid="policy-data-classes">{p.allowedDataClasses?.length ? `only ${p.allowedDataClasses.join(', ')}` : 'any'}</td>
                <td>
                  <div className="button-group">
                    <button
                      type="button"
                      className="button"
                      data-testid="policy-edit"
                      onClick={() => {
                        setForm({ id: p.id, name: p.name, projectKey: p.projectKey, toolId: p.toolId ?? '', autoApprove: p.autoApprove, allowedGroups: p.allowedGroups.join(', '), maxDays: p.maxDays ? String(p.maxDays) : '', dataClasses: (p.allowedDataClasses ?? []).join(', ') });
                        setEditing(true);
                        setError(null);
                      }}
                    >
                      Edit
                    </button>
                    <button type="button" className="button button-subtle" data-testid="policy-delete" disabled={busy !== null} onClick={() => void remove(p)}>
                      Delete
                    </button>
                  </div>
                  {row?.id === p.id && row.error && <ErrorMessage error={row.error} testId="policy-error" />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {form && (
        <div className="form-card" data-testid="policy-form">
          <h3 className="sub-title">{editing ? `Edit ${form.name}` : 'New auto-approval policy'}</h3>
          <div className="row-inline">
            <div className={cls('id')}>
              <label htmlFor="pol-id">Policy id</label>
              <input id="pol-id" type="text" data-testid="policy-id" value={form.id} disabled={editing} placeholder="air-low-risk" onChange={(e) => setForm({ ...form, id: e.target.value })} />
              <FieldError error={error} names={['id']} />
            </div>
            <div className={cls('name')}>
              <label htmlFor="pol-name">Name</label>
              <input id="pol-name" type="text" data-testid="policy-name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              <FieldError error={error} names={['name']} />
            </div>
            <div className={cls('projectKey')}>
              <label htmlFor="pol-project">Project key</label>
              <input id="pol-project" type="text" data-testid="policy-project" placeholder="AIR" value={form.projectKey} onChange={(e) => setForm({ ...form, projectKey: e.target.value })} />
              <FieldError error={error} names={['projectKey']} />
            </div>
          </div>
          <div className="row-inline">
            <div className={cls('toolId')}>
              <label htmlFor="pol-tool">Tool</label>
              <select id="pol-tool" data-testid="policy-tool" value={form.toolId} onChange={(e) => setForm({ ...form, toolId: e.target.value })}>
                <option value="">Every catalog tool</option>
                {props.tools.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.displayName}
                  </option>
                ))}
              </select>
              <FieldError error={error} names={['toolId']} />
            </div>
            <div className={cls('allowedGroups')}>
              <label htmlFor="pol-groups">Allowed Jira groups</label>
              <GroupList id="pol-groups" testId="policy-groups" groups={splitList(form.allowedGroups)} invalid={'allowedGroups' in fieldErrors(error)} onChange={(gs) => setForm({ ...form, allowedGroups: gs.join(', ') })} />
              <FieldError error={error} names={['allowedGroups']} />
            </div>
            <div className={cls('maxDays')}>
              <label htmlFor="pol-max">Longest duration (days, optional)</label>
              <input id="pol-max" type="number" min={1} max={180} data-testid="policy-max-days" value={form.maxDays} onChange={(e) => setForm({ ...form, maxDays: e.target.value })} />
              <FieldError error={error} names={['maxDays']} />
            </div>
            <div className={cls('allowedDataClasses')}>
              <label htmlFor="pol-classes">Data classes allowed (optional)</label>
              <input id="pol-classes" type="text" data-testid="policy-data-classes-input" placeholder="public, internal" aria-describedby="pol-classes-hint" value={form.dataClasses} onChange={(e) => setForm({ ...form, dataClasses: e.target.value })} />
              <div className="hint" id="pol-classes-hint">
                When set, only requests that declare their data, all within these classes, are approved by this policy.
              </div>
              <FieldError error={error} names={['allowedDataClasses']} />
            </div>
          </div>
          <label className="check">
            <input type="checkbox" data-testid="policy-auto-approve" checked={form.autoApprove} onChange={(e) => setForm({ ...form, autoApprove: e.target.checked })} />
            Auto-approve matching requests
          </label>
          <FieldError error={error} names={['autoApprove']} />
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="policy-save" disabled={busy !== null} onClick={() => void save()}>
              Save policy
            </button>
            <button type="button" className="button" data-testid="policy-cancel" onClick={() => setForm(null)}>
              Cancel
            </button>
            {busy === 'save' && <Spinner />}
          </div>
          <FormError error={error} testId="policy-save-error" />
        </div>
      )}

      <div className="form-card" id="governance-dry-run" data-testid="dryrun">
        <h3 className="sub-title">Would this auto-approve?</h3>
        <p className="hint">A dry run: nothing is decided or changed.</p>
        <div className="button-group">
          <label className="check">
            <input type="radio" name="dry-mode" data-testid="dryrun-mode-facts" checked={dry.mode === 'facts'} onChange={() => setDry({ ...dry, mode: 'facts' })} />
            A request I describe
          </label>
          <label className="check">
            <input type="radio" name="dry-mode" data-testid="dryrun-mode-issue" checked={dry.mode === 'issue'} onChange={() => setDry({ ...dry, mode: 'issue' })} />
            An existing request
          </label>
        </div>
        {dry.mode === 'issue' ? (
          <div className="field">
            <label htmlFor="dry-issue">Issue key</label>
            <input id="dry-issue" type="text" data-testid="dryrun-issue" placeholder="AIR-12" value={dry.issueKey} onChange={(e) => setDry({ ...dry, issueKey: e.target.value })} />
          </div>
        ) : (
          <div className="row-inline">
            <div className="field">
              <label htmlFor="dry-project">Project key</label>
              <input id="dry-project" type="text" data-testid="dryrun-project" placeholder="AIR" value={dry.projectKey} onChange={(e) => setDry({ ...dry, projectKey: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor="dry-tool">Tool</label>
              <select id="dry-tool" data-testid="dryrun-tool" value={dry.toolId} onChange={(e) => setDry({ ...dry, toolId: e.target.value })}>
                <option value="">A tool not in the catalog</option>
                {props.tools.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.displayName}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="dry-account">Requester</label>
              <PeoplePicker
                id="dry-account"
                testId="dryrun-person-picker"
                value={dryPerson}
                onChange={(p) => {
                  setDryPerson(p);
                  setDry({ ...dry, accountId: p?.accountId ?? '' });
                }}
              />
            </div>
            <div className="field">
              <label htmlFor="dry-days">Duration (days)</label>
              <input id="dry-days" type="number" min={1} max={180} data-testid="dryrun-days" value={dry.durationDays} onChange={(e) => setDry({ ...dry, durationDays: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor="dry-classes">Data classes declared</label>
              <input id="dry-classes" type="text" data-testid="dryrun-classes" placeholder="internal, source-code" value={dry.dataClasses} onChange={(e) => setDry({ ...dry, dataClasses: e.target.value })} />
            </div>
          </div>
        )}
        <div className="button-group">
          <button type="button" className="button" data-testid="dryrun-run" disabled={busy !== null} onClick={() => void runDry()}>
            Check
          </button>
          {busy === 'dry' && <Spinner />}
        </div>
        <ErrorMessage error={dryError} testId="dryrun-error" />
        {dryResult && (
          <div className="guidance" data-testid="dryrun-result" data-would={String(dryResult.wouldAutoApprove)}>
            <strong>{dryResult.wouldAutoApprove ? 'Yes: this request would be auto-approved' : 'No: this request would wait for an approver'}</strong>
            {dryResult.deciding && (
              <div>
                Deciding policy: <span className="mono">{dryResult.deciding.policyId}</span> version {dryResult.deciding.policyVersion}
                {dryResult.deciding.matchedGroup ? ` (requester is in ${dryResult.deciding.matchedGroup})` : ''}
              </div>
            )}
            {dryResult.whyNot && <div data-testid="dryrun-why-not">Why not: {dryResult.whyNot}.</div>}
            {dryResult.checks.length > 0 && (
              <ul className="diff">
                {dryResult.checks.map((c) => (
                  <li key={c.policyId} data-testid="dryrun-check" data-passed={String(c.passed)}>
                    {c.policyId} v{c.policyVersion} ({c.scope === 'tool' ? 'tool policy' : 'all tools'}): {c.passed ? 'passes' : `fails on ${c.failedCondition} — ${c.detail}`}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
