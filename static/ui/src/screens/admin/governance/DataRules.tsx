import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Skeleton, Spinner } from '../../../components/ui';
import { FieldError, FormError, Result } from '../overview/shared';
import type { CatalogTool, DataProfile, Governance } from '../overview/setupTypes';

/** The site's classes until governance names its own (catalog/data.rs DEFAULT_DATA_CLASSES). */
const DEFAULT_CLASSES = ['public', 'internal', 'confidential', 'restricted', 'personal-data', 'customer-data', 'source-code', 'regulated-financial'];
type Rule = 'review' | 'prohibited';
type Rules = Record<string, Record<string, Rule>>;
type GovData = Governance & { dataClasses?: string[] | null; dataClassRules?: Rules };
const words = (c: string) => c.replace(/-/g, ' ');

interface ProfileForm {
  toolId: string;
  approvedClasses: string[];
  trainsOnInputs: 'yes' | 'no' | 'opt-out' | 'unknown';
  inputRetention: string;
  dataResidency: string;
  enterpriseAgreement: boolean;
  termsUrl: string;
  verify: boolean;
  conditions: string;
}

function toForm(t: CatalogTool): ProfileForm {
  const p: DataProfile | undefined | null = t.dataProfile;
  const v = p?.vendorTerms;
  return {
    toolId: t.id,
    approvedClasses: p?.approvedClasses ?? [],
    trainsOnInputs: v?.trainsOnInputs ?? 'unknown',
    inputRetention: v?.inputRetention ?? '',
    dataResidency: v?.dataResidency ?? '',
    enterpriseAgreement: v?.enterpriseAgreement ?? false,
    termsUrl: v?.termsUrl ?? '',
    verify: v?.verify ?? false,
    conditions: (p?.conditions ?? []).join('\n'),
  };
}

/**
 * Governance → Data (issue 35): what data may go into which tool. The rules per tool and class
 * (a person reviews / prohibited; otherwise the tool's profile decides) are a governance save
 * (versioned, audited); a tool's data profile is a catalog save (audited).
 */
export function DataRules(props: { tools: CatalogTool[]; onToolSaved: (t: CatalogTool) => void }) {
  const [gov, setGov] = useState<GovData | null>(null);
  const [rules, setRules] = useState<Rules>({});
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [form, setForm] = useState<ProfileForm | null>(null);
  const [pError, setPError] = useState<ResolverError | null>(null);
  const [pNote, setPNote] = useState<string | null>(null);

  const load = useCallback(() => {
    call<{ governance: GovData }>('admin.governance.get')
      .then((r) => {
        setGov(r.governance);
        setRules(r.governance.dataClassRules ?? {});
      })
      .catch((e) => setLoadError(asResolverError(e)));
  }, []);
  useEffect(load, [load]);

  if (loadError && !gov) return <ErrorMessage error={loadError} testId="data-rules-load-error" />;
  if (!gov) return <Skeleton lines={4} />;
  const classes = gov.dataClasses ?? DEFAULT_CLASSES;
  const tools = props.tools.filter((t) => t.status === 'approved');
  const setRule = (tool: string, c: string, v: string) =>
    setRules((now) => {
      const per = { ...(now[tool] ?? {}) };
      if (v === 'review' || v === 'prohibited') per[c] = v;
      else delete per[c];
      const out = { ...now, [tool]: per };
      if (Object.keys(per).length === 0) delete out[tool];
      return out;
    });
  const saveRules = async () => {
    setBusy('rules');
    setError(null);
    setNote(null);
    try {
      const r = await call<{ governance: GovData }>('admin.governance.save', { dataClassRules: rules });
      setGov(r.governance);
      setRules(r.governance.dataClassRules ?? {});
      setNote(`Saved as governance version ${r.governance.version}. Requests from now on are checked against these rules.`);
    } catch (e) {
      setError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };
  const saveProfile = async () => {
    if (!form) return;
    setBusy('profile');
    setPError(null);
    setPNote(null);
    try {
      const r = await call<{ tool: CatalogTool }>('admin.catalog.upsert', {
        id: form.toolId,
        dataProfile: {
          approvedClasses: form.approvedClasses,
          conditions: form.conditions.split('\n').map((l) => l.trim()).filter(Boolean),
          vendorTerms: {
            trainsOnInputs: form.trainsOnInputs,
            inputRetention: form.inputRetention,
            dataResidency: form.dataResidency,
            enterpriseAgreement: form.enterpriseAgreement,
            termsUrl: form.termsUrl.trim() || null,
            verify: form.verify,
          },
        },
      });
      props.onToolSaved(r.tool);
      setForm(toForm(r.tool));
      setPNote(`${r.tool.displayName}'s data profile saved.`);
    } catch (e) {
      setPError(asResolverError(e));
    } finally {
      setBusy(null);
    }
  };
  const picked = form ? props.tools.find((t) => t.id === form.toolId) : undefined;

  return (
    <div data-testid="gov-data">
      <p className="hint">
        What data may go into which tool. Requesters declare the data they will use; a class the tool&apos;s profile does not list, or marked <em>a person reviews</em>, is never approved automatically; a{' '}
        <em>prohibited</em> class is refused before the request is created, with the reason.
      </p>
      <div className="table-scroll">
        <table className="table data-rules" data-testid="data-rules">
          <caption className="visually-hidden">Data class rules per tool</caption>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              {classes.map((c) => (
                <th key={c} scope="col">
                  {words(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {tools.map((t) => (
              <tr key={t.id} data-testid="data-rule-row" data-tool={t.id}>
                <th scope="row">
                  <button type="button" className="link-button" data-testid="data-profile-edit" onClick={() => setForm(toForm(t))}>
                    {t.displayName}
                  </button>
                </th>
                {classes.map((c) => {
                  const approved = (t.dataProfile?.approvedClasses ?? []).includes(c);
                  return (
                    <td key={c}>
                      <select
                        aria-label={`${t.displayName}: ${words(c)}`}
                        data-testid={`data-rule-${t.id}-${c}`}
                        value={rules[t.id]?.[c] ?? ''}
                        onChange={(e) => setRule(t.id, c, e.target.value)}
                      >
                        <option value="">{approved ? 'allowed (profile)' : 'review (not in profile)'}</option>
                        <option value="review">review</option>
                        <option value="prohibited">prohibited</option>
                      </select>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="button-group">
        <button type="button" className="button button-primary" data-testid="data-rules-save" disabled={busy !== null} onClick={() => void saveRules()}>
          Save data rules
        </button>
        {busy === 'rules' && <Spinner />}
      </div>
      <Result text={note} testId="data-rules-saved" />
      <FormError error={error} testId="data-rules-error" />

      {form && picked && (
        <div className="form-card" data-testid="data-profile-form">
          <h3 className="sub-title">{picked.displayName}: data profile</h3>
          <fieldset className="field">
            <legend>Approved for</legend>
            {classes.map((c) => (
              <label key={c} className="check">
                <input
                  type="checkbox"
                  data-testid={`profile-class-${c}`}
                  checked={form.approvedClasses.includes(c)}
                  onChange={(e) => setForm({ ...form, approvedClasses: e.target.checked ? [...form.approvedClasses, c] : form.approvedClasses.filter((x) => x !== c) })}
                />{' '}
                {words(c)}
              </label>
            ))}
          </fieldset>
          <div className="row-inline">
            <div className="field">
              <label htmlFor="dp-trains">Vendor trains on inputs</label>
              <select id="dp-trains" data-testid="profile-trains" value={form.trainsOnInputs} onChange={(e) => setForm({ ...form, trainsOnInputs: e.target.value as ProfileForm['trainsOnInputs'] })}>
                <option value="no">no</option>
                <option value="opt-out">unless opted out</option>
                <option value="yes">yes</option>
                <option value="unknown">unknown</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="dp-retention">Retention of inputs</label>
              <input id="dp-retention" type="text" maxLength={200} value={form.inputRetention} onChange={(e) => setForm({ ...form, inputRetention: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor="dp-residency">Data residency</label>
              <input id="dp-residency" type="text" maxLength={200} value={form.dataResidency} onChange={(e) => setForm({ ...form, dataResidency: e.target.value })} />
            </div>
          </div>
          <div className="field">
            <label htmlFor="dp-terms">Link to the terms</label>
            <input id="dp-terms" type="url" placeholder="https://" data-testid="profile-terms" value={form.termsUrl} onChange={(e) => setForm({ ...form, termsUrl: e.target.value })} />
            <FieldError error={pError} names={['dataProfile.vendorTerms.termsUrl']} />
          </div>
          <label className="check">
            <input type="checkbox" checked={form.enterpriseAgreement} onChange={(e) => setForm({ ...form, enterpriseAgreement: e.target.checked })} /> An enterprise agreement is in place
          </label>
          <label className="check">
            <input type="checkbox" checked={form.verify} onChange={(e) => setForm({ ...form, verify: e.target.checked })} /> Still to verify against the signed terms
          </label>
          <div className="field">
            <label htmlFor="dp-conditions">Conditions every grant carries (one per line, at most 5)</label>
            <textarea id="dp-conditions" rows={3} data-testid="profile-conditions" value={form.conditions} onChange={(e) => setForm({ ...form, conditions: e.target.value })} />
            <FieldError error={pError} names={['dataProfile.conditions']} />
          </div>
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="data-profile-save" disabled={busy !== null} onClick={() => void saveProfile()}>
              Save profile
            </button>
            <button type="button" className="button" onClick={() => setForm(null)}>
              Close
            </button>
            {busy === 'profile' && <Spinner />}
          </div>
          <Result text={pNote} testId="data-profile-saved" />
          <FormError error={pError} testId="data-profile-error" />
        </div>
      )}
    </div>
  );
}
