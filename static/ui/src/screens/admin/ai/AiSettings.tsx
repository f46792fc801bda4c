import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import type { SectionProps } from '../sections';
import type { UsageState } from './common';
import type { GeneralView } from './types';
import { GeneralTab } from './GeneralTab';
import { DataTab } from './DataTab';
import { TemplatesTab } from './TemplatesTab';
import { UsageTab } from './UsageTab';
import './ai.css';
import { TabList, panelId, tabId } from '../../../components/Tabs';

type TabId = 'general' | 'data' | 'templates' | 'usage';
const TABS: { id: TabId; label: string }[] = [
  { id: 'general', label: 'General' },
  { id: 'data', label: 'Data sharing' },
  { id: 'templates', label: 'Prompt templates' },
  { id: 'usage', label: 'Usage' },
];

function tabOf(anchor: string | undefined): TabId {
  return TABS.some((t) => t.id === anchor) ? (anchor as TabId) : 'general';
}

/**
 * Settings → AI (global admins; every resolver checks again): General, Data sharing, Prompt
 * templates and Usage. The month's usage banner shows above every tab when usage is near
 * (WARNING, ≥ 90 %) or at (EXHAUSTED) the monthly token budget (AP-907).
 */
export default function AiSettings(props: SectionProps) {
  const [tab, setTab] = useState<TabId>(tabOf(props.anchor));
  // Tabs are mounted on first visit and then kept (hidden), so unsaved edits survive a tab switch.
  const [visited, setVisited] = useState<Set<TabId>>(() => new Set([tabOf(props.anchor)]));
  const [general, setGeneral] = useState<GeneralView | null>(null);
  const [generalError, setGeneralError] = useState<ResolverError | null>(null);
  const [usage, setUsage] = useState<UsageState | null>(null);
  /** Bumped on every settings save: the Usage tab re-reads the budget. */
  const [settingsVersion, setSettingsVersion] = useState(0);

  const reportUsage = useCallback((u: { usageStatus?: string; usagePercent?: number; status?: string; percent?: number }) => {
    const status = u.usageStatus ?? u.status;
    const percent = u.usagePercent ?? u.percent;
    if (typeof status === 'string' && typeof percent === 'number') setUsage({ status, percent });
  }, []);

  useEffect(() => {
    // General's answer also carries usageStatus: the banner on every tab.
    call<GeneralView>('admin.ai.general.get')
      .then((g) => {
        setGeneral(g);
        reportUsage(g);
      })
      .catch((e) => setGeneralError(asResolverError(e)));
  }, [reportUsage]);

  const open = (t: TabId) => {
    setTab(t);
    setVisited((v) => (v.has(t) ? v : new Set([...v, t])));
  };

  const onSettingsSaved = (g: GeneralView) => {
    setGeneral(g);
    reportUsage(g);
    setSettingsVersion((n) => n + 1);
  };

  const banner =
    usage && (usage.status === 'WARNING' || usage.status === 'EXHAUSTED' || usage.status === 'NO_BUDGET') ? usage : null;
  // No budget set: nothing runs, but nothing is "100 % used" either (the server says NO_BUDGET).
  const noBudget = usage?.status === 'NO_BUDGET' || general?.monthlyTokenBudget === 0;

  return (
    <div className="ai-settings" data-testid="ai-settings">
      {banner && (
        <div
          className={`ai-banner ai-banner-${banner.status.toLowerCase()}`}
          role="status"
          data-testid="ai-usage-banner"
          data-status={banner.status}
          data-percent={banner.percent}
        >
          <strong>
            {noBudget ? 'No monthly AI token budget set' : banner.status === 'EXHAUSTED' ? 'Monthly AI token budget used up' : 'Monthly AI token budget nearly used up'}
          </strong>
          <span>
            {noBudget
              ? ' With a budget of 0 tokens AI Prompt steps do not run. Set a monthly budget to use them.'
              : banner.status === 'EXHAUSTED'
              ? ` This month's usage is at ${banner.percent} % of the budget: AI Prompt steps are skipped until the month ends or the budget is raised.`
              : ` This month's usage is at ${banner.percent} % of the budget. At 100 % AI Prompt steps are skipped.`}
          </span>
          <span className="button-group">
            <button type="button" className="link-button" data-testid="ai-banner-budget" onClick={() => open('general')}>
              Change the budget
            </button>
            <button type="button" className="link-button" data-testid="ai-banner-usage" onClick={() => open('usage')}>
              See usage
            </button>
          </span>
        </div>
      )}
      <TabList label="Settings → AI" idPrefix="ai-" tabs={TABS.map((t) => ({ id: t.id, label: t.label, testId: `ai-tab-${t.id}` }))} selected={tab} onSelect={open} />
      {visited.has('general') && (
        <div role="tabpanel" id={panelId('ai-', 'general')} aria-labelledby={tabId('ai-', 'general')} hidden={tab !== 'general'} data-testid="ai-panel-general">
          <GeneralTab view={general} loadError={generalError} onSaved={onSettingsSaved} />
        </div>
      )}
      {visited.has('data') && (
        <div role="tabpanel" id={panelId('ai-', 'data')} aria-labelledby={tabId('ai-', 'data')} hidden={tab !== 'data'} data-testid="ai-panel-data">
          <DataTab onUsage={reportUsage} onSaved={onSettingsSaved} />
        </div>
      )}
      {visited.has('templates') && (
        <div role="tabpanel" id={panelId('ai-', 'templates')} aria-labelledby={tabId('ai-', 'templates')} hidden={tab !== 'templates'} data-testid="ai-panel-templates">
          <TemplatesTab />
        </div>
      )}
      {visited.has('usage') && (
        <div role="tabpanel" id={panelId('ai-', 'usage')} aria-labelledby={tabId('ai-', 'usage')} hidden={tab !== 'usage'} data-testid="ai-panel-usage">
          <UsageTab onUsage={reportUsage} settingsVersion={settingsVersion} openGeneral={() => open('general')} go={props.go} />
        </div>
      )}
    </div>
  );
}
