import { useEffect, useState, type ReactNode } from 'react';
import { PeopleList } from '../../../components/PeopleList';
import { DelegatesList, delegatesToSave } from '../../../components/DelegatesList';
import { GroupList } from '../../../components/GroupPicker';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, formatDateTime, Skeleton, Spinner } from '../../../components/ui';
import type { SectionProps } from '../sections';
import { fieldErrors, FieldError, FormError, HelpLink, numberOrText, Result, splitList, useAnchor } from '../overview/shared';
import type { IntakeConfig } from '../overview/setupTypes';

interface Form {
  projectKey: string;
  portalId: string;
  requestTypeIds: string;
  requestTypeFieldId: string;
  approverAccountIds: string;
  approverGroups: string;
  delegates: Record<string, string[]>;
  adminFallback: boolean;
  escalationAfterHours: string;
  escalationTargets: string;
  reviewBeforeExpiryDays: string;
  reviewIssueTypeId: string;
}

const EMPTY: Form = {
  projectKey: '',
  portalId: '',
  requestTypeIds: '',
  requestTypeFieldId: 'customfield_10010',
  approverAccountIds: '',
  approverGroups: '',
  delegates: {},
  adminFallback: true,
  escalationAfterHours: '48',
  escalationTargets: '',
  reviewBeforeExpiryDays: '0',
  reviewIssueTypeId: '',
};

function toForm(c: IntakeConfig): Form {
  const a = c.approvals;
  return {
    projectKey: c.projectKey,
    portalId: String(c.portalId),
    requestTypeIds: c.requestTypeIds.join(', '),
    requestTypeFieldId: c.requestTypeFieldId,
    approverAccountIds: a.approverAccountIds.join('\n'),
    approverGroups: a.approverGroups.join('\n'),
    delegates: { ...(a.delegates ?? {}) },
    adminFallback: a.adminFallback,
    escalationAfterHours: String(a.escalationAfterHours),
    escalationTargets: a.escalationTargets.join('\n'),
    reviewBeforeExpiryDays: String(a.reviewBeforeExpiryDays),
    reviewIssueTypeId: a.reviewIssueTypeId == null ? '' : String(a.reviewIssueTypeId),
  };
}

function toPayload(f: Form): Record<string, unknown> {
  const review = f.reviewIssueTypeId.trim();
  return {
    projectKey: f.projectKey.trim(),
    portalId: numberOrText(f.portalId),
    requestTypeIds: splitList(f.requestTypeIds).map(numberOrText),
    requestTypeFieldId: f.requestTypeFieldId.trim() || 'customfield_10010',
    approvals: {
      approverAccountIds: splitList(f.approverAccountIds),
      approverGroups: splitList(f.approverGroups),
      delegates: delegatesToSave(f.delegates),
      adminFallback: f.adminFallback,
      escalationAfterHours: numberOrText(f.escalationAfterHours),
      escalationTargets: splitList(f.escalationTargets),
      reviewBeforeExpiryDays: numberOrText(f.reviewBeforeExpiryDays || '0'),
      reviewIssueTypeId: review ? numberOrText(review) : null,
    },
  };
}

const LABELS: Record<string, string> = {
  projectKey: 'Intake project',
  portalId: 'Portal',
  requestTypeIds: 'Allowed request types',
  requestTypeFieldId: 'Request type field',
  approvals: 'Approvals',
  'approvals.approverAccountIds': 'Approvers',
  'approvals.approverGroups': 'Approver groups',
  'approvals.delegates': 'Delegates',
  'approvals.escalationAfterHours': 'Escalate after',
  'approvals.escalationTargets': 'Escalation targets',
  'approvals.reviewBeforeExpiryDays': 'Review before expiry',
  'approvals.reviewIssueTypeId': 'Review issue type',
};

/** `admin.intake.options`: what the pickers offer. */
interface IntakeOptions {
  portals: { serviceDeskId: string; portalId: number | null; projectKey: string; projectName: string; requestTypes: { id: string; name: string; issueTypeId: string }[] }[];
  groups: { name: string; groupId: string }[];
}
/** Intake & Approvals (§4.2): where requests come from and who decides them. */
export default function Intake(props: SectionProps) {
  const [config, setConfig] = useState<IntakeConfig | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [form, setForm] = useState<Form>(EMPTY);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [options, setOptions] = useState<IntakeOptions | null>(null);
  const [optionsError, setOptionsError] = useState<ResolverError | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});

  useEffect(() => {
    // The pickers' choices (JSM portals with their request types, groups) in the same round.
    call<IntakeOptions>('admin.intake.options')
      .then(setOptions)
      .catch((e) => setOptionsError(asResolverError(e)));
    call<{ config: IntakeConfig | null; people?: Record<string, string> }>('admin.intake.get')
      .then((r) => {
        setNames((n) => ({ ...n, ...(r.people ?? {}) }));
        setConfig(r.config);
        if (r.config) setForm(toForm(r.config));
      })
      .catch((e) => {
        setLoadError(asResolverError(e));
        setConfig(null);
      });
  }, []);
  useAnchor(props.anchor, config !== undefined, 'intake');

  if (config === undefined) return <Skeleton lines={5} />;

  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));
  const bad = fieldErrors(error);
  const has = (...names: string[]) => names.some((n) => n in bad);

  const save = async () => {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      const r = await call<{ config: IntakeConfig }>('admin.intake.set', toPayload(form));
      setConfig(r.config);
      setForm(toForm(r.config));
      setSaved(`Saved: version ${r.config.version}. The portal panel now appears on portal ${r.config.portalId}${r.config.requestTypeIds.length ? ` for request types ${r.config.requestTypeIds.join(', ')}` : ' for every request type'}.`);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setSaving(false);
    }
  };

  const text = (k: keyof Form, testId: string, label: ReactNode, opts: { hint?: ReactNode; placeholder?: string; errors?: string[]; area?: boolean; id?: string } = {}) => {
    const names = opts.errors ?? [k];
    const id = `intake-input-${k}`;
    return (
      <div className={`field${has(...names) ? ' has-error' : ''}`} id={opts.id}>
        <label htmlFor={id}>{label}</label>
        {opts.area ? (
          <textarea id={id} rows={3} data-testid={testId} placeholder={opts.placeholder} value={form[k] as string} onChange={(e) => set(k, e.target.value as never)} />
        ) : (
          <input id={id} type="text" data-testid={testId} placeholder={opts.placeholder} value={form[k] as string} onChange={(e) => set(k, e.target.value as never)} />
        )}
        {opts.hint && <span className="hint">{opts.hint}</span>}
        <FieldError error={error} names={names} />
      </div>
    );
  };

  const typeIds = splitList(form.requestTypeIds);
  const portal = options?.portals.find((x) => String(x.portalId) === form.portalId.trim());
  const typeName = (id: string) => portal?.requestTypes.find((t) => t.id === id)?.name;
  const toggleType = (id: string) => {
    const next = typeIds.includes(id) ? typeIds.filter((t) => t !== id) : [...typeIds, id];
    set('requestTypeIds', next.join(', '));
  };
  return (
    <div className="setup intake" data-testid="intake">
      <p className="hint">
        Which JSM project and portal feed AI Clearance, and who decides requests that no approval path decides.{' '}
        <HelpLink anchor="intake" testId="intake-help" />
      </p>
      {loadError && <ErrorMessage error={loadError} testId="intake-load-error" />}
      <p className="hint" data-testid="intake-status" data-configured={String(!!config)}>
        {config
          ? `Configured: version ${config.version}, saved ${formatDateTime(config.updatedAt)} by ${names[config.updatedBy] ?? 'a Jira admin'}.`
          : 'Not configured yet: the portal panel stays hidden until this is saved.'}
      </p>

      <fieldset id="intake-project">
        <legend>Intake project</legend>
        {options && options.portals.length > 0 && (
          <div className="field">
            <label htmlFor="intake-pick-portal">Pick a JSM project and portal</label>
            <select
              id="intake-pick-portal"
              data-testid="intake-pick-portal"
              value={portal ? String(portal.portalId) : ''}
              onChange={(e) => {
                const pick = options.portals.find((x) => String(x.portalId) === e.target.value);
                if (!pick) return;
                setForm((f) => ({ ...f, projectKey: pick.projectKey, portalId: String(pick.portalId), requestTypeIds: '' }));
              }}
            >
              <option value="">Choose…</option>
              {options.portals.map((x) => (
                <option key={x.serviceDeskId} value={String(x.portalId)}>
                  {x.projectName} ({x.projectKey}) — portal {x.portalId}
                </option>
              ))}
            </select>
          </div>
        )}
        <ErrorMessage error={optionsError} testId="intake-options-error" />
        {text('projectKey', 'intake-project', 'Project key', { placeholder: 'AIR', hint: 'The key of the JSM project, such as AIR (upper-case letters, digits or _).' })}
      </fieldset>

      <fieldset id="intake-portal">
        <legend>Portal entry point</legend>
        {text('portalId', 'intake-portal', 'Portal id', { placeholder: '1', hint: 'The numeric id of the JSM portal (in its URL: /servicedesk/customer/portal/<id>).' })}
        <div id="intake-request-types">
          {text('requestTypeIds', 'intake-request-types', 'Allowed request types', {
            placeholder: '12, 13',
            hint: 'Numeric request type ids, separated by commas. Empty: every request type of the portal.',
          })}
          {portal && (
            <div className="field" data-testid="intake-request-type-options">
              <span className="hint">Request types of portal {portal.portalId} (name and numeric id):</span>
              {portal.requestTypes.map((t) => (
                <label key={t.id} className="check">
                  <input type="checkbox" data-testid="intake-request-type-option" data-id={t.id} checked={typeIds.includes(t.id)} onChange={() => toggleType(t.id)} />
                  {t.name} <span className="id-chip">{t.id}</span>
                </label>
              ))}
            </div>
          )}
          <div className="hint" data-testid="intake-request-type-ids">
            {typeIds.length === 0 ? (
              'Every request type of the portal shows the panel.'
            ) : (
              <>
                Request type ids:{' '}
                {typeIds.map((t) => (
                  <span key={t} className="id-chip" data-testid="intake-request-type-id" data-id={t} title={typeName(t)}>
                    {typeName(t) ? `${typeName(t)} (${t})` : t}
                  </span>
                ))}
              </>
            )}
          </div>
        </div>
        {text('requestTypeFieldId', 'intake-request-type-field', 'Request type field', { hint: "Jira's JSM Request Type field id on this site (usually customfield_10010)." })}
      </fieldset>

      <fieldset id="intake-approvers">
        <legend>Approvers</legend>
        <p className="hint">People and Jira groups who decide requests no approval path decides; type a name to add one.</p>
        <FieldError error={error} names={['approvals']} />
        <div className={`field${has('approvals.approverAccountIds') ? ' has-error' : ''}`}>
          <label htmlFor="intake-approvers-pick">Approvers</label>
          <PeopleList
            id="intake-approvers-pick"
            testId="intake-approvers"
            ids={splitList(form.approverAccountIds)}
            names={names}
            onNamed={(p) => setNames((n) => ({ ...n, [p.accountId]: p.displayName }))}
            onChange={(ids) => set('approverAccountIds', ids.join('\n'))}
          />
          <FieldError error={error} names={['approvals.approverAccountIds']} />
        </div>
        <div className={`field${has('approvals.approverGroups') ? ' has-error' : ''}`}>
          <label htmlFor="intake-groups-pick">Approver groups</label>
          <GroupList
            id="intake-groups-pick"
            testId="intake-approver-groups"
            groups={splitList(form.approverGroups)}
            invalid={has('approvals.approverGroups')}
            onChange={(gs) => set('approverGroups', gs.join('\n'))}
          />
          <span className="hint">Any member of these Jira groups may decide.</span>
          <FieldError error={error} names={['approvals.approverGroups']} />
        </div>
        <div className={`field${has('approvals.delegates') ? ' has-error' : ''}`}>
          <span className="field-label" id="intake-delegates-label">
            Delegates
          </span>
          <span className="hint">Who decides on an approver’s behalf (for example while they are away).</span>
          <DelegatesList
            id="intake-delegates-pick"
            testId="intake-delegates"
            value={form.delegates}
            names={names}
            describedBy="intake-delegates-label"
            onNamed={(p) => setNames((n) => ({ ...n, [p.accountId]: p.displayName }))}
            onChange={(v) => set('delegates', v)}
          />
          <FieldError error={error} names={['approvals.delegates']} />
        </div>
        <label className="check">
          <input type="checkbox" data-testid="intake-admin-fallback" checked={form.adminFallback} disabled onChange={(e) => set('adminFallback', e.target.checked)} />
          Jira administrators decide when no approver is configured (fallback; always on in this release)
        </label>
      </fieldset>

      <fieldset id="intake-escalation">
        <legend>Escalation</legend>
        <div className="row-inline">
          <div className={`field${has('approvals.escalationAfterHours') ? ' has-error' : ''}`}>
            <label htmlFor="intake-esc-hours">Escalate after (hours)</label>
            <input id="intake-esc-hours" type="number" min={1} max={720} data-testid="intake-escalation-hours" value={form.escalationAfterHours} onChange={(e) => set('escalationAfterHours', e.target.value)} />
            <span className="hint">1–720 hours pending before an escalation.</span>
            <FieldError error={error} names={['approvals.escalationAfterHours']} />
          </div>
        </div>
        <div className={`field${has('approvals.escalationTargets') ? ' has-error' : ''}`}>
          <label htmlFor="intake-escalation-pick">Escalation targets</label>
          <PeopleList
            id="intake-escalation-pick"
            testId="intake-escalation"
            ids={splitList(form.escalationTargets)}
            names={names}
            onNamed={(p) => setNames((n) => ({ ...n, [p.accountId]: p.displayName }))}
            onChange={(ids) => set('escalationTargets', ids.join('\n'))}
          />
          <FieldError error={error} names={['approvals.escalationTargets']} />
        </div>
      </fieldset>

      <fieldset id="intake-review">
        <legend>Review before expiry</legend>
        <div className="row-inline">
          <div className={`field${has('approvals.reviewBeforeExpiryDays') ? ' has-error' : ''}`}>
            <label htmlFor="intake-review-days">Days before expiry</label>
            <input id="intake-review-days" type="number" min={0} max={90} data-testid="intake-review-days" value={form.reviewBeforeExpiryDays} onChange={(e) => set('reviewBeforeExpiryDays', e.target.value)} />
            <span className="hint">0 = off; at most 90.</span>
            <FieldError error={error} names={['approvals.reviewBeforeExpiryDays']} />
          </div>
          <div className={`field${has('approvals.reviewIssueTypeId') ? ' has-error' : ''}`}>
            <label htmlFor="intake-review-type">Review issue type id</label>
            <input id="intake-review-type" type="text" data-testid="intake-review-issue-type" placeholder="10001" value={form.reviewIssueTypeId} onChange={(e) => set('reviewIssueTypeId', e.target.value)} />
            <span className="hint">The numeric issue type of the recertification issue.</span>
            <FieldError error={error} names={['approvals.reviewIssueTypeId']} />
          </div>
        </div>
      </fieldset>

      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="intake-save" disabled={saving} onClick={() => void save()}>
          Save intake & approvals
        </button>
        {saving && <Spinner />}
      </div>
      <FormError error={error} testId="intake-save-error" labels={LABELS} />
      <Result text={saved} testId="intake-saved" />
    </div>
  );
}
