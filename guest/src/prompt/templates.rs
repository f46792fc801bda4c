//! Settings → AI → Prompt templates: the six read-only built-ins first, then up to 50 custom
//! templates per tenant (name ≤ 120, description ≤ 500, body ≤ 4,000 characters).

use super::builtins;
use crate::approvals::olivlang;
use crate::audit::{self, config::Change};
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const MAX_CUSTOM: usize = 50;
pub const NAME_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 500;
pub const BODY_MAX: usize = 4_000;
pub const PREFIX: &str = crate::storage::keys::PROMPT_TEMPLATE_PREFIX;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub body: String,
    #[serde(default)]
    pub builtin: bool,
}

fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

pub fn list(store: Store<'_>) -> AppResult<Vec<Template>> {
    let mut out: Vec<Template> = builtins::BUILTINS
        .iter()
        .map(|b| Template {
            id: b.id.into(),
            name: b.name.into(),
            description: b.description.into(),
            body: b.body.into(),
            builtin: true,
        })
        .collect();
    let mut custom: Vec<Template> = store
        .scan::<Template>(PREFIX, MAX_CUSTOM + 1)?
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    custom.sort_by_key(|t| t.name.to_lowercase());
    out.extend(custom);
    Ok(out)
}

pub fn get(store: Store<'_>, id: &str) -> AppResult<Template> {
    if let Some(b) = builtins::builtin(id) {
        return Ok(Template {
            id: b.id.into(),
            name: b.name.into(),
            description: b.description.into(),
            body: b.body.into(),
            builtin: true,
        });
    }
    if crate::storage::rules::check_key(&key(id)).is_err() {
        return Err(AppError::not_found(
            "TEMPLATE_NOT_FOUND",
            "no such template",
        ));
    }
    store
        .get::<Template>(&key(id))?
        .ok_or_else(|| AppError::not_found("TEMPLATE_NOT_FOUND", "no such template"))
}

/// Creates or edits a custom template, audited (`config_changed`, kind `promptTemplate`).
pub fn save(host: &dyn Host, who: &str, p: &Value) -> AppResult<Template> {
    let store = Store::new(host);
    let id = p.get("id").and_then(Value::as_str).unwrap_or("");
    if builtins::is_builtin_id(id) {
        return Err(AppError::forbidden(
            "TEMPLATE_READ_ONLY",
            "built-in templates cannot be edited",
        ));
    }
    let text = |f: &str| p.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    let (name, description, body) = (
        text("name").trim().to_string(),
        text("description"),
        text("body"),
    );
    crate::text::check_name("name", &name)?;
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        errors.push(json!({"field": "name", "message": format!("1-{NAME_MAX} characters")}));
    }
    if description.chars().count() > DESCRIPTION_MAX {
        errors.push(json!({"field": "description", "message": format!("at most {DESCRIPTION_MAX} characters")}));
    }
    if body.trim().is_empty() || body.chars().count() > BODY_MAX {
        errors.push(json!({"field": "body", "message": format!("1-{BODY_MAX} characters")}));
    } else if let Err(e) = olivlang::check_template(&body) {
        errors.push(json!({"field": "body", "message": e.to_string()}));
    }
    if !errors.is_empty() {
        return Err(
            AppError::invalid("TEMPLATE_INVALID", "the template has problems")
                .with_details(json!({ "errors": errors })),
        );
    }
    let (id, raw) = if id.is_empty() {
        let existing = store.scan::<Template>(PREFIX, MAX_CUSTOM + 1)?.len();
        if existing >= MAX_CUSTOM {
            return Err(AppError::invalid(
                "TEMPLATE_LIMIT",
                format!("at most {MAX_CUSTOM} custom templates"),
            ));
        }
        (
            format!("tpl-{}", crate::audit::chain::hex(&host.random_bytes(6))),
            None,
        )
    } else {
        (id.to_string(), Some(stored_raw(store, id)?))
    };
    let before: Option<Template> = raw
        .as_deref()
        .map(|r| crate::storage::decode(&key(&id), r))
        .transpose()?;
    let t = Template {
        id: id.clone(),
        name,
        description,
        body,
        builtin: false,
    };
    let change = Change::new("promptTemplate", &id, before.as_ref(), Some(&t));
    audit::config::commit(store, who, &[change], |tx| {
        tx.set_if_current(&key(&id), &t, raw.as_deref())?;
        Ok(())
    })
    .map_err(|e| changed(e, &id))?;
    Ok(t)
}

/// The stored text of a custom template (the condition for changing it).
fn stored_raw(store: Store<'_>, id: &str) -> AppResult<String> {
    let missing = || AppError::not_found("TEMPLATE_NOT_FOUND", "no such template");
    if crate::storage::rules::check_key(&key(id)).is_err() {
        return Err(missing());
    }
    store.get_raw(&key(id))?.ok_or_else(missing)
}

fn changed(e: crate::storage::StorageError, id: &str) -> AppError {
    match e {
        crate::storage::StorageError::Conflict(k) if k == key(id) => AppError::conflict(
            "TEMPLATE_CHANGED",
            "the template changed while saving; reload and try again",
        ),
        e => e.into(),
    }
}

/// Deletes a custom template, audited (`config_changed`, kind `promptTemplate`).
pub fn delete(store: Store<'_>, who: &str, id: &str) -> AppResult<()> {
    if builtins::is_builtin_id(id) {
        return Err(AppError::forbidden(
            "TEMPLATE_READ_ONLY",
            "built-in templates cannot be deleted",
        ));
    }
    let raw = stored_raw(store, id)?;
    let before: Template = crate::storage::decode(&key(id), &raw)?;
    let change = Change::new::<_, Template>("promptTemplate", id, Some(&before), None);
    audit::config::commit(store, who, &[change], |tx| {
        tx.delete_if_current(&key(id), &raw)?;
        Ok(())
    })
    .map_err(|e| changed(e, id))?;
    Ok(())
}
