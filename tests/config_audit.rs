//! Every configuration change is audited in the same transaction (issue 30 item 2, D-120…D-122),
//! checked from the dispatch table rather than from a list of writers someone remembered.
//!
//! Every resolver key starting with `admin.` in the app's public tables must be classified below
//! as `Read` or `Write` (with a sample payload). Each one is called as the fixture admin on a
//! configured default site, in table order; the test diffs the configuration keys
//! (`storage::config::RECORDS`) before and after, and wherever one changed it requires a new
//! audit entry whose actor is the admin. A new admin resolver that is not classified fails the
//! test, and one that writes configuration without an audit entry fails it too (the storage layer
//! refuses such a write before the test even looks: `CONFIG_WRITE_UNAUDITED`).

mod common;

use aiclearance::storage::config::is_config;
use common::*;
use host_sim::runtime::RawOutcome;
use host_sim::sim::Sim;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const TOMAS: &str = "712020:9da8d250-3734-53dd-9c52-3614f0b0a6ac"; // the second Jira admin

/// How a test calls an admin resolver. Payloads are JSON; a string `"$name:/json/pointer"`
/// stands for that part of an earlier result (`name`: a resolver key called before, or a setup
/// result).
enum Class {
    /// Changes no configuration (it may touch operational keys: rate limits, caches, jobs).
    /// Called with the sample too, and checked to change no configuration key.
    Read(&'static str),
    /// May change configuration: must succeed, and any configuration change needs an audit
    /// entry by the admin.
    Write(&'static str),
    /// A writer whose sample cannot succeed on this site, and why. It must fail and change no
    /// configuration.
    Refused(&'static str, &'static str),
}
use Class::*;

/// Every admin resolver, in the order the test calls them.
const ADMIN_RESOLVERS: &[(&str, Class)] = &[
    // Intake (dispatch)
    ("admin.intake.get", Read("{}")),
    (
        "admin.intake.set",
        Write(
            r#"{"projectKey": "AIR", "portalId": 1, "requestTypeIds": [12, 13],
                "approvals": {"approverGroups": ["ai-approvers"],
                              "approverAccountIds": ["5dcd5fe52bbec7f9dfdb4be0"],
                              "delegates": {"5dcd5fe52bbec7f9dfdb4be0": ["5c41318d11064151843f092c"]},
                              "escalationAfterHours": 24,
                              "escalationTargets": ["5ad71d4ed1503a19896557c0"],
                              "reviewBeforeExpiryDays": 14, "reviewIssueTypeId": 10001}}"#,
        ),
    ),
    ("admin.intake.rejections", Read("{}")),
    ("admin.intake.options", Read("{}")),
    ("admin.people.search", Read(r#"{"query": "Jo"}"#)),
    ("admin.groups.search", Read(r#"{"query": "eng"}"#)),
    // Catalog
    ("admin.catalog.list", Read("{}")),
    ("admin.catalog.get", Read(r#"{"id": "claude-team"}"#)),
    (
        "admin.catalog.upsert",
        Write(
            r#"{"id": "perplexity-pro", "displayName": "Perplexity Pro", "provider": "Perplexity AI",
                "status": "approved", "riskLevel": "medium", "defaultExpiryDays": 30}"#,
        ),
    ),
    ("admin.catalog.delete", Write(r#"{"id": "jasper"}"#)),
    // Seeding again recreates only the tool just deleted.
    ("admin.catalog.seed", Write("{}")),
    // Approval paths, messages, webhooks
    ("admin.definitions.list", Read("{}")),
    (
        "admin.definitions.get",
        Read(r#"{"id": "security-review"}"#),
    ),
    (
        "admin.definitions.save",
        Write(
            r#"{"definition": {"id": "quick-check", "name": "Quick check",
                "steps": [{"name": "Approver", "type": "GROUP", "group": "ai-approvers"}],
                "starters": {"mode": "anyone"}}}"#,
        ),
    ),
    (
        "admin.definitions.delete",
        Write(r#"{"id": "quick-check"}"#),
    ),
    ("admin.messages.list", Read("{}")),
    (
        "admin.messages.save",
        Write(
            r#"{"event": "VOTING", "subject": "Vote on {{ issue.key }}",
                "body": "Please vote: {{ approvalLink }}"}"#,
        ),
    ),
    ("admin.webhooks.list", Read("{}")),
    (
        "admin.webhooks.create",
        Write(r#"{"url": "https://hooks.example.com/ai-clearance"}"#),
    ),
    (
        "admin.webhooks.delete",
        Write(r#"{"id": "$admin.webhooks.create:/webhook/id"}"#),
    ),
    ("admin.webhooks.deliveries", Read("{}")),
    ("admin.outbox.list", Read("{}")),
    // Governance, exceptions, auto-approval policies
    ("admin.governance.get", Read("{}")),
    (
        "admin.governance.save",
        Write(r#"{"blockUnknownTools": true}"#),
    ),
    ("admin.governance.history", Read("{}")),
    ("admin.governance.exceptions.list", Read("{}")),
    (
        "admin.governance.exceptions.create",
        Write(
            r#"{"toolId": "claude-team", "accountId": "5ad8a1033b4801af4cd6c510",
                "reason": "Quarter-end reporting", "maxDays": 120, "validDays": 30}"#,
        ),
    ),
    // Reviewed by a different admin than its author (Tomás created it during setup).
    (
        "admin.governance.exceptions.review",
        Write(r#"{"id": "$tomas-exception:/exception/id"}"#),
    ),
    (
        "admin.governance.exceptions.revoke",
        Write(r#"{"id": "$admin.governance.exceptions.create:/exception/id"}"#),
    ),
    ("admin.policies.list", Read("{}")),
    (
        "admin.policies.save",
        Write(
            r#"{"id": "chatgpt-marketing", "name": "ChatGPT for marketing", "projectKey": "AIR",
                "toolId": "chatgpt-enterprise", "autoApprove": true,
                "allowedGroups": ["marketing"], "maxDays": 30}"#,
        ),
    ),
    (
        "admin.policies.delete",
        Write(r#"{"id": "copilot-engineering"}"#),
    ),
    ("admin.policies.dryRun", Read(r#"{"issueKey": "AIR-2"}"#)),
    // Connectors, bindings, identity mappings
    ("admin.connectors.list", Read("{}")),
    (
        "admin.connectors.save",
        Write(
            r#"{"id": "acme-okta", "name": "Acme Okta", "type": "okta-group",
                "config": {"orgUrl": "https://acme.okta.com", "apiToken": "00aFixtureOktaApiToken9c1eD4"}}"#,
        ),
    ),
    ("admin.connectors.get", Read(r#"{"id": "acme-okta"}"#)),
    ("admin.connectors.test", Write(r#"{"id": "acme-okta"}"#)),
    ("admin.connectors.enable", Write(r#"{"id": "acme-okta"}"#)),
    (
        "admin.connectors.bindTool",
        Write(r#"{"toolId": "chatgpt-enterprise", "connectorId": "acme-okta"}"#),
    ),
    (
        "admin.identities.list",
        Read(r#"{"connectorId": "acme-okta"}"#),
    ),
    (
        "admin.identities.set",
        Write(
            r#"{"connectorId": "acme-okta", "accountId": "5ad8a1033b4801af4cd6c510",
                "email": "jonas.l@acme.example"}"#,
        ),
    ),
    (
        "admin.identities.delete",
        Write(r#"{"connectorId": "acme-okta", "accountId": "5ad8a1033b4801af4cd6c510"}"#),
    ),
    (
        "admin.connectors.disable",
        Write(r#"{"id": "spare-manual"}"#),
    ),
    (
        "admin.connectors.delete",
        Write(r#"{"id": "spare-manual"}"#),
    ),
    ("admin.reconciliation.run", Write("{}")),
    ("admin.reconciliation.drift", Read("{}")),
    ("admin.reconciliation.history", Read("{}")),
    // Requests and provisioning jobs (AIR-2, Wei's Copilot request, was ingested in setup)
    ("admin.overview", Read("{}")),
    ("admin.requests.list", Read(r#"{"category": "pending"}"#)),
    (
        "admin.requests.decide",
        Write(r#"{"issueKey": "AIR-2", "decision": "approve", "comment": "Admin fallback"}"#),
    ),
    (
        "admin.requests.bulkDecide",
        Write(r#"{"issueKeys": ["AIR-404"], "decision": "deny"}"#),
    ),
    (
        "admin.requests.reroute",
        Refused(
            r#"{"issueKey": "AIR-404", "reason": "governance fixed"}"#,
            "re-routes only a held request, and none is held on a fresh site",
        ),
    ),
    ("admin.jobs.list", Read(r#"{"status": "manualPending"}"#)),
    (
        "admin.jobs.complete",
        Write(r#"{"jobId": "$admin.jobs.list:/jobs/0/id", "action": "fulfilled"}"#),
    ),
    ("admin.jobs.check", Write(r#"{"grantId": "g-10101"}"#)),
    (
        "admin.jobs.retry",
        Refused(
            r#"{"jobId": "$admin.jobs.list:/jobs/0/id"}"#,
            "only a dead-lettered job can be retried, and nothing failed on this site",
        ),
    ),
    (
        "admin.jobs.manual",
        Refused(
            r#"{"jobId": "$admin.jobs.list:/jobs/0/id"}"#,
            "only a dead-lettered job can be switched to manual, and nothing failed on this site",
        ),
    ),
    // Exports, insights, the audit trail
    ("admin.exports.requests", Read(r#"{"format": "csv"}"#)),
    ("admin.exports.grants", Read(r#"{"format": "json"}"#)),
    ("admin.exports.audit", Read(r#"{"format": "json"}"#)),
    (
        "admin.exports.start",
        Write(r#"{"kind": "requests", "format": "csv"}"#),
    ),
    ("admin.exports.status", Read("{}")),
    ("admin.exports.part", Read("{}")),
    ("admin.insights", Read("{}")),
    ("admin.insights.profileChanges", Read("{}")),
    (
        "admin.insights.recertify",
        Refused(
            r#"{"toolId": "github-copilot"}"#,
            "asks to recertify grants approved before a weakened data profile, and no profile was weakened on this site",
        ),
    ),
    ("admin.audit.list", Read("{}")),
    ("admin.audit.search", Read(r#"{"type": "config_changed"}"#)),
    ("admin.audit.get", Read(r#"{"seq": 1}"#)),
    ("admin.audit.verify", Write(r#"{"action": "start"}"#)),
    ("admin.audit.checkpoint", Write("{}")),
    ("admin.audit.evidence", Read(r#"{"issueKey": "AIR-2"}"#)),
    // Settings → AI and the AI Prompt step
    ("admin.ai.settings.get", Read("{}")),
    (
        "admin.ai.settings.save",
        Write(
            r#"{"provider": "anthropic", "model": "claude-sonnet-4-6",
                "apiKey": "sk-ant-api03-fixture-demo-key-7f3a", "enabled": true,
                "monthlyTokenBudget": 500000, "includeComments": false}"#,
        ),
    ),
    ("admin.ai.general.get", Read("{}")),
    ("admin.ai.dataSharing.get", Read("{}")),
    ("admin.ai.models", Read(r#"{"provider": "openai"}"#)),
    ("admin.ai.test", Write("{}")),
    ("admin.ai.usage", Read("{}")),
    ("admin.ai.inbox", Read("{}")),
    ("admin.ai.executions", Read("{}")),
    ("admin.ai.templates.list", Read("{}")),
    (
        "admin.ai.templates.save",
        Write(
            r#"{"name": "Vendor check", "description": "Who the vendor is",
                "body": "Summarise the vendor of {{ issue.fields.summary }}."}"#,
        ),
    ),
    (
        "admin.ai.templates.delete",
        Write(r#"{"id": "$admin.ai.templates.save:/template/id"}"#),
    ),
    ("admin.ai.preview", Read("{}")),
    ("admin.ai.fields.refresh", Write("{}")),
];

/// Every resolver key of the app's public tables.
fn resolver_keys() -> BTreeSet<&'static str> {
    [
        aiclearance::dispatch::RESOLVERS,
        aiclearance::clearance::service::RESOLVERS,
        aiclearance::approvals::service::RESOLVERS,
        aiclearance::prompt::service::RESOLVERS,
        aiclearance::panel::RESOLVERS,
    ]
    .iter()
    .flat_map(|t| t.iter().copied())
    .collect()
}

fn config_keys(sim: &Sim) -> BTreeMap<String, String> {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| is_config(k))
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

fn audit_entries(sim: &Sim) -> BTreeMap<String, Value> {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("audit-event:"))
        .map(|(k, v)| (k.clone(), serde_json::from_str(&v.value).unwrap()))
        .collect()
}

/// The keys whose value differs between two snapshots (added, changed or removed).
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The sample with every `"$name:/pointer"` string replaced from earlier results.
fn fill(v: &Value, results: &BTreeMap<String, Value>) -> Value {
    match v {
        Value::String(s) if s.starts_with('$') => {
            let (name, pointer) = s[1..].split_once(':').expect("$name:/pointer");
            results
                .get(name)
                .and_then(|r| r.pointer(pointer))
                .unwrap_or_else(|| panic!("{s}: no such earlier result"))
                .clone()
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), fill(x, results)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, results)).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_admin_resolver_is_classified_and_every_configuration_change_is_audited() {
    // covers: CL-200, CL-141
    let classified: BTreeMap<&str, &Class> = ADMIN_RESOLVERS.iter().map(|(k, c)| (*k, c)).collect();
    assert_eq!(
        classified.len(),
        ADMIN_RESOLVERS.len(),
        "a resolver is classified twice in ADMIN_RESOLVERS"
    );
    let keys = resolver_keys();
    let unclassified: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| k.starts_with("admin.") && !classified.contains_key(k))
        .collect();
    assert!(
        unclassified.is_empty(),
        "admin resolvers {unclassified:?} are not classified: add each to ADMIN_RESOLVERS in \
         tests/config_audit.rs as Read(sample) if it changes no configuration, or Write(sample) \
         if it may (its configuration writes must go through audit::config::commit or \
         audit::commit_with_audit)"
    );
    let stale: Vec<&str> = classified
        .keys()
        .copied()
        .filter(|k| !keys.contains(k))
        .collect();
    assert!(stale.is_empty(), "{stale:?} are no resolver any more");

    let mut sim = wasm();
    // Management actions are the admins': every admin resolver refuses anyone else, whatever
    // the payload, and changes nothing.
    let config = config_keys(&sim);
    for (key, class) in ADMIN_RESOLVERS {
        let sample = match class {
            Read(p) | Write(p) | Refused(p, _) => *p,
        };
        let payload: Value = serde_json::from_str(sample).unwrap();
        assert_eq!(
            err(&mut sim, key, payload, JONAS),
            "ADMIN_REQUIRED",
            "{key} as a non-admin"
        );
    }
    assert!(changed(&config, &config_keys(&sim)).is_empty());

    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    // What the table needs from other actors or earlier state: an exception by the second
    // admin (the first reviews it), a spare connector to disable and delete, and a pending
    // request (AIR-2: Wei, GitHub Copilot, low risk, decided directly) with nothing routed.
    results.insert(
        "tomas-exception".into(),
        ok(
            &mut sim,
            "admin.governance.exceptions.create",
            json!({"toolId": "github-copilot", "accountId": "712020:6d7314cd-429c-5163-a056-f0c8e2524635",
                   "reason": "Pairing sprint", "maxDays": 180, "validDays": 14}),
            TOMAS,
        ),
    );
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "spare-manual", "name": "Spare (manual)", "type": "manual"}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "spare-manual"}),
        ADMIN,
    );
    deliver(&mut sim, &["002"]);

    let mut audited_writes = Vec::new();
    for (key, class) in ADMIN_RESOLVERS {
        let sample = match class {
            Read(p) | Write(p) | Refused(p, _) => *p,
        };
        let payload = fill(
            &serde_json::from_str(sample).unwrap_or_else(|e| panic!("{key}: sample: {e}")),
            &results,
        );
        let (config_before, audit_before) = (config_keys(&sim), audit_entries(&sim));
        let rec = sim.resolve(key, &payload, Some(ADMIN));
        sim.settle();
        let config_changes = changed(&config_before, &config_keys(&sim));
        let new_entries: Vec<Value> = audit_entries(&sim)
            .into_iter()
            .filter(|(k, _)| !audit_before.contains_key(k))
            .map(|(_, e)| e)
            .collect();
        match (class, &rec.outcome) {
            (Write(_), RawOutcome::Ok(v)) => {
                results.insert(key.to_string(), v.clone());
            }
            (Write(_), other) => panic!("{key} {payload}: the sample must succeed: {other:?}"),
            (Refused(_, why), RawOutcome::Err(_)) => {
                assert!(
                    config_changes.is_empty(),
                    "{key} failed ({why}) but changed {config_changes:?}"
                );
            }
            (Refused(_, why), other) => {
                panic!("{key} was expected to fail ({why}), but: {other:?}")
            }
            (Read(_), outcome) => {
                assert!(
                    !matches!(outcome, RawOutcome::Trapped(_) | RawOutcome::Crashed { .. }),
                    "{key}: {outcome:?}"
                );
                if let RawOutcome::Ok(v) = outcome {
                    results.insert(key.to_string(), v.clone());
                }
                assert!(
                    config_changes.is_empty(),
                    "{key} is classified Read but changed configuration {config_changes:?}: \
                     classify it as Write"
                );
            }
        }
        if !config_changes.is_empty() {
            assert!(
                new_entries.iter().any(|e| e["actor"] == ADMIN),
                "{key} changed configuration {config_changes:?} without an audit entry by the \
                 admin (new entries: {new_entries:?})"
            );
            audited_writes.push(*key);
        }
    }
    // The table reaches every kind of configuration record.
    for key in [
        "admin.intake.set",
        "admin.catalog.upsert",
        "admin.catalog.delete",
        "admin.catalog.seed",
        "admin.definitions.save",
        "admin.definitions.delete",
        "admin.messages.save",
        "admin.webhooks.create",
        "admin.webhooks.delete",
        "admin.governance.save",
        "admin.governance.exceptions.create",
        "admin.governance.exceptions.review",
        "admin.governance.exceptions.revoke",
        "admin.policies.save",
        "admin.policies.delete",
        "admin.connectors.save",
        "admin.connectors.test",
        "admin.connectors.enable",
        "admin.connectors.disable",
        "admin.connectors.delete",
        "admin.connectors.bindTool",
        "admin.identities.set",
        "admin.identities.delete",
        "admin.ai.settings.save",
        "admin.ai.templates.save",
        "admin.ai.templates.delete",
    ] {
        assert!(
            audited_writes.contains(&key),
            "{key} changed no configuration: its sample no longer exercises it"
        );
    }
    let report = verify(&mut sim);
    assert!(report.ok, "the chain verifies: {:?}", report.problems);
}

#[test]
fn config_changed_entries_name_the_change_and_never_a_secret() {
    // covers: CL-082, CL-023
    let mut sim = wasm();
    let token = "00aAuditTrailOktaToken-7781x";
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Okta", "type": "okta-group",
               "config": {"orgUrl": "https://acme.okta.com", "apiToken": token}}),
        ADMIN,
    );
    let key = "sk-ant-api03-fixture-demo-key-7f3a";
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"provider": "anthropic", "apiKey": key, "enabled": true, "monthlyTokenBudget": 1000}),
        ADMIN,
    );
    let hook = ok(
        &mut sim,
        "admin.webhooks.create",
        json!({"url": "https://hooks.example.com/x"}),
        ADMIN,
    );
    let secret = hook["secret"].as_str().unwrap().to_string();
    let entries = audit_of(&sim, "config_changed");
    let settings = entries
        .iter()
        .find(|e| e["data"]["kind"] == "aiSettings")
        .expect("the settings change is audited");
    assert_eq!(settings["actor"], ADMIN);
    assert_eq!(settings["data"]["action"], "created");
    assert_eq!(settings["data"]["detail"]["apiKeyReplaced"], true);
    assert_eq!(settings["data"]["record"]["keyFingerprint"], "[redacted]");
    assert!(settings["data"]["changed"]
        .as_array()
        .unwrap()
        .contains(&json!("keyFingerprint")));
    let webhook = entries
        .iter()
        .rev()
        .find(|e| e["data"]["kind"] == "webhook")
        .expect("the webhook is audited");
    assert_eq!(webhook["data"]["id"], hook["webhook"]["id"]);
    assert_eq!(
        webhook["data"]["record"]["url"],
        "https://hooks.example.com/x"
    );
    let all = serde_json::to_string(&entries).unwrap();
    assert!(
        !all.contains(key) && !all.contains("7f3a"),
        "no API key in the trail"
    );
    assert!(!all.contains(&secret), "no webhook secret in the trail");
    // Nor anywhere in plain storage: credentials and keys live in secret storage only.
    for (k, v) in &sim.state().kvs {
        for s in [token, key, secret.as_str()] {
            assert!(!v.value.contains(s), "{k} holds a secret");
        }
    }
    // The catalog seed lists the tools it created, in batches within a transaction's limits.
    let seeds: Vec<&Value> = entries
        .iter()
        .filter(|e| e["data"]["kind"] == "catalogSeed")
        .collect();
    let seeded: usize = seeds
        .iter()
        .map(|e| e["data"]["record"]["tools"].as_array().unwrap().len())
        .sum();
    assert_eq!(seeded, 27, "every seed tool in exactly one entry");
    assert!(seeds.len() >= 3 && seeds.iter().all(|e| e["actor"] == ADMIN));
    // Seeding again creates nothing, writes no entry, and keeps the local edits (the
    // scenario set ChatGPT Enterprise to 60 days where the seed says 90).
    let again = ok(&mut sim, "admin.catalog.seed", json!({}), ADMIN);
    assert_eq!(again["created"], json!([]));
    assert_eq!(again["kept"].as_array().unwrap().len(), 27);
    assert_eq!(
        kvs_value(&sim, "tool:chatgpt-enterprise").unwrap()["defaultExpiryDays"],
        60
    );
    assert_eq!(audit_of(&sim, "config_changed").len(), entries.len());
}

#[test]
fn each_saved_definition_version_is_kept_unchanged() {
    // Issue 30 (a request can be pinned to the definition version it walks); no ledger line.
    let mut sim = wasm();
    let def = |name: &str| {
        json!({"definition": {"id": "quick-check", "name": name,
            "steps": [{"name": "Approver", "type": "GROUP", "group": "ai-approvers"}],
            "starters": {"mode": "anyone"}}})
    };
    ok(
        &mut sim,
        "admin.definitions.save",
        def("Quick check"),
        ADMIN,
    );
    let v2 = ok(
        &mut sim,
        "admin.definitions.save",
        def("Quick check v2"),
        ADMIN,
    );
    assert_eq!(v2["definition"]["version"], 2);
    let v1 = kvs_value(&sim, "definition-version:quick-check:00000001").unwrap();
    assert_eq!(v1["name"], "Quick check");
    assert_eq!(
        kvs_value(&sim, "definition-version:quick-check:00000002").unwrap()["name"],
        "Quick check v2"
    );
    assert_eq!(
        kvs_value(&sim, "definition:quick-check").unwrap()["version"],
        2
    );
    // Deleting removes the current definition; its versions stay, and saving the id again
    // goes on from the last version instead of overwriting version 1.
    ok(
        &mut sim,
        "admin.definitions.delete",
        json!({"id": "quick-check"}),
        ADMIN,
    );
    assert!(kvs_value(&sim, "definition:quick-check").is_none());
    let again = ok(
        &mut sim,
        "admin.definitions.save",
        def("Quick check again"),
        ADMIN,
    );
    assert_eq!(again["definition"]["version"], 3);
    assert_eq!(
        kvs_value(&sim, "definition-version:quick-check:00000001").unwrap(),
        v1
    );
    let audited: Vec<Value> = audit_of(&sim, "config_changed")
        .into_iter()
        .filter(|e| e["data"]["kind"] == "definition" && e["data"]["id"] == "quick-check")
        .collect();
    let actions: Vec<&str> = audited
        .iter()
        .map(|e| e["data"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "updated", "deleted", "created"]);
    assert_eq!(audited[1]["data"]["changed"], json!(["name"]));
    assert_eq!(audited[1]["data"]["record"]["name"], "Quick check v2");
}

/// Runs `f` against the site's storage as one native invocation would see it.
fn with_store<R>(sim: &mut Sim, f: impl FnOnce(aiclearance::storage::Store<'_>) -> R) -> R {
    let emu = sim.emu_mut();
    emu.begin("test", None, 25, host_sim::faults::FaultPlan::default());
    let out = {
        let host = host_sim::runtime::native::NativeHost::new(emu);
        f(aiclearance::storage::Store::new(&host))
    };
    emu.end();
    out
}

#[test]
fn the_storage_layer_refuses_a_configuration_write_without_its_audit_entry() {
    // Issue 30 item 2 (the structural guard); no ledger line names it.
    use aiclearance::audit::config::{commit, Change};
    use aiclearance::storage::StorageError;
    let mut sim = wasm();
    let before = config_keys(&sim);
    let code = with_store(&mut sim, |store| {
        let unaudited =
            |r: Result<_, StorageError>| matches!(r, Err(StorageError::UnauditedConfig(_)));
        // Single-key writes of configuration records, deletes included.
        assert!(unaudited(store.put("tool:claude-team", &json!({}))));
        assert!(unaudited(store.put_ttl("ai-settings", &json!({}), 60)));
        assert!(unaudited(
            store.create("prompt-template:t1", &json!({})).map(|_| ())
        ));
        assert!(unaudited(store.delete("definition:security-review")));
        assert!(unaudited(store.delete("webhook-config")));
        // A transaction that writes one without moving the audit head.
        let mut tx = store.tx();
        tx.set("request:1", &1).unwrap();
        tx.delete("governance-policy").unwrap();
        assert!(unaudited(tx.commit()));
        let mut tx = store.tx();
        tx.check("audit-head", aiclearance::host::Condition::Present)
            .unwrap();
        tx.set("connector:x", &json!({})).unwrap();
        assert!(unaudited(tx.commit()));
        // Other keys are not affected.
        store.put("test-key:plain", &1).unwrap();
        // The audited path writes it.
        let change =
            Change::new::<Value, _>("promptTemplate", "t1", None, Some(&json!({"id": "t1"})));
        commit(store, ADMIN, &[change], |tx| {
            tx.create("prompt-template:t1", &json!({"id": "t1"}))?;
            Ok(())
        })
        .unwrap();
        aiclearance::AppError::from(StorageError::UnauditedConfig("tool:x".into())).code
    });
    assert_eq!(code, "CONFIG_WRITE_UNAUDITED");
    assert_eq!(
        changed(&before, &config_keys(&sim)),
        vec!["prompt-template:t1".to_string()],
        "only the audited write happened"
    );
    let e = audit_of(&sim, "config_changed").pop().unwrap();
    assert_eq!(
        (e["actor"].clone(), e["data"]["id"].clone()),
        (json!(ADMIN), json!("t1"))
    );
}
