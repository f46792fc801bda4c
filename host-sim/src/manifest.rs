//! Reads manifest.yml the way Forge does: which function serves which module, the scopes, the
//! egress allow-list, and the limits (at most 5 scheduled triggers, timeouts 1-900 s).

use anyhow::{bail, Context, Result};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub const MAX_SCHEDULED: usize = 5;
/// Forge's default for functions that do not set `timeoutSeconds` (scheduled/queue may go to 900).
pub const DEFAULT_TIMEOUT_S: u64 = 55;
/// Resolvers and product triggers always stop at 25 s.
pub const INTERACTIVE_TIMEOUT_S: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub key: String,
    pub function: String,
    pub interval_s: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub app_id: String,
    pub runtime: String,
    /// function key → timeout seconds
    pub functions: BTreeMap<String, u64>,
    /// function key → the export of the package's `index.js` that handles it (`index.<export>`)
    pub handlers: BTreeMap<String, String>,
    /// product event → (trigger module key, function)
    pub triggers: BTreeMap<String, (String, String)>,
    pub scheduled: Vec<Scheduled>,
    /// queue key → function
    pub consumers: BTreeMap<String, String>,
    /// The function UI resolvers call.
    pub resolver_function: Option<String>,
    pub scopes: Vec<String>,
    pub egress: Vec<String>,
    /// The UI modules (globalPage, adminPage, issuePanel, portal panel …), in manifest order.
    pub ui_modules: Vec<UiModule>,
    /// Custom UI resources: key → folder (relative to the manifest).
    pub resources: BTreeMap<String, String>,
    /// The `llm` module's model families (`claude`): Forge LLMs answer only when it is declared.
    pub llm_families: Vec<String>,
}

/// One UI module: what `host-sim serve` offers in its console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiModule {
    /// `jira:globalPage`, `jiraServiceManagement:portalRequestCreatePropertyPanel`, …
    pub module_type: String,
    pub key: String,
    pub title: String,
    /// The Custom UI resource key it renders.
    pub resource: Option<String>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(String::from)
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text)
            .with_context(|| format!("{} is not a usable Forge manifest", path.display()))
    }

    pub fn parse(text: &str) -> Result<Manifest> {
        let doc: Value = serde_yaml::from_str(text)?;
        let app = doc.get("app").context("no app section")?;
        let app_id = s(app, "id").context("no app.id")?;
        if !app_id.starts_with("ari:cloud:ecosystem::app/") {
            bail!("app.id {app_id:?} is not an ari:cloud:ecosystem::app/ id");
        }
        let runtime = app
            .get("runtime")
            .and_then(|r| s(r, "name"))
            .unwrap_or_default();
        let modules = doc.get("modules").context("no modules section")?;
        let list = |k: &str| {
            modules
                .get(k)
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default()
        };

        let mut m = Manifest {
            app_id,
            runtime,
            ..Default::default()
        };
        for f in list("function") {
            let key = s(&f, "key").context("function without key")?;
            let t = f
                .get("timeoutSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(DEFAULT_TIMEOUT_S);
            if !(1..=900).contains(&t) {
                bail!("function {key}: timeoutSeconds {t} is outside 1-900");
            }
            if let Some(h) = s(&f, "handler") {
                let export = h.strip_prefix("index.").with_context(|| {
                    format!("function {key}: handler {h:?} is not index.<export>")
                })?;
                m.handlers.insert(key.clone(), export.to_string());
            }
            m.functions.insert(key, t);
        }
        let known = |m: &Manifest, f: &str| -> Result<()> {
            if !m.functions.contains_key(f) {
                bail!("a module points at function {f:?}, which is not declared");
            }
            Ok(())
        };
        for t in list("trigger") {
            let key = s(&t, "key").context("trigger without key")?;
            let function = s(&t, "function").context("trigger without function")?;
            known(&m, &function)?;
            for e in t
                .get("events")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                m.triggers
                    .insert(e.to_string(), (key.clone(), function.clone()));
            }
        }
        for st in list("scheduledTrigger") {
            let key = s(&st, "key").context("scheduledTrigger without key")?;
            let function = s(&st, "function").context("scheduledTrigger without function")?;
            known(&m, &function)?;
            let interval_s = match s(&st, "interval").as_deref() {
                Some("fiveMinute") => 300,
                Some("hour") => 3_600,
                Some("day") => 86_400,
                Some("week") => 604_800,
                other => bail!("scheduledTrigger {key}: interval {other:?} is not fiveMinute, hour, day or week"),
            };
            m.scheduled.push(Scheduled {
                key,
                function,
                interval_s,
            });
        }
        if m.scheduled.len() > MAX_SCHEDULED {
            bail!(
                "{} scheduled triggers; Forge allows at most {MAX_SCHEDULED} per app",
                m.scheduled.len()
            );
        }
        for c in list("consumer") {
            let queue = s(&c, "queue").context("consumer without queue")?;
            let function = c
                .get("resolver")
                .and_then(|r| s(r, "function"))
                .or_else(|| s(&c, "function"))
                .context("consumer without resolver.function")?;
            known(&m, &function)?;
            m.consumers.insert(queue, function);
        }
        let llm = list("llm");
        if llm.len() > 1 {
            bail!("the llm module can only be defined once per app");
        }
        for l in llm {
            s(&l, "key").context("llm module without key")?;
            m.llm_families = l
                .get("model")
                .and_then(Value::as_sequence)
                .context("llm module: model must be a list of model families")?
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
        }
        for (k, v) in modules.as_mapping().into_iter().flatten() {
            let is_ui = k.as_str().is_some_and(|k| k.contains(':'));
            for item in v.as_sequence().into_iter().flatten().filter(|_| is_ui) {
                if let Some(f) = item.get("resolver").and_then(|r| s(r, "function")) {
                    known(&m, &f)?;
                    m.resolver_function.get_or_insert(f);
                }
                m.ui_modules.push(UiModule {
                    module_type: k.as_str().unwrap_or_default().to_string(),
                    key: s(item, "key").context("UI module without key")?,
                    title: s(item, "title").unwrap_or_default(),
                    resource: s(item, "resource"),
                });
            }
        }
        for r in doc
            .get("resources")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let (Some(k), Some(p)) = (s(r, "key"), s(r, "path")) {
                m.resources.insert(k, p);
            }
        }
        let perms = doc.get("permissions");
        m.scopes = perms
            .and_then(|p| p.get("scopes"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        m.egress = perms
            .and_then(|p| p.get("external"))
            .and_then(|e| e.get("fetch"))
            .and_then(|f| f.get("backend"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from).or_else(|| s(v, "address")))
            .collect();
        Ok(m)
    }

    pub fn app_uuid(&self) -> &str {
        self.app_id.rsplit('/').next().unwrap_or("")
    }

    pub fn timeout_of(&self, function: &str) -> u64 {
        self.functions
            .get(function)
            .copied()
            .unwrap_or(DEFAULT_TIMEOUT_S)
    }

    /// `permissions.external.fetch.backend` entries: `https://host`, `host`, or `*.domain`.
    pub fn egress_allows(&self, host: &str) -> bool {
        self.egress.iter().any(|entry| {
            let e = entry
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_ascii_lowercase();
            match e.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => e == host,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
app: { id: "ari:cloud:ecosystem::app/abc", runtime: { name: nodejs24.x } }
modules:
  function: [ { key: f, handler: index.f }, { key: s, handler: index.s, timeoutSeconds: 900 } ]
  trigger: [ { key: t, function: f, events: [ "avi:jira:created:issue" ] } ]
  scheduledTrigger: [ { key: hourly, function: s, interval: hour } ]
  consumer: [ { key: c, queue: q, resolver: { function: s, method: m } } ]
  jira:globalPage: [ { key: g, title: G, resolver: { function: f } } ]
permissions:
  scopes: [ read:jira-work ]
  external: { fetch: { backend: [ "https://*.ardsaor.io", "api.openai.com" ] } }
"#;

    #[test]
    fn reads_modules_scopes_and_egress() {
        let m = Manifest::parse(MINI).unwrap();
        assert_eq!(m.app_uuid(), "abc");
        assert_eq!(m.triggers["avi:jira:created:issue"].1, "f");
        assert_eq!(m.scheduled[0].interval_s, 3600);
        assert_eq!(m.consumers["q"], "s");
        assert_eq!(m.resolver_function.as_deref(), Some("f"));
        assert_eq!(m.timeout_of("s"), 900);
        assert!(m.egress_allows("core.ardsaor.io") && m.egress_allows("api.openai.com"));
        assert!(!m.egress_allows("ardsaor.io.evil.com") && !m.egress_allows("evil.com"));
    }

    #[test]
    fn more_than_five_scheduled_triggers_fail_to_load() {
        let many: String = (0..6)
            .map(|i| format!("    - {{ key: s{i}, function: s, interval: hour }}\n"))
            .collect();
        let text = MINI.replace(
            "  scheduledTrigger: [ { key: hourly, function: s, interval: hour } ]\n",
            &format!("  scheduledTrigger:\n{many}"),
        );
        let err = Manifest::parse(&text).unwrap_err();
        assert!(err.to_string().contains("at most 5"), "{err}");
    }
}
