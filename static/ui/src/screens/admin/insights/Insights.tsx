import { useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Skeleton, Spinner } from '../../../components/ui';
import type { SectionProps } from '../sections';
import { BarChart, ColumnChart, DonutChart, type Datum } from './charts';
import { ClassToolTable, ProfileChanges, type ByDataClass } from './DataInsights';
import './insights.css';

/** What admin.insights answers (guest/src/clearance/rollups.rs `insights`, admin.rs). */
interface Month {
  month: string;
  requests: number;
  approved: number;
  autoApproved: number;
  denied: number;
  byRisk?: Record<string, number>;
  byTool?: Record<string, number>;
  grantsCreated?: number;
  grantsActivated?: number;
  grantsExpired?: number;
  grantsRevoked?: number;
  topRequesters?: { accountId: string; requests: number }[];
}
export interface InsightsData {
  monthly: Month[];
  adoption: { requesters: number; tools: number };
  activeAccess: { active: number; pendingProvision: number; byTool: Record<string, number> };
  riskMix: Record<string, number>;
  people: { topRequesters: { accountId: string; requests: number }[] };
  /** Display names of the people in the charts (account id → name). */
  names?: Record<string, string>;
  counters: { requests: number; approved: number; autoApproved: number; denied: number; approvalRate: number | null };
  /** Requests and open grants by declared data class and tool (issue 35). */
  byDataClass?: ByDataClass;
  manualFollowUp: number;
  throughSeq: number;
  /** False when more changes happened since the daily run than one answer folds in (issue 33 item 5). */
  caughtUp?: boolean;
}

const RISK_ORDER = ['low', 'medium', 'high', 'critical', 'unassessed'];
const RISK_COLORS: Record<string, string> = {
  low: 'var(--ds-background-success-bold, #1f845a)',
  medium: 'var(--ds-background-warning-bold, #f5cd47)',
  high: 'var(--ds-background-danger-bold, #c9372c)',
  critical: 'var(--ds-background-accent-magenta-bolder, #943d73)',
  unassessed: 'var(--ds-background-neutral-bold, #758195)',
};
const MONTH_CHOICES = [3, 6, 12, 24, 36];

function byValue(m: Record<string, number> | undefined, label: (k: string) => string = (k) => k): Datum[] {
  return Object.entries(m ?? {})
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => ({ label: label(k), value: v, title: k }));
}
function riskData(m: Record<string, number> | undefined): Datum[] {
  const e = Object.entries(m ?? {});
  e.sort((a, b) => (RISK_ORDER.indexOf(a[0]) + 1 || 99) - (RISK_ORDER.indexOf(b[0]) + 1 || 99));
  return e.map(([k, v]) => ({ label: k, value: v }));
}
function monthLabel(m: string) {
  const [y, mo] = m.split('-').map(Number);
  if (!y || !mo) return m;
  return new Date(Date.UTC(y, mo - 1, 1)).toLocaleDateString(undefined, { month: 'short', year: '2-digit', timeZone: 'UTC' });
}

/** Jira settings → AI Clearance → Insights (spec §6, CL-185, CL-186): the daily rollups as charts. */
export default function Insights(_props: SectionProps) {
  const [months, setMonths] = useState(12);
  const [data, setData] = useState<InsightsData | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [busy, setBusy] = useState(false);
  const [tools, setTools] = useState<Record<string, string>>({});

  useEffect(() => {
    let live = true;
    setBusy(true);
    call<InsightsData>('admin.insights', { months })
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e) => live && setError(asResolverError(e)))
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [months]);

  useEffect(() => {
    // Tool names for the tool charts (ids until the catalog answers; best effort).
    call<{ tools: { id: string; displayName: string }[] }>('admin.catalog.list')
      .then((r) => setTools(Object.fromEntries(r.tools.map((t) => [t.id, t.displayName]))))
      .catch(() => undefined);
  }, []);

  if (!data && error) return <ErrorMessage error={error} testId="insights-error" />;
  if (!data) return <Skeleton lines={5} />;

  const tool = (id: string) => (id === 'new-tool' ? 'New tools (not in catalog)' : tools[id] ?? id);
  const c = data.counters;
  // Oldest month first, left to right.
  const monthly = [...data.monthly].sort((a, b) => a.month.localeCompare(b.month));
  const requestsByTool: Record<string, number> = {};
  const requestsByRisk: Record<string, number> = {};
  for (const m of monthly) {
    for (const [k, v] of Object.entries(m.byTool ?? {})) requestsByTool[k] = (requestsByTool[k] ?? 0) + v;
    for (const [k, v] of Object.entries(m.byRisk ?? {})) requestsByRisk[k] = (requestsByRisk[k] ?? 0) + v;
  }
  const manualApproved = Math.max(0, c.approved - c.autoApproved);
  const counters: { key: string; label: string; value: number | string; hint?: string }[] = [
    { key: 'requests', label: 'Requests', value: c.requests },
    { key: 'approved', label: 'Approved', value: c.approved, hint: `${c.autoApproved} by policy` },
    { key: 'denied', label: 'Denied', value: c.denied },
    { key: 'approvalRate', label: 'Approval rate', value: c.approvalRate === null ? '—' : `${Math.round(c.approvalRate * 100)}%` },
    { key: 'active', label: 'Active access', value: data.activeAccess.active },
    { key: 'pendingProvision', label: 'Awaiting provisioning', value: data.activeAccess.pendingProvision },
    { key: 'manualFollowUp', label: 'Manual follow-up', value: data.manualFollowUp },
    { key: 'requesters', label: 'People requesting', value: data.adoption.requesters },
    { key: 'tools', label: 'Tools requested', value: data.adoption.tools },
  ];

  return (
    <div className="admin-insights" data-testid="admin-insights">
      <div className="insights-head">
        <label>
          Period{' '}
          <select data-testid="insights-months" value={months} onChange={(e) => setMonths(Number(e.target.value))}>
            {MONTH_CHOICES.map((m) => (
              <option key={m} value={m}>
                Last {m} months
              </option>
            ))}
          </select>
        </label>
        {busy && <Spinner label="Loading insights" />}
        <span className="hint" data-testid="insights-through">
          {data.caughtUp === false
            ? `Counts changes through audit entry #${data.throughSeq}; newer changes count after the next daily run, so Requests may list more right now.`
            : `Current: every change through audit entry #${data.throughSeq} (the daily rollups plus what happened since), so the counts match Requests. Active access and risk mix are now; the rest covers the period.`}
        </span>
      </div>
      {error && <ErrorMessage error={error} testId="insights-error" />}

      <section aria-label="Operational counters" className="counter-grid" data-testid="insights-counters">
        {counters.map((x) => (
          <div key={x.key} className="counter" data-testid={`insights-counter-${x.key}`} data-value={typeof x.value === 'number' ? x.value : c.approvalRate ?? ''}>
            <div className="counter-value">{x.value}</div>
            <div className="counter-label">{x.label}</div>
            {x.hint && <div className="hint">{x.hint}</div>}
          </div>
        ))}
      </section>

      <div className="chart-grid">
        <ColumnChart
          name="monthly"
          title="Requests and decisions per month"
          groups={monthly.map((m) => ({ label: monthLabel(m.month), values: { requests: m.requests, approved: m.approved, autoApproved: m.autoApproved, denied: m.denied } }))}
          series={[
            { key: 'requests', label: 'Requests', color: 'var(--ds-chart-brand, #1d7afc)' },
            { key: 'approved', label: 'Approved', color: 'var(--ds-chart-success, #22a06b)' },
            { key: 'autoApproved', label: 'Auto-approved', color: 'var(--ds-chart-discovery, #8270db)' },
            { key: 'denied', label: 'Denied', color: 'var(--ds-chart-danger, #e2483d)' },
          ]}
        />
        <ColumnChart
          name="grants"
          title="Access granted, activated and ended per month"
          groups={monthly.map((m) => ({
            label: monthLabel(m.month),
            values: { created: m.grantsCreated ?? 0, activated: m.grantsActivated ?? 0, expired: m.grantsExpired ?? 0, revoked: m.grantsRevoked ?? 0 },
          }))}
          series={[
            { key: 'created', label: 'Granted', color: 'var(--ds-chart-brand, #1d7afc)' },
            { key: 'activated', label: 'Activated', color: 'var(--ds-chart-success, #22a06b)' },
            { key: 'expired', label: 'Expired', color: 'var(--ds-chart-neutral, #8590a2)' },
            { key: 'revoked', label: 'Revoked', color: 'var(--ds-chart-danger, #e2483d)' },
          ]}
        />
        <DonutChart
          name="decisions"
          title="Decisions in the period"
          centre="decisions"
          data={[
            { label: 'approved by people', value: manualApproved },
            { label: 'auto-approved', value: c.autoApproved },
            { label: 'denied', value: c.denied },
          ]}
          colors={{
            'approved by people': 'var(--ds-chart-success, #22a06b)',
            'auto-approved': 'var(--ds-chart-discovery, #8270db)',
            denied: 'var(--ds-chart-danger, #e2483d)',
          }}
          empty="No decisions in this period."
        />
        <DonutChart name="risk-mix" title="Open access by risk level" centre="open grants" data={riskData(data.riskMix)} colors={RISK_COLORS} empty="No open access." />
        <DonutChart name="request-risk" title="Requests by risk level" centre="requests" data={riskData(requestsByRisk)} colors={RISK_COLORS} empty="No requests in this period." />
        <BarChart name="active-by-tool" title="Open access by tool" data={byValue(data.activeAccess.byTool, tool)} empty="No open access." color="var(--ds-chart-success, #22a06b)" />
        <BarChart name="requests-by-tool" title="Requests by tool" data={byValue(requestsByTool, tool)} empty="No requests in this period." />
        <BarChart
          name="people"
          title="Top requesters"
          data={data.people.topRequesters.map((p) => ({ label: data.names?.[p.accountId] ?? (p.accountId.length > 14 ? `${p.accountId.slice(0, 13)}…` : p.accountId), value: p.requests, title: p.accountId }))}
          empty="No requesters in this period."
          color="var(--ds-chart-discovery, #8270db)"
        />
      </div>
      <ClassToolTable data={data.byDataClass} tool={tool} />
      <ProfileChanges />
    </div>
  );
}
