//! Approval definitions: the reusable recipe an approval walks. Four independent phases
//! (`steps`, `successSteps`, `rejectionSteps`, `expirationSteps`), each a list of steps ordered
//! by `parallelGroupNumber`. Validation happens here, before anything is stored.

use super::olivlang;
use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 2_000;
/// Steps in one definition, over all phases (bounds records, views and transactions).
pub const STEPS_MAX: usize = 40;
/// Steps in one parallel group: a group's activation writes one effect per step in one
/// transaction, so this keeps it inside Forge's 25-operation limit.
pub const GROUP_MAX: usize = 8;
pub const TEMPLATE_MAX: usize = 4_000;
pub const USER_APPROVERS_MAX: usize = 20;
pub const HTTP_HEADERS_MAX: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepType {
    User,
    Group,
    Automation,
    Http,
    Email,
    Prompt,
}

impl StepType {
    /// Human steps decide the path; the others inform and never fail it.
    pub fn is_human(self) -> bool {
        matches!(self, StepType::User | StepType::Group)
    }
}

/// How many approvals a human step needs. A single rejection always fails the step (veto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "count")]
pub enum Quorum {
    Any,
    All,
    Count(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Stable id shown as `conditionId` in the web API.
    pub id: String,
    /// An OlivLang expression, e.g. `issue.fields.priority.name == "High"`.
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum StepConfig {
    #[serde(rename = "USER")]
    User {
        approvers: Vec<String>,
        /// approver account id → delegates who may decide for them.
        #[serde(default)]
        delegates: BTreeMap<String, Vec<String>>,
        #[serde(default = "quorum_all")]
        quorum: Quorum,
    },
    #[serde(rename = "GROUP")]
    Group {
        group: String,
        #[serde(default = "quorum_any")]
        quorum: Quorum,
    },
    #[serde(rename = "AUTOMATION")]
    Automation {
        comment: String,
        /// Name of a workflow transition to run after commenting (matched case-insensitively).
        #[serde(default)]
        transition: Option<String>,
    },
    #[serde(rename = "HTTP")]
    Http {
        method: String,
        url: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        body: Option<String>,
    },
    #[serde(rename = "EMAIL")]
    Email {
        /// Which tenant message template renders this email (Settings → Messages).
        event: String,
        /// Recipients: account ids, or `reporter`, `originator`, `group:<name>`.
        recipients: Vec<String>,
    },
    #[serde(rename = "PROMPT")]
    Prompt {
        /// blank (None), `builtin:<id>` or a custom template id.
        #[serde(default)]
        prompt_template: Option<String>,
        #[serde(default)]
        body: String,
        /// Per-step custom-field narrowing (internal only, never in the public web API).
        #[serde(default)]
        custom_fields: Vec<String>,
    },
}

fn quorum_all() -> Quorum {
    Quorum::All
}
fn quorum_any() -> Quorum {
    Quorum::Any
}

impl StepConfig {
    pub fn step_type(&self) -> StepType {
        match self {
            StepConfig::User { .. } => StepType::User,
            StepConfig::Group { .. } => StepType::Group,
            StepConfig::Automation { .. } => StepType::Automation,
            StepConfig::Http { .. } => StepType::Http,
            StepConfig::Email { .. } => StepType::Email,
            StepConfig::Prompt { .. } => StepType::Prompt,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepDef {
    /// Unique within the definition; assigned on save when absent.
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// Free text shown to deciders ("Approve budget", "Notify finance").
    #[serde(default)]
    pub action: String,
    #[serde(default = "one")]
    pub parallel_group_number: u32,
    #[serde(default)]
    pub condition: Option<Condition>,
    /// The step runs only when the issue carries this label.
    #[serde(default)]
    pub label_condition: Option<String>,
    #[serde(flatten)]
    pub config: StepConfig,
}

fn one() -> u32 {
    1
}

impl StepDef {
    pub fn step_type(&self) -> StepType {
        self.config.step_type()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    Steps,
    SuccessSteps,
    RejectionSteps,
    ExpirationSteps,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Steps,
        Phase::SuccessSteps,
        Phase::RejectionSteps,
        Phase::ExpirationSteps,
    ];
    pub fn field(self) -> &'static str {
        match self {
            Phase::Steps => "steps",
            Phase::SuccessSteps => "successSteps",
            Phase::RejectionSteps => "rejectionSteps",
            Phase::ExpirationSteps => "expirationSteps",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// The "business purpose": shown to approvers and given to AI Prompt steps.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub steps: Vec<StepDef>,
    #[serde(default)]
    pub success_steps: Vec<StepDef>,
    #[serde(default)]
    pub rejection_steps: Vec<StepDef>,
    #[serde(default)]
    pub expiration_steps: Vec<StepDef>,
    /// Hours from start until an undecided approval expires (runs `expirationSteps`).
    #[serde(default)]
    pub decision_deadline_hours: Option<u32>,
    /// Days an approved approval stays valid (`validityExpirationDate`).
    #[serde(default)]
    pub validity_days: Option<u32>,
    /// Every approving decision on a path of this definition comes from a different person.
    #[serde(default)]
    pub distinct_deciders: bool,
    /// Opts a definition out of distinct deciders where its starter would require them (AI
    /// Clearance's governance routes do by default); recorded with every decision it makes.
    #[serde(default)]
    pub allow_same_decider: bool,
    /// Who may start this definition on an issue by hand (D-64).
    #[serde(default)]
    pub starters: Starters,
    #[serde(default)]
    pub updated_at: String,
}

/// Who may start a definition by hand. The app starts governance's paths itself; Jira admins
/// may always start one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Starters {
    /// `admins` (the default), `anyone` who can see the issue, or members of `groups`.
    #[serde(default)]
    pub mode: StartMode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StartMode {
    #[default]
    Admins,
    Anyone,
    Groups,
}

impl Definition {
    pub fn phase(&self, p: Phase) -> &[StepDef] {
        match p {
            Phase::Steps => &self.steps,
            Phase::SuccessSteps => &self.success_steps,
            Phase::RejectionSteps => &self.rejection_steps,
            Phase::ExpirationSteps => &self.expiration_steps,
        }
    }
    fn phase_mut(&mut self, p: Phase) -> &mut Vec<StepDef> {
        match p {
            Phase::Steps => &mut self.steps,
            Phase::SuccessSteps => &mut self.success_steps,
            Phase::RejectionSteps => &mut self.rejection_steps,
            Phase::ExpirationSteps => &mut self.expiration_steps,
        }
    }
    pub fn all_steps(&self) -> impl Iterator<Item = (Phase, &StepDef)> {
        Phase::ALL
            .into_iter()
            .flat_map(move |p| self.phase(p).iter().map(move |s| (p, s)))
    }
}

/// One field error: `field` is a JSON path (`steps[2].config.group`).
fn err(field: String, message: impl Into<String>) -> Value {
    json!({"field": field, "message": message.into()})
}

/// The host an HTTP step's URL template names. It must be written out: template syntax may
/// appear after the host (path, query), never in it, so no issue field can redirect the call
/// (D-72). The URL is read the WHATWG way (`weburl`).
pub fn literal_http_host(url_template: &str) -> AppResult<String> {
    crate::weburl::parse(url_template)
        .map(|u| u.host)
        .map_err(|e| {
            AppError::invalid(
                "HTTP_URL_INVALID",
                format!("{e}; the host must be written out (templates may follow it, not form it)"),
            )
        })
}

/// Parses and validates a definition from a resolver payload. Every problem is reported at
/// once in `details.errors`; ids are assigned where missing (`s1`, `s2`, …).
/// `known_group` answers whether a Jira group exists (checked only for GROUP steps).
pub fn parse(
    payload: &Value,
    mut known_group: impl FnMut(&str) -> AppResult<bool>,
) -> AppResult<Definition> {
    let mut def: Definition = serde_json::from_value(payload.clone()).map_err(|e| {
        AppError::invalid(
            "DEFINITION_INVALID",
            format!("the definition is malformed: {e}"),
        )
    })?;
    let mut errors = Vec::new();
    let name = def.name.trim().to_string();
    // Names shown in pickers and on the timeline: nothing invisible or reordering (D-123).
    crate::text::check_name("name", &name)?;
    if name.is_empty() || name.chars().count() > NAME_MAX {
        errors.push(err(
            "name".into(),
            format!("a name of 1-{NAME_MAX} characters is required"),
        ));
    }
    def.name = name;
    if def.description.chars().count() > DESCRIPTION_MAX {
        errors.push(err(
            "description".into(),
            format!("at most {DESCRIPTION_MAX} characters"),
        ));
    }
    if def.steps.is_empty() {
        errors.push(err("steps".into(), "a definition needs at least one step"));
    }
    if !def.steps.iter().any(|s| s.step_type().is_human()) && !def.steps.is_empty() {
        // A path without a human step completes on its own; allowed, but it must be deliberate.
        // (AI Clearance uses such paths for auto-approved requests' notifications.)
    }
    let total: usize = Phase::ALL.iter().map(|p| def.phase(*p).len()).sum();
    if total > STEPS_MAX {
        errors.push(err(
            "steps".into(),
            format!("at most {STEPS_MAX} steps over all phases"),
        ));
    }
    match def.starters.mode {
        StartMode::Groups if def.starters.groups.is_empty() || def.starters.groups.len() > 20 => {
            errors.push(err(
                "starters.groups".into(),
                "name 1-20 Jira groups whose members may start this definition",
            ))
        }
        StartMode::Groups => {
            for g in &def.starters.groups {
                if !known_group(g)? {
                    errors.push(err(
                        "starters.groups".into(),
                        format!("the Jira group {g:?} does not exist"),
                    ));
                }
            }
        }
        _ => def.starters.groups.clear(),
    }
    if matches!(def.decision_deadline_hours, Some(0)) {
        errors.push(err(
            "decisionDeadlineHours".into(),
            "must be at least 1 hour",
        ));
    }
    let mut ids = BTreeSet::new();
    let mut prompt_names = BTreeSet::new();
    let mut next_id = 1;
    for phase in Phase::ALL {
        // Names are unique within a phase (they label the timeline); PROMPT names are unique
        // across the definition because downstream templates quote `promptSteps["Name"]`.
        let mut names = BTreeSet::new();
        let mut per_group: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, step) in def.phase_mut(phase).iter_mut().enumerate() {
            let at = format!("{}[{i}]", phase.field());
            step.name = step.name.trim().to_string();
            crate::text::check_name(&format!("{at}.name"), &step.name)?;
            if step.name.is_empty() || step.name.chars().count() > NAME_MAX {
                errors.push(err(
                    format!("{at}.name"),
                    format!("a step name of 1-{NAME_MAX} characters is required"),
                ));
            } else if !names.insert(step.name.to_lowercase()) {
                errors.push(err(
                    format!("{at}.name"),
                    format!("duplicate step name {:?} in {}", step.name, phase.field()),
                ));
            }
            if step.id.is_empty() {
                while ids.contains(&format!("s{next_id}")) {
                    next_id += 1;
                }
                step.id = format!("s{next_id}");
            }
            if !ids.insert(step.id.clone()) {
                errors.push(err(format!("{at}.id"), "duplicate step id"));
            }
            if step.parallel_group_number == 0 {
                errors.push(err(
                    format!("{at}.parallelGroupNumber"),
                    "group numbers start at 1",
                ));
            }
            let n = per_group.entry(step.parallel_group_number).or_default();
            *n += 1;
            if *n == GROUP_MAX + 1 {
                errors.push(err(
                    format!("{at}.parallelGroupNumber"),
                    format!("at most {GROUP_MAX} steps per parallel group"),
                ));
            }
            if phase != Phase::Steps && step.step_type().is_human() {
                errors.push(err(
                    format!("{at}.type"),
                    "only the main steps take decisions; outcome phases hold automation, HTTP, email and prompt steps",
                ));
            }
            if let Some(c) = &step.condition {
                if let Err(e) = olivlang::check_expression(&c.expression) {
                    errors.push(err(format!("{at}.condition"), e.message));
                }
            }
            if let Some(l) = &step.label_condition {
                if l.trim().is_empty() || l.contains(char::is_whitespace) {
                    errors.push(err(
                        format!("{at}.labelCondition"),
                        "a Jira label has no spaces",
                    ));
                }
            }
            match &step.config {
                StepConfig::User {
                    approvers, quorum, ..
                } => {
                    if approvers.is_empty() || approvers.len() > USER_APPROVERS_MAX {
                        errors.push(err(
                            format!("{at}.approvers"),
                            format!("1-{USER_APPROVERS_MAX} approvers are required"),
                        ));
                    }
                    if let Quorum::Count(n) = quorum {
                        if *n == 0 || *n as usize > approvers.len() {
                            errors.push(err(
                                format!("{at}.quorum"),
                                "the quorum must be between 1 and the number of approvers",
                            ));
                        }
                    }
                }
                StepConfig::Group { group, quorum } => {
                    if group.trim().is_empty() {
                        errors.push(err(format!("{at}.group"), "a Jira group is required"));
                    } else if !known_group(group)? {
                        errors.push(err(
                            format!("{at}.group"),
                            format!("no Jira group named {group:?}"),
                        ));
                    }
                    if matches!(quorum, Quorum::Count(0)) {
                        errors.push(err(format!("{at}.quorum"), "the quorum must be at least 1"));
                    }
                }
                StepConfig::Automation { comment, .. } => {
                    check_template(&mut errors, &format!("{at}.comment"), comment, true);
                }
                StepConfig::Http {
                    method,
                    url,
                    headers,
                    body,
                } => {
                    if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
                        errors.push(err(
                            format!("{at}.method"),
                            "GET, POST, PUT, PATCH or DELETE",
                        ));
                    }
                    match literal_http_host(url) {
                        Err(e) => errors.push(err(format!("{at}.url"), e.message)),
                        Ok(h) if crate::prompt::providers::Provider::ALL
                            .iter()
                            .any(|p| p.host() == Some(h.as_str())) =>
                        {
                            errors.push(err(
                                format!("{at}.url"),
                                format!("{h} is one of the app's own service hosts; point this at your own endpoint"),
                            ))
                        }
                        Ok(_) => {}
                    }
                    check_template(&mut errors, &format!("{at}.url"), url, true);
                    if headers.len() > HTTP_HEADERS_MAX {
                        errors.push(err(
                            format!("{at}.headers"),
                            format!("at most {HTTP_HEADERS_MAX} headers"),
                        ));
                    }
                    for (h, v) in headers {
                        check_template(&mut errors, &format!("{at}.headers.{h}"), v, false);
                    }
                    if let Some(b) = body {
                        check_template(&mut errors, &format!("{at}.body"), b, false);
                    }
                }
                StepConfig::Email { event, recipients } => {
                    if super::email::default_template(event).is_none() {
                        errors.push(err(
                            format!("{at}.event"),
                            format!(
                                "unknown message event {event:?}; one of {:?}",
                                super::email::EVENTS
                            ),
                        ));
                    }
                    if recipients.is_empty() {
                        errors.push(err(format!("{at}.recipients"), "at least one recipient"));
                    }
                }
                StepConfig::Prompt { body, .. } => {
                    if !prompt_names.insert(step.name.to_lowercase()) {
                        errors.push(err(
                            format!("{at}.name"),
                            format!(
                                "PROMPT step names must be unique in a definition: {:?}",
                                step.name
                            ),
                        ));
                    }
                    if body.chars().count() > TEMPLATE_MAX {
                        errors.push(err(
                            format!("{at}.body"),
                            format!("the prompt body is limited to {TEMPLATE_MAX} characters"),
                        ));
                    } else {
                        check_template(&mut errors, &format!("{at}.body"), body, false);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(
            "DEFINITION_INVALID",
            format!("the definition has {} problem(s)", errors.len()),
        )
        .with_details(json!({ "errors": errors })));
    }
    Ok(def)
}

fn check_template(errors: &mut Vec<Value>, field: &str, t: &str, required: bool) {
    if required && t.trim().is_empty() {
        errors.push(err(field.into(), "required"));
    } else if t.chars().count() > TEMPLATE_MAX {
        errors.push(err(
            field.into(),
            format!("templates are limited to {TEMPLATE_MAX} characters"),
        ));
    } else if let Err(e) = olivlang::check_template(t) {
        errors.push(err(field.into(), e.message));
    }
}
