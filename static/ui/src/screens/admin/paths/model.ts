/** Approval definitions as admin.definitions.get returns and admin.definitions.save takes them
 *  (guest/src/approvals/definition.rs: a step is flat — common fields plus its type's config). */

export type StepType = 'USER' | 'GROUP' | 'AUTOMATION' | 'HTTP' | 'EMAIL' | 'PROMPT';
export type Phase = 'steps' | 'successSteps' | 'rejectionSteps' | 'expirationSteps';

export const PHASES: { id: Phase; label: string; hint: string }[] = [
  { id: 'steps', label: 'Steps', hint: 'The path itself: people decide here, in parallel groups one after another.' },
  { id: 'successSteps', label: 'On success', hint: 'Run after the path is approved.' },
  { id: 'rejectionSteps', label: 'On denial', hint: 'Run after the path is denied.' },
  { id: 'expirationSteps', label: 'On expiration', hint: 'Run when the decision deadline passes without a decision.' },
];

export type Quorum = { kind: 'any' } | { kind: 'all' } | { kind: 'count'; count: number };

export interface StepDraft {
  id?: string;
  type: StepType;
  name: string;
  action?: string;
  parallelGroupNumber: number;
  condition?: { id: string; expression: string } | null;
  labelCondition?: string | null;
  // USER
  approvers?: string[];
  delegates?: Record<string, string[]>;
  quorum?: Quorum;
  // GROUP
  group?: string;
  // AUTOMATION
  comment?: string;
  transition?: string | null;
  // HTTP
  method?: string;
  url?: string;
  headers?: [string, string][];
  body?: string | null;
  // EMAIL
  event?: string;
  recipients?: string[];
  // PROMPT (body shared with HTTP)
  promptTemplate?: string | null;
  customFields?: string[];
  [k: string]: unknown;
}

export interface DefinitionDraft {
  id: string;
  name: string;
  description: string;
  version?: number;
  steps: StepDraft[];
  successSteps: StepDraft[];
  rejectionSteps: StepDraft[];
  expirationSteps: StepDraft[];
  decisionDeadlineHours?: number | null;
  validityDays?: number | null;
  updatedAt?: string;
}

export interface DefinitionSummary {
  id: string;
  name: string;
  description: string;
  version: number;
  steps: number;
}

export interface MessageTemplate {
  event: string;
  subject: string;
  body: string;
  custom: boolean;
}

export const STEP_TYPES: { type: StepType; label: string; hint: string; human: boolean; isNew?: boolean }[] = [
  { type: 'USER', label: 'User approval', hint: 'Named people decide (all, any or a count).', human: true },
  { type: 'GROUP', label: 'Group approval', hint: 'Members of a Jira group decide.', human: true },
  { type: 'AUTOMATION', label: 'Automation', hint: 'Comment on the work item, optionally run a transition.', human: false },
  { type: 'HTTP', label: 'HTTP request', hint: 'Call an https:// endpoint with a templated body.', human: false },
  { type: 'EMAIL', label: 'Email', hint: 'Send a message template (Settings → Messages).', human: false },
  { type: 'PROMPT', label: 'Prompt', hint: 'An AI analysis of the approval, written onto the step.', human: false, isNew: true },
];

export const TYPE_LABEL: Record<StepType, string> = Object.fromEntries(STEP_TYPES.map((t) => [t.type, t.label])) as Record<StepType, string>;

export function newStep(type: StepType, name: string, group: number): StepDraft {
  const base = { type, name, action: '', parallelGroupNumber: group, condition: null, labelCondition: null };
  switch (type) {
    case 'USER':
      return { ...base, approvers: [], delegates: {}, quorum: { kind: 'all' } };
    case 'GROUP':
      return { ...base, group: '', quorum: { kind: 'any' } };
    case 'AUTOMATION':
      return { ...base, comment: '', transition: null };
    case 'HTTP':
      return { ...base, method: 'POST', url: 'https://', headers: [], body: null };
    case 'EMAIL':
      return { ...base, event: 'APPROVAL_COMPLETED', recipients: ['reporter'] };
    case 'PROMPT':
      return { ...base, promptTemplate: null, body: '', customFields: [] };
  }
}

/** The message events (email.rs EVENTS) and what each is for. */
export const EVENT_LABEL: Record<string, string> = {
  CALL_FOR_ACTION: 'Call for action — a decider is asked to decide',
  WATCHER_NOTIFICATION: 'Watcher notification — the approval changed',
  DEADLINE_REMINDER: 'Deadline reminder',
  EXTERNAL_APPROVER: 'External approver',
  VOTING: 'Voting',
  APPROVAL_COMPLETED: 'Approval completed',
};

