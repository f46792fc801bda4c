//! What data may go into a tool (issue 35): the site's data classes, each tool's data profile
//! (the classes it is approved for and the vendor's terms as an admin recorded them), and the
//! policy over the classes a requester declares.
//!
//! The policy is one pure function, [`assess`], used by the places that change state: intake
//! refuses a request that declares a class governance prohibits for the tool, and the decision
//! kernel never approves without a person a request that declares a class the tool's profile
//! does not list (or that governance sends to review). Screens only show its answers.

use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The site's data classes until governance names its own list.
pub const DEFAULT_DATA_CLASSES: [&str; 8] = [
    "public",
    "internal",
    "confidential",
    "restricted",
    "personal-data",
    "customer-data",
    "source-code",
    "regulated-financial",
];
/// At most this many classes in the site list, a profile or a request.
pub const MAX_CLASSES: usize = 24;
const MAX_TERMS_TEXT: usize = 200;
/// At most this many usage conditions an admin writes on a tool's profile, each at most
/// [`MAX_CONDITION_CHARS`] characters.
pub const MAX_CONDITIONS: usize = 5;
pub const MAX_CONDITION_CHARS: usize = 200;
const MAX_TERMS_URL: usize = 2_048;

/// The default site list, owned.
pub fn default_classes() -> Vec<String> {
    DEFAULT_DATA_CLASSES.iter().map(|c| c.to_string()).collect()
}

/// Class names are slugs: lower-case letters, digits and dashes, 1–40 characters.
pub fn is_class(c: &str) -> bool {
    let b = c.as_bytes();
    (1..=40).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || *x == b'-')
}

/// Whether the vendor trains its models on what users put in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TrainsOnInputs {
    Yes,
    No,
    /// Only when the customer opts out (or an admin setting turns it off).
    OptOut,
    #[default]
    Unknown,
}

/// The vendor's terms as an admin recorded them. `verify` marks facts taken from public
/// sources (the seed catalog) that an admin has not yet checked against the signed terms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VendorTerms {
    #[serde(default)]
    pub trains_on_inputs: TrainsOnInputs,
    #[serde(default)]
    pub input_retention: String,
    #[serde(default)]
    pub data_residency: String,
    #[serde(default)]
    pub enterprise_agreement: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_url: Option<String>,
    #[serde(default)]
    pub verify: bool,
}

/// The data classes a tool is approved for, and its vendor's terms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataProfile {
    #[serde(default)]
    pub approved_classes: Vec<String>,
    #[serde(default)]
    pub vendor_terms: VendorTerms,
    /// Usage conditions every grant of the tool carries (an admin writes them, e.g. "Code only
    /// in repositories under github.com/acme").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// What governance says about one class for one tool.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ClassRule {
    /// A person decides (never approved without one).
    Review,
    /// Refused at intake, with the reason.
    Prohibited,
}

impl ClassRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ClassRule::Review => "review",
            ClassRule::Prohibited => "prohibited",
        }
    }
}

/// Tool id → class → rule.
pub type ClassRules = BTreeMap<String, BTreeMap<String, ClassRule>>;

/// A typed profile error: `DATA_CLASS_UNKNOWN`, `TERMS_URL_INVALID` or `DATA_PROFILE_INVALID`.
fn profile_error(code: &str, field: &str, message: String) -> AppError {
    AppError::invalid(code, message).with_details(json!({ "field": field }))
}

/// Reads a `dataProfile` payload against the site's classes. Classes are trimmed, lower-cased
/// and de-duplicated in the order given.
pub fn parse_profile(v: &Value, site: &[String]) -> AppResult<DataProfile> {
    let o = v.as_object().ok_or_else(|| {
        profile_error(
            "DATA_PROFILE_INVALID",
            "dataProfile",
            "dataProfile is an object {approvedClasses, vendorTerms}".into(),
        )
    })?;
    let approved_classes = parse_classes(
        o.get("approvedClasses").unwrap_or(&Value::Null),
        site,
        "dataProfile.approvedClasses",
    )?;
    let t = o.get("vendorTerms").cloned().unwrap_or(json!({}));
    let t = t.as_object().ok_or_else(|| {
        profile_error(
            "DATA_PROFILE_INVALID",
            "dataProfile.vendorTerms",
            "vendorTerms is an object".into(),
        )
    })?;
    let trains_on_inputs = match t.get("trainsOnInputs") {
        None | Some(Value::Null) => TrainsOnInputs::Unknown,
        Some(x) => serde_json::from_value(x.clone()).map_err(|_| {
            profile_error(
                "DATA_PROFILE_INVALID",
                "dataProfile.vendorTerms.trainsOnInputs",
                "trainsOnInputs is yes, no, opt-out or unknown".into(),
            )
        })?,
    };
    let text = |k: &str| -> AppResult<String> {
        match t.get(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) if s.trim().chars().count() <= MAX_TERMS_TEXT => {
                crate::text::check_name(k, s.trim())?;
                Ok(s.trim().to_string())
            }
            Some(_) => Err(profile_error(
                "DATA_PROFILE_INVALID",
                &format!("dataProfile.vendorTerms.{k}"),
                format!("{k} is text of at most {MAX_TERMS_TEXT} characters"),
            )),
        }
    };
    let flag = |k: &str| -> AppResult<bool> {
        match t.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(profile_error(
                "DATA_PROFILE_INVALID",
                &format!("dataProfile.vendorTerms.{k}"),
                format!("{k} is true or false"),
            )),
        }
    };
    let terms_url = match t.get("termsUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(check_terms_url(s.trim())?),
        Some(_) => {
            return Err(profile_error(
                "TERMS_URL_INVALID",
                "dataProfile.vendorTerms.termsUrl",
                "termsUrl is an https:// link".into(),
            ))
        }
    };
    let conditions = parse_conditions(o.get("conditions").unwrap_or(&Value::Null))?;
    Ok(DataProfile {
        approved_classes,
        conditions,
        vendor_terms: VendorTerms {
            trains_on_inputs,
            input_retention: text("inputRetention")?,
            data_residency: text("dataResidency")?,
            enterprise_agreement: flag("enterpriseAgreement")?,
            terms_url,
            verify: flag("verify")?,
        },
    })
}

/// The admin's usage conditions: at most [`MAX_CONDITIONS`] lines of plain text, trimmed,
/// empty lines dropped, duplicates once.
fn parse_conditions(v: &Value) -> AppResult<Vec<String>> {
    let bad = |m: String| profile_error("DATA_PROFILE_INVALID", "dataProfile.conditions", m);
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Array(a) => a,
        _ => return Err(bad("conditions is a list of lines of text".into())),
    };
    let mut out: Vec<String> = Vec::new();
    for i in items {
        let s = i
            .as_str()
            .ok_or_else(|| bad("each condition is a line of text".into()))?
            .trim();
        if s.is_empty() {
            continue;
        }
        if s.chars().count() > MAX_CONDITION_CHARS || s.chars().any(char::is_control) {
            return Err(bad(format!(
                "each condition is one line of at most {MAX_CONDITION_CHARS} characters"
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.len() > MAX_CONDITIONS {
        return Err(bad(format!("at most {MAX_CONDITIONS} conditions")));
    }
    Ok(out)
}

fn check_terms_url(s: &str) -> AppResult<String> {
    let bad = |why: &str| {
        profile_error(
            "TERMS_URL_INVALID",
            "dataProfile.vendorTerms.termsUrl",
            format!("the terms link is not usable: {why}"),
        )
    };
    if s.len() > MAX_TERMS_URL {
        return Err(bad("longer than 2048 characters"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters"));
    }
    let u = crate::weburl::parse(s).map_err(|_| bad("only https:// links with a host name"))?;
    if !u.host.contains('.') || s.contains('@') {
        return Err(bad(
            "only https:// links with a host name and no credentials",
        ));
    }
    Ok(s.to_string())
}

/// A list of class names, each in the site list (`DATA_CLASS_UNKNOWN` names the first that is
/// not), at most [`MAX_CLASSES`], de-duplicated. Null or absent is the empty list.
pub fn parse_classes(v: &Value, site: &[String], field: &str) -> AppResult<Vec<String>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Array(a) if a.len() <= MAX_CLASSES => a,
        _ => {
            return Err(profile_error(
                "DATA_PROFILE_INVALID",
                field,
                format!("a list of at most {MAX_CLASSES} data classes"),
            ))
        }
    };
    let mut out: Vec<String> = Vec::new();
    for i in items {
        let c = i
            .as_str()
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        if !site.contains(&c) {
            return Err(AppError::invalid(
                "DATA_CLASS_UNKNOWN",
                format!(
                    "{} is not one of the site's data classes ({})",
                    i,
                    site.join(", ")
                ),
            )
            .with_details(json!({"field": field, "class": i, "known": site})));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The policy's answer for one request's declared classes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Declared classes governance prohibits for this tool: refused at intake.
    pub prohibited: Vec<String>,
    /// Declared classes the tool's profile does not list, or governance sends to review: a
    /// person decides.
    pub review: Vec<String>,
}

impl Assessment {
    /// Why intake refuses, if it does.
    pub fn refusal(&self, tool: &str) -> Option<String> {
        (!self.prohibited.is_empty()).then(|| {
            format!(
                "governance prohibits {} in {tool}; do not use this tool with that data (ask for a tool approved for it)",
                self.prohibited.join(", ")
            )
        })
    }

    /// Why the request needs a person, if it does.
    pub fn review_reason(&self, tool: &str) -> Option<String> {
        (!self.review.is_empty()).then(|| {
            format!(
                "declared data classes {} are not approved for {tool} without review; a person decides",
                self.review.join(", ")
            )
        })
    }
}

/// Judges declared classes against the tool's profile (`None`: a tool with no profile, or a
/// tool the catalog does not have yet, is approved for no class) and governance's rules for
/// the tool. Pure.
pub fn assess(
    declared: &[String],
    tool_id: Option<&str>,
    profile: Option<&DataProfile>,
    rules: &ClassRules,
) -> Assessment {
    let for_tool = tool_id.and_then(|t| rules.get(t));
    let mut a = Assessment::default();
    for c in declared {
        match for_tool.and_then(|r| r.get(c)) {
            Some(ClassRule::Prohibited) => a.prohibited.push(c.clone()),
            Some(ClassRule::Review) => a.review.push(c.clone()),
            None if !profile.is_some_and(|p| p.approved_classes.contains(c)) => {
                a.review.push(c.clone())
            }
            None => {}
        }
    }
    a
}

/// The conditions an approval carries (issue 35 "approved with conditions"): the declared
/// classes are the only ones the grant covers, the classes governance prohibits for the tool are
/// named, and the tool profile's own conditions follow. Pure, and the one copy: the decision
/// stores its answer on the grant, the portal's preview shows the same answer before Create.
pub fn conditions(
    declared: &[String],
    tool_id: Option<&str>,
    profile: Option<&DataProfile>,
    rules: &ClassRules,
) -> Vec<String> {
    let mut out = Vec::new();
    if !declared.is_empty() {
        out.push(format!(
            "Only with the data declared: {}",
            declared.join(", ")
        ));
    }
    let prohibited: Vec<&str> = tool_id
        .and_then(|t| rules.get(t))
        .into_iter()
        .flat_map(|r| r.iter())
        .filter(|(_, rule)| **rule == ClassRule::Prohibited)
        .map(|(c, _)| c.as_str())
        .collect();
    if !prohibited.is_empty() {
        out.push(format!("Never with: {}", prohibited.join(", ")));
    }
    out.extend(
        profile
            .into_iter()
            .flat_map(|p| p.conditions.iter().cloned()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Vec<String> {
        default_classes()
    }

    #[test]
    fn profiles_are_checked_with_typed_errors() {
        let p = parse_profile(
            &json!({"approvedClasses": ["internal", " Source-Code ", "internal"],
                    "vendorTerms": {"trainsOnInputs": "opt-out", "termsUrl": "https://openai.com/policies",
                                    "enterpriseAgreement": true, "verify": true}}),
            &site(),
        )
        .unwrap();
        assert_eq!(p.approved_classes, ["internal", "source-code"]);
        assert_eq!(p.vendor_terms.trains_on_inputs, TrainsOnInputs::OptOut);
        let code = |v: Value| parse_profile(&v, &site()).unwrap_err().code;
        assert_eq!(
            code(json!({"approvedClasses": ["secret-sauce"]})),
            "DATA_CLASS_UNKNOWN"
        );
        for url in [
            "http://x.example",
            "javascript:alert(1)",
            "https://user:pw@x.example",
            "https://x.example/a b",
        ] {
            assert_eq!(
                code(json!({"vendorTerms": {"termsUrl": url}})),
                "TERMS_URL_INVALID",
                "{url}"
            );
        }
        assert_eq!(
            code(json!({"vendorTerms": {"trainsOnInputs": "sometimes"}})),
            "DATA_PROFILE_INVALID"
        );
    }

    #[test]
    fn prohibited_beats_review_beats_the_profile() {
        let profile = DataProfile {
            approved_classes: vec!["internal".into(), "customer-data".into()],
            ..Default::default()
        };
        let mut rules = ClassRules::new();
        rules
            .entry("t".into())
            .or_default()
            .insert("customer-data".into(), ClassRule::Prohibited);
        rules
            .entry("t".into())
            .or_default()
            .insert("internal".into(), ClassRule::Review);
        let d = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = assess(
            &d(&["internal", "customer-data", "public"]),
            Some("t"),
            Some(&profile),
            &rules,
        );
        assert_eq!(a.prohibited, ["customer-data"]);
        assert_eq!(a.review, ["internal", "public"]);
        // Another tool: the rules do not apply; its profile does.
        let a = assess(&d(&["internal"]), Some("u"), Some(&profile), &rules);
        assert_eq!(a, Assessment::default());
        // No profile: every declared class needs review; none declared needs nothing.
        assert_eq!(
            assess(&d(&["public"]), Some("u"), None, &rules).review,
            ["public"]
        );
        assert_eq!(assess(&[], Some("t"), None, &rules), Assessment::default());
    }

    #[test]
    fn conditions_name_the_declared_the_prohibited_and_the_profiles_own() {
        // covers: issue 35 item 3 (approved with conditions)
        let profile = parse_profile(
            &json!({"approvedClasses": ["internal", "source-code"],
                    "conditions": [" Code only in repositories under github.com/acme ", "", "Code only in repositories under github.com/acme"]}),
            &site(),
        )
        .unwrap();
        assert_eq!(
            profile.conditions,
            ["Code only in repositories under github.com/acme"]
        );
        let mut rules = ClassRules::new();
        rules
            .entry("t".into())
            .or_default()
            .insert("customer-data".into(), ClassRule::Prohibited);
        rules
            .entry("t".into())
            .or_default()
            .insert("internal".into(), ClassRule::Review);
        let c = conditions(&["source-code".into()], Some("t"), Some(&profile), &rules);
        assert_eq!(
            c,
            [
                "Only with the data declared: source-code",
                "Never with: customer-data",
                "Code only in repositories under github.com/acme"
            ]
        );
        // Nothing declared, no rules, no profile conditions: an unconditional approval.
        assert!(conditions(&[], Some("u"), None, &rules).is_empty());
        let code = |v: Value| parse_profile(&v, &site()).unwrap_err().code;
        assert_eq!(code(json!({"conditions": "one"})), "DATA_PROFILE_INVALID");
        assert_eq!(
            code(json!({"conditions": ["a", "b", "c", "d", "e", "f"]})),
            "DATA_PROFILE_INVALID"
        );
        assert_eq!(
            code(json!({"conditions": ["x".repeat(201)]})),
            "DATA_PROFILE_INVALID"
        );
        assert_eq!(
            code(json!({"conditions": ["a\nb"]})),
            "DATA_PROFILE_INVALID"
        );
    }
}
