import { useEffect, useState } from 'react';
import { asResolverError, call, ResolverError } from '../../api';
import { ErrorMessage, Skeleton } from '../../components/ui';
import { TabList, panelId, tabId } from '../../components/Tabs';
import type { ForgeContext, MyAccess, PageContext } from '../../types';
import { MyAccessTab } from './MyAccessTab';
import { ApprovedToolsTab } from './ApprovedToolsTab';
import { HistoryTab } from './HistoryTab';
import { ApprovalsTab } from './ApprovalsTab';

const TABS: Record<string, { label: string; testId: string }> = {
  myAccess: { label: 'My Access', testId: 'tab-my-access' },
  approvedTools: { label: 'Approved Tools', testId: 'tab-approved-tools' },
  requestHistory: { label: 'Request History', testId: 'tab-history' },
  approvals: { label: 'Approvals', testId: 'tab-approvals' },
};

/** Global page "AI Clearance" (spec §5). */
export function GlobalPage(_props: { context: ForgeContext }) {
  const [ctx, setCtx] = useState<PageContext | null>(null);
  const [error, setError] = useState<ResolverError | null>(null);
  const [tab, setTab] = useState('myAccess');
  // My Access is the first tab: ask for it together with the page context (one round, not two).
  const [firstAccess, setFirstAccess] = useState<Promise<MyAccess> | undefined>(() => {
    const p = call<MyAccess>('page.myAccess');
    p.catch(() => undefined); // shown by the tab; never an unhandled rejection
    return p;
  });

  useEffect(() => {
    call<PageContext>('page.context')
      .then(setCtx)
      .catch((e) => setError(asResolverError(e)));
  }, []);

  if (error) {
    return (
      <main className="page">
        <h1 className="page-title">AI Clearance</h1>
        <ErrorMessage error={error} testId="page-error" />
      </main>
    );
  }
  if (!ctx) {
    return (
      <main className="page">
        <h1 className="page-title">AI Clearance</h1>
        <Skeleton />
      </main>
    );
  }
  const tabs = ctx.tabs.filter((t) => TABS[t] && (t !== 'approvals' || ctx.showApprovals));
  const current = tabs.includes(tab) ? tab : tabs[0];

  return (
    <main className="page">
      <h1 className="page-title">AI Clearance</h1>
      <TabList
        label="AI Clearance"
        idPrefix=""
        tabs={tabs.map((t) => ({ id: t, label: TABS[t].label, testId: TABS[t].testId }))}
        selected={current}
        onSelect={(t) => {
          setTab(t);
          setFirstAccess(undefined); // later visits to My Access ask afresh
        }}
      />
      <section className="tab-panel" role="tabpanel" id={panelId('', current)} aria-labelledby={tabId('', current)}>
        {current === 'myAccess' && <MyAccessTab initial={firstAccess} />}
        {current === 'approvedTools' && <ApprovedToolsTab />}
        {current === 'requestHistory' && <HistoryTab />}
        {current === 'approvals' && <ApprovalsTab />}
      </section>
    </main>
  );
}
