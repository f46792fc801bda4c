//! The fixture site: the Jira data host-sim serves (fixtures/<site>/site.json), plus what the app
//! adds to it while it runs (comments, properties, transitions, created issues).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    pub display_name: String,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default = "atlassian")]
    pub account_type: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
}

fn atlassian() -> String {
    "atlassian".into()
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub group_id: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub id: String,
    pub name: String,
    pub category: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub from: Vec<String>,
    pub to: String,
    /// Fields the transition's screen requires (`resolution`): a POST without them is a 400.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestType {
    pub id: String,
    pub name: String,
    pub issue_type_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDesk {
    pub id: String,
    pub portal_id: u64,
    pub name: String,
    pub request_types: Vec<RequestType>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    pub project_type_key: String,
    pub workflow: String,
    #[serde(default)]
    pub permissions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub service_desk: Option<ServiceDesk>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub author: String,
    pub body: Value,
    pub created: String,
    /// Comment entity properties (`properties` on create, `expand=properties` on read).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub project: String,
    pub issue_type_id: String,
    #[serde(default)]
    pub request_type_id: Option<String>,
    pub summary: String,
    #[serde(default)]
    pub description: Value,
    pub reporter: String,
    #[serde(default)]
    pub creator: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    pub status: String,
    pub created: String,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Custom field values by field id (`customfield_10050`); names come from `Site::fields`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub cloud_id: String,
    pub base_url: String,
    pub now: String,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    #[serde(default)]
    pub global_permissions: BTreeMap<String, Vec<String>>,
    pub issue_types: Vec<IssueType>,
    pub workflows: BTreeMap<String, Workflow>,
    pub projects: Vec<Project>,
    pub issues: Vec<Issue>,
    /// Custom fields (`GET /rest/api/3/field`; names for `expand=names`).
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Forge environment variables of the installation (`forge variables set`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The emulated ArdSaor Core relay: registered apps, provider directories, existing groups.
    #[serde(default)]
    pub relay: RelayFixture,
    /// Forge app properties the app stored in Jira (`/rest/forge/1/app/properties`): outside
    /// the app's own storage, only the app can write them.
    #[serde(default)]
    pub app_properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayFixture {
    /// App id → signing secret (the same pair the app reads from its environment).
    #[serde(default)]
    pub apps: BTreeMap<String, String>,
    /// Provider (`okta` / `entra`) → emails of the users its directory knows.
    #[serde(default)]
    pub directory: BTreeMap<String, Vec<String>>,
    /// Groups that already exist at the provider (the app can bind them).
    #[serde(default)]
    pub groups: Vec<RelayGroupFixture>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayGroupFixture {
    pub provider: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub custom: bool,
}

impl Site {
    pub fn load(dir: &Path) -> Result<Site> {
        let path = dir.join("site.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let site: Site = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid site fixture", path.display()))?;
        site.check()?;
        Ok(site)
    }

    /// Referential integrity: a broken fixture fails loudly at load, not halfway through a run.
    pub fn check(&self) -> Result<()> {
        for i in &self.issues {
            let Some(p) = self.project(&i.project) else {
                bail!("issue {} names unknown project {}", i.key, i.project)
            };
            if self.user(&i.reporter).is_none() {
                bail!("issue {} has unknown reporter {}", i.key, i.reporter)
            }
            let wf = self.workflows.get(&p.workflow).with_context(|| {
                format!("project {} uses unknown workflow {}", p.key, p.workflow)
            })?;
            if !wf.statuses.iter().any(|s| s.id == i.status) {
                bail!(
                    "issue {} has status {} that workflow {} lacks",
                    i.key,
                    i.status,
                    p.workflow
                )
            }
        }
        for g in &self.groups {
            for m in &g.members {
                if self.user(m).is_none() {
                    bail!("group {} lists unknown member {m}", g.name)
                }
            }
        }
        Ok(())
    }

    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }
    pub fn project(&self, key_or_id: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.key == key_or_id || p.id == key_or_id)
    }
    pub fn issue(&self, key_or_id: &str) -> Option<&Issue> {
        self.issues
            .iter()
            .find(|i| i.key == key_or_id || i.id == key_or_id)
    }
    pub fn issue_mut(&mut self, key_or_id: &str) -> Option<&mut Issue> {
        self.issues
            .iter_mut()
            .find(|i| i.key == key_or_id || i.id == key_or_id)
    }
    pub fn groups_of(&self, account_id: &str) -> Vec<&Group> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == account_id))
            .collect()
    }
    pub fn in_any_group(&self, account_id: &str, groups: &[String]) -> bool {
        self.groups_of(account_id)
            .iter()
            .any(|g| groups.contains(&g.name))
    }
    /// The first active Jira administrator of the site (for CLI commands run "as an admin").
    pub fn admin_account(&self) -> Option<String> {
        self.users
            .iter()
            .find(|u| self.has_global(&u.account_id, "ADMINISTER"))
            .map(|u| u.account_id.clone())
    }
    pub fn has_global(&self, account_id: &str, permission: &str) -> bool {
        self.global_permissions
            .get(permission)
            .is_some_and(|gs| self.in_any_group(account_id, gs))
    }
    pub fn has_project(&self, account_id: &str, project: &Project, permission: &str) -> bool {
        self.has_global(account_id, "ADMINISTER")
            || project
                .permissions
                .get(permission)
                .is_some_and(|gs| self.in_any_group(account_id, gs))
    }
}
