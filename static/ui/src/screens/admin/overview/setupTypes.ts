/** Shapes of the admin setup resolvers (guest/src/clearance/admin.rs, intake/config.rs,
 *  catalog/mod.rs, clearance/governance.rs, clearance/policies.rs, provisioning/*.rs). */

export type CardId = 'catalog' | 'governance' | 'approvalDefaults' | 'intakeProject' | 'portalEntryPoint' | 'connectorAutomation' | string;

export interface ReadinessCard {
  id: CardId;
  ready: boolean;
  detail: string;
  section: string;
}

export interface AdminOverview {
  cards: ReadinessCard[];
  counters: {
    catalogTools: number;
    approvedTools: number;
    pendingApprovals: number;
    approvalDefinitions: number;
    /** Catalog tools bound to a connector. */
    connectors: number;
    autoApprovalPolicies: number;
  };
  readiness: 'ready' | 'setupNeeded';
}

export interface ApprovalSettings {
  approverAccountIds: string[];
  approverGroups: string[];
  delegates: Record<string, string[]>;
  adminFallback: boolean;
  escalationAfterHours: number;
  escalationTargets: string[];
  reviewBeforeExpiryDays: number;
  reviewIssueTypeId: number | null;
}

export interface IntakeConfig {
  projectKey: string;
  portalId: number;
  requestTypeIds: number[];
  requestTypeFieldId: string;
  approvals: ApprovalSettings;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export type ToolStatus = 'approved' | 'blocked' | 'denied';
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export const RISKS: RiskLevel[] = ['low', 'medium', 'high', 'critical'];
/** Longest default expiry per risk level (catalog/mod.rs RiskLevel::default_max_days). */
export const RISK_MAX_DAYS: Record<RiskLevel, number> = { low: 180, medium: 90, high: 30, critical: 14 };

export interface CatalogTool {
  id: string;
  displayName: string;
  provider: string;
  status: ToolStatus;
  riskLevel: RiskLevel;
  defaultExpiryDays: number;
  guidance: string;
  fulfilmentNotes: string;
  connectorId?: string | null;
  entitlementGroup?: Record<string, unknown> | null;
  /** What data may go into the tool (issue 35). */
  dataProfile?: DataProfile | null;
  version: number;
  updatedAt: string;
}

/** A tool's data profile (catalog/data.rs DataProfile). */
export interface DataProfile {
  approvedClasses: string[];
  conditions?: string[];
  vendorTerms: {
    trainsOnInputs: 'yes' | 'no' | 'opt-out' | 'unknown';
    inputRetention: string;
    dataResidency: string;
    enterpriseAgreement: boolean;
    termsUrl?: string | null;
    verify: boolean;
  };
}

export interface SeedResult {
  created: string[];
  kept: string[];
  seedVersion: number;
}

export type ConnectorType = 'manual' | 'okta-group' | 'entra-group';

export interface ConnectorTest {
  at: string;
  ok: boolean;
  code: string;
  message: string;
  requestId?: string;
}

export interface Connector {
  id: string;
  name: string;
  type: ConnectorType;
  enabled: boolean;
  identityMatch: 'emailOrMapping' | 'mappingOnly';
  reconcileMode: 'reportOnly' | 'repair';
  configVersion: number;
  configFingerprint?: string;
  configured: boolean;
  configFields: string[];
  lastTest?: ConnectorTest;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface IdentityMapping {
  connectorId: string;
  accountId: string;
  fingerprint: string;
  updatedAt: string;
  updatedBy: string;
}

export interface RiskRule {
  maxDays: number;
  approvalDefinitionId: string | null;
}

export interface Governance {
  version: number;
  low: RiskRule;
  medium: RiskRule;
  high: RiskRule;
  critical: RiskRule;
  toolRules: Record<string, string>;
  blockUnknownTools: boolean;
  criticalExceptionLimit: number;
  /** Days a directly decided request may stay pending (1-365, default 30). */
  decisionDeadlineDays?: number;
  updatedAt: string;
  updatedBy: string;
}

export interface GovernanceVersion {
  version: number;
  updatedAt: string;
  updatedBy: string;
  /** What this version changed against the one before (`path: before → after`). */
  changes?: string[];
  /** This version's policy and the one before it (the built-in defaults for version 1). */
  policy?: unknown;
  previous?: unknown;
}

export interface GovernanceException {
  id: string;
  toolId: string;
  accountId: string;
  maxDays: number;
  reason: string;
  riskLevel: RiskLevel;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  reviewStatus: 'pendingReview' | 'reviewed' | string;
  reviewedBy?: string | null;
  revokedAt?: string | null;
  active: boolean;
}

export interface AutoPolicy {
  id: string;
  name: string;
  projectKey: string;
  toolId: string | null;
  autoApprove: boolean;
  allowedGroups: string[];
  maxDays: number | null;
  version: number;
  updatedAt: string;
  updatedBy: string;
  /** The data classes a request may declare and still be approved (issue 35); absent: not looked at. */
  allowedDataClasses?: string[] | null;
}

export interface PolicyCheck {
  policyId: string;
  policyVersion: number;
  scope: 'tool' | 'allTools';
  passed: boolean;
  failedCondition?: string;
  detail?: string;
  matchedGroup?: string;
}

export interface DryRun {
  wouldAutoApprove: boolean;
  deciding?: PolicyCheck | null;
  whyNot: string | null;
  checks: PolicyCheck[];
}

export interface DefinitionSummary {
  id: string;
  name: string;
  description?: string;
  version: number;
  steps: number;
}
