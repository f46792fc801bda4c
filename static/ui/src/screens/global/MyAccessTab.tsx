import { useEffect, useState } from 'react';
import { asResolverError, call, ResolverError } from '../../api';
import { Empty, ErrorMessage, formatDate, Lozenge, Skeleton } from '../../components/ui';
import type { MyAccess } from '../../types';

const EXTEND_OFF = 'Self-service extension is turned off. To keep access, submit a new request through the portal.';

/** My Access (§5.1): grants with expiry labels; expiring-soon and expired highlighted (CL-903). */
export function MyAccessTab(props: { initial?: Promise<MyAccess> }) {
  const [data, setData] = useState<MyAccess | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  // The page's first answer (asked together with page.context), or a fresh call.
  const [first] = useState(() => props.initial);
  useEffect(() => {
    let live = true;
    (first ?? call<MyAccess>('page.myAccess'))
      .then((d) => live && setData(d))
      .catch((e) => live && setError(asResolverError(e)));
    return () => {
      live = false;
    };
  }, [first]);
  if (error) return <ErrorMessage error={error} testId="tab-error" />;
  if (!data) return <Skeleton />;
  if (data.grants.length === 0) return <Empty>You have no active AI tool access.</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Tool</th>
          <th>Status</th>
          <th>Expires</th>
          <th>Request</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {data.grants.map((g) => {
          const state = g.expired ? 'expired' : g.expiringSoon ? 'expiring-soon' : 'active';
          const enabled = g.extensionEnabled && data.extensionEnabled;
          return (
            <tr key={g.grantId} className={`row-${state}`} data-testid="my-access-row" data-state={state} data-tool={g.tool.key}>
              <td>
                <strong>{g.tool.name}</strong>
                <div className="hint">Risk: {g.tool.riskLevel}</div>
                {g.conditions && g.conditions.length > 0 && (
                  <div className="grant-conditions" data-testid="grant-conditions">
                    <span className="hint">Approved with conditions:</span>
                    <ul>
                      {g.conditions.map((c) => (
                        <li key={c}>{c}</li>
                      ))}
                    </ul>
                  </div>
                )}
              </td>
              <td>
                <Lozenge appearance={g.status === 'active' ? 'success' : g.status === 'expired' ? 'removed' : 'inprogress'}>
                  {g.status === 'pendingProvision' ? 'waiting to be provisioned' : g.status}
                </Lozenge>
              </td>
              <td>
                <span className={`expiry expiry-${state}`} data-testid="expiry-label" data-state={state}>
                  {g.expiryLabel}
                </span>
                <div className="hint">{formatDate(g.expiresAt)}</div>
              </td>
              <td>{g.issueKey}</td>
              <td>
                <span className="tooltip-wrap" title={enabled ? 'Request an extension' : EXTEND_OFF}>
                  <button type="button" className="button" data-testid="extend-button" disabled={!enabled} aria-disabled={!enabled} title={enabled ? undefined : EXTEND_OFF} aria-describedby={`extend-tip-${g.grantId}`}>
                    Request extension
                  </button>
                  <span role="tooltip" id={`extend-tip-${g.grantId}`} className="tooltip">
                    {enabled ? 'Request an extension' : EXTEND_OFF}
                  </span>
                </span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
