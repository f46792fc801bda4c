import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import type { ForgeContext } from '../../types';

/** What every admin section receives: the Forge context and a way to open another section
 *  (the Overview's route actions open the exact section, optionally at an anchor). */
export interface SectionProps {
  context: ForgeContext;
  go: (section: SectionId, anchor?: string) => void;
  /** The anchor the section was opened at (scroll to it / open that sub-tab). */
  anchor?: string;
}

export type SectionId =
  | 'overview'
  | 'intake'
  | 'catalog'
  | 'connectors'
  | 'governance'
  | 'requests'
  | 'insights'
  | 'logs'
  | 'paths'
  | 'ai';

export interface Section {
  id: SectionId;
  title: string;
  /** Loaded on first open: requesters never download the admin screens. */
  component: LazyExoticComponent<ComponentType<SectionProps>>;
}

/** Jira settings → Apps → AI Clearance, in nav order (spec §4, §6; AI Prompt "Settings → AI"). */
export const SECTIONS: Section[] = [
  { id: 'overview', title: 'Overview', component: lazy(() => import('./overview/Overview')) },
  { id: 'intake', title: 'Intake & Approvals', component: lazy(() => import('./intake/Intake')) },
  { id: 'catalog', title: 'Catalog', component: lazy(() => import('./catalog/Catalog')) },
  { id: 'connectors', title: 'Connectors', component: lazy(() => import('./connectors/Connectors')) },
  { id: 'governance', title: 'Governance', component: lazy(() => import('./governance/Governance')) },
  { id: 'requests', title: 'Requests', component: lazy(() => import('./requests/Requests')) },
  { id: 'insights', title: 'Insights', component: lazy(() => import('./insights/Insights')) },
  { id: 'logs', title: 'Governance logs', component: lazy(() => import('./logs/Logs')) },
  { id: 'paths', title: 'Approval paths & messages', component: lazy(() => import('./paths/Paths')) },
  { id: 'ai', title: 'Settings → AI', component: lazy(() => import('./ai/AiSettings')) },
];
