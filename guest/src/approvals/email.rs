//! Tenant-wide email message templates (Settings → Messages) and the outbox. The EMAIL step has
//! no body of its own: it renders the template for its event. Forge apps cannot send mail
//! directly, so every email becomes an outbox record (the simulator shows them; a deployment
//! hands them to Jira notifications or a mail relay).

use super::olivlang;
use crate::audit::{self, config::Change};
use crate::error::{AppError, AppResult};
use crate::storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const EVENTS: &[&str] = &[
    "CALL_FOR_ACTION",
    "WATCHER_NOTIFICATION",
    "DEADLINE_REMINDER",
    "EXTERNAL_APPROVER",
    "VOTING",
    "APPROVAL_COMPLETED",
];

pub const SUBJECT_MAX: usize = 255;
pub const BODY_MAX: usize = 4_000;
/// Recipients of one email (groups are expanded up to this many members).
pub const RECIPIENTS_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageTemplate {
    pub event: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub custom: bool,
}

pub fn default_template(event: &str) -> Option<MessageTemplate> {
    let (subject, body) = match event {
        "CALL_FOR_ACTION" => (
            "Your decision is needed: {{ approval.name }} on {{ issue.key }}",
            "Hello {{ activeUser }},\n\n{{ approvalOriginator }} asks for your decision on \"{{ approval.name }}\" for {{ issue.key }} ({{ issue.fields.summary }}).\n{{ stepDetails }}\n\nDecide here: {{ approvalLink }}\nAll your pending approvals: {{ pendingApprovalsLink }}\n\n{{ appName }}",
        ),
        "WATCHER_NOTIFICATION" => (
            "Update on {{ issue.key }}: {{ approval.name }} is {{ approval.statusText }}",
            "{{ approval.name }} on {{ issue.key }} is now {{ approval.statusText }} ({{ approval.progress }}% done).\n{{ stepDetails }}\n{% for name, p in promptSteps|items %}\n{{ name }}:\n{{ p.result }}\n{% endfor %}\nDetails: {{ issueLink }}\n\n{{ appName }}",
        ),
        "DEADLINE_REMINDER" => (
            "Reminder: {{ approval.name }} on {{ issue.key }} is due {{ approval.decisionDeadline }}",
            "The decision on \"{{ approval.name }}\" for {{ issue.key }} is due {{ approval.decisionDeadline }}.\nDecide here: {{ approvalLink }}\n\n{{ appName }}",
        ),
        "EXTERNAL_APPROVER" => (
            "Decision requested: {{ approval.name }}",
            "You are asked to approve or deny \"{{ approval.name }}\" ({{ issue.key }}).\n{{ stepDetails }}\nHow approvals work: {{ approvalProcessDocumentationLink }}\n\n{{ appName }}",
        ),
        "VOTING" => (
            "Vote: {{ approval.name }} on {{ issue.key }}",
            "A vote is open on \"{{ approval.name }}\" for {{ issue.key }}.\n{{ stepDetails }}\nVote here: {{ approvalLink }}\n\n{{ appName }}",
        ),
        "APPROVAL_COMPLETED" => (
            "{{ approval.name }} on {{ issue.key }}: {{ approval.statusText }}",
            "\"{{ approval.name }}\" for {{ issue.key }} finished: {{ approval.statusText }}.\nDetails: {{ issueLink }}\n\n{{ appName }}",
        ),
        _ => return None,
    };
    Some(MessageTemplate {
        event: event.into(),
        subject: subject.into(),
        body: body.into(),
        custom: false,
    })
}

fn key(event: &str) -> String {
    crate::storage::keys::message_template(event)
}

pub fn load(store: Store<'_>, event: &str) -> AppResult<MessageTemplate> {
    let default = default_template(event).ok_or_else(|| {
        AppError::invalid(
            "UNKNOWN_EVENT",
            format!("unknown message event {event:?}; one of {EVENTS:?}"),
        )
    })?;
    Ok(store
        .get::<MessageTemplate>(&key(event))?
        .unwrap_or(default))
}

/// What a message template can use (the context `effects::step_context` renders with), for
/// the Settings → Messages screen: the variable and what it holds.
pub const VARIABLES: &[(&str, &str)] = &[
    ("{{ approval.name }}", "also .status, .progress, .decisionDeadline, .validityExpirationDate, .steps, .successSteps …"),
    ("{{ issue.key }}", "and every field: {{ issue.fields.summary }}, {{ issue.fields.status.name }} …"),
    ("{{ definition.name }}", "and {{ definition.description }}"),
    ("{{ crossApprovals }}", "precedent approvals of the same path"),
    ("{{ activeUser }}", "the recipient"),
    ("{{ approvalOriginator }}", "who started the approval"),
    ("{{ approvalLink }}", "where to decide"),
    ("{{ pendingApprovalsLink }}", "all the recipient's pending approvals"),
    ("{{ issueLink }}", "the work item"),
    ("{{ stepDetails }}", "the current step"),
    ("{{ appName }}", "AI Clearance"),
    ("{{ approvalProcessDocumentationLink }}", "how approvals work"),
    ("{{ promptSteps[\"Step name\"].result }}", "an AI Prompt step's analysis; also .executedAt, .provider, .model"),
];

pub fn list(store: Store<'_>) -> AppResult<Vec<MessageTemplate>> {
    EVENTS.iter().map(|e| load(store, e)).collect()
}

/// Saves a custom template after checking it compiles; `reset: true` restores the default.
/// Either is audited (`config_changed`, kind `messageTemplate`) in the transaction that writes it.
pub fn save(store: Store<'_>, who: &str, p: &Value) -> AppResult<MessageTemplate> {
    let event = p.get("event").and_then(Value::as_str).unwrap_or("");
    let default = load(store, event)?;
    let raw = store.get_raw(&key(event))?;
    let stored: Option<MessageTemplate> = raw
        .as_deref()
        .map(|t| crate::storage::decode(&key(event), t))
        .transpose()?;
    let changed = |e: crate::storage::StorageError| match e {
        crate::storage::StorageError::Conflict(k) if k == key(event) => AppError::conflict(
            "TEMPLATE_CHANGED",
            "the message template changed while saving; reload and try again",
        ),
        e => e.into(),
    };
    if p.get("reset").and_then(Value::as_bool) == Some(true) {
        if let (Some(raw), Some(before)) = (&raw, &stored) {
            let change =
                Change::new::<_, MessageTemplate>("messageTemplate", event, Some(before), None);
            audit::config::commit(store, who, &[change], |tx| {
                tx.delete_if_current(&key(event), raw)?;
                Ok(())
            })
            .map_err(changed)?;
        }
        return Ok(default_template(event).expect("checked"));
    }
    let subject = p.get("subject").and_then(Value::as_str).unwrap_or("");
    let body = p.get("body").and_then(Value::as_str).unwrap_or("");
    let mut errors = Vec::new();
    for (field, text, max) in [("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)] {
        if text.trim().is_empty() || text.chars().count() > max {
            errors.push(
                serde_json::json!({"field": field, "message": format!("1-{max} characters")}),
            );
        } else if let Err(e) = olivlang::check_template(text) {
            errors.push(serde_json::json!({"field": field, "message": e.to_string()}));
        }
    }
    if !errors.is_empty() {
        return Err(
            AppError::invalid("TEMPLATE_INVALID", "the message template has problems")
                .with_details(serde_json::json!({ "errors": errors })),
        );
    }
    let t = MessageTemplate {
        event: default.event,
        subject: subject.into(),
        body: body.into(),
        custom: true,
    };
    let change = Change::new("messageTemplate", event, stored.as_ref(), Some(&t));
    audit::config::commit(store, who, &[change], |tx| {
        tx.set_if_current(&key(event), &t, raw.as_deref())?;
        Ok(())
    })
    .map_err(changed)?;
    Ok(t)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub account_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEmail {
    pub id: String,
    pub event: String,
    pub approval_id: String,
    pub step_id: String,
    pub issue_key: String,
    pub to: Vec<Recipient>,
    pub subject: String,
    pub body: String,
    pub created_at: String,
}
