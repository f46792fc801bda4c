//! Parses a model answer into what the timeline and result dialog render: `Label:` sections,
//! the primary lozenge (verdict / risk / compliance / anomaly), the 1–10 confidence chip,
//! `[Field: value]` citations and the teaser. Parsing is forgiving (Markdown bold, bullets as
//! `*`/`•`, curly apostrophes, code fences) because models drift from the format.

use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

use super::system::MISSING_DATA_LINE;

/// `resultTeaser` in the public API is the first 2 000 chars of the result.
pub const TEASER_MAX_CHARS: usize = 2000;

/// Canonical labels of the six built-ins (plus `Req N`, handled separately). Any other
/// `Capitalised Words:` label at the start of a line is accepted too.
pub const KNOWN_LABELS: &[&str] = &[
    "Request",
    "Key Signal",
    "Purpose",
    "Notable",
    "Precedent",
    "What's Missing",
    "Risk Level",
    "Confidence",
    "Top Risks",
    "Top Unmitigated Concern",
    "Compliance",
    "Gaps",
    "Remediation",
    "Verdict",
    "Key Reason",
    "Non-Obvious Signal",
    "Briefing",
    "What",
    "Why",
    "Context",
    "What We Need From You",
    "Anomaly Level",
    "What's Different",
    "What's Consistent",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    pub label: String,
    /// Scalar value, or `- ` bullet lines joined by `\n` for list sections.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LozengeKind {
    Verdict,
    Risk,
    Compliance,
    Anomaly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lozenge {
    pub kind: LozengeKind,
    /// Canonical spelling, e.g. `Needs More Info`, `Partially Compliant`, `Unclear`.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Confidence {
    /// `{"kind":"score","value":7,"reason":"…"}`
    Score { value: u8, reason: String },
    /// `Confidence: N/A` — refusal or hard stop; no analysis was performed.
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    pub field: String,
    pub value: String,
    /// The exact `[Field: value]` text, so the UI can swap it for a chip in place.
    pub raw: String,
    /// Index into `sections` of the section the citation appears in.
    pub section: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedResult {
    pub sections: Vec<Section>,
    pub lozenge: Option<Lozenge>,
    pub confidence: Option<Confidence>,
    pub citations: Vec<Citation>,
    /// The teaser card's section as `Label: body` text (see [`parse`]).
    pub teaser: String,
    /// False for refusals, hard stops (`Confidence: N/A`, the missing-data line) and blank output.
    pub analysis_performed: bool,
}

/// First 2 000 characters (never splits a UTF-8 character).
pub fn teaser_2000(full: &str) -> String {
    full.chars().take(TEASER_MAX_CHARS).collect()
}

/// Splits `text` into sections at label lines. A label line is `Label: value` (scalar) or
/// `Label:` alone followed by `- ` bullets (list). Lines before the first label are kept only
/// when there is no label at all. The teaser is the first section that is not itself a chip
/// (lozenge or confidence) — those render as chips above it — falling back to the first section,
/// then to the first paragraph of unlabelled text.
pub fn parse(text: &str) -> ParsedResult {
    let mut sections: Vec<Section> = Vec::new();
    let mut preamble = String::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") {
            continue;
        }
        if let Some((label, rest)) = split_label(line) {
            sections.push(Section { label, body: rest });
            continue;
        }
        let normalized = normalize_line(line);
        let target = match sections.last_mut() {
            Some(sec) => &mut sec.body,
            None => &mut preamble,
        };
        if target.is_empty() {
            if !normalized.is_empty() {
                target.push_str(&normalized);
            }
        } else {
            target.push('\n');
            target.push_str(&normalized);
        }
    }
    for s in &mut sections {
        s.body = s.body.trim().to_string();
    }
    sections.retain(|s| !s.body.is_empty());

    let lozenge = sections.iter().find_map(|s| lozenge_for(&s.label, &s.body));
    let confidence = sections
        .iter()
        .find(|s| s.label == "Confidence")
        .and_then(|s| parse_confidence(&s.body));

    let mut citations = Vec::new();
    if sections.is_empty() {
        collect_citations(&preamble, None, &mut citations);
    } else {
        for (i, s) in sections.iter().enumerate() {
            collect_citations(&s.body, Some(i), &mut citations);
        }
    }

    let teaser = match sections
        .iter()
        .find(|s| !is_chip_label(&s.label))
        .or_else(|| sections.first())
    {
        Some(s) => render_section(s),
        None => preamble
            .trim()
            .split("\n\n")
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
    };

    let analysis_performed = !text.trim().is_empty()
        && confidence != Some(Confidence::NotApplicable)
        && !text.contains(MISSING_DATA_LINE);

    ParsedResult {
        sections,
        lozenge,
        confidence,
        citations,
        teaser,
        analysis_performed,
    }
}

fn render_section(s: &Section) -> String {
    if s.body.contains('\n') || s.body.starts_with("- ") {
        format!("{}:\n{}", s.label, s.body)
    } else {
        format!("{}: {}", s.label, s.body)
    }
}

fn is_chip_label(label: &str) -> bool {
    label == "Confidence" || lozenge_kind(label).is_some()
}

/// `* x` / `• x` bullets become `- x`; indentation is dropped.
fn normalize_line(line: &str) -> String {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("* ").or_else(|| t.strip_prefix("• ")) {
        format!("- {}", rest.trim_start())
    } else {
        t.to_string()
    }
}

/// `(canonical label, rest of line)` when the line starts with a label.
fn split_label(line: &str) -> Option<(String, String)> {
    let t = line.trim_start();
    // Bullets and citations are never labels ("- Financial: …", "[Budget: 5000]").
    if t.starts_with("- ")
        || (t.starts_with('*') && !t.starts_with("**"))
        || t.starts_with('•')
        || t.starts_with('[')
    {
        return None;
    }
    let t = t.trim_start_matches('#').trim_start();
    let t = t
        .strip_prefix("**")
        .or_else(|| t.strip_prefix("__"))
        .unwrap_or(t);
    let colon = t.find(':')?;
    let raw = t[..colon]
        .trim()
        .trim_end_matches("**")
        .trim_end_matches("__")
        .trim();
    let label = canonical_label(raw)?;
    let rest = t[colon + 1..].trim_start();
    let rest = rest
        .strip_prefix("**")
        .or_else(|| rest.strip_prefix("__"))
        .unwrap_or(rest)
        .trim();
    Some((label, rest.to_string()))
}

fn canonical_label(raw: &str) -> Option<String> {
    let norm = raw.replace('\u{2019}', "'");
    if norm.is_empty() || norm.chars().count() > 40 {
        return None;
    }
    if let Some(k) = KNOWN_LABELS.iter().find(|k| k.eq_ignore_ascii_case(&norm)) {
        return Some((*k).to_string());
    }
    if let Some(n) = req_number(&norm) {
        return Some(format!("Req {n}"));
    }
    let words: Vec<&str> = norm.split_whitespace().collect();
    if words.is_empty() || words.len() > 6 {
        return None;
    }
    if !words[0].chars().next()?.is_uppercase() {
        return None;
    }
    for w in &words {
        let first = w.chars().next()?;
        if !(first.is_uppercase() || first.is_ascii_digit()) {
            return None;
        }
        if !w.chars().all(|c| c.is_alphanumeric() || "'-/&".contains(c)) {
            return None;
        }
    }
    Some(words.join(" "))
}

/// `Req 3`, `Req. 3`, `Requirement 3`, `REQ #3` → 3.
fn req_number(label: &str) -> Option<u32> {
    let lower = label.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("requirement")
        .or_else(|| lower.strip_prefix("req"))?;
    let rest = rest.trim_start_matches(['.', ' ', '#']);
    if rest.is_empty() || rest.len() > 3 || !rest.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

fn lozenge_kind(label: &str) -> Option<LozengeKind> {
    match label.to_ascii_lowercase().as_str() {
        "verdict" => Some(LozengeKind::Verdict),
        "risk level" | "risk" => Some(LozengeKind::Risk),
        "compliance" => Some(LozengeKind::Compliance),
        "anomaly level" => Some(LozengeKind::Anomaly),
        _ => None,
    }
}

/// (accepted spelling, canonical value) per lozenge kind. `Unclear` is accepted everywhere:
/// the system prompt asks for it over confident guesses, and the anomaly hard stop emits it.
fn lozenge_values(kind: LozengeKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        LozengeKind::Verdict => &[
            ("needs more information", "Needs More Info"),
            ("needs more info", "Needs More Info"),
            ("approved", "Approve"),
            ("approve", "Approve"),
            ("rejected", "Reject"),
            ("reject", "Reject"),
            ("unclear", "Unclear"),
        ],
        LozengeKind::Risk => &[
            ("low", "Low"),
            ("medium", "Medium"),
            ("high", "High"),
            ("unclear", "Unclear"),
        ],
        LozengeKind::Compliance => &[
            ("partially compliant", "Partially Compliant"),
            ("partially-compliant", "Partially Compliant"),
            ("non-compliant", "Non-Compliant"),
            ("non compliant", "Non-Compliant"),
            ("noncompliant", "Non-Compliant"),
            ("not compliant", "Non-Compliant"),
            ("compliant", "Compliant"),
            ("unclear", "Unclear"),
        ],
        LozengeKind::Anomaly => &[
            ("none", "None"),
            ("minor", "Minor"),
            ("notable", "Notable"),
            ("significant", "Significant"),
            ("unclear", "Unclear"),
        ],
    }
}

fn lozenge_for(label: &str, body: &str) -> Option<Lozenge> {
    let kind = lozenge_kind(label)?;
    let first = body.lines().next()?;
    let v = first
        .trim()
        .trim_matches(|c: char| c == '*' || c == '_' || c == '`' || c == '"')
        .trim()
        .to_lowercase();
    let mut options: Vec<(&str, &str)> = lozenge_values(kind).to_vec();
    // Longest spelling first, so "partially compliant" wins over "compliant".
    options.sort_by_key(|x| std::cmp::Reverse(x.0.len()));
    for (alias, canonical) in options {
        if let Some(rest) = v.strip_prefix(alias) {
            if rest.chars().next().is_none_or(|c| !c.is_alphanumeric()) {
                return Some(Lozenge {
                    kind,
                    value: canonical.to_string(),
                });
            }
        }
    }
    None
}

/// `7 — reason`, `7/10 - reason`, `**8** (reason)`, `N/A`.
fn parse_confidence(body: &str) -> Option<Confidence> {
    let joined = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = joined.trim_start_matches(['*', '_', '`']).trim();
    let lower = line.to_ascii_lowercase();
    if lower.starts_with("n/a")
        || lower == "na"
        || lower.starts_with("na ")
        || lower.starts_with("not applicable")
    {
        return Some(Confidence::NotApplicable);
    }
    let digits: String = line.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let value: u8 = digits.parse().ok()?;
    if !(1..=10).contains(&value) {
        return None;
    }
    let mut rest = line[digits.len()..]
        .trim_start_matches(['*', '_', '`'])
        .trim_start();
    for suffix in ["/10", "/ 10", "out of 10"] {
        if let Some(r) = rest.strip_prefix(suffix) {
            rest = r;
            break;
        }
    }
    let reason = rest
        .trim_start_matches(|c: char| c.is_whitespace() || "-\u{2013}\u{2014}:,;(".contains(c))
        .trim()
        .trim_end_matches(')')
        .trim()
        .to_string();
    Some(Confidence::Score { value, reason })
}

fn citation_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\[([^\[\]:\n]{1,80}):[ \t]*([^\[\]\n]{1,300})\]")
            .expect("static regex is valid")
    })
}

fn collect_citations(text: &str, section: Option<usize>, out: &mut Vec<Citation>) {
    for caps in citation_re().captures_iter(text) {
        let (Some(whole), Some(field), Some(value)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            continue;
        };
        let field = field.as_str().trim();
        let value = value.as_str().trim();
        // "[10:30]" or "[http://…]" are not citations.
        if field.is_empty()
            || value.is_empty()
            || !field.chars().any(char::is_alphabetic)
            || field.contains("http")
            || value.starts_with("//")
        {
            continue;
        }
        out.push(Citation {
            field: field.to_string(),
            value: value.to_string(),
            raw: whole.as_str().to_string(),
            section,
        });
    }
}

/// The failure panel a failed PROMPT step shows: a stable `category` the UI switches on, what to
/// tell the approver, and where to send them (`settings` | `rerun` | none).
pub fn guidance(
    error_code: Option<&str>,
    error_message: Option<&str>,
) -> Option<serde_json::Value> {
    let code = error_code?;
    let lost = error_message.is_some_and(|m| m == super::worker::LOST_JOB_MESSAGE);
    use super::providers::ErrorCode;
    // The provider's own answers carry its fixed message: its account out of credit is not our
    // monthly budget, and a model it does not know is the model setting, not "not configured".
    let provider_says = |c: ErrorCode| error_message.is_some_and(|m| m == c.user_message());
    let (category, text, action) = match code {
        "BUDGET_EXHAUSTED" if provider_says(ErrorCode::BudgetExhausted) => (
            "providerQuota",
            "The AI provider account has run out of quota or credit. An admin should check billing in the provider's own console (the provider is shown in Settings → AI → General); the app's own monthly budget is not the cause.",
            Some("settings"),
        ),
        "MISCONFIGURED" if provider_says(ErrorCode::Misconfigured) => (
            "modelRejected",
            "The AI provider rejected the request settings, usually a model id it does not offer. An admin should pick another Model in Settings → AI → General.",
            Some("settings"),
        ),
        "BUDGET_EXHAUSTED" => (
            "budgetReached",
            "The monthly AI token budget is reached. An admin can raise the Monthly token budget in Settings → AI → General, or wait: the budget resets at the start of each calendar month (UTC).",
            Some("settings"),
        ),
        "MISCONFIGURED" => (
            "notConfigured",
            "AI Prompt steps are not set up: no provider or API key is saved. An admin can choose the provider and save a key in Settings → AI → General.",
            Some("settings"),
        ),
        "INVALID_KEY" => (
            "invalidKey",
            "The AI provider rejected the API key. An admin should save a new API key in Settings → AI → General.",
            Some("settings"),
        ),
        "OTHER" if lost => (
            "jobLost",
            "The background job running this analysis was lost. Re-run the step to try again.",
            Some("rerun"),
        ),
        "RATE_LIMITED" => ("rateLimited", "The AI provider is rate limiting requests; re-run shortly.", Some("rerun")),
        "TIMEOUT" => ("timeout", "The AI provider did not answer in time; re-run to try again.", Some("rerun")),
        "CONTENT_BLOCKED" => ("contentBlocked", "The AI provider's content filter blocked this analysis.", None),
        "OUTPUT_TRUNCATED" => ("outputTruncated", "The AI answer was cut off at its length limit.", Some("rerun")),
        "EMPTY_RESPONSE" => ("emptyResponse", "The AI provider returned an empty answer; re-run to try again.", Some("rerun")),
        "PROMPT_TOO_LARGE" => ("promptTooLarge", "The prompt is too large; an admin should trim the template or narrow data sharing.", None),
        "UNAVAILABLE" => ("unavailable", "The AI provider is temporarily unavailable; re-run later.", Some("rerun")),
        _ => ("other", "The AI analysis failed unexpectedly; re-run to try again.", Some("rerun")),
    };
    let mut g = serde_json::json!({"category": category, "message": text, "action": action});
    if action == Some("settings") {
        // Where an admin fixes it, exactly, and what everyone else can do (issue 33 item 6).
        g["screen"] = serde_json::json!(SETTINGS_SCREEN);
        g["others"] = serde_json::json!(format!(
            "Only a Jira administrator can fix this: ask one to open {SETTINGS_SCREEN}."
        ));
    }
    Some(g)
}

/// The admin screen every settings-type failure names: the app's admin page, section AI, tab
/// General (`jira:adminPage` at `/jira/settings/apps/<app id>/<environment id>`).
pub const SETTINGS_SCREEN: &str = "Jira settings → Apps → AI Clearance → Settings → AI → General";

#[cfg(test)]
mod tests {
    use super::*;

    // covers: AP-055, AP-190
    // covers: AP-156
    #[test]
    fn guidance_tells_the_providers_quota_from_our_budget_and_a_model_from_setup() {
        use crate::prompt::providers::ErrorCode;
        let ours = guidance(
            Some("BUDGET_EXHAUSTED"),
            Some("the monthly AI token budget is used up"),
        )
        .unwrap();
        assert_eq!(ours["category"], "budgetReached");
        let theirs = guidance(
            Some("BUDGET_EXHAUSTED"),
            Some(ErrorCode::BudgetExhausted.user_message()),
        )
        .unwrap();
        assert_eq!(theirs["category"], "providerQuota");
        assert!(!theirs["message"]
            .as_str()
            .unwrap()
            .contains("monthly AI token budget is reached"));
        let model = guidance(
            Some("MISCONFIGURED"),
            Some(ErrorCode::Misconfigured.user_message()),
        )
        .unwrap();
        assert_eq!(model["category"], "modelRejected");
        assert!(model["message"].as_str().unwrap().contains("model"));
        let setup = guidance(
            Some("MISCONFIGURED"),
            Some("AI Prompt steps are not configured or are disabled (Settings → AI)"),
        )
        .unwrap();
        assert_eq!(setup["category"], "notConfigured");
        // covers: AP-156, CL-905
        // Every settings-type failure names the exact screen and tells non-admins who can fix it.
        for g in [&ours, &theirs, &model, &setup] {
            assert_eq!(g["action"], "settings");
            assert_eq!(g["screen"], SETTINGS_SCREEN);
            assert!(g["message"]
                .as_str()
                .unwrap()
                .contains("Settings → AI → General"));
            assert!(g["others"].as_str().unwrap().contains("Jira administrator"));
        }
        let big = guidance(Some("PROMPT_TOO_LARGE"), None).unwrap();
        assert!(big["message"]
            .as_str()
            .unwrap()
            .contains("trim the template"));
        assert!(
            big["action"].is_null(),
            "re-running the same template cannot help"
        );
    }

    #[test]
    fn summary_sample_yields_its_sections_in_order() {
        let out = "Request: <user-1> asks for a 12-month Figma Enterprise licence for 40 seats [Budget Amount: 48000].\n\
                   Key Signal: Finance flagged the cost centre as over budget in a comment [Cost Centre: CC-118].\n\
                   Purpose: Consolidate design tooling.\n\
                   Notable:\n\
                   - Two earlier approvals for the same vendor were rejected.\n\
                   * Renewal date is next month.\n\
                   What\u{2019}s Missing:\n\
                   - A signed quote.\n";
        let r = parse(out);
        let labels: Vec<&str> = r.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Request",
                "Key Signal",
                "Purpose",
                "Notable",
                "What's Missing"
            ]
        );
        assert_eq!(
            r.sections[3].body,
            "- Two earlier approvals for the same vendor were rejected.\n- Renewal date is next month."
        );
        assert_eq!(r.lozenge, None);
        assert_eq!(r.confidence, None);
        assert!(r.teaser.starts_with("Request: <user-1> asks for"));
        assert!(r.analysis_performed);
    }

    // covers: AP-056, AP-190, AP-192
    #[test]
    fn risk_sample_gives_lozenge_confidence_and_list() {
        let out = "**Risk Level:** High\n\
                   **Confidence**: 7/10 — the budget is known but no precedent exists.\n\
                   Top Risks:\n\
                   - Financial: spend exceeds the cost-centre cap [Budget Amount: 48000].\n\
                   - Vendor: new supplier with no security review.\n\
                   Top Unmitigated Concern: No DPA is attached.";
        let r = parse(out);
        assert_eq!(
            r.lozenge,
            Some(Lozenge {
                kind: LozengeKind::Risk,
                value: "High".into()
            })
        );
        assert_eq!(
            r.confidence,
            Some(Confidence::Score {
                value: 7,
                reason: "the budget is known but no precedent exists.".into()
            })
        );
        // Bullets with "Dimension:" prefixes stay inside the list, they are not labels.
        assert_eq!(r.sections.len(), 4);
        assert_eq!(r.sections[2].label, "Top Risks");
        assert!(r.sections[2].body.starts_with("- Financial: spend"));
        // The teaser skips the chip sections (Risk Level, Confidence).
        assert!(r.teaser.starts_with("Top Risks:\n- Financial"));
        assert_eq!(r.citations.len(), 1);
        assert_eq!(r.citations[0].field, "Budget Amount");
        assert_eq!(r.citations[0].value, "48000");
        assert_eq!(r.citations[0].section, Some(2));
    }

    // covers: AP-057, AP-190
    #[test]
    fn compliance_sample_gives_req_lines() {
        let out = "Compliance: Partially Compliant\nConfidence: 6 - two rules lack evidence\n\
                   Req 1: Satisfied — quote attached [Attachment: quote.pdf]\n\
                   Req. 2: Violated — no second approver\n\
                   REQ 3: Satisfied with exception — renewal exemption applies\n\
                   Gaps:\n- Rule 2 needs a second approver.\nRemediation:\n- Add a finance approver.";
        let r = parse(out);
        assert_eq!(
            r.lozenge,
            Some(Lozenge {
                kind: LozengeKind::Compliance,
                value: "Partially Compliant".into()
            })
        );
        let labels: Vec<&str> = r.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Compliance",
                "Confidence",
                "Req 1",
                "Req 2",
                "Req 3",
                "Gaps",
                "Remediation"
            ]
        );
        assert!(r.sections[4].body.starts_with("Satisfied with exception"));
        assert_eq!(
            r.teaser,
            "Req 1: Satisfied — quote attached [Attachment: quote.pdf]"
        );
        let nc = parse("Compliance: Non-Compliant.\nConfidence: 9 — clear breach");
        assert_eq!(
            nc.lozenge.map(|l| l.value),
            Some("Non-Compliant".to_string())
        );
    }

    // covers: AP-058, AP-192
    #[test]
    fn recommendation_sample_gives_verdict() {
        let r = parse(
            "Verdict: needs more info\nConfidence: 4 — quote missing\nKey Reason: No quote.\n\
             Non-Obvious Signal: The requester is also the budget owner.\nPrecedent: No precedent supplied.",
        );
        assert_eq!(
            r.lozenge,
            Some(Lozenge {
                kind: LozengeKind::Verdict,
                value: "Needs More Info".into()
            })
        );
        assert_eq!(r.teaser, "Key Reason: No quote.");
        assert!(matches!(
            r.confidence,
            Some(Confidence::Score { value: 4, .. })
        ));
    }

    // covers: AP-059, AP-190
    #[test]
    fn briefing_sample_keeps_long_label() {
        let r = parse(
            "Briefing: Please approve a 40-seat licence.\nWhat: 40 seats, 48 000 EUR, from 1 March.\n\
             Why: Design tooling consolidation [Purpose: consolidation].\nContext: Ticket [Work item: FIN-42].\n\
             What we need from you:\n- Approve or reject by 28 February.",
        );
        assert_eq!(
            r.sections.last().map(|s| s.label.as_str()),
            Some("What We Need From You")
        );
        assert_eq!(r.citations.len(), 2);
        assert_eq!(r.citations[1].raw, "[Work item: FIN-42]");
    }

    // covers: AP-060, AP-061, AP-193
    #[test]
    fn anomaly_hard_stop_is_unclear_and_not_performed() {
        let r = parse("Anomaly Level: Unclear\nConfidence: N/A");
        assert_eq!(
            r.lozenge,
            Some(Lozenge {
                kind: LozengeKind::Anomaly,
                value: "Unclear".into()
            })
        );
        assert_eq!(r.confidence, Some(Confidence::NotApplicable));
        assert!(!r.analysis_performed);
        assert_eq!(r.teaser, "Anomaly Level: Unclear");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["confidence"]["kind"], "notApplicable");
        assert_eq!(json["lozenge"]["kind"], "anomaly");
        assert_eq!(json["analysisPerformed"], false);

        let full = parse(
            "Anomaly Level: Notable\nConfidence: 8 — five close precedents\nWhat's Different:\n\
             - Amount: 5 000 → 48 000 — ten times the usual spend.\nWhat's Consistent:\n- Same vendor.",
        );
        assert_eq!(full.lozenge.map(|l| l.value), Some("Notable".to_string()));
        assert!(full.analysis_performed);
    }

    // covers: AP-093, AP-193
    #[test]
    fn missing_data_line_is_not_an_analysis() {
        let r = parse(&format!("{}\nConfidence: N/A", MISSING_DATA_LINE));
        assert!(!r.analysis_performed);
        assert!(!parse("").analysis_performed);
    }

    // covers: AP-191
    #[test]
    fn citations_are_extracted_and_non_citations_ignored() {
        let r = parse("Key Reason: Over cap [Budget Amount: 5000] and [Priority: High]; see [10:30] and [link](x).");
        let pairs: Vec<(&str, &str)> = r
            .citations
            .iter()
            .map(|c| (c.field.as_str(), c.value.as_str()))
            .collect();
        assert_eq!(pairs, [("Budget Amount", "5000"), ("Priority", "High")]);
    }

    #[test]
    fn unlabelled_text_falls_back_to_first_paragraph() {
        let r = parse("The model ignored the format.\nSecond line.\n\nAnother paragraph.");
        assert!(r.sections.is_empty());
        assert_eq!(r.teaser, "The model ignored the format.\nSecond line.");
        // Lowercase prose with a colon is not a label.
        let r = parse("note that the vendor: Acme\nVerdict: Approve");
        assert_eq!(r.sections.len(), 1);
        assert_eq!(r.lozenge.map(|l| l.value), Some("Approve".to_string()));
    }

    #[test]
    fn confidence_out_of_range_is_ignored() {
        assert_eq!(parse("Confidence: 11 — sure").confidence, None);
        assert_eq!(parse("Confidence: high").confidence, None);
        assert_eq!(
            parse("Confidence: 10").confidence,
            Some(Confidence::Score {
                value: 10,
                reason: String::new()
            })
        );
    }

    // covers: AP-241
    #[test]
    fn teaser_2000_cuts_on_char_boundaries() {
        let long: String = "é".repeat(3000);
        let t = teaser_2000(&long);
        assert_eq!(t.chars().count(), 2000);
        assert_eq!(teaser_2000("short"), "short");
    }
}
