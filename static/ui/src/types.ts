/** Shapes the resolvers answer (learned from guest/src/**; see README.md). */

export interface ForgeContext {
  accountId?: string;
  moduleKey?: string;
  cloudId?: string;
  siteUrl?: string;
  extension?: Record<string, any>;
  [k: string]: unknown;
}

// ---- portal panel (guest/src/panel/mod.rs) ----
export interface PanelContext {
  enabled: boolean;
  code?: string;
  reason?: string;
}
export interface PanelTool {
  id: string;
  label: string;
  provider?: string;
  riskLevel?: string;
  guidance?: string | null;
  defaultExpiryDays: number;
  maxDays: number;
  durations: number[];
  /** Data classes the tool is approved for (issue 35); others go to a person. */
  approvedClasses?: string[];
  /** Classes governance prohibits for the tool: a request declaring one is refused. */
  prohibitedClasses?: string[];
}
export interface PanelNewTool {
  id: string;
  label: string;
  needsUrl: boolean;
  maxDays: number;
  durations: number[];
}
export interface PanelOptions {
  tools: PanelTool[];
  newTool: PanelNewTool | null;
  /** The site's data classes (issue 35). */
  dataClasses?: string[];
  maxPurposeChars?: number;
}
export interface FieldError {
  code: string;
  message: string;
}
export interface Snapshot {
  toolId: string | null;
  newTool: { name: string; url: string } | null;
  durationDays: number | null;
  justification: string | null;
  portalId: number | null;
  requestTypeId: number | null;
  /** Optional (issue 35): sent only when the requester declares classes or a purpose. */
  dataClasses?: string[];
  purpose?: string;
}
export interface PanelValidation {
  valid: boolean;
  errors?: Record<string, FieldError>;
  snapshotKey?: string;
  snapshot?: Snapshot;
}
/** One step of the path a request would walk (guest/src/panel/preview.rs). */
export interface PreviewStep {
  name: string;
  kind: 'group' | 'people' | 'ai-read' | 'automatic';
  group?: string;
  namedApprovers?: number;
  conditional: boolean;
}
/** What will happen to the request, from the code that decides (issue 35 item 4). */
export interface PanelPreview {
  outcome: 'incomplete' | 'refused' | 'auto-approved' | 'people' | 'unavailable';
  code?: string;
  message?: string;
  field?: string | null;
  tool?: { id?: string | null; name: string; riskLevel: string };
  requestedDays?: number;
  durationDays?: number;
  maxDays?: number;
  /** The durations this person may choose (an active exception lengthens the tool's). */
  durations?: number[];
  conditions?: string[];
  dataClassReview?: string;
  autoApproval?: { code: string; message: string };
  route?: {
    kind: 'auto-policy' | 'path' | 'direct' | 'held';
    name?: string;
    policyId?: string;
    groups?: string[];
    namedApprovers?: number;
    adminFallback?: boolean;
    message?: string;
    steps?: PreviewStep[];
  };
}

// ---- global page (guest/src/clearance/page.rs, tab.rs, requests/mod.rs) ----
export interface PageContext {
  accountId: string;
  showApprovals: boolean;
  isAdmin: boolean;
  tabs: string[];
}
export interface MyAccessRow {
  grantId: string;
  issueKey: string;
  tool: { key: string; name: string; riskLevel: string };
  status: string;
  grantedAt: string;
  expiresAt: string;
  expiryLabel: string;
  daysRemaining: number;
  expired: boolean;
  expiringSoon: boolean;
  extensionEnabled: boolean;
  /** Approved with conditions (issue 35): what the grant allows into the tool. */
  conditions?: string[];
}
export interface MyAccess {
  grants: MyAccessRow[];
  extensionEnabled: boolean;
}
export interface ApprovedTool {
  id: string;
  displayName: string;
  provider?: string;
  status: string;
  riskLevel: string;
  defaultExpiryDays: number;
  maxDays: number;
  guidance?: string | null;
  fulfilment: 'connected' | 'manual' | string;
}
export interface ApprovedTools {
  tools: ApprovedTool[];
  governanceVersion?: number;
}
export type RequestedTool =
  | { kind: 'catalog'; id: string; displayName: string; riskLevel: string }
  | { kind: 'new'; name: string; url: string };
export interface HistoryItem {
  issueKey: string;
  summary: string;
  tool: RequestedTool;
  durationDays: number;
  decision: 'pending' | 'approved' | 'denied' | string;
  decisionSource?: string | null;
  decidedAt?: string | null;
  grantId?: string | null;
  requestedAt: string;
}
export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}
export interface PendingRow {
  issueKey: string;
  summary: string;
  requester: string;
  tool: RequestedTool;
  durationDays: number;
  requestedAt: string;
  route?: string | null;
  approvalId?: string | null;
  step?: string | null;
  /** The approver's facts (issue 33): the path's name on a path row, the request's risk level,
   *  the justification (at most 300 characters), governance's longest grant for that risk, and
   *  whether the requester already holds open access to this tool. */
  pathName?: string | null;
  riskLevel?: string;
  justification?: string | null;
  maxDays?: number;
  openGrantForTool?: boolean;
  /** The path's latest AI read (a PROMPT step that ran): its verdict chip. */
  aiRead?: { step: string; lozenge: PromptLozenge; confidence?: Confidence | null; analysisPerformed: boolean } | null;
  /** What the requester declared (issue 35). */
  dataClasses?: string[];
  purpose?: string | null;
  /** Why no auto-approval applied, when a policy was in scope. */
  autoApproval?: { autoApproved?: boolean; reason?: string; message?: string; policyId?: string } | null;
  /** A bulk decision queued this request for a later minute (inside the write budget): it
   *  applies within that many minutes and is not offered for another decision meanwhile. */
  queued?: { withinMinutes: number } | null;
}
export interface ManualAction {
  jobId: string;
  kind: 'provision' | 'deprovision' | 'check' | string;
  issueKey: string;
  accountId: string;
  tool: string;
  action: 'fulfilled' | 'deprovisioned' | 'verified' | string;
  since?: string;
}
export interface ApprovalsTab {
  pending: PendingRow[];
  /** Cursor to the next page of pending requests (the tab reads a page at a time). */
  pendingNext?: string | null;
  manualActions: ManualAction[];
  manualNext?: string | null;
  bulkMax: number;
  /** Display names of the requesters and manual-task accounts (account id → name). */
  people?: Record<string, string>;
}
export interface DecideResult {
  issueKey: string;
  outcome: string;
  approvalId?: string;
  waitingFor?: string[];
}
export interface BulkResult {
  results: { issueKey: string; ok: boolean; outcome?: string; error?: { code: string; message: string } }[];
  succeeded: number;
  failed: number;
}

// ---- approval paths (guest/src/approvals/views.rs) ----
export type StepStatus = 'WAIT' | 'ACTIVE' | 'SUCCESS' | 'FAIL' | 'SKIPPED';
export type StepType = 'USER' | 'GROUP' | 'AUTOMATION' | 'HTTP' | 'EMAIL' | 'PROMPT';
export interface StepDecision {
  decider: string;
  onBehalfOf?: string;
  adminOverride?: boolean;
  decision: 'APPROVE' | 'REJECT';
  comment?: string;
  at: string;
}
export interface ApprovalStep {
  id: string;
  type: StepType;
  status: StepStatus;
  name: string;
  displayName?: string;
  action?: string;
  parallelGroupNumber: number;
  activatedAt?: string | null;
  completedAt?: string | null;
  decision?: string | null;
  comment?: string | null;
  decisions?: StepDecision[];
  approvers?: string[];
  group?: string;
  required?: number | null;
  executedAt?: string | null;
  resultTeaser?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  skippedReason?: string;
  /** PROMPT steps on the issue panel: the server-parsed teaser card (SUCCESS). */
  teaserCard?: TeaserCard | null;
  /** PROMPT steps on the issue panel: what to tell the approver (FAIL). */
  guidance?: Guidance | null;
}
export interface TeaserCard {
  lozenge: PromptLozenge | null;
  confidence: Confidence | null;
  teaser: string;
  analysisPerformed: boolean;
}
/** What the caller may do on an approval (the same rules the server enforces). */
export interface ApprovalViewer {
  isOriginator: boolean;
  isAdmin: boolean;
  mayRerun: boolean;
  mayCancel: boolean;
  /** ACTIVE USER/GROUP steps the caller may decide now, with the authority they decide with. */
  decidable: Record<
    string,
    {
      as: 'approver' | 'delegate' | 'admin';
      onBehalfOf?: string;
      /** False when the engine would refuse an approval (separation of duties): reject only. */
      mayApprove?: boolean;
      approveBlocked?: { code: string; message: string };
      /** An administrator override: the comment is its required reason. */
      reasonRequired?: boolean;
    }
  >;
}
export interface Approval {
  id: string;
  name: string;
  status: string;
  progress: number;
  phase: string;
  originator: string;
  startedAt: string;
  completedAt?: string | null;
  decisionDeadline?: string | null;
  outdated?: { at: string; reason: string } | null;
  issue: { id: string; key: string };
  definition: { id: string; name: string; version: number };
  steps: ApprovalStep[];
  successSteps: ApprovalStep[];
  rejectionSteps: ApprovalStep[];
  expirationSteps: ApprovalStep[];
  hasActivePromptStep: boolean;
  /** Only on approvals.forIssue. */
  viewer?: ApprovalViewer;
}
export interface ForIssue {
  approvals: Approval[];
  hasActivePromptStep: boolean;
  /** Display names of everyone the approvals name (account id → name). */
  people?: Record<string, string>;
}

// ---- AI prompt (guest/src/prompt/service.rs, result.rs) ----
export interface Section {
  label: string;
  body: string;
}
export interface PromptLozenge {
  kind: 'verdict' | 'risk' | 'compliance' | 'anomaly';
  value: string;
}
export type Confidence = { kind: 'score'; value: number; reason: string } | { kind: 'notApplicable' };
export interface Citation {
  field: string;
  value: string;
  raw: string;
  section: number | null;
}
export interface ParsedResult {
  sections: Section[];
  lozenge: PromptLozenge | null;
  confidence: Confidence | null;
  citations: Citation[];
  teaser: string;
  analysisPerformed: boolean;
}
export interface Guidance {
  category: string;
  message: string;
  action: 'settings' | 'rerun' | null;
}
export interface Execution {
  stepId: string;
  name: string;
  status: StepStatus;
  executedAt?: string | null;
  result?: string | null;
  parsed?: ParsedResult | null;
  resultTeaser?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  guidance?: Guidance | null;
  canRerun: boolean;
  /** The caller is a Jira administrator: the step's provider calls can be listed. */
  canAudit?: boolean;
  history?: { executedAt: string; status: string; errorCode?: string | null; attempt?: number; retried?: boolean; resultTeaser: string }[];
}

/** One provider call of a PROMPT step (`admin.ai.executions`, administrators only). */
export interface ExecutionRow {
  id: string;
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  /** The answer was lost (a timeout): the tokens are the budget's estimate. */
  tokensEstimated?: boolean;
  latencyMs: number;
  errorCode?: string | null;
  response: string;
  prompt: string;
  atMs: number;
  attempt: number;
  retried: boolean;
}
