/** Shapes of the Settings → AI resolvers (guest/src/prompt/service.rs, settings.rs, templates.rs). */

export type Provider = 'anthropic' | 'openai' | 'groq' | 'openrouter' | 'forge-llm';

export const PROVIDERS: { id: Provider; label: string }[] = [
  { id: 'anthropic', label: 'Anthropic' },
  { id: 'openai', label: 'OpenAI' },
  { id: 'groq', label: 'Groq' },
  { id: 'openrouter', label: 'OpenRouter' },
  { id: 'forge-llm', label: 'Atlassian-hosted (Forge LLMs)' },
];

/** Forge LLMs: Claude run by Atlassian through the app's `llm` module — no egress, no API key. */
export const needsApiKey = (p: Provider) => p !== 'forge-llm';

/** admin.ai.general.get (and the General part of admin.ai.settings.get / save). */
export interface GeneralView {
  provider: Provider;
  model: string;
  models: string[];
  /** null for Forge LLMs (no key). */
  keyPageUrl: string | null;
  /** "••••7f3a" — the last 4 characters only; null when no key is stored. */
  keyFingerprint: string | null;
  enabled: boolean;
  monthlyTokenBudget: number;
  temperature: number;
  locale?: string;
  status: 'READY' | 'NOT_CONFIGURED' | 'DISABLED' | 'OVER_BUDGET' | string;
  usageStatus: string;
  usagePercent: number;
}

/** admin.ai.dataSharing.get */
export interface DataSharingView {
  piiSensitive: boolean;
  includeComments: boolean;
  includeAttachments: boolean;
  includeLinkedItems: boolean;
  includeSubtasks: boolean;
  includePrecedents: boolean;
  customFieldWhitelist: string[];
  allowAllCustomFields: boolean;
  usageStatus: string;
  usagePercent: number;
}

/** admin.ai.settings.get / save: everything. */
export type SettingsView = GeneralView & DataSharingView;

export interface ModelsAnswer {
  provider: Provider;
  models: string[];
  keyPageUrl: string | null;
  customModelAllowed: boolean;
}

export interface TestAnswer {
  ok: boolean;
  errorCode?: string;
  message?: string;
}

export interface JiraField {
  id: string;
  name: string;
  whitelisted: boolean;
}

export interface PromptTemplate {
  id: string;
  name: string;
  description: string;
  body: string;
  builtin: boolean;
}

export interface PreviewAnswer {
  system: string;
  user: string;
  characters: number;
  estimatedTokens: number;
  warning: boolean;
  tooLarge: boolean;
}

export interface UsageRow {
  definitionId: string;
  name: string;
  tokens: number;
  executions: number;
  errors: number;
}

export interface UsageAnswer {
  month: string;
  tokensUsed: number;
  budget: number;
  percent: number;
  status: string;
  banner: boolean;
  executions: number;
  errors: number;
  definitions: UsageRow[];
  sort: string;
  direction: 'asc' | 'desc';
}

export interface StepFormInfo {
  blocked: 'NOT_CONFIGURED' | 'DISABLED' | 'OVER_BUDGET' | null;
  showCustomFieldPicker: boolean;
  templates: { id: string; name: string; builtin: boolean }[];
}

export const TEMPLATE_LIMITS = { name: 120, description: 500, body: 4000, custom: 50 };
/** The preview warns from this many estimated tokens (service.rs TOKEN_WARNING). */
export const TOKEN_WARNING = 8000;
