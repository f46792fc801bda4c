//! Approval resolvers and workers: who may do what, then one engine transition.

use super::definition::{self, Definition, StepConfig};
use super::engine::{self, Authority, Outcome};
use super::model::{Approval, IssueRef, Link, Verdict};
use super::store::{self, Effect, LiveEval};
use super::{effects, email, views, webhooks};
use crate::access;
use crate::audit::chain::hex;
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::jira::{self, Jira, JiraError};
use crate::storage::hint;
use crate::storage::{keys, Store};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn str_field<'a>(p: &'a Value, name: &str) -> AppResult<&'a str> {
    p.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::invalid("FIELD_REQUIRED", format!("{name} is required")))
}

fn group_exists(host: &dyn Host, group: &str) -> AppResult<bool> {
    let url = format!(
        "/rest/api/3/group/member?groupname={}&maxResults=1",
        jira::encode(group)
    );
    match Jira::new(host).request_app(&url) {
        Ok(_) => Ok(true),
        Err(JiraError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

// ---- definitions (admin) ---------------------------------------------------------------------

/// `admin.definitions.save`: the definition as its next version, audited (`config_changed`) in
/// the transaction that writes it. Each saved version is also kept unchanged under
/// `definition-version:<id>:<version>`, so a request can name the exact version it walks (D-122).
pub fn save_definition(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let input = p.get("definition").unwrap_or(p);
    let mut def = definition::parse(input, |g| group_exists(host, g))?;
    // A PROMPT step's template must exist: a built-in, or a custom template of this tenant.
    for step in def
        .steps
        .iter()
        .chain(&def.success_steps)
        .chain(&def.rejection_steps)
        .chain(&def.expiration_steps)
    {
        if let definition::StepConfig::Prompt {
            prompt_template: Some(t),
            ..
        } = &step.config
        {
            if !t.is_empty() && crate::prompt::templates::get(store, t).is_err() {
                return Err(AppError::invalid(
                    "DEFINITION_INVALID",
                    format!("step {:?}: no prompt template {t:?}", step.name),
                )
                .with_details(
                    json!({"promptTemplate": "a built-in or an existing custom template"}),
                ));
            }
        }
    }
    // A new definition gets a generated id unless the admin names one (stable ids let
    // governance and fixtures refer to paths by name).
    let generated = def.id.is_empty();
    if generated {
        def.id = format!("def-{}", hex(&host.random_bytes(6)));
    } else {
        crate::storage::rules::check_key(&keys::definition_version(&def.id, u64::MAX)).map_err(
            |_| {
                AppError::invalid(
                    "DEFINITION_ID_INVALID",
                    "ids use letters, digits, . _ - only",
                )
            },
        )?;
    }
    let key = store::definition_key(&def.id);
    for _ in 0..4 {
        let raw = if generated {
            None
        } else {
            store.get_raw(&key)?
        };
        let previous: Option<Definition> = raw
            .as_deref()
            .map(|t| crate::storage::decode(&key, t))
            .transpose()?;
        // Versions outlive a deleted definition: one saved again under its id goes on from
        // the last kept version (versions are never overwritten).
        let last = match &previous {
            Some(d) => d.version,
            None if generated => 0,
            None => store
                .scan::<Value>(&keys::definition_version_prefix(&def.id), 10_000)?
                .iter()
                .filter_map(|(k, _)| k.rsplit(':').next()?.parse::<u32>().ok())
                .max()
                .unwrap_or(0),
        };
        def.version = last + 1;
        def.updated_at = crate::time::rfc3339(host.now_ms());
        let change =
            crate::audit::config::Change::new("definition", &def.id, previous.as_ref(), Some(&def))
                .with_detail(json!({"version": def.version}));
        let res = crate::audit::config::commit(store, who, &[change], |tx| {
            tx.set_if_current(&key, &def, raw.as_deref())?;
            tx.create(&keys::definition_version(&def.id, def.version.into()), &def)?;
            Ok(())
        });
        match res {
            Ok(_) => return Ok(json!({"definition": def})),
            Err(crate::storage::StorageError::Conflict(k))
                if k == key || k.starts_with(keys::DEFINITION_VERSION_PREFIX) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "DEFINITION_BUSY",
        "the definition changed while saving; reload and try again",
    ))
}

pub fn list_definitions(host: &dyn Host) -> AppResult<Value> {
    let defs = Store::new(host).scan::<Definition>(store::DEFINITION_PREFIX, 500)?;
    Ok(json!({"definitions": defs.into_iter().map(|(_, d)| json!({
        "id": d.id, "name": d.name, "description": d.description, "version": d.version,
        "steps": d.steps.len() + d.success_steps.len() + d.rejection_steps.len() + d.expiration_steps.len()
    })).collect::<Vec<_>>()}))
}

// ---- starting --------------------------------------------------------------------------------

/// Starts `def` on an issue. With an idempotency key the approval id is derived from it, so a
/// retried start returns the approval the first attempt created.
pub fn start(
    host: &dyn Host,
    def: &Definition,
    issue_key: &str,
    originator: &str,
    idempotency_key: Option<&str>,
) -> AppResult<Approval> {
    start_linked(
        host,
        def,
        issue_key,
        originator,
        idempotency_key,
        None,
        None,
    )
}

/// `link`: what the path is started for (see [`Link`]); a path started by hand has none, and
/// its outcome concerns only itself. `issue`: the issue as `fields=*all` without properties
/// reads it, when the caller has just read it; else it is read.
pub fn start_linked(
    host: &dyn Host,
    def: &Definition,
    issue_key: &str,
    originator: &str,
    idempotency_key: Option<&str>,
    link: Option<Link>,
    issue: Option<Value>,
) -> AppResult<Approval> {
    let issue = match issue {
        Some(v) => v,
        None => Jira::new(host)
            .issue(issue_key, &["*all"], &[])
            .map_err(store::jira_error)?,
    };
    let id = match idempotency_key {
        Some(k) => {
            let h = Sha256::digest(format!("{}|{}|{k}", def.id, issue["id"]).as_bytes());
            format!("apr-{}", &hex(&h)[..16])
        }
        None => format!("apr-{}", hex(&host.random_bytes(8))),
    };
    let store = Store::new(host);
    if idempotency_key.is_some() {
        if let Some(a) = store.get::<Approval>(&store::approval_key(&id))? {
            return Ok(a);
        }
    }
    let iref = IssueRef {
        id: issue["id"].as_str().unwrap_or_default().to_string(),
        key: issue["key"].as_str().unwrap_or(issue_key).to_string(),
        project_id: issue
            .pointer("/fields/project/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    let reporter = issue
        .pointer("/fields/reporter/accountId")
        .and_then(Value::as_str)
        .map(String::from);
    let mut probe = engine::blank(def, &id, &iref, originator, host.now_ms());
    probe.link = link.clone();
    let mut eval = LiveEval::new(host, &probe).with_issue(issue);
    let (mut a, out) = engine::start(def, id.clone(), iref, originator, host.now_ms(), &mut eval)?;
    // Who the path is about, and what its starter requires (D-60, D-61, D-62).
    a.requester = link.as_ref().and_then(|l| l.requester.clone()).or(reporter);
    a.governance_review = link.as_ref().is_some_and(|l| l.review_required);
    a.distinct_deciders = a.distinct_deciders || link.as_ref().is_some_and(|l| l.distinct);
    a.link = link;
    match store::commit(host, &mut a, None, &out, &|_| Ok(())) {
        Ok(()) => {
            store::after_commit(host, &a, &out);
            Ok(a)
        }
        Err(e) if e.code == "STORAGE_CONFLICT" => Ok(store::load(store, &id)?.0),
        Err(e) => Err(e),
    }
}

// ---- access ----------------------------------------------------------------------------------

/// Who may start `def` by hand (D-64): its `starters` say admins only (the default), anyone
/// who can see the issue, or members of named groups. Callers have checked admin already.
pub fn require_starter(host: &dyn Host, who: &str, def: &Definition) -> AppResult<()> {
    let allowed = match def.starters.mode {
        definition::StartMode::Anyone => true,
        definition::StartMode::Admins => false,
        definition::StartMode::Groups => {
            let mine = Jira::new(host).user_groups(who).map_err(AppError::from)?;
            def.starters.groups.iter().any(|g| mine.contains(g))
        }
    };
    if allowed {
        return Ok(());
    }
    Err(AppError::forbidden(
        "START_NOT_ALLOWED",
        format!(
            "{:?} can be started only by {}",
            def.name,
            match def.starters.mode {
                definition::StartMode::Groups =>
                    format!("members of {}", def.starters.groups.join(", ")),
                _ => "Jira administrators".into(),
            }
        ),
    ))
}

/// Anyone who can see the issue in Jira can see its approvals (admins always).
pub fn require_view(host: &dyn Host, who: &str, a: &Approval) -> AppResult<()> {
    if access::is_admin(host, who)? || a.originator == who {
        return Ok(());
    }
    if Jira::new(host)
        .visible_to_user(&a.issue.key)
        .map_err(AppError::from)?
    {
        return Ok(());
    }
    // Same answer as a missing approval: no existence oracle.
    Err(AppError::not_found(
        "APPROVAL_NOT_FOUND",
        "no such approval",
    ))
}

/// How `who` may decide `step_id`: as an approver, a delegate, or a Jira admin.
pub fn authority(host: &dyn Host, who: &str, a: &Approval, step_id: &str) -> AppResult<Authority> {
    let (_, step) = a
        .find(step_id)
        .ok_or_else(|| AppError::not_found("STEP_NOT_FOUND", "no such step in this approval"))?;
    match &step.config {
        StepConfig::User {
            approvers,
            delegates,
            ..
        } => {
            if approvers.iter().any(|x| x == who) {
                return Ok(Authority::Approver);
            }
            let decided = |x: &str| {
                step.decisions
                    .iter()
                    .any(|d| d.decider == x || d.on_behalf_of.as_deref() == Some(x))
            };
            // A delegate acts only for an approver of this step who named them, and only
            // while that approver has not decided (D-63).
            if let Some((boss, _)) = delegates.iter().find(|(boss, ds)| {
                approvers.contains(boss) && ds.iter().any(|d| d == who) && !decided(boss)
            }) {
                return Ok(Authority::DelegateOf(boss.clone()));
            }
        }
        StepConfig::Group { group, .. } => {
            let groups = Jira::new(host).user_groups(who).map_err(AppError::from)?;
            if groups.iter().any(|g| g == group) {
                return Ok(Authority::Approver);
            }
        }
        _ => {}
    }
    if access::is_admin(host, who)? {
        return Ok(Authority::Admin);
    }
    Err(AppError::forbidden(
        "NOT_AN_APPROVER",
        "only this step's approvers, their delegates or Jira administrators can decide it",
    ))
}

// ---- decisions -------------------------------------------------------------------------------

pub fn decide(host: &dyn Host, who: &str, p: &Value) -> AppResult<Approval> {
    let id = str_field(p, "approvalId")?;
    let step_id = str_field(p, "stepId")?;
    let verdict = match p.get("decision").and_then(Value::as_str) {
        Some("approve") | Some("APPROVE") => Verdict::Approve,
        Some("reject") | Some("REJECT") => Verdict::Reject,
        _ => {
            return Err(AppError::invalid(
                "DECISION_INVALID",
                "decision must be approve or reject",
            ))
        }
    };
    let comment = p.get("comment").and_then(Value::as_str).unwrap_or("");
    if comment.chars().count() > 2_000 {
        return Err(AppError::invalid(
            "COMMENT_TOO_LONG",
            "at most 2,000 characters",
        ));
    }
    let (a, _) = store::load(Store::new(host), id)?;
    require_view(host, who, &a)?;
    let auth = authority(host, who, &a, step_id)?;
    let now = host.now_ms();
    let (a, _) = store::transition(
        host,
        id,
        &mut |a, eval| engine::decide(a, step_id, who, auth.clone(), verdict, comment, now, eval),
        &|_| Ok(()),
    )?;
    Ok(a)
}

pub fn cancel(host: &dyn Host, who: &str, p: &Value) -> AppResult<Approval> {
    let id = str_field(p, "approvalId")?;
    let reason = p
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("cancelled");
    let (a, _) = store::load(Store::new(host), id)?;
    require_view(host, who, &a)?;
    if a.originator != who && !access::is_admin(host, who)? {
        return Err(AppError::forbidden(
            "NOT_ORIGINATOR",
            "only whoever started the approval or a Jira administrator can cancel it",
        ));
    }
    let now = host.now_ms();
    Ok(store::transition(
        host,
        id,
        &mut |a, _| engine::cancel(a, reason, Some(who), now),
        &|_| Ok(()),
    )?
    .0)
}

/// Starts a fresh approval from the current definition; the old one is cancelled (if running)
/// and marked outdated. Both writes are idempotent, so a retried restart converges.
pub fn restart(host: &dyn Host, who: &str, p: &Value) -> AppResult<Approval> {
    let id = str_field(p, "approvalId")?;
    let reason = str_field(p, "reason")?;
    let store = Store::new(host);
    let (old, _) = store::load(store, id)?;
    require_view(host, who, &old)?;
    let admin = access::is_admin(host, who)?;
    if old.originator != who && !admin {
        return Err(AppError::forbidden(
            "NOT_ORIGINATOR",
            "only whoever started the approval or a Jira administrator can restart it",
        ));
    }
    let def = store::load_definition(store, &old.definition_id)?;
    if !admin {
        // Restarting is starting again: the definition's starters still decide (D-64).
        require_starter(host, who, &def)?;
    }
    // The new path keeps the old one's link, so its starter hears of its outcome; whether that
    // outcome decides anything is the starter's rule (AI Clearance: only the route it pinned).
    let mut new = start_linked(
        host,
        &def,
        &old.issue.key,
        &old.originator,
        Some(&format!("restart:{}", old.id)),
        old.link.clone(),
        None,
    )?;
    if new.origin_approval.is_none() {
        let (_, raw) = store::load(store, &new.id)?;
        new.origin_approval = Some(old.id.clone());
        new.restart_reason = Some(reason.to_string());
        store::commit(host, &mut new, Some(&raw), &Outcome::default(), &|_| Ok(()))?;
    }
    let now = host.now_ms();
    let reason_owned = reason.to_string();
    store::transition(
        host,
        &old.id,
        &mut |a, _| {
            let out = if a.is_open() {
                engine::cancel(a, "restarted", Some(who), now)?
            } else {
                Outcome::default()
            };
            a.outdated = Some(super::model::Outdated {
                at: crate::time::rfc3339(now),
                reason: format!("restarted as {}: {reason_owned}", new.id),
            });
            Ok(out)
        },
        &|_| Ok(()),
    )?;
    Ok(new)
}

// ---- reading ---------------------------------------------------------------------------------

/// The web API view, with `outdated` filled in when the definition changed since the start.
pub fn view(host: &dyn Host, a: &Approval) -> AppResult<Value> {
    let mut v = views::approval(a);
    if a.outdated.is_none() {
        if let Some(d) =
            Store::new(host).get::<Definition>(&store::definition_key(&a.definition_id))?
        {
            if d.version > a.definition_version {
                v["outdated"] = json!({"at": d.updated_at,
                    "reason": format!("the definition changed (version {} → {})", a.definition_version, d.version)});
            }
        }
    }
    Ok(v)
}

pub fn for_issue(host: &dyn Host, who: &str, issue_key: &str) -> AppResult<Value> {
    let jira = Jira::new(host);
    let admin = access::is_admin(host, who)?;
    if !admin && !jira.visible_to_user(issue_key).map_err(AppError::from)? {
        return Err(AppError::not_found(
            "ISSUE_NOT_FOUND",
            "the issue is not visible",
        ));
    }
    let issue = jira
        .issue(issue_key, &["summary"], &[])
        .map_err(store::jira_error)?;
    let issue_id = issue["id"].as_str().unwrap_or_default();
    let store = Store::new(host);
    let ids = store.scan::<Value>(&store::by_issue_prefix(issue_id), 200)?;
    let mut out = Vec::new();
    let mut people: Vec<String> = Vec::new();
    for (_, v) in ids {
        if let Some(id) = v.get("approvalId").and_then(Value::as_str) {
            let (a, _) = store::load(store, id)?;
            let mut v = view(host, &a)?;
            v["viewer"] = viewer(host, who, admin, &a)?;
            prompt_cards(&mut v);
            collect_people(&a, &mut people);
            out.push(v);
        }
    }
    let refs: Vec<&str> = people.iter().map(String::as_str).collect();
    let names = crate::names::display_names(host, who, &refs).map_err(store::jira_error)?;
    // Whether any listed approval is analysing: the page polls while this is true.
    let polling = out.iter().any(|a| a["hasActivePromptStep"] == json!(true));
    Ok(json!({"approvals": out, "hasActivePromptStep": polling, "people": names}))
}

/// What the caller may do on this approval, decided by the same rules `decide`, `cancel` and
/// `ai.rerun` enforce, so a screen offers only what the server will accept: for each ACTIVE
/// USER/GROUP step the caller has not decided yet, the authority they would decide with.
fn viewer(host: &dyn Host, who: &str, admin: bool, a: &Approval) -> AppResult<Value> {
    let mut decidable = serde_json::Map::new();
    if a.is_open() {
        for (_, s) in a.all_steps() {
            if !s.step_type.is_human() || s.status != super::model::StepStatus::Active {
                continue;
            }
            let Ok(auth) = authority(host, who, a, &s.id) else {
                continue;
            };
            let principal = match &auth {
                Authority::DelegateOf(boss) => boss.as_str(),
                _ => who,
            };
            if s.decisions.iter().any(|d| {
                d.decider == who
                    || d.decider == principal
                    || d.on_behalf_of.as_deref() == Some(principal)
            }) {
                continue;
            }
            // Separation of duties: nothing to offer on one's own request; an approval the
            // engine would refuse is offered as reject-only, with the reason.
            if engine::check_duties(a, &s.id, who, &auth, super::model::Verdict::Reject).is_err() {
                continue;
            }
            let blocked =
                engine::check_duties(a, &s.id, who, &auth, super::model::Verdict::Approve).err();
            let mut as_ = match auth {
                Authority::Approver => json!({"as": "approver"}),
                Authority::DelegateOf(boss) => json!({"as": "delegate", "onBehalfOf": boss}),
                Authority::Admin => json!({"as": "admin", "reasonRequired": true}),
            };
            as_["mayApprove"] = json!(blocked.is_none());
            if let Some(e) = blocked {
                as_["approveBlocked"] = json!({"code": e.code, "message": e.message});
            }
            decidable.insert(s.id.clone(), as_);
        }
    }
    let originator = a.originator == who;
    Ok(json!({"isOriginator": originator, "isAdmin": admin,
              "mayRerun": originator || admin, "mayCancel": a.is_open() && (originator || admin),
              "decidable": decidable}))
}

/// The issue panel's PROMPT step cards, parsed here so the screen renders what the server says
/// (AP-192): on SUCCESS the teaser card (primary lozenge, confidence, teaser section, whether an
/// analysis was performed), on FAIL the failure guidance. The web API keeps its own shape.
fn prompt_cards(v: &mut Value) {
    for phase in ["steps", "successSteps", "rejectionSteps", "expirationSteps"] {
        for s in v[phase].as_array_mut().into_iter().flatten() {
            if s["type"] != json!("PROMPT") {
                continue;
            }
            match s["status"].as_str() {
                Some("SUCCESS") => {
                    let p = crate::prompt::result::parse(s["resultTeaser"].as_str().unwrap_or(""));
                    s["teaserCard"] = json!({"lozenge": p.lozenge, "confidence": p.confidence,
                        "teaser": p.teaser, "analysisPerformed": p.analysis_performed});
                }
                Some("FAIL") => {
                    s["guidance"] = json!(crate::prompt::result::guidance(
                        s["errorCode"].as_str(),
                        s["errorMessage"].as_str()
                    ));
                }
                _ => {}
            }
        }
    }
}

/// Everyone an approval names (originator, approvers, delegates, deciders), for display names.
fn collect_people(a: &Approval, out: &mut Vec<String>) {
    out.push(a.originator.clone());
    for (_, s) in a.all_steps() {
        if let StepConfig::User {
            approvers,
            delegates,
            ..
        } = &s.config
        {
            out.extend(approvers.iter().cloned());
            for (boss, ds) in delegates {
                out.push(boss.clone());
                out.extend(ds.iter().cloned());
            }
        }
        for d in &s.decisions {
            out.push(d.decider.clone());
            out.extend(d.on_behalf_of.clone());
        }
    }
}

/// The caller's open decisions (USER approver or delegate, or GROUP member).
pub fn pending(host: &dyn Host, who: &str) -> AppResult<Value> {
    let groups = Jira::new(host).user_groups(who).map_err(AppError::from)?;
    let mine = super::inbox::open_tasks(host, who, &groups, false)?;
    // A full page says so: the caller has more open decisions than one page shows.
    let more = mine.len() >= super::inbox::PAGE as usize;
    Ok(json!({"tasks": mine, "more": more}))
}

// ---- workers ---------------------------------------------------------------------------------

/// Due work found by index keys only: decision deadlines, validity ends, and effects or
/// deliveries whose queue events were lost. Bounded by `budget` items and the time left.
///
/// Idle cost: one read. Every commit that creates work for this sweep marks the
/// `sweep-hint:approvals` hint dirty; a clean hint in the future means nothing is due yet
/// (`storage::hint`). `full` (the hourly run) scans regardless, as the safety net under the hint.
pub fn sweep(host: &dyn Host, full: bool) -> AppResult<Value> {
    const BUDGET: usize = 200;
    const STALE_MS: u64 = 20 * 60 * 1000;
    let store = Store::new(host);
    let now = host.now_ms();
    let seen = hint::read(store, store::SWEEP_HINT)?;
    if !full && seen.idle_at(now) {
        return Ok(
            json!({"expired": 0, "validityEnded": 0, "effectsRequeued": 0, "deliveriesRequeued": 0,
                   "lostPromptStepsFailed": 0}),
        );
    }
    // When the next item falls due; `now` means "scan again next time" (a bound was hit).
    let mut next = u64::MAX;
    let mut soonest = |t: Option<u64>| {
        if let Some(t) = t {
            next = next.min(t);
        }
    };
    let (mut expired, mut validity, mut requeued, mut redelivered) = (0, 0, 0, 0);
    let (due, after) = store.due_next::<Value>(store::DUE_PREFIX, now, BUDGET)?;
    soonest(after);
    for (k, v) in due {
        if host.remaining_ms() < 5_000 {
            soonest(Some(now));
            break;
        }
        let id = v.get("approvalId").and_then(Value::as_str).unwrap_or("");
        match store::transition(
            host,
            id,
            &mut |a, eval| engine::expire(a, now, eval),
            &|_| Ok(()),
        ) {
            Ok(_) => expired += 1,
            Err(e) if e.code == "APPROVAL_NOT_FOUND" => {}
            Err(e) => return Err(e),
        }
        // Closed approvals' due keys are deleted by the commit; make sure either way.
        store.delete(&k)?;
    }
    let (due, after) = store.due_next::<Value>(store::VALIDITY_PREFIX, now, BUDGET)?;
    soonest(after);
    for (k, v) in due {
        let id = v.get("approvalId").and_then(Value::as_str).unwrap_or("");
        let key = k.clone();
        match store::transition(
            host,
            id,
            &mut |a, _| {
                a.expiry = true;
                Ok(Outcome::default())
            },
            &|tx| {
                tx.delete(&key)?;
                Ok(())
            },
        ) {
            Ok(_) => validity += 1,
            Err(e) if e.code == "APPROVAL_NOT_FOUND" => store.delete(&key)?,
            Err(e) => return Err(e),
        }
    }
    let mut lost = 0;
    let effects = store.scan::<Effect>(store::EFFECT_PREFIX, BUDGET)?;
    if effects.len() >= BUDGET {
        soonest(Some(now));
    }
    for (k, mut e) in effects {
        if now.saturating_sub(e.queued_ms) < STALE_MS {
            soonest(Some(e.queued_ms + STALE_MS));
            continue;
        }
        let prompt_of = store::load(store, &e.approval_id).ok().and_then(|(a, _)| {
            a.find(&e.step_id)
                .filter(|(_, s)| s.step_type == super::definition::StepType::Prompt)
                .map(|_| a.definition_id.clone())
        });
        if let Some(definition_id) = prompt_of {
            // StuckPromptStepCleanup: the job is gone; fail the step so the path moves on.
            crate::prompt::worker::force_fail_lost(host, &e, &definition_id)?;
            lost += 1;
            continue;
        }
        e.queued_ms = now;
        store.put(&k, &e)?;
        host.queue_push(
            store::EFFECT_QUEUE,
            &[json!({"effectId": e.id}).to_string()],
            0,
        )?;
        soonest(Some(now + STALE_MS));
        requeued += 1;
    }
    let deliveries = store.scan::<webhooks::Delivery>(webhooks::DELIVERY_PREFIX, BUDGET)?;
    if deliveries.len() >= BUDGET {
        soonest(Some(now));
    }
    for (_, d) in deliveries.iter().filter(|(_, d)| d.attempts == 0) {
        if now.saturating_sub(d.created_ms) < STALE_MS {
            soonest(Some(d.created_ms + STALE_MS));
            continue;
        }
        host.queue_push(
            store::WEBHOOK_QUEUE,
            &[json!({"deliveryId": d.id}).to_string()],
            0,
        )?;
        // Still unsent at the next run: pushed again then (as every run did before the hint).
        soonest(Some(now + 1));
        redelivered += 1;
    }
    hint::settle(store, store::SWEEP_HINT, &seen, next)?;
    if expired + validity + requeued + redelivered + lost > 0 {
        host.log(
            Level::Info,
            &format!("approvals sweep: {expired} expired, {validity} validity ends, {requeued} effects and {redelivered} deliveries re-queued, {lost} lost prompt jobs failed"),
        );
    }
    Ok(
        json!({"expired": expired, "validityEnded": validity, "effectsRequeued": requeued,
               "deliveriesRequeued": redelivered, "lostPromptStepsFailed": lost}),
    )
}

/// The account ids a definition's steps name (USER steps' approvers and delegates on both sides,
/// EMAIL steps' account-id recipients), in every phase, each once.
fn step_people(def: &Value) -> Vec<String> {
    let mut ids = std::collections::BTreeSet::new();
    for phase in ["steps", "successSteps", "rejectionSteps", "expirationSteps"] {
        for step in def[phase].as_array().into_iter().flatten() {
            if step["type"] == "EMAIL" {
                // `reporter`, `originator` and `group:<name>` are roles and groups, not people.
                ids.extend(
                    step["recipients"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|r| {
                            !matches!(*r, "reporter" | "originator") && !r.starts_with("group:")
                        })
                        .map(String::from),
                );
                continue;
            }
            if step["type"] != "USER" {
                continue;
            }
            ids.extend(
                step["approvers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(String::from),
            );
            for (boss, ds) in step["delegates"].as_object().into_iter().flatten() {
                ids.insert(boss.clone());
                ids.extend(
                    ds.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(String::from),
                );
            }
        }
    }
    ids.into_iter().collect()
}

// ---- resolver table --------------------------------------------------------------------------

pub const RESOLVERS: &[&str] = &[
    "admin.definitions.list",
    "admin.definitions.get",
    "admin.definitions.save",
    "admin.definitions.delete",
    "admin.messages.list",
    "admin.messages.save",
    "admin.webhooks.list",
    "admin.webhooks.create",
    "admin.webhooks.delete",
    "admin.webhooks.deliveries",
    "admin.outbox.list",
    "approvals.start",
    "approvals.decide",
    "approvals.cancel",
    "approvals.restart",
    "approvals.forIssue",
    "approvals.pending",
    "webapi.v2.approvals.get",
    "webapi.v2.definitions.get",
];

pub fn resolve(host: &dyn Host, inv: &Invocation, key: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    if key.starts_with("admin.") || key == "webapi.v2.definitions.get" {
        access::require_admin(host, inv)?;
    }
    let who = access::caller(inv)?;
    match key {
        "admin.definitions.list" => list_definitions(host),
        "admin.definitions.get" => {
            let def = serde_json::to_value(store::load_definition(store, str_field(p, "id")?)?)
                .map_err(|e| {
                    AppError::internal("DEFINITION_UNREADABLE", format!("definition: {e}"))
                })?;
            // The people its USER and EMAIL steps name, by name (issue 33: the editor shows names).
            let ids = step_people(&def);
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let people = crate::names::display_names(host, crate::names::ADMINS, &refs)
                .map_err(AppError::from)?;
            Ok(json!({"definition": def, "people": people}))
        }
        "admin.definitions.save" => save_definition(host, who, p),
        "admin.definitions.delete" => {
            let id = str_field(p, "id")?;
            store::load_definition(store, id)?;
            // Deleting a path something depends on would quietly route its work elsewhere:
            // refused while any owner holds a reference to it (AI Clearance's governance does,
            // D-69).
            let uses = store::definition_users(store, id)?;
            if !uses.is_empty() {
                return Err(AppError::conflict(
                    "DEFINITION_IN_USE",
                    format!(
                        "governance sends {} requests through this definition; choose another path there first",
                        uses.join(", ")
                    ),
                )
                .with_details(json!({"usedBy": uses})));
            }
            // Audited with the delete; the saved versions stay (a request may name one).
            let key = store::definition_key(id);
            let Some(raw) = store.get_raw(&key)? else {
                return Ok(json!({"deleted": id}));
            };
            let before: Value = crate::storage::decode(&key, &raw)?;
            let change = crate::audit::config::Change::new::<Value, Value>(
                "definition",
                id,
                Some(&before),
                None,
            );
            crate::audit::config::commit(store, who, &[change], |tx| {
                tx.delete_if_current(&key, &raw)?;
                Ok(())
            })
            .map_err(|e| match e {
                crate::storage::StorageError::Conflict(k) if k == key => AppError::conflict(
                    "DEFINITION_CHANGED",
                    "the definition changed while deleting; reload and try again",
                ),
                e => e.into(),
            })?;
            Ok(json!({"deleted": id}))
        }
        "admin.messages.list" => Ok(json!({"templates": email::list(store)?,
            "variables": email::VARIABLES.iter().map(|(name, hint)| json!({"name": name, "hint": hint})).collect::<Vec<_>>()})),
        "admin.messages.save" => Ok(json!({"template": email::save(store, who, p)?})),
        "admin.webhooks.list" => Ok(json!({"webhooks": webhooks::list(store)?})),
        "admin.webhooks.create" => webhooks::create(host, who, p),
        "admin.webhooks.delete" => webhooks::delete(host, who, str_field(p, "id")?),
        "admin.webhooks.deliveries" => {
            let pending = store.scan::<webhooks::Delivery>(webhooks::DELIVERY_PREFIX, 200)?;
            let dead = store.scan::<webhooks::Delivery>(webhooks::DEAD_PREFIX, 200)?;
            Ok(
                json!({"pending": pending.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
                      "dead": dead.into_iter().map(|(_, d)| d).collect::<Vec<_>>()}),
            )
        }
        "admin.outbox.list" => {
            let page = store.page::<email::OutboxEmail>(
                effects::OUTBOX_PREFIX,
                p.get("cursor").and_then(Value::as_str),
                20,
            )?;
            Ok(
                json!({"emails": page.items.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
                      "nextCursor": page.next_cursor}),
            )
        }
        "approvals.start" => {
            let def = store::load_definition(store, str_field(p, "definitionId")?)?;
            let issue_key = str_field(p, "issueKey")?;
            let admin = access::is_admin(host, who)?;
            if !admin
                && !Jira::new(host)
                    .visible_to_user(issue_key)
                    .map_err(AppError::from)?
            {
                return Err(AppError::not_found(
                    "ISSUE_NOT_FOUND",
                    "the issue is not visible",
                ));
            }
            if !admin {
                require_starter(host, who, &def)?;
            }
            let a = start(
                host,
                &def,
                issue_key,
                who,
                p.get("idempotencyKey").and_then(Value::as_str),
            )?;
            Ok(json!({"approval": view(host, &a)?}))
        }
        "approvals.decide" => Ok(json!({"approval": view(host, &decide(host, who, p)?)?})),
        "approvals.cancel" => Ok(json!({"approval": view(host, &cancel(host, who, p)?)?})),
        "approvals.restart" => Ok(json!({"approval": view(host, &restart(host, who, p)?)?})),
        "approvals.forIssue" => for_issue(host, who, str_field(p, "issueKey")?),
        "approvals.pending" => pending(host, who),
        "webapi.v2.approvals.get" => {
            let (a, _) = store::load(store, str_field(p, "id")?)?;
            require_view(host, who, &a)?;
            view(host, &a)
        }
        "webapi.v2.definitions.get" => Ok(views::definition(&store::load_definition(
            store,
            str_field(p, "id")?,
        )?)),
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}
