import { useEffect, useState } from 'react';
import { asResolverError, call, ResolverError } from '../../api';
import { Empty, ErrorMessage, Lozenge, Skeleton } from '../../components/ui';
import { FilterBox, useFilter } from '../../components/Filter';
import type { ApprovedTools } from '../../types';

const NO_TOOLS: ApprovedTools['tools'] = [];

export function riskAppearance(r: string) {
  return r === 'low' ? 'success' : r === 'medium' ? 'moved' : r === 'high' || r === 'critical' ? 'removed' : 'default';
}

/** Approved Tools (§5.2). */
export function ApprovedToolsTab() {
  const [data, setData] = useState<ApprovedTools | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  useEffect(() => {
    call<ApprovedTools>('page.approvedTools')
      .then(setData)
      .catch((e) => setError(asResolverError(e)));
  }, []);
  const all = data?.tools ?? NO_TOOLS;
  const filter = useFilter(all, (t) => [t.displayName, t.provider, t.id]);
  if (error) return <ErrorMessage error={error} testId="tab-error" />;
  if (!data) return <Skeleton />;
  if (data.tools.length === 0) return <Empty>No tools are approved for requests yet.</Empty>;
  return (
    <>
    <FilterBox
      id="approved-tools-filter"
      label="Search tools"
      placeholder="Name or provider"
      query={filter.query}
      onChange={filter.setQuery}
      shown={filter.shown.length}
      total={all.length}
      noun={['tool', 'tools']}
      testId="approved-tools-filter"
    />
    <table className="table">
      <thead>
        <tr>
          <th>Tool</th>
          <th>Status</th>
          <th>Risk</th>
          <th>Default / max duration</th>
          <th>Guidance</th>
        </tr>
      </thead>
      <tbody>
        {filter.shown.map((t) => (
          <tr key={t.id} data-testid="approved-tool-row" data-tool={t.id}>
            <td>
              <strong>{t.displayName}</strong>
              {t.provider && <div className="hint">{t.provider}</div>}
            </td>
            <td>
              <Lozenge appearance="success">{t.status}</Lozenge>
            </td>
            <td>
              <Lozenge appearance={riskAppearance(t.riskLevel)}>{t.riskLevel}</Lozenge>
            </td>
            <td>
              {Math.min(t.defaultExpiryDays, t.maxDays)} days / {t.maxDays} days
            </td>
            <td>
              {t.guidance && <div>{t.guidance}</div>}
              <div className="hint">{t.fulfilment === 'connected' ? 'Provisioned automatically' : 'Provisioned manually'}</div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    </>
  );
}
