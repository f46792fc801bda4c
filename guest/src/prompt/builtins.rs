//! The six read-only built-in prompt templates. Each body is OlivLang (minijinja) and tells the
//! model exactly which canonical `Label:` lines to emit, with per-section sentence/bullet counts,
//! so the result parser can build lozenges, confidence chips and section cards.
//!
//! Interpolations are guarded (`{% if issue %}`) so a body renders under minijinja's default
//! lenient undefined behaviour even when a variable is absent. Everything a body interpolates
//! sits above `## Request`: the system prompt treats that region as untrusted data.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTemplate {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub body: &'static str,
}

/// Same limit as custom template bodies.
pub const BODY_MAX_CHARS: usize = 4000;

pub const BUILTINS: [BuiltinTemplate; 6] = [
    BuiltinTemplate {
        id: "builtin:summary",
        name: "Summary for approver",
        description: "A one-minute briefing: the request, the signal an approver is most likely to miss, and what a strict reviewer would ask for.",
        body: SUMMARY,
    },
    BuiltinTemplate {
        id: "builtin:risk",
        name: "Risk assessment",
        description: "Risk level (Low / Medium / High) with confidence, up to three ranked risks chosen from the data, and the top unmitigated concern.",
        body: RISK,
    },
    BuiltinTemplate {
        id: "builtin:compliance",
        name: "Policy compliance check",
        description: "Checks the request against your numbered policy rules (paste them into the template) and an optional Exceptions block.",
        body: COMPLIANCE,
    },
    BuiltinTemplate {
        id: "builtin:recommendation",
        name: "Decision recommendation",
        description: "Approve / Reject / Needs More Info with confidence, the key reason, a non-obvious signal and precedent.",
        body: RECOMMENDATION,
    },
    BuiltinTemplate {
        id: "builtin:briefing",
        name: "External reviewer briefing",
        description: "A self-contained briefing for an external approver deciding by email: the ask, the numbers, the reason and what is needed from them.",
        body: BRIEFING,
    },
    BuiltinTemplate {
        id: "builtin:anomaly",
        name: "Anomaly detection",
        description: "Compares this approval with precedent approvals of the same definition and ranks what diverges. Needs precedent approvals enabled.",
        body: ANOMALY,
    },
];

/// Looks a built-in up by id (`builtin:risk`).
pub fn builtin(id: &str) -> Option<&'static BuiltinTemplate> {
    BUILTINS.iter().find(|b| b.id == id)
}

pub fn is_builtin_id(id: &str) -> bool {
    builtin(id).is_some()
}

const SUMMARY: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}
## Request
Write a summary that lets a busy approver understand this request in under a minute. Base it only on the Work Item Data and Approval Data supplied with this prompt, and cite load-bearing facts as [Field: value].

Emit these labels in this order and nothing else. Honour these counts exactly; do not pad. Leave an optional label out entirely when the data gives you nothing real for it.

Request: exactly 1 sentence - who is asking for what, how much or how many, and by when.
Key Signal: exactly 1 sentence - the single fact an approver is most likely to miss (a dissenting comment, an unusual amount, a tight deadline, a missing approval, an earlier prompt step's finding).
Purpose: optional, exactly 1 sentence - the business reason, from the definition description or the work item.
Notable: optional, on its own line, followed by 1 to 3 "- " bullets of one sentence each - facts that change the picture (custom-field values, linked work items, attachments, step decisions).
Precedent: optional, exactly 1 sentence - how this compares with the crossApprovals precedent; leave it out when there is none.
What's Missing: optional, on its own line, followed by 1 to 3 "- " bullets of one sentence each - the gaps a strict reviewer would flag (a quote, an owner, a budget line, an approver, a date).

Do not recommend approving or rejecting; this is a summary, not a verdict.
"##;

const RISK: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}{% if issue.fields.priority %} (priority {{ issue.fields.priority.name }}){% endif %}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}
## Request
Assess the risk of approving this request. Use only the Work Item Data and Approval Data supplied with this prompt and cite load-bearing facts as [Field: value].

Emit these labels in this order and nothing else. Honour these counts exactly; do not pad.

Risk Level: exactly one of Low | Medium | High, and nothing else on the line.
Confidence: an integer from 1 to 10, then " - " and exactly 1 sentence saying what the confidence rests on.
Top Risks: on its own line, followed by 1 to 3 "- " bullets ranked from most to least serious. Write each as "Dimension: one sentence on the risk and its likely impact". Choose the dimensions the data actually supports - for example Financial, Compliance, Operational, Reputational, Schedule, Vendor, Data Privacy, Security - rather than a fixed list, and never invent a risk to reach three.
Top Unmitigated Concern: exactly 1 sentence - the most serious risk that nothing in the data mitigates yet, or "None identified" when every listed risk already has a mitigation.

Low means routine with no material exposure; Medium means real exposure with visible mitigations; High means material exposure that is unmitigated or hard to reverse. When key facts are missing, say so in the Confidence sentence rather than guessing.
"##;

const COMPLIANCE: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}
## Policy rules
Admin: replace the numbered placeholder lines below with your policy, one numbered rule per line, then delete this instruction line.
1. REPLACE WITH RULE 1 (for example, purchases over 10 000 need a signed quote attached)
2. REPLACE WITH RULE 2 (for example, a finance approver must approve any new vendor)
3. REPLACE WITH RULE 3

## Exceptions (optional - delete this block if there are none)
- REPLACE WITH AN EXCEPTION (for example, renewals of an existing contract are exempt from rule 1)

## Request
Check the request against every numbered rule above, using only the Work Item Data and Approval Data supplied with this prompt. Cite the evidence for each finding as [Field: value].

If the rules above still read "REPLACE WITH", do not check anything: output exactly "Compliance: Unclear", then "Confidence: N/A", then "Gaps:" followed by the single bullet "- The template still contains placeholder rules; an admin must paste the policy." and stop.

Otherwise emit these labels in this order and nothing else. Honour these counts exactly; do not pad.

Compliance: exactly one of Compliant | Partially Compliant | Non-Compliant. Compliant when every rule is Satisfied or Satisfied with exception; Non-Compliant when any rule is Violated; Partially Compliant when no rule is Violated but at least one is Unclear.
Confidence: an integer from 1 to 10, then " - " and exactly 1 sentence.
Req N: one line per numbered rule, in rule order, for example "Req 1: Satisfied - 1 sentence citing the evidence". The status is exactly one of Satisfied | Violated | Unclear | Satisfied with exception. Use Satisfied with exception only when an entry in the Exceptions block explicitly covers the case, and name that exception. Use Unclear when the data neither proves nor disproves the rule.
Gaps: on its own line, followed by one "- " bullet per Violated or Unclear rule (one sentence each), or the single bullet "- None".
Remediation: on its own line, followed by one "- " bullet per gap with the concrete action that would close it (one sentence each), or the single bullet "- None".
"##;

const RECOMMENDATION: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}
## Request
Recommend a decision for the human approver. Use only the Work Item Data and Approval Data supplied with this prompt, including step decisions and comments, earlier prompt-step results and the crossApprovals precedent. Cite load-bearing facts as [Field: value].

Emit these labels in this order and nothing else. Honour these counts exactly; do not pad.

Verdict: exactly one of Approve | Reject | Needs More Info, and nothing else on the line.
Confidence: an integer from 1 to 10, then " - " and exactly 1 sentence.
Key Reason: exactly 1 sentence giving the deciding reason, citing at least one fact as [Field: value].
Non-Obvious Signal: exactly 1 sentence on something in the comments, history, custom fields or precedent that a quick reader would miss, or "None found" when nothing qualifies.
Precedent: exactly 1 sentence on how comparable crossApprovals were decided, or "No precedent supplied" when crossApprovals is empty.

Prefer Needs More Info over a confident guess whenever a deciding fact is missing, and name that fact in Key Reason. This is advice for the approver, not the decision.
"##;

const BRIEFING: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}{% if approval.decisionDeadline %} (decision deadline {{ approval.decisionDeadline }}){% endif %}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}
## Request
Write a briefing for an external reviewer who will approve or reject this request from an email. They have no access to Jira or to this app, so the briefing must stand on its own. Use only the Work Item Data and Approval Data supplied with this prompt.

Refer to people by their role (requester, budget owner, finance approver, assignee), never by a name or a <user-N> token. Leave out internal identifiers: account ids, custom-field ids, step ids, internal URLs and internal team codes.

Emit these labels in this order and nothing else. Honour these counts exactly; do not pad.

Briefing: exactly 1 sentence - the ask, phrased as a request to the reviewer.
What: 1 to 2 sentences - what is being requested, with the concrete numbers, amounts and dates from the data.
Why: 1 to 2 sentences - the business reason, citing at least one specific anchor as [Field: value].
Context: 1 to 2 sentences - where this comes from, citing the ticket or approval, for example [Work item: KEY-123].
What We Need From You: on its own line, followed by 1 to 3 "- " bullets of one sentence each - the specific decision (approve or reject), any documents or confirmations requested, and the deadline when one is set.
"##;

const ANOMALY: &str = r##"## Context
{% if approval %}Approval: {{ approval.name }}
{% endif %}{% if issue %}Work item: {{ issue.key }} - {{ issue.fields.summary }}
{% endif %}{% if definition and definition.description %}Business purpose: {{ definition.description }}
{% endif %}Precedent approvals supplied: {% if crossApprovals %}{{ crossApprovals | length }}{% else %}0{% endif %}

## Request
Compare this approval with the precedent approvals in crossApprovals (earlier approvals of the same definition) and call out where it diverges from that baseline: amounts, scope, vendor, timing, approvers, step decisions, dissent in comments, custom-field values.

HARD STOP: if crossApprovals is missing or empty, there is no baseline. Output exactly these two lines and nothing else, then stop:
Anomaly Level: Unclear
Confidence: N/A
Never invent a baseline from general knowledge.

Otherwise emit these labels in this order and nothing else. Honour these counts exactly; do not pad.

Anomaly Level: exactly one of None | Minor | Notable | Significant, and nothing else on the line.
Confidence: an integer from 1 to 10, then " - " and exactly 1 sentence; more precedents and closer matches justify higher confidence.
What's Different: on its own line, followed by 1 to 5 "- " bullets ranked by impact, each written as "Dimension: baseline → current - implication" and citing the current value as [Field: value]; use the single bullet "- Nothing material" when Anomaly Level is None.
What's Consistent: on its own line, followed by 1 to 3 "- " bullets of one sentence each - where this approval matches its precedent.
"##;

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(id: &str) -> &'static [&'static str] {
        match id {
            "builtin:summary" => &[
                "Request:",
                "Key Signal:",
                "Purpose:",
                "Notable:",
                "Precedent:",
                "What's Missing:",
            ],
            "builtin:risk" => &[
                "Risk Level:",
                "Confidence:",
                "Top Risks:",
                "Top Unmitigated Concern:",
            ],
            "builtin:compliance" => &[
                "Compliance:",
                "Confidence:",
                "Req N:",
                "Gaps:",
                "Remediation:",
            ],
            "builtin:recommendation" => &[
                "Verdict:",
                "Confidence:",
                "Key Reason:",
                "Non-Obvious Signal:",
                "Precedent:",
            ],
            "builtin:briefing" => &[
                "Briefing:",
                "What:",
                "Why:",
                "Context:",
                "What We Need From You:",
            ],
            "builtin:anomaly" => &[
                "Anomaly Level:",
                "Confidence:",
                "What's Different:",
                "What's Consistent:",
            ],
            _ => &[],
        }
    }

    // covers: AP-053
    #[test]
    fn six_builtins_in_spec_order() {
        let ids: Vec<&str> = BUILTINS.iter().map(|b| b.id).collect();
        assert_eq!(
            ids,
            [
                "builtin:summary",
                "builtin:risk",
                "builtin:compliance",
                "builtin:recommendation",
                "builtin:briefing",
                "builtin:anomaly"
            ]
        );
        assert_eq!(
            builtin("builtin:risk").map(|b| b.name),
            Some("Risk assessment")
        );
        assert!(!is_builtin_id("custom:1"));
    }

    // covers: AP-052, AP-054
    #[test]
    fn every_body_fits_the_limits_and_demands_exact_counts() {
        for b in BUILTINS.iter() {
            assert!(
                b.body.chars().count() <= BODY_MAX_CHARS,
                "{} is too long",
                b.id
            );
            assert!(b.name.chars().count() <= 120);
            assert!(b.description.chars().count() <= 500);
            assert!(
                b.body.contains("Honour these counts exactly; do not pad."),
                "{} lacks the counts rule",
                b.id
            );
            assert!(
                b.body.contains("## Request"),
                "{} lacks the trust marker",
                b.id
            );
            // Interpolated data sits above the marker (untrusted), instructions below it.
            let marker = b.body.find("## Request").unwrap();
            assert!(b.body.find("{{").unwrap() < marker, "{}", b.id);
            assert!(
                b.body.contains("[Field: value]"),
                "{} does not ask for citations",
                b.id
            );
        }
    }

    // covers: AP-055, AP-056, AP-057, AP-058, AP-059, AP-060
    #[test]
    fn every_body_names_its_canonical_labels_in_order() {
        for b in BUILTINS.iter() {
            let labels = labels_of(b.id);
            assert!(!labels.is_empty());
            let mut from = b.body.find("## Request").unwrap();
            for label in labels {
                let at = b.body[from..]
                    .find(&format!("\n{label}"))
                    .unwrap_or_else(|| panic!("{} lacks {label} (in order)", b.id));
                from += at + 1;
            }
        }
    }

    // covers: AP-056, AP-057, AP-058, AP-060
    #[test]
    fn enumerated_values_are_spelled_out() {
        let body = |id: &str| builtin(id).unwrap().body;
        assert!(body("builtin:risk").contains("Low | Medium | High"));
        assert!(body("builtin:risk").contains("1 to 3 \"- \" bullets ranked"));
        assert!(body("builtin:risk").contains("Data Privacy"));
        assert!(
            body("builtin:compliance").contains("Compliant | Partially Compliant | Non-Compliant")
        );
        assert!(body("builtin:compliance")
            .contains("Satisfied | Violated | Unclear | Satisfied with exception"));
        assert!(body("builtin:recommendation").contains("Approve | Reject | Needs More Info"));
        assert!(body("builtin:anomaly").contains("None | Minor | Notable | Significant"));
        assert!(body("builtin:anomaly").contains("baseline → current"));
    }

    // covers: AP-057
    #[test]
    fn compliance_has_rule_placeholders_and_optional_exceptions() {
        let b = builtin("builtin:compliance").unwrap().body;
        assert!(b.contains("## Policy rules\n"));
        assert!(b.contains("\n1. REPLACE WITH RULE 1"));
        assert!(b.contains("## Exceptions (optional"));
    }

    // covers: AP-059
    #[test]
    fn briefing_uses_roles_and_strips_identifiers() {
        let b = builtin("builtin:briefing").unwrap().body;
        assert!(b.contains("Refer to people by their role"));
        assert!(b.contains("Leave out internal identifiers"));
        assert!(b.contains("Briefing: exactly 1 sentence"));
    }

    // covers: AP-061
    #[test]
    fn anomaly_has_the_hard_stop_and_is_the_only_crossapprovals_baseline() {
        let b = builtin("builtin:anomaly").unwrap().body;
        assert!(b.contains("HARD STOP: if crossApprovals is missing or empty"));
        assert!(b.contains("\nAnomaly Level: Unclear\nConfidence: N/A\n"));
        // The hard-stop output parses as the spec describes.
        let parsed = super::super::result::parse("Anomaly Level: Unclear\nConfidence: N/A");
        assert_eq!(parsed.lozenge.map(|l| l.value), Some("Unclear".to_string()));
        for other in BUILTINS.iter().filter(|t| t.id != "builtin:anomaly") {
            assert!(!other.body.contains("HARD STOP"), "{}", other.id);
        }
    }
}
