import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { ErrorMessage, Lozenge, Skeleton } from '../../../components/ui';
import type { SectionId, SectionProps } from '../sections';
import { HelpLink, type DocAnchor } from './shared';
import type { AdminOverview, ReadinessCard } from './setupTypes';

interface CardInfo {
  title: string;
  /** What finishes this part of setup (shown while it is not ready). */
  todo: string;
  action: string;
  help: DocAnchor;
  optional?: boolean;
  /** Where the route action goes (the section and the anchor inside it). */
  target: (o: AdminOverview) => { section: SectionId; anchor: string };
}

/** The readiness cards of admin.overview (CL-169, CL-170), with their route actions (CL-905). */
const CARDS: Record<string, CardInfo> = {
  catalog: {
    title: 'Catalog',
    todo: 'Add at least one approved AI tool, or seed the supported tools.',
    action: 'Open Catalog',
    help: 'catalog',
    target: (o) => ({ section: 'catalog', anchor: o.counters.catalogTools === 0 ? 'seed' : 'tools' }),
  },
  governance: {
    title: 'Governance',
    todo: 'Review the risk rules and save them once: decisions then record a policy version.',
    action: 'Review governance',
    help: 'governance',
    target: () => ({ section: 'governance', anchor: 'rules' }),
  },
  approvalDefaults: {
    title: 'Approval defaults',
    todo: 'Name approvers or approver groups in Intake & Approvals, or give a risk level an approval path in Governance.',
    action: 'Set approvers',
    help: 'intake',
    // Without saved approval definitions no risk level can use a path: approvers are the way.
    target: (o) =>
      o.counters.approvalDefinitions > 0 ? { section: 'governance', anchor: 'paths' } : { section: 'intake', anchor: 'approvers' },
  },
  intakeProject: {
    title: 'Intake project',
    todo: 'Choose the JSM project whose requests AI Clearance ingests.',
    action: 'Choose project',
    help: 'intake',
    target: () => ({ section: 'intake', anchor: 'project' }),
  },
  portalEntryPoint: {
    title: 'Portal entry point',
    todo: 'Choose the portal and, if needed, the request types that show the AI Clearance panel.',
    action: 'Choose portal',
    help: 'intake',
    target: () => ({ section: 'intake', anchor: 'portal' }),
  },
  connectorAutomation: {
    title: 'Connector automation',
    todo: 'Optional: bind a catalog tool to a connector (manual, Okta or Entra).',
    action: 'Open Connectors',
    help: 'connectors',
    optional: true,
    target: () => ({ section: 'connectors', anchor: 'bindings' }),
  },
};

const COUNTERS: { key: keyof AdminOverview['counters']; label: string }[] = [
  { key: 'catalogTools', label: 'Catalog tools' },
  { key: 'approvedTools', label: 'Approved tools' },
  { key: 'pendingApprovals', label: 'Pending approvals' },
  { key: 'approvalDefinitions', label: 'Approval paths' },
  { key: 'connectors', label: 'Tools on connectors' },
  { key: 'autoApprovalPolicies', label: 'Auto-approval policies' },
];

function cardInfo(c: ReadinessCard): CardInfo {
  return (
    CARDS[c.id] ?? {
      title: c.id,
      todo: '',
      action: 'Open',
      help: 'overview',
      target: () => ({ section: (c.section as SectionId) || 'overview', anchor: '' }),
    }
  );
}

/** Overview (§4.1): launch readiness, counters and the way to each unfinished part. */
export default function Overview(props: SectionProps) {
  const [data, setData] = useState<AdminOverview | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);

  const load = useCallback(async () => {
    try {
      setData(await call<AdminOverview>('admin.overview'));
      setError(null);
    } catch (e) {
      setError(asResolverError(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  if (!data && error) return <ErrorMessage error={error} testId="overview-error" />;
  if (!data) return <Skeleton lines={4} />;

  const ready = data.readiness === 'ready';
  const open = data.cards.filter((c) => !c.ready).length;
  return (
    <div className="setup overview" data-testid="overview">
      <div className="overview-head">
        <Lozenge appearance={ready ? 'success' : 'moved'} bold testId="overview-readiness" extra={{ 'data-readiness': data.readiness }}>
          {ready ? 'Ready to launch' : 'Setup needed'}
        </Lozenge>
        <span className="hint" data-testid="overview-summary">
          {open === 0 ? 'Every readiness card is ready.' : `${open} of ${data.cards.length} cards need setup${ready ? ' (optional ones only)' : ''}.`}
        </span>
        <span className="spacer" />
        <HelpLink anchor="quickLaunch" testId="overview-help">
          Quick launch checklist
        </HelpLink>
        <button type="button" className="button button-subtle" data-testid="overview-refresh" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && <ErrorMessage error={error} testId="overview-error" />}

      <ul className="counters" aria-label="Summary">
        {COUNTERS.map((k) => (
          <li key={k.key} className="counter" data-testid={`counter-${k.key}`} data-value={data.counters[k.key]}>
            <span className="counter-value">{data.counters[k.key] ?? 0}</span>
            <span className="counter-label">{k.label}</span>
          </li>
        ))}
      </ul>

      <div className="cards">
        {data.cards.map((c) => {
          const info = cardInfo(c);
          const t = info.target(data);
          return (
            <article key={c.id} className="card" data-testid={`card-${c.id}`} data-ready={String(c.ready)} data-section={t.section}>
              <div className="card-head">
                <h3 className="card-title">{info.title}</h3>
                <Lozenge appearance={c.ready ? 'success' : info.optional ? 'default' : 'moved'} testId={`card-status-${c.id}`}>
                  {c.ready ? 'Ready' : 'Setup needed'}
                </Lozenge>
              </div>
              <p className="card-detail" data-testid={`card-detail-${c.id}`}>
                {c.detail}
              </p>
              {!c.ready && info.todo && <p className="card-todo">{info.todo}</p>}
              <div className="card-foot">
                <button
                  type="button"
                  className={`button${c.ready ? '' : ' button-primary'}`}
                  data-testid={`card-action-${c.id}`}
                  data-target={`${t.section}${t.anchor ? `#${t.anchor}` : ''}`}
                  onClick={() => props.go(t.section, t.anchor || undefined)}
                >
                  {c.ready ? 'Review' : info.action}
                </button>
                <HelpLink anchor={info.help} testId={`card-help-${c.id}`} />
              </div>
            </article>
          );
        })}
      </div>
    </div>
  );
}
