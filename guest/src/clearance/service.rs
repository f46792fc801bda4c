//! Resolver functions of AI Clearance decisions, by function key. Admin functions are gated
//! first; user functions are scoped to the caller inside each module.

use super::{admin, governance, lifecycle, page, policies, tab};
use crate::access;
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation};
use crate::ratelimit;
use crate::storage::Store;
use serde_json::{json, Value};

pub const RESOLVERS: &[&str] = &[
    // Global page (§5)
    "page.context",
    "page.myAccess",
    "page.approvedTools",
    "page.history",
    // Approvals tab (§5.4)
    "clearance.approvals.tab",
    "clearance.approvals.decide",
    "clearance.approvals.bulkDecide",
    "clearance.approvals.bulkStatus",
    "clearance.jobs.complete",
    "clearance.grants.extend",
    "clearance.grants.revoke",
    // Admin (§4, §6)
    "admin.overview",
    "admin.catalog.seed",
    "admin.catalog.delete",
    "admin.governance.get",
    "admin.governance.save",
    "admin.governance.history",
    "admin.governance.exceptions.list",
    "admin.governance.exceptions.create",
    "admin.governance.exceptions.review",
    "admin.governance.exceptions.revoke",
    "admin.policies.list",
    "admin.policies.save",
    "admin.policies.delete",
    "admin.policies.dryRun",
    "admin.requests.list",
    "admin.requests.decide",
    "admin.requests.bulkDecide",
    "admin.requests.reroute",
    "admin.jobs.complete",
    "admin.jobs.list",
    "admin.jobs.retry",
    "admin.jobs.manual",
    "admin.jobs.check",
    // Connectors and identity mappings (§4.4, §8)
    "admin.connectors.list",
    "admin.connectors.get",
    "admin.connectors.save",
    "admin.connectors.test",
    "admin.connectors.enable",
    "admin.connectors.disable",
    "admin.connectors.delete",
    "admin.connectors.bindTool",
    "admin.identities.list",
    "admin.identities.set",
    "admin.identities.delete",
    // Reconciliation (issue 8)
    "admin.reconciliation.drift",
    "admin.reconciliation.history",
    "admin.reconciliation.run",
    "admin.exports.requests",
    "admin.exports.grants",
    "admin.exports.audit",
    "admin.exports.start",
    "admin.exports.status",
    "admin.exports.part",
    "admin.insights",
    "admin.insights.profileChanges",
    "admin.insights.recertify",
    "admin.audit.search",
    "admin.audit.get",
];

fn id_field<'a>(p: &'a Value, name: &str) -> AppResult<&'a str> {
    p.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid("FIELD_MISSING", format!("{name} is required")))
}

pub fn resolve(host: &dyn Host, inv: &Invocation, key: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    if key.starts_with("admin.") {
        let who = access::require_admin(host, inv)?;
        return admin_resolve(host, inv, who, key, p);
    }
    let who = access::caller(inv)?;
    match key {
        "page.context" => page::context(host, inv),
        "page.myAccess" => page::my_access(host, inv),
        "page.approvedTools" => page::approved_tools(host, inv),
        "page.history" => crate::requests::mine(store, inv, p),
        "clearance.approvals.tab" => tab::tab(host, who, p),
        "clearance.approvals.decide" => tab::decide(host, who, p),
        "clearance.approvals.bulkDecide" => tab::bulk_decide(host, who, p),
        "clearance.approvals.bulkStatus" => super::deferred::status(host, who, p),
        "clearance.jobs.complete" => tab::complete_job(host, who, p),
        "clearance.grants.extend" => lifecycle::extend(host, who, p),
        "clearance.grants.revoke" => lifecycle::revoke(host, who, p),
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}

fn admin_resolve(
    host: &dyn Host,
    inv: &Invocation,
    who: &str,
    key: &str,
    p: &Value,
) -> AppResult<Value> {
    use crate::provisioning::{connectors, identities, reconciliation};
    let store = Store::new(host);
    match key {
        "admin.overview" => admin::overview(host),
        "admin.catalog.seed" => crate::catalog::seed(store, who),
        "admin.catalog.delete" => {
            let id = id_field(p, "id")?;
            Ok(json!({"deleted": crate::catalog::delete_audited(store, id, who)?}))
        }
        "admin.governance.get" => Ok(json!({"governance": governance::load(store)?.0})),
        "admin.governance.save" => {
            let g = governance::save(store, p, who)?;
            // Requests held for a missing path get the path governance names now.
            let rerouted = super::routing::reroute_held(host, who, 500)?;
            Ok(json!({"governance": g, "reroutedHeld": rerouted}))
        }
        "admin.governance.history" => governance::history(store),
        "admin.governance.exceptions.list" => with_people(
            host,
            governance::list_exceptions(store)?,
            "exceptions",
            &["accountId", "createdBy", "reviewedBy", "revokedBy"],
        ),
        "admin.governance.exceptions.create" => {
            Ok(json!({"exception": governance::create_exception(store, p, who)?}))
        }
        "admin.governance.exceptions.review" => {
            Ok(json!({"exception": governance::change_exception(store, p, who, "review")?}))
        }
        "admin.governance.exceptions.revoke" => {
            Ok(json!({"exception": governance::change_exception(store, p, who, "revoke")?}))
        }
        "admin.policies.list" => Ok(json!({"policies": policies::list(store)?})),
        "admin.policies.save" => {
            let policy = policies::parse(p)?;
            Ok(json!({"policy": policies::save(store, policy, who)?}))
        }
        "admin.policies.delete" => {
            Ok(json!({"deleted": policies::delete(store, id_field(p, "id")?, who)?}))
        }
        "admin.policies.dryRun" => admin::dry_run(host, p),
        "admin.requests.list" => admin::requests(host, p),
        "admin.requests.decide" => tab::decide(host, who, p),
        // A held request (its governance path was cancelled or is missing) starts governance's
        // route again: audited, with the reason.
        "admin.requests.reroute" => {
            let key = p.get("issueKey").and_then(Value::as_str).unwrap_or("");
            let reason = p.get("reason").and_then(Value::as_str).unwrap_or("").trim();
            if reason.is_empty() {
                return Err(AppError::invalid(
                    "REASON_REQUIRED",
                    "say why the request is re-routed",
                ));
            }
            let (r, _) = super::decision::load_request_by_key(store, key)?;
            let (gov, _) = governance::load(store)?;
            super::routing::reroute(host, who, &r.issue_id, &gov, reason)
        }
        "admin.requests.bulkDecide" => tab::bulk_decide(host, who, p),
        "admin.jobs.complete" => super::jobs::complete(
            host,
            who,
            id_field(p, "jobId")?,
            p.get("action").and_then(Value::as_str).unwrap_or(""),
        ),
        "admin.jobs.list" => super::jobs::list(store, p),
        "admin.jobs.retry" => super::jobs::retry(host, who, id_field(p, "jobId")?),
        "admin.jobs.manual" => super::jobs::take_over(host, who, id_field(p, "jobId")?),
        "admin.jobs.check" => super::jobs::request_check(host, who, id_field(p, "grantId")?),
        "admin.connectors.list" => connectors::list(store),
        "admin.connectors.get" => connectors::get(store, p),
        "admin.connectors.save" => connectors::save(host, who, p),
        "admin.connectors.test" => connectors::test(host, inv, who, p),
        "admin.connectors.enable" => connectors::set_enabled(host, inv, who, p, true),
        "admin.connectors.disable" => connectors::set_enabled(host, inv, who, p, false),
        "admin.connectors.delete" => connectors::delete(host, who, p),
        "admin.connectors.bindTool" => connectors::bind_tool(host, inv, who, p),
        "admin.identities.list" => with_people(
            host,
            identities::list_mappings(store, p)?,
            "mappings",
            &["accountId", "updatedBy", "createdBy"],
        ),
        "admin.identities.set" => identities::set_mapping(host, who, p),
        "admin.identities.delete" => identities::delete_mapping(host, who, p),
        "admin.reconciliation.drift" => reconciliation::drift(store, p),
        "admin.reconciliation.history" => reconciliation::history(store, p),
        "admin.reconciliation.run" => {
            let only = p.get("toolId").and_then(Value::as_str);
            Ok(json!({"queued": reconciliation::schedule(host, only)?}))
        }
        "admin.exports.requests" | "admin.exports.grants" | "admin.exports.audit" => {
            // A malformed request is refused before it counts against the 5-a-minute limit.
            super::export::format(p.get("format"))?;
            super::export::window(host.now_ms(), p.get("from"), p.get("to"))?;
            ratelimit::take(store, ratelimit::EXPORTS, who)?;
            super::exports::page(host, &key["admin.exports.".len()..], p)
        }
        "admin.exports.start" => {
            super::export::format(p.get("format"))?;
            super::export::window(host.now_ms(), p.get("from"), p.get("to"))?;
            ratelimit::take(store, ratelimit::EXPORTS, who)?;
            super::exports::start_job(host, who, p)
        }
        "admin.exports.status" => super::exports::status(host, p),
        "admin.exports.part" => super::exports::part(host, p),
        "admin.insights" => admin::insights(host, p),
        "admin.insights.profileChanges" => super::data_insights::profile_changes(host, p),
        "admin.insights.recertify" => super::data_insights::recertify(host, who, p),
        // The Actor column reads names; the app's own entries say "app" (issue 33 item 1).
        "admin.audit.search" => {
            with_people(host, admin::audit_search(host, p)?, "items", &["actor"])
        }
        "admin.audit.get" => admin::audit_get(host, p),
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}

/// Adds `people` (account id → display name, one Jira call for the accounts the rows name) to
/// an admin list, so screens show names where they would show ids (issue 33, D-182). Accounts
/// Jira does not return stay out of the map and the screen falls back to the id.
fn with_people(host: &dyn Host, mut v: Value, list: &str, fields: &[&str]) -> AppResult<Value> {
    let ids: Vec<String> = v[list]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| fields.iter().filter_map(|f| row.get(*f)?.as_str()))
        // "app" is the app itself, never a Jira account.
        .filter(|id| !id.is_empty() && *id != "app")
        .map(str::to_string)
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let names = if refs.is_empty() {
        Default::default()
    } else {
        crate::names::display_names(host, crate::names::ADMINS, &refs).map_err(AppError::from)?
    };
    v["people"] = json!(names);
    Ok(v)
}
