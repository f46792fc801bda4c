//! Auto-approval policies (spec §9 C, §11 "Auto-approval not triggering").
//!
//! A policy is scoped to a project and one tool (or all tools). It approves a request only if
//! `autoApprove` is on, the requester is in one of its allowed Jira groups, the requested
//! duration is not above its maximum (when it has one), and — when the policy names a set of
//! data classes (issue 35) — the request declares its data and every declared class is in the set. Tool-specific policies are tried before
//! all-tools ones; the first that passes decides. The same evaluation backs the dry-run resolver,
//! which names the deciding policy, its version and, for every policy, the failed condition.

use crate::audit::AuditDraft;
use crate::error::{AppError, AppResult};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const MAX_POLICIES: usize = 200;
const MAX_GROUPS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub project_key: String,
    /// None = every catalog tool.
    #[serde(default)]
    pub tool_id: Option<String>,
    pub auto_approve: bool,
    pub allowed_groups: Vec<String>,
    #[serde(default)]
    pub max_days: Option<u32>,
    /// The data classes requests may declare and still be approved by this policy (issue 35);
    /// `None`: the policy does not look at data. A request that declares nothing does not pass
    /// a policy with a set (it has not said what data goes in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_data_classes: Option<Vec<String>>,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub updated_by: String,
}

/// The facts of a request a policy looks at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub project_key: &'a str,
    /// None for a "Request new tool" request: never auto-approved (nobody has assessed it).
    pub tool_id: Option<&'a str>,
    pub duration_days: u32,
    /// The classes the request declares (none on older requests).
    pub data_classes: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub policy_id: String,
    pub policy_version: u64,
    pub scope: &'static str,
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_condition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub auto_approve: bool,
    /// The policy that approved, or — when none did — the most specific one that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deciding: Option<Check>,
    pub checks: Vec<Check>,
}

/// Pure evaluation. `groups` is called at most once, and only if a policy gets that far.
pub fn evaluate(
    policies: &[Policy],
    facts: &Facts<'_>,
    groups: &mut dyn FnMut() -> AppResult<Vec<String>>,
) -> AppResult<Evaluation> {
    let mut ordered: Vec<&Policy> = policies.iter().collect();
    ordered.sort_by_key(|p| (p.tool_id.is_none(), p.id.clone()));
    let mut member_of: Option<Vec<String>> = None;
    let mut checks = Vec::new();
    for p in ordered {
        let scope = if p.tool_id.is_some() {
            "tool"
        } else {
            "allTools"
        };
        let mut c = Check {
            policy_id: p.id.clone(),
            policy_version: p.version,
            scope,
            passed: false,
            failed_condition: None,
            detail: None,
            matched_group: None,
        };
        let fail = |c: &mut Check, cond: &'static str, detail: String| {
            c.failed_condition = Some(cond);
            c.detail = Some(detail);
        };
        if p.project_key != facts.project_key {
            fail(
                &mut c,
                "project",
                format!("the policy is for project {}", p.project_key),
            );
        } else if facts.tool_id.is_none() {
            fail(
                &mut c,
                "tool",
                "a tool not in the catalog is never auto-approved".into(),
            );
        } else if p
            .tool_id
            .as_deref()
            .is_some_and(|t| Some(t) != facts.tool_id)
        {
            fail(
                &mut c,
                "tool",
                format!(
                    "the policy is for tool {}",
                    p.tool_id.as_deref().unwrap_or("")
                ),
            );
        } else if !p.auto_approve {
            fail(&mut c, "autoApprove", "autoApprove is off".into());
        } else if p.max_days.is_some_and(|m| facts.duration_days > m) {
            fail(
                &mut c,
                "duration",
                format!(
                    "{} days requested; the policy allows at most {}",
                    facts.duration_days,
                    p.max_days.unwrap_or(0)
                ),
            );
        } else {
            if member_of.is_none() {
                member_of = Some(groups()?);
            }
            let mine = member_of.as_deref().unwrap_or(&[]);
            // Groups before data: a requester outside the policy's groups learns nothing of
            // its data classes (the portal's preview shows a data failure to the requester).
            match p.allowed_groups.iter().find(|g| mine.contains(g)) {
                Some(g) => match p
                    .allowed_data_classes
                    .as_ref()
                    .and_then(|set| outside_classes(set, facts.data_classes))
                {
                    Some(why) => fail(&mut c, "dataClasses", why),
                    None => {
                        c.passed = true;
                        c.matched_group = Some(g.clone());
                    }
                },
                None => fail(
                    &mut c,
                    "groups",
                    format!(
                        "the requester is in none of the allowed groups {:?}",
                        p.allowed_groups
                    ),
                ),
            }
        }
        checks.push(c);
    }
    let deciding = checks
        .iter()
        .find(|c| c.passed)
        .or_else(|| {
            checks
                .iter()
                .find(|c| !matches!(c.failed_condition, Some("project") | Some("tool")))
        })
        .cloned();
    Ok(Evaluation {
        auto_approve: checks.iter().any(|c| c.passed),
        deciding,
        checks,
    })
}

/// Why `declared` is not within the policy's `set`, if it is not.
fn outside_classes(set: &[String], declared: &[String]) -> Option<String> {
    if declared.is_empty() {
        return Some(format!(
            "the policy approves only requests that declare their data, within {}",
            set.join(", ")
        ));
    }
    let outside: Vec<&str> = declared
        .iter()
        .filter(|c| !set.contains(c))
        .map(String::as_str)
        .collect();
    (!outside.is_empty()).then(|| {
        format!(
            "declared {} outside the policy's data classes ({})",
            outside.join(", "),
            set.join(", ")
        )
    })
}

pub fn list(store: Store<'_>) -> AppResult<Vec<Policy>> {
    Ok(store
        .scan::<Policy>(keys::APPROVAL_POLICY_PREFIX, MAX_POLICIES)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

pub fn parse(p: &Value) -> AppResult<Policy> {
    let mut errors = serde_json::Map::new();
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let id = s("id");
    if !crate::catalog::is_tool_id(&id) {
        errors.insert(
            "id".into(),
            json!("lower-case letters, digits and dashes, at most 64"),
        );
    }
    let name = s("name");
    crate::text::check_name("name", &name)?;
    if name.is_empty() || name.chars().count() > 120 {
        errors.insert("name".into(), json!("1-120 characters"));
    }
    let project_key = s("projectKey");
    if project_key.is_empty() || project_key.len() > 10 {
        errors.insert("projectKey".into(), json!("a Jira project key"));
    }
    let tool_id = match p.get("toolId") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if crate::catalog::is_tool_id(t) => Some(t.clone()),
        Some(_) => {
            errors.insert(
                "toolId".into(),
                json!("a catalog tool id, or null for every tool"),
            );
            None
        }
    };
    let auto_approve = match p.get("autoApprove") {
        Some(Value::Bool(b)) => *b,
        _ => {
            errors.insert("autoApprove".into(), json!("true or false"));
            false
        }
    };
    let mut allowed_groups = Vec::new();
    match p.get("allowedGroups").and_then(Value::as_array) {
        Some(a) if !a.is_empty() && a.len() <= MAX_GROUPS => {
            for g in a {
                match g.as_str().map(str::trim) {
                    Some(g) if !g.is_empty() && g.len() <= 255 => {
                        allowed_groups.push(g.to_string())
                    }
                    _ => {
                        errors.insert("allowedGroups".into(), json!("group names"));
                    }
                }
            }
        }
        _ => {
            errors.insert(
                "allowedGroups".into(),
                json!("1-20 Jira group names (the requester must be in one)"),
            );
        }
    }
    let max_days = match p.get("maxDays") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().filter(|d| (1..=180).contains(d)) {
            Some(d) => Some(d as u32),
            None => {
                errors.insert(
                    "maxDays".into(),
                    json!("1-180 days, or null for no maximum"),
                );
                None
            }
        },
    };
    let allowed_data_classes = match p.get("allowedDataClasses") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= crate::catalog::data::MAX_CLASSES => {
            let mut out: Vec<String> = Vec::new();
            for c in a {
                match c.as_str().map(|s| s.trim().to_lowercase()) {
                    Some(c) if crate::catalog::data::is_class(&c) => {
                        if !out.contains(&c) {
                            out.push(c)
                        }
                    }
                    _ => {
                        errors.insert(
                            "allowedDataClasses".into(),
                            json!("data class names (lower-case slugs)"),
                        );
                    }
                }
            }
            Some(out)
        }
        Some(_) => {
            errors.insert(
                "allowedDataClasses".into(),
                json!("1-24 data classes, or null for a policy that does not look at data"),
            );
            None
        }
    };
    if !errors.is_empty() {
        return Err(
            AppError::invalid("POLICY_INVALID", "the policy has invalid fields")
                .with_details(Value::Object(errors)),
        );
    }
    Ok(Policy {
        id,
        name,
        project_key,
        tool_id,
        auto_approve,
        allowed_groups,
        max_days,
        allowed_data_classes,
        version: 0,
        updated_at: String::new(),
        updated_by: String::new(),
    })
}

/// Saves a policy; its version counts its saves so evidence can name the exact one. The policy
/// and its `approval_policy_saved` audit entry (what changed) are one transaction, conditioned on
/// the version read (audited like governance; issue 20).
pub fn save(store: Store<'_>, mut policy: Policy, who: &str) -> AppResult<Policy> {
    let key = keys::approval_policy(&policy.id);
    let raw = store.get_raw(&key)?;
    let current: Option<Policy> = raw
        .as_deref()
        .map(|t| crate::storage::decode(&key, t))
        .transpose()?;
    if current.is_none() && list(store)?.len() >= MAX_POLICIES {
        return Err(AppError::invalid(
            "POLICY_LIMIT",
            "at most 200 auto-approval policies",
        ));
    }
    // Classes are the site's (governance's list): a name that is not one would never match.
    if let Some(set) = &policy.allowed_data_classes {
        let (gov, _) = super::governance::load(store)?;
        let site = gov.site_data_classes();
        if let Some(c) = set.iter().find(|c| !site.contains(c)) {
            return Err(
                AppError::invalid("POLICY_INVALID", "the policy has invalid fields").with_details(
                    json!({"allowedDataClasses": format!("{c} is not one of the site's data classes ({})", site.join(", "))}),
                ),
            );
        }
    }
    policy.version = current.as_ref().map(|c| c.version).unwrap_or(0) + 1;
    policy.updated_at = crate::time::rfc3339(store.host.now_ms());
    policy.updated_by = who.into();
    let before = current
        .as_ref()
        .map(|c| serde_json::to_value(c).expect("policies serialize"))
        .unwrap_or(Value::Null);
    let after = serde_json::to_value(&policy).expect("policies serialize");
    let mut draft = AuditDraft::new("approval_policy_saved", who);
    draft.subject = json!({"policyId": policy.id});
    draft.data = json!({"version": policy.version, "created": current.is_none(),
                        "changed": crate::audit::changed_fields(&before, &after),
                        "policy": {"name": policy.name, "projectKey": policy.project_key,
                                   "toolId": policy.tool_id, "autoApprove": policy.auto_approve,
                                   "allowedGroups": policy.allowed_groups, "maxDays": policy.max_days,
                                   "allowedDataClasses": policy.allowed_data_classes}});
    let mac = crate::audit::mac_key(store, None)?;
    crate::audit::commit_with_audit(store, &mac, None, &[draft], |tx| {
        tx.set_if_current(&key, &policy, raw.as_deref())?;
        Ok(())
    })
    .map_err(busy)?;
    Ok(policy)
}

/// Deletes a policy with an `approval_policy_deleted` audit entry (the policy as it was).
pub fn delete(store: Store<'_>, id: &str, who: &str) -> AppResult<bool> {
    let key = keys::approval_policy(id);
    if crate::storage::rules::check_key(&key).is_err() {
        return Ok(false);
    }
    let Some(raw) = store.get_raw(&key)? else {
        return Ok(false);
    };
    let old: Policy = crate::storage::decode(&key, &raw)?;
    let mut draft = AuditDraft::new("approval_policy_deleted", who);
    draft.subject = json!({"policyId": id});
    draft.data = json!({"version": old.version, "name": old.name, "toolId": old.tool_id,
                        "autoApprove": old.auto_approve});
    let mac = crate::audit::mac_key(store, None)?;
    crate::audit::commit_with_audit(store, &mac, None, &[draft], |tx| {
        tx.delete_if_current(&key, &raw)?;
        Ok(())
    })
    .map_err(busy)?;
    Ok(true)
}

fn busy(e: crate::storage::StorageError) -> AppError {
    match e {
        crate::storage::StorageError::Conflict(_) => AppError::conflict(
            "POLICY_BUSY",
            "the policy changed meanwhile; reload and retry",
        ),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        id: &str,
        tool: Option<&str>,
        auto: bool,
        groups: &[&str],
        max: Option<u32>,
    ) -> Policy {
        Policy {
            id: id.into(),
            name: id.into(),
            project_key: "AIR".into(),
            tool_id: tool.map(String::from),
            auto_approve: auto,
            allowed_groups: groups.iter().map(|g| g.to_string()).collect(),
            max_days: max,
            version: 3,
            updated_at: String::new(),
            updated_by: String::new(),
            allowed_data_classes: None,
        }
    }

    fn eval(ps: &[Policy], tool: Option<&str>, days: u32, mine: &[&str]) -> Evaluation {
        let mine: Vec<String> = mine.iter().map(|g| g.to_string()).collect();
        evaluate(
            ps,
            &Facts {
                project_key: "AIR",
                tool_id: tool,
                duration_days: days,
                data_classes: &[],
            },
            &mut || Ok(mine.clone()),
        )
        .unwrap()
    }

    // covers: CL-041, CL-042, CL-043, CL-044
    #[test]
    fn each_condition_is_named_when_it_fails() {
        let ps = [policy("p", Some("copilot"), true, &["devs"], Some(90))];
        assert!(
            eval(&ps, Some("copilot"), 90, &["devs"]).auto_approve,
            "equal max passes"
        );
        let c = |e: Evaluation| e.checks[0].failed_condition;
        assert_eq!(
            c(eval(&ps, Some("copilot"), 91, &["devs"])),
            Some("duration")
        );
        assert_eq!(
            c(eval(&ps, Some("copilot"), 30, &["sales"])),
            Some("groups")
        );
        assert_eq!(c(eval(&ps, Some("chatgpt"), 30, &["devs"])), Some("tool"));
        assert_eq!(c(eval(&ps, None, 30, &["devs"])), Some("tool"));
        let off = [policy("p", Some("copilot"), false, &["devs"], None)];
        assert_eq!(
            c(eval(&off, Some("copilot"), 30, &["devs"])),
            Some("autoApprove")
        );
        let mut other = policy("p", None, true, &["devs"], None);
        other.project_key = "ENG".into();
        assert_eq!(
            c(eval(&[other], Some("copilot"), 30, &["devs"])),
            Some("project")
        );
    }

    #[test]
    fn all_tools_policies_match_any_tool_and_no_max_means_no_duration_check() {
        let ps = [policy("all", None, true, &["staff"], None)];
        let e = eval(&ps, Some("anything"), 180, &["staff"]);
        assert!(e.auto_approve);
        let d = e.deciding.unwrap();
        assert_eq!((d.policy_id.as_str(), d.policy_version), ("all", 3));
        assert_eq!(d.matched_group.as_deref(), Some("staff"));
    }

    #[test]
    fn tool_policies_are_tried_first_and_groups_are_read_once() {
        let ps = [
            policy("a-all", None, true, &["staff"], None),
            policy("z-tool", Some("copilot"), true, &["staff"], None),
        ];
        let mut calls = 0;
        let e = evaluate(
            &ps,
            &Facts {
                project_key: "AIR",
                tool_id: Some("copilot"),
                duration_days: 10,
                data_classes: &[],
            },
            &mut || {
                calls += 1;
                Ok(vec!["staff".to_string()])
            },
        )
        .unwrap();
        assert_eq!(e.deciding.unwrap().policy_id, "z-tool");
        assert_eq!(calls, 1);
    }

    #[test]
    fn parse_reports_every_bad_field() {
        let e = parse(
            &json!({"id": "Bad Id", "autoApprove": "yes", "allowedGroups": [], "maxDays": 0}),
        )
        .unwrap_err();
        let d = e.details.unwrap();
        for f in [
            "id",
            "name",
            "projectKey",
            "autoApprove",
            "allowedGroups",
            "maxDays",
        ] {
            assert!(d.get(f).is_some(), "{f} missing from {d}");
        }
    }

    #[test]
    fn a_policy_with_data_classes_approves_only_declared_data_within_them() {
        // covers: CL-041 (issue 35 item 5)
        let mut p = policy("p", Some("copilot"), true, &["staff"], None);
        p.allowed_data_classes = Some(vec!["public".into(), "source-code".into()]);
        let run = |declared: &[&str]| {
            let d: Vec<String> = declared.iter().map(|c| c.to_string()).collect();
            evaluate(
                std::slice::from_ref(&p),
                &Facts {
                    project_key: "AIR",
                    tool_id: Some("copilot"),
                    duration_days: 10,
                    data_classes: &d,
                },
                &mut || Ok(vec!["staff".to_string()]),
            )
            .unwrap()
        };
        assert!(run(&["source-code"]).auto_approve);
        assert!(run(&["public", "source-code"]).auto_approve);
        let e = run(&["source-code", "customer-data"]);
        assert!(!e.auto_approve);
        assert_eq!(e.checks[0].failed_condition, Some("dataClasses"));
        assert!(e.checks[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("customer-data"));
        // Nothing declared: the policy does not know what data goes in.
        let e = run(&[]);
        assert!(!e.auto_approve);
        assert_eq!(e.checks[0].failed_condition, Some("dataClasses"));
        // Shape errors are typed.
        let bad = parse(&json!({"id": "p", "name": "P", "projectKey": "AIR", "autoApprove": true,
                                "allowedGroups": ["staff"], "allowedDataClasses": ["Not A Class!"]}))
        .unwrap_err();
        assert_eq!(bad.code, "POLICY_INVALID");
    }
}
