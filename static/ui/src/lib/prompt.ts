/**
 * Presentation of the AI Prompt step's parsed result. The parsing itself is the server's
 * (guest/src/prompt/result.rs): `approvals.forIssue` gives each PROMPT step its `teaserCard` and
 * `guidance`, `ai.execution` its `parsed` sections. Here: colours, chip text, citation chips.
 */
import type { Confidence, ParsedResult, PromptLozenge, Section } from '../types';
import type { LozengeAppearance } from '../components/ui';

/** The section labels whose value is the primary lozenge, by lozenge kind. */
const LOZENGE_LABELS: Record<PromptLozenge['kind'], string[]> = {
  verdict: ['Verdict'],
  risk: ['Risk Level', 'Risk'],
  compliance: ['Compliance'],
  anomaly: ['Anomaly Level'],
};

/** Lozenge colours for the primary verdict / risk / compliance / anomaly value. */
export function lozengeAppearance(l: PromptLozenge | null | undefined): LozengeAppearance {
  if (!l) return 'default';
  const v = l.value;
  switch (l.kind) {
    case 'verdict':
      return v === 'Approve' ? 'success' : v === 'Reject' ? 'removed' : v === 'Needs More Info' ? 'moved' : 'default';
    case 'risk':
      return v === 'Low' ? 'success' : v === 'Medium' ? 'moved' : v === 'High' ? 'removed' : 'default';
    case 'compliance':
      return v === 'Compliant' ? 'success' : v === 'Partially Compliant' ? 'moved' : v === 'Non-Compliant' ? 'removed' : 'default';
    case 'anomaly':
      return v === 'None' ? 'success' : v === 'Minor' ? 'inprogress' : v === 'Notable' ? 'moved' : v === 'Significant' ? 'removed' : 'default';
  }
  return 'default';
}

export function lozengeText(l: PromptLozenge): string {
  const prefix = { verdict: 'Verdict', risk: 'Risk', compliance: 'Compliance', anomaly: 'Anomaly' }[l.kind];
  // One vocabulary on every screen: the model's "Reject" verdict reads as Deny.
  const value = l.kind === 'verdict' && l.value === 'Reject' ? 'Deny' : l.value;
  return `${prefix}: ${value}`;
}

export function confidenceText(c: Confidence): string {
  return c.kind === 'score' ? `Confidence: ${c.value}/10` : 'Confidence: N/A';
}

/** A section card's lozenge: the parsed value for the chip sections, a category for the others. */
export function sectionLozenge(s: Section, parsed: ParsedResult): { text: string; appearance: LozengeAppearance } {
  const l = parsed.lozenge;
  if (l && LOZENGE_LABELS[l.kind].includes(s.label)) return { text: l.value, appearance: lozengeAppearance(l) };
  if (s.label === 'Confidence') {
    const c = parsed.confidence;
    return { text: c ? (c.kind === 'score' ? `${c.value}/10` : 'N/A') : 'Confidence', appearance: 'new' };
  }
  const attention = ['Top Risks', 'Top Unmitigated Concern', 'Gaps', "What's Missing", 'What We Need From You', "What's Different"];
  const signal = ['Key Signal', 'Non-Obvious Signal', 'Notable', 'Key Reason'];
  const context = ['Precedent', 'Remediation', "What's Consistent", 'Context'];
  if (attention.includes(s.label)) return { text: 'Attention', appearance: 'moved' };
  if (signal.includes(s.label)) return { text: 'Signal', appearance: 'inprogress' };
  if (context.includes(s.label)) return { text: 'Context', appearance: 'default' };
  if (/^Req \d+$/.test(s.label)) return { text: 'Requirement', appearance: 'new' };
  return { text: 'Summary', appearance: 'default' };
}

export type Piece = { text: string } | { field: string; value: string; raw: string };

const CITATION = /\[([^[\]:\n]{1,80}):[ \t]*([^[\]\n]{1,300})\]/g;

/** Splits text into plain pieces and `[Field: value]` citations (the rules of result.rs). */
export function splitCitations(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(CITATION)) {
    const field = m[1].trim();
    const value = m[2].trim();
    if (!field || !value || !/\p{L}/u.test(field) || field.includes('http') || value.startsWith('//')) continue;
    const at = m.index ?? 0;
    if (at > last) out.push({ text: text.slice(last, at) });
    out.push({ field, value, raw: m[0] });
    last = at + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}
