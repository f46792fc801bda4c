//! The running approval: one definition instantiated on one Jira issue. Each step carries a
//! snapshot of its definition step, so editing a definition never changes a path in flight
//! (the approval is marked `outdated` instead).

use super::definition::{Phase, StepConfig, StepDef, StepType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Wait,
    Active,
    Success,
    Fail,
    Skipped,
}

impl StepStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            StepStatus::Success | StepStatus::Fail | StepStatus::Skipped
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    Running,
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub decider: String,
    /// The approver a delegate decided for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// A Jira administrator overriding the quorum.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin_override: bool,
    /// Why the administrator overrode (required for an override, D-60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    pub decision: Verdict,
    #[serde(default)]
    pub comment: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub step_type: StepType,
    pub action: String,
    pub parallel_group_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_condition: Option<String>,
    pub config: StepConfig,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Approvals a human step needs (fixed when it activates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// `APPROVED` / `REJECTED` for human steps once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// Informational steps: what ran and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_teaser: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Effect-specific record (HTTP status and bounded response, comment id, outbox id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// Incremented on every activation (re-runs), part of effect ids.
    #[serde(default)]
    pub run: u32,
}

impl Step {
    pub fn from_def(d: &StepDef) -> Step {
        Step {
            id: d.id.clone(),
            name: d.name.clone(),
            step_type: d.step_type(),
            action: d.action.clone(),
            parallel_group_number: d.parallel_group_number,
            condition_id: d.condition.as_ref().map(|c| c.id.clone()),
            condition: d.condition.as_ref().map(|c| c.expression.clone()),
            label_condition: d.label_condition.clone(),
            config: d.config.clone(),
            status: StepStatus::Wait,
            activated_at: None,
            completed_at: None,
            required: None,
            decisions: Vec::new(),
            decision: None,
            comment: None,
            skipped_reason: None,
            executed_at: None,
            result_teaser: None,
            error_code: None,
            error_message: None,
            output: None,
            run: 0,
        }
    }

    pub fn approvals(&self) -> u32 {
        self.decisions
            .iter()
            .filter(|d| d.decision == Verdict::Approve)
            .count() as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRef {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub project_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outdated {
    pub at: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: String,
    pub name: String,
    pub definition_id: String,
    pub definition_version: u32,
    pub definition_name: String,
    #[serde(default)]
    pub definition_description: String,
    pub issue: IssueRef,
    /// Who started the approval (re-run permission, `approvalOriginator`).
    pub originator: String,
    pub status: ApprovalStatus,
    /// The phase currently running (or last run).
    pub phase: Phase,
    pub progress: u8,
    #[serde(default)]
    pub decision_deadline: Option<String>,
    #[serde(default)]
    pub validity_expiration_date: Option<String>,
    /// True once the validity window has passed.
    #[serde(default)]
    pub expiry: bool,
    #[serde(default)]
    pub origin_approval: Option<String>,
    #[serde(default)]
    pub restart_reason: Option<String>,
    #[serde(default)]
    pub outdated: Option<Outdated>,
    pub started_at: String,
    #[serde(default)]
    pub current_step_activated_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    /// True when every step of the final phase has finished.
    #[serde(default)]
    pub finished: bool,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub success_steps: Vec<Step>,
    #[serde(default)]
    pub rejection_steps: Vec<Step>,
    #[serde(default)]
    pub expiration_steps: Vec<Step>,
    /// From the definition at start: days an approved path stays valid.
    #[serde(default)]
    pub validity_days: Option<u32>,
    /// Bumped on every stored change; part of deterministic effect and delivery ids.
    pub rev: u64,
    /// What the path was started for, by whoever started it (AI Clearance links its governance
    /// paths to their request): when a linked path closes, the engine records `path-outcome:<id>`
    /// in the same transaction and queues it on [`crate::approvals::store::OUTCOME_QUEUE`]; the
    /// owner decides what the outcome means. The engine never looks behind the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// The person the approval is about (the link's requester, else the issue's reporter): they
    /// can never decide a step of it, directly or through a delegate (D-60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Each approving decision in the path comes from a different person (the definition's
    /// `distinctDeciders`, or the link's, D-62).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_deciders: bool,
    /// The link requires this review: an admin override may reject a step but never approve
    /// one (D-61).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub governance_review: bool,
    /// Who cancelled the path, when a person did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
}

/// Given by whoever starts a path on someone's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// The owner's subject (for AI Clearance: the request's issue id).
    pub subject: String,
    /// Who the path is about: never decides a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// An administrator override cannot approve a step.
    #[serde(default)]
    pub review_required: bool,
    /// Every approving decision from a different person.
    #[serde(default)]
    pub distinct: bool,
    /// What the owner tells the path's steps and templates about its subject (`approval.subject`;
    /// for AI Clearance: the declared data classes, purpose, the tool's data profile and the
    /// conditions an approval would carry). Opaque to the engine; bounded by the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<serde_json::Value>,
}

impl Approval {
    pub fn phase_steps(&self, p: Phase) -> &[Step] {
        match p {
            Phase::Steps => &self.steps,
            Phase::SuccessSteps => &self.success_steps,
            Phase::RejectionSteps => &self.rejection_steps,
            Phase::ExpirationSteps => &self.expiration_steps,
        }
    }
    pub fn phase_steps_mut(&mut self, p: Phase) -> &mut Vec<Step> {
        match p {
            Phase::Steps => &mut self.steps,
            Phase::SuccessSteps => &mut self.success_steps,
            Phase::RejectionSteps => &mut self.rejection_steps,
            Phase::ExpirationSteps => &mut self.expiration_steps,
        }
    }
    pub fn find(&self, step_id: &str) -> Option<(Phase, &Step)> {
        Phase::ALL.into_iter().find_map(|p| {
            self.phase_steps(p)
                .iter()
                .find(|s| s.id == step_id)
                .map(|s| (p, s))
        })
    }
    pub fn find_mut(&mut self, step_id: &str) -> Option<&mut Step> {
        Phase::ALL
            .into_iter()
            .find(|p| self.phase_steps(*p).iter().any(|s| s.id == step_id))
            .and_then(move |p| self.phase_steps_mut(p).iter_mut().find(|s| s.id == step_id))
    }
    pub fn all_steps(&self) -> impl Iterator<Item = (Phase, &Step)> {
        Phase::ALL
            .into_iter()
            .flat_map(move |p| self.phase_steps(p).iter().map(move |s| (p, s)))
    }
    pub fn is_open(&self) -> bool {
        self.status == ApprovalStatus::Running
    }
}
