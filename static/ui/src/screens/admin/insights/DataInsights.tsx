import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, Spinner, formatDate } from '../../../components/ui';

/** Class → tool → count (guest/src/clearance/rollups.rs `byDataClass`). */
type ClassTool = Record<string, Record<string, number>>;
export interface ByDataClass {
  requests: ClassTool;
  openGrants: ClassTool;
  /** When open grants began to be counted by class (null: from the first entry). */
  grantsCountedSince: string | null;
}

const CLASS_LABELS: Record<string, string> = { undeclared: 'Not declared', other: 'Other classes' };

/** Requests in the period and open access, by declared data class and tool (issue 35). */
export function ClassToolTable(props: { data: ByDataClass | undefined; tool: (id: string) => string }) {
  const d = props.data ?? { requests: {}, openGrants: {}, grantsCountedSince: null };
  const keys = new Set<string>();
  for (const m of [d.requests, d.openGrants]) {
    for (const [c, tools] of Object.entries(m)) for (const t of Object.keys(tools)) keys.add(`${c}\u0000${t}`);
  }
  const rows = [...keys]
    .map((k) => k.split('\u0000') as [string, string])
    .sort((a, b) => (a[0] === 'undeclared' ? 1 : 0) - (b[0] === 'undeclared' ? 1 : 0) || a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  return (
    <section className="insights-panel" aria-labelledby="insights-class-title" data-testid="insights-by-class">
      <h3 id="insights-class-title">Requests and open access by data class</h3>
      <p className="hint">
        The data classes requesters declared, by tool. A request declaring several classes counts under each; one that declared none counts as "Not declared".
        {d.grantsCountedSince && ` Open access is counted by class for grants decided since ${formatDate(d.grantsCountedSince)}.`}
      </p>
      {rows.length === 0 ? (
        <Empty>No requests or open access in this period.</Empty>
      ) : (
        <div className="chart-scroll">
          <table className="table" data-testid="insights-class-table">
            <thead>
              <tr>
                <th scope="col">Data class</th>
                <th scope="col">Tool</th>
                <th scope="col" className="num">Requests in the period</th>
                <th scope="col" className="num">Open access</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([c, t]) => (
                <tr key={`${c}/${t}`} data-testid="class-row" data-class={c} data-tool={t}>
                  <th scope="row">{CLASS_LABELS[c] ?? c}</th>
                  <td>{props.tool(t)}</td>
                  <td className="num" data-testid="class-requests">{d.requests[c]?.[t] ?? 0}</td>
                  <td className="num" data-testid="class-open">{d.openGrants[c]?.[t] ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Weakening { field: string; from: string; to: string }
interface Change { toolId: string; toolName: string; at: string; by: string; weakened: Weakening[]; reason: string }
interface GrantRow {
  grantId: string;
  issueKey: string;
  accountId: string;
  name?: string | null;
  status: string;
  grantedAt: string;
  expiresAt: string;
  recertification: { state: string; issueKey?: string } | null;
}
interface Report { change: Change; reason: string; grants: GrantRow[]; nextCursor: string | null }
interface Recertified {
  created: { grantId: string; reviewIssueKey: string }[];
  already: number;
  leftToAnotherAdmin: { grantId: string; issueKey: string }[];
  failed: { grantId: string; reason: string }[];
  nextCursor: string | null;
  /** More grants to ask for: call again with `nextCursor` (null: from the start). */
  more: boolean;
}

function describe(w: Weakening): string {
  switch (w.field) {
    case 'trainsOnInputs':
      return `Trains on inputs: ${w.from} → ${w.to}`;
    case 'enterpriseAgreement':
      return 'Enterprise agreement no longer in place';
    case 'dataResidency':
      return `Data residency: ${w.from} → ${w.to}`;
    case 'approvedClasses':
      return `No longer approved for ${w.from}`;
    default:
      return `${w.field}: ${w.from} → ${w.to}`;
  }
}

function ChangeReport(props: { change: Change }) {
  const { change } = props;
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [busy, setBusy] = useState<'load' | 'recertify' | null>(null);
  const [result, setResult] = useState<Recertified | null>(null);

  const load = () => {
    setBusy('load');
    call<Report>('admin.insights.profileChanges', { toolId: change.toolId })
      .then((r) => {
        setReport(r);
        setError(null);
      })
      .catch((e) => setError(asResolverError(e)))
      .finally(() => setBusy(null));
  };
  const recertify = (cursor?: string | null) => {
    if (busy) return;
    setBusy('recertify');
    call<Recertified>('admin.insights.recertify', cursor ? { toolId: change.toolId, cursor } : { toolId: change.toolId })
      .then((r) => {
        setResult(r);
        setError(null);
        load();
      })
      .catch((e) => {
        setError(asResolverError(e));
        setBusy(null);
      });
  };
  const id = `profile-change-${change.toolId}`;
  return (
    <li className="profile-change" data-testid="profile-change" data-tool={change.toolId} aria-labelledby={id}>
      <div className="profile-change-head">
        <strong id={id}>{change.toolName}</strong> <span className="hint">changed {formatDate(change.at)}</span>
      </div>
      <ul className="profile-change-why" data-testid="profile-change-why">
        {change.weakened.map((w, i) => (
          <li key={i}>{describe(w)}</li>
        ))}
      </ul>
      {!report && (
        <button type="button" className="button" data-testid="profile-change-show" aria-disabled={busy !== null} onClick={() => busy || load()}>
          Show the grants approved before the change
        </button>
      )}
      {busy && <Spinner label={busy === 'load' ? 'Loading grants' : 'Asking for recertification'} />}
      {error && <ErrorMessage error={error} testId="profile-change-error" />}
      {report && (
        <>
          {report.grants.length === 0 ? (
            <Empty>No open grant of {change.toolName} was approved before the change.</Empty>
          ) : (
            <table className="table" data-testid="profile-change-grants">
              <caption className="visually-hidden">Open grants of {change.toolName} approved before its data profile changed</caption>
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Request</th>
                  <th scope="col">Approved</th>
                  <th scope="col">Ends</th>
                  <th scope="col">Recertification</th>
                </tr>
              </thead>
              <tbody>
                {report.grants.map((g) => (
                  <tr key={g.grantId} data-testid="profile-change-grant" data-grant={g.grantId}>
                    <th scope="row">{g.name ?? g.accountId}</th>
                    <td>{g.issueKey}</td>
                    <td>{formatDate(g.grantedAt)}</td>
                    <td>{formatDate(g.expiresAt)}</td>
                    <td data-testid="grant-recertification">
                      {g.recertification?.state === 'created' ? `Review issue ${g.recertification.issueKey}` : g.recertification ? 'Being created' : 'Not asked yet'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {report.grants.length > 0 && (
            <button type="button" className="button button-primary" data-testid="profile-change-recertify" aria-disabled={busy !== null} onClick={() => recertify()}>
              Recertify these grants
            </button>
          )}
          {report.nextCursor && <p className="hint">More grants follow: each click handles up to 50.</p>}
        </>
      )}
      {result && (
        <div className="action-result" role="status" data-testid="profile-change-result">
          {result.created.length} review issue{result.created.length === 1 ? '' : 's'} created
          {result.already > 0 && `, ${result.already} already asked for`}
          {result.leftToAnotherAdmin.length > 0 && `, ${result.leftToAnotherAdmin.length} of your own left to another administrator`}
          {result.failed.length > 0 && `, ${result.failed.length} not created (Jira refused; try again)`}.
          {result.more && (
            <>
              {' '}
              <button type="button" className="button" data-testid="profile-change-recertify-next" aria-disabled={busy !== null} onClick={() => recertify(result.nextCursor)}>
                Recertify the next grants
              </button>
            </>
          )}
        </div>
      )}
    </li>
  );
}

/** Grants approved before their tool's data profile weakened, with their recertification. */
export function ProfileChanges() {
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  useEffect(() => {
    let live = true;
    call<{ changes: Change[] }>('admin.insights.profileChanges', {})
      .then((r) => live && setChanges(r.changes))
      .catch((e) => live && setError(asResolverError(e)));
    return () => {
      live = false;
    };
  }, []);
  return (
    <section className="insights-panel" aria-labelledby="insights-profile-title" data-testid="insights-profile-changes">
      <h3 id="insights-profile-title">Grants approved before their tool's profile changed</h3>
      <p className="hint">
        When a tool's data profile gets weaker (the vendor starts training on inputs, the enterprise agreement ends, the data residency moves, a data class is no longer approved), the access approved before it is listed here for review.
      </p>
      {error && <ErrorMessage error={error} testId="profile-changes-error" />}
      {!changes && !error && <Spinner label="Loading profile changes" />}
      {changes && changes.length === 0 && <Empty>No tool's data profile has been weakened.</Empty>}
      {changes && changes.length > 0 && (
        <ul className="profile-changes">
          {changes.map((c) => (
            <ChangeReport key={c.toolId} change={c} />
          ))}
        </ul>
      )}
    </section>
  );
}
