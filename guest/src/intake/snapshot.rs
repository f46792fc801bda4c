//! The portal snapshot `aiclearance.snapshot.v1` (docs/snapshot.md): where it is read from and
//! how it is validated. Every rejection is a typed `SnapshotError` with a stable code and field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SNAPSHOT_KEY: &str = "aiclearance.snapshot.v1";
/// Jira issue property values are limited to 32,768 characters.
pub const MAX_SNAPSHOT_CHARS: usize = 32_768;
/// Grants never outlive 180 days (spec §9 Ex.D), so no request may ask for more.
pub const MAX_DURATION_DAYS: u32 = 180;
const MAX_JUSTIFICATION_CHARS: usize = 2_000;
const MAX_TOOL_NAME_CHARS: usize = 120;
const MAX_URL_CHARS: usize = 2_048;
/// The requester's short purpose (issue 35).
pub const MAX_PURPOSE_CHARS: usize = 500;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SnapshotTool {
    /// A catalog tool by id.
    Catalog { id: String },
    /// "Request new tool": a tool the catalog does not have yet. The URL is optional (§7.1).
    New {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub tool: SnapshotTool,
    pub duration_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type_id: Option<u64>,
    /// The data classes the requester intends to use with the tool (issue 35; optional: older
    /// snapshots have none). Names are checked against the site's list at intake.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
    /// What the requester will use the tool for, at most 500 characters (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// Why a snapshot was refused. `code()` is what admins see in the rejection list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    Missing,
    Malformed(String),
    TooLarge(usize),
    /// Nested deeper than Jira's answer can be read (the property is refused, not retried).
    TooDeep,
    ToolMissing,
    ToolAmbiguous,
    ToolIdInvalid(String),
    NewToolNameMissing,
    NewToolUrlInvalid(String),
    DurationInvalid(String),
    DurationTooLong {
        requested: u32,
        max: u32,
        why: String,
    },
    ToolUnknown(String),
    ToolNotRequestable {
        id: String,
        status: String,
    },
    /// Governance blocks tools that are not in the catalog (A-CL-14).
    UnknownToolBlocked(String),
    /// `dataClasses` is not a list of class names.
    DataClassesInvalid(String),
    /// A declared class is not one of the site's data classes.
    DataClassUnknown(String),
    /// Governance prohibits a declared class for this tool (the reason).
    DataClassProhibited(String),
    PurposeTooLong(usize),
}

impl SnapshotError {
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::Missing => "SNAPSHOT_MISSING",
            SnapshotError::Malformed(_) => "SNAPSHOT_MALFORMED",
            SnapshotError::TooLarge(_) => "SNAPSHOT_TOO_LARGE",
            SnapshotError::TooDeep => "SNAPSHOT_TOO_DEEP",
            SnapshotError::ToolMissing => "TOOL_MISSING",
            SnapshotError::ToolAmbiguous => "TOOL_AMBIGUOUS",
            SnapshotError::ToolIdInvalid(_) => "TOOL_ID_INVALID",
            SnapshotError::NewToolNameMissing => "NEW_TOOL_NAME_MISSING",
            SnapshotError::NewToolUrlInvalid(_) => "NEW_TOOL_URL_INVALID",
            SnapshotError::DurationInvalid(_) => "DURATION_INVALID",
            SnapshotError::DurationTooLong { .. } => "DURATION_TOO_LONG",
            SnapshotError::ToolUnknown(_) => "TOOL_UNKNOWN",
            SnapshotError::ToolNotRequestable { .. } => "TOOL_NOT_REQUESTABLE",
            SnapshotError::UnknownToolBlocked(_) => "UNKNOWN_TOOL_BLOCKED",
            SnapshotError::DataClassesInvalid(_) => "DATA_CLASSES_INVALID",
            SnapshotError::DataClassUnknown(_) => "DATA_CLASS_UNKNOWN",
            SnapshotError::DataClassProhibited(_) => "DATA_CLASS_PROHIBITED",
            SnapshotError::PurposeTooLong(_) => "PURPOSE_TOO_LONG",
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            SnapshotError::Missing
            | SnapshotError::Malformed(_)
            | SnapshotError::TooLarge(_)
            | SnapshotError::TooDeep => None,
            SnapshotError::ToolMissing
            | SnapshotError::ToolAmbiguous
            | SnapshotError::ToolIdInvalid(_)
            | SnapshotError::ToolUnknown(_)
            | SnapshotError::ToolNotRequestable { .. } => Some("toolId"),
            SnapshotError::NewToolNameMissing | SnapshotError::UnknownToolBlocked(_) => {
                Some("newTool.name")
            }
            SnapshotError::NewToolUrlInvalid(_) => Some("newTool.url"),
            SnapshotError::DurationInvalid(_) | SnapshotError::DurationTooLong { .. } => {
                Some("durationDays")
            }
            SnapshotError::DataClassesInvalid(_)
            | SnapshotError::DataClassUnknown(_)
            | SnapshotError::DataClassProhibited(_) => Some("dataClasses"),
            SnapshotError::PurposeTooLong(_) => Some("purpose"),
        }
    }

    pub fn message(&self) -> String {
        match self {
            SnapshotError::Missing => format!("the issue has no {SNAPSHOT_KEY} snapshot (neither in the portal panel's property nor as its own property)"),
            SnapshotError::Malformed(why) => format!("the snapshot is not a JSON object: {why}"),
            SnapshotError::TooLarge(n) => format!("the snapshot is {n} characters; at most {MAX_SNAPSHOT_CHARS} are allowed"),
            SnapshotError::TooDeep => "the snapshot is nested too deeply to read; submit the request again from the portal form".into(),
            SnapshotError::ToolMissing => "choose an approved tool or \"Request new tool\"".into(),
            SnapshotError::ToolAmbiguous => "the snapshot names both a catalog tool and a new tool".into(),
            SnapshotError::ToolIdInvalid(id) => format!("{id:?} is not a valid catalog tool id"),
            SnapshotError::NewToolNameMissing => "a new tool needs a name".into(),
            SnapshotError::NewToolUrlInvalid(why) => format!("the new tool's URL is not usable: {why}"),
            SnapshotError::DurationInvalid(why) => format!("the requested duration is not a whole number of days: {why}"),
            SnapshotError::DurationTooLong { requested, max, why } => format!("{requested} days requested; at most {max} days are allowed ({why})"),
            SnapshotError::ToolUnknown(id) => format!("the catalog has no tool {id:?}"),
            SnapshotError::ToolNotRequestable { id, status } => format!("tool {id:?} is {status} and cannot be requested"),
            SnapshotError::UnknownToolBlocked(name) => format!("{name:?} is not in the catalog, and governance blocks tools that are not; ask an admin to assess it"),
            SnapshotError::DataClassesInvalid(why) => format!("the declared data classes are not usable: {why}"),
            SnapshotError::DataClassUnknown(why) => why.clone(),
            SnapshotError::DataClassProhibited(why) => why.clone(),
            SnapshotError::PurposeTooLong(n) => format!("the purpose is {n} characters; at most {MAX_PURPOSE_CHARS} are allowed"),
        }
    }
}

/// Where the snapshot was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SnapshotSource {
    /// Field `aiclearance.snapshot.v1` of the panel property (key = the app id's UUID).
    Panel,
    /// A standalone `aiclearance.snapshot.v1` issue property (automation or REST).
    Property,
}

/// Picks the raw snapshot out of the issue's `properties` (the panel's first).
pub fn locate<'a>(
    properties: Option<&'a Value>,
    app_uuid: &str,
) -> Option<(&'a Value, SnapshotSource)> {
    let props = properties?;
    if let Some(v) = props
        .get(app_uuid)
        .and_then(|panel| panel.get(SNAPSHOT_KEY))
        .filter(|v| !v.is_null())
    {
        return Some((v, SnapshotSource::Panel));
    }
    props
        .get(SNAPSHOT_KEY)
        .filter(|v| !v.is_null())
        .map(|v| (v, SnapshotSource::Property))
}

/// Parses and checks the shape of a snapshot (catalog lookups happen in `ingest`).
pub fn parse(raw: &Value) -> Result<Snapshot, SnapshotError> {
    let owned;
    let obj = match raw {
        Value::String(text) => {
            // Panels often submit the snapshot as JSON text.
            if text.len() > MAX_SNAPSHOT_CHARS {
                return Err(SnapshotError::TooLarge(text.len()));
            }
            owned = serde_json::from_str::<Value>(text)
                .map_err(|e| SnapshotError::Malformed(e.to_string()))?;
            &owned
        }
        other => other,
    };
    let obj = obj
        .as_object()
        .ok_or_else(|| SnapshotError::Malformed("expected an object".into()))?;
    let size = Value::Object(obj.clone()).to_string().len();
    if size > MAX_SNAPSHOT_CHARS {
        return Err(SnapshotError::TooLarge(size));
    }

    let tool_id = match obj.get("toolId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(other) => return Err(SnapshotError::ToolIdInvalid(other.to_string())),
    };
    let new_tool = obj.get("newTool").filter(|v| !v.is_null());
    let tool = match (tool_id, new_tool) {
        (Some(_), Some(_)) => return Err(SnapshotError::ToolAmbiguous),
        (None, None) => return Err(SnapshotError::ToolMissing),
        (Some(id), None) => {
            if !crate::catalog::is_tool_id(&id) {
                return Err(SnapshotError::ToolIdInvalid(id));
            }
            SnapshotTool::Catalog { id }
        }
        (None, Some(nt)) => {
            let name = nt
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("");
            if name.is_empty() {
                return Err(SnapshotError::NewToolNameMissing);
            }
            let url = nt
                .get("url")
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("");
            // Optional (§7.1 "optional tool URL for new tools"); when given it must be usable.
            let url = if url.is_empty() {
                None
            } else {
                check_url(url)?;
                Some(url.to_string())
            };
            SnapshotTool::New {
                name: truncate(name, MAX_TOOL_NAME_CHARS),
                url,
            }
        }
    };

    let duration_days = match obj.get("durationDays") {
        None | Some(Value::Null) => return Err(SnapshotError::DurationInvalid("missing".into())),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(d) if d >= 1 => u32::try_from(d).unwrap_or(u32::MAX),
            _ => {
                return Err(SnapshotError::DurationInvalid(format!(
                    "{n} is not a positive whole number"
                )))
            }
        },
        Some(other) => {
            return Err(SnapshotError::DurationInvalid(format!(
                "{other} is not a number"
            )))
        }
    };
    if duration_days > MAX_DURATION_DAYS {
        return Err(SnapshotError::DurationTooLong {
            requested: duration_days,
            max: MAX_DURATION_DAYS,
            why: "the longest any grant may last".into(),
        });
    }

    let justification = obj
        .get("justification")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| truncate(s, MAX_JUSTIFICATION_CHARS));
    let data_classes = match obj.get("dataClasses") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) if a.len() <= crate::catalog::data::MAX_CLASSES => {
            let mut out: Vec<String> = Vec::new();
            for c in a {
                let name = c
                    .as_str()
                    .map(|s| s.trim().to_lowercase())
                    .unwrap_or_default();
                if !crate::catalog::data::is_class(&name) {
                    return Err(SnapshotError::DataClassesInvalid(format!(
                        "{c} is not a data class name"
                    )));
                }
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            out
        }
        Some(_) => {
            return Err(SnapshotError::DataClassesInvalid(format!(
                "expected a list of at most {} class names",
                crate::catalog::data::MAX_CLASSES
            )))
        }
    };
    let purpose = match obj.get("purpose") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            let n = s.chars().count();
            if n > MAX_PURPOSE_CHARS {
                return Err(SnapshotError::PurposeTooLong(n));
            }
            (!s.is_empty()).then(|| s.to_string())
        }
        Some(_) => return Err(SnapshotError::PurposeTooLong(MAX_PURPOSE_CHARS + 1)),
    };
    Ok(Snapshot {
        tool,
        duration_days,
        justification,
        portal_id: obj.get("portalId").and_then(super::config::numeric_id),
        request_type_id: obj.get("requestTypeId").and_then(super::config::numeric_id),
        data_classes,
        purpose,
    })
}

fn check_url(url: &str) -> Result<(), SnapshotError> {
    if url.len() > MAX_URL_CHARS {
        return Err(SnapshotError::NewToolUrlInvalid(
            "longer than 2048 characters".into(),
        ));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(SnapshotError::NewToolUrlInvalid(
            "only https:// links are accepted".into(),
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_only = host.rsplit('@').next().unwrap_or("");
    if host.contains('@') {
        return Err(SnapshotError::NewToolUrlInvalid(
            "credentials in the URL are not accepted".into(),
        ));
    }
    let name = host_only.split(':').next().unwrap_or("");
    if name.is_empty()
        || !name.contains('.')
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(SnapshotError::NewToolUrlInvalid(format!(
            "{host_only:?} is not a host name"
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SnapshotError::NewToolUrlInvalid(
            "contains spaces or control characters".into(),
        ));
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // covers: CL-007, CL-226
    #[test]
    fn parses_catalog_and_new_tool_snapshots() {
        let s = parse(&json!({"toolId":"chatgpt-enterprise","newTool":null,"durationDays":30,"portalId":1,"requestTypeId":"12"})).unwrap();
        assert_eq!(
            s.tool,
            SnapshotTool::Catalog {
                id: "chatgpt-enterprise".into()
            }
        );
        assert_eq!(
            (s.duration_days, s.portal_id, s.request_type_id),
            (30, Some(1), Some(12))
        );
        let s = parse(&json!({"newTool":{"name":"Perplexity Pro","url":"https://www.perplexity.ai"},"durationDays":14})).unwrap();
        assert!(matches!(s.tool, SnapshotTool::New { .. }));
        let s = parse(&json!("{\"toolId\":\"github-copilot\",\"durationDays\":7}")).unwrap();
        assert_eq!(s.duration_days, 7);
    }

    #[test]
    fn every_bad_shape_has_its_own_code() {
        let code = |v: Value| parse(&v).unwrap_err().code();
        assert_eq!(code(json!("{\"toolId\": \"x\", ")), "SNAPSHOT_MALFORMED");
        assert_eq!(code(json!([1, 2])), "SNAPSHOT_MALFORMED");
        assert_eq!(code(json!({"durationDays": 3})), "TOOL_MISSING");
        assert_eq!(
            code(
                json!({"toolId":"a","newTool":{"name":"b","url":"https://b.io"},"durationDays":3})
            ),
            "TOOL_AMBIGUOUS"
        );
        assert_eq!(
            code(json!({"toolId":"Bad Id!","durationDays":3})),
            "TOOL_ID_INVALID"
        );
        assert_eq!(
            code(json!({"newTool":{"url":"https://b.io"},"durationDays":3})),
            "NEW_TOOL_NAME_MISSING"
        );
        assert_eq!(
            code(json!({"newTool":{"name":"B","url":"javascript:alert(1)"},"durationDays":3})),
            "NEW_TOOL_URL_INVALID"
        );
        assert_eq!(
            code(json!({"newTool":{"name":"B","url":"http://b.io"},"durationDays":3})),
            "NEW_TOOL_URL_INVALID"
        );
        assert_eq!(
            code(json!({"newTool":{"name":"B","url":"https://user:pw@b.io"},"durationDays":3})),
            "NEW_TOOL_URL_INVALID"
        );
        assert_eq!(
            code(json!({"toolId":"a","durationDays":0})),
            "DURATION_INVALID"
        );
        assert_eq!(
            code(json!({"toolId":"a","durationDays":"thirty"})),
            "DURATION_INVALID"
        );
        assert_eq!(
            code(json!({"toolId":"a","durationDays":2.5})),
            "DURATION_INVALID"
        );
        assert_eq!(code(json!({"toolId":"a"})), "DURATION_INVALID");
        assert_eq!(
            code(json!({"toolId":"a","durationDays":181})),
            "DURATION_TOO_LONG"
        );
        assert_eq!(
            code(json!(format!("\"{}\"", "x".repeat(40_000)))),
            "SNAPSHOT_TOO_LARGE"
        );
    }

    // covers: CL-007
    #[test]
    fn old_snapshots_stay_valid_and_new_ones_declare_data_classes() {
        // A snapshot written before issue 35: no classes, no purpose, same record.
        let old = json!({"toolId":"chatgpt-enterprise","newTool":null,"durationDays":30,"justification":"x","portalId":1,"requestTypeId":12});
        let s = parse(&old).unwrap();
        assert!(s.data_classes.is_empty() && s.purpose.is_none());
        let back = serde_json::to_value(&s).unwrap();
        assert!(back.get("dataClasses").is_none() && back.get("purpose").is_none());
        let s = parse(&json!({"toolId":"a","durationDays":3,
            "dataClasses":["Internal"," source-code ","internal"],"purpose":"  code review  "}))
        .unwrap();
        assert_eq!(s.data_classes, ["internal", "source-code"]);
        assert_eq!(s.purpose.as_deref(), Some("code review"));
        let code = |v: Value| parse(&v).unwrap_err().code();
        assert_eq!(
            code(json!({"toolId":"a","durationDays":3,"dataClasses":"internal"})),
            "DATA_CLASSES_INVALID"
        );
        assert_eq!(
            code(json!({"toolId":"a","durationDays":3,"dataClasses":["no spaces allowed"]})),
            "DATA_CLASSES_INVALID"
        );
        assert_eq!(
            code(json!({"toolId":"a","durationDays":3,"purpose":"p".repeat(501)})),
            "PURPOSE_TOO_LONG"
        );
        assert!(parse(&json!({"toolId":"a","durationDays":3,"purpose":"p".repeat(500)})).is_ok());
    }

    #[test]
    fn the_panel_property_wins_over_the_standalone_one() {
        let props = json!({"uuid-1": {"aiclearance.snapshot.v1": {"toolId":"a"}}, "aiclearance.snapshot.v1": {"toolId":"b"}});
        assert_eq!(
            locate(Some(&props), "uuid-1").unwrap().1,
            SnapshotSource::Panel
        );
        assert_eq!(
            locate(Some(&props), "other").unwrap().1,
            SnapshotSource::Property
        );
        assert!(locate(Some(&json!({})), "uuid-1").is_none());
    }
}
