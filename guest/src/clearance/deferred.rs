//! Bulk decisions inside the installation's write budget (issue 32 item 4, D-211–D-214).
//!
//! A bulk decision reserves its estimated write units (`write_budget`): the keys that fit this
//! minute are decided at once, by the single-decision rules; the keys assigned to a later
//! minute are written to one record per minute, `bulk-queue:<batchId>:<minute>`, and one event
//! on the `decisions` queue delivered in that minute decides them (`run`). Keys that fit in
//! none of the next 16 minutes are refused on their own with `WRITE_BUDGET_FULL` and a retry
//! time. The answer names every key's fate: decided (with its outcome), queued (with the minutes
//! it will take), or refused with its code. Nothing is dropped without a word.
//!
//! Rules hold where state changes: the consumer decides as the person who queued it, with that
//! person's facts read again from Jira (`tab::Caller`), through the same `tab::decide_one` the
//! bulk resolver uses (its `decision::apply` judges a `Basis::Person`). The record keeps only the
//! actor's account id, the verdict and the comment: a person who lost the approver role since
//! gets the ordinary refusal recorded for the key, a request decided meanwhile
//! `REQUEST_NOT_PENDING`. Redelivery is safe: each key's status is kept in the record, and a key
//! a previous delivery decided before it could save its progress is recognised by the decision
//! itself (this actor, at or after the queueing), so it is reported, not refused.

use super::decision::Verdict;
use super::tab::{self, Caller};
use super::write_budget as budget;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::host::{Host, Level};
use crate::requests::{Decision, DecisionSource, Request, RouteKind};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Queued groups, one record per bulk call and minute.
pub const PREFIX: &str = "bulk-queue:";
/// The field of a `decisions` queue event that names a group (`<batchId>:<minute>`).
pub const EVENT_FIELD: &str = "bulkQueue";
/// How long a group record is kept for the status call (queue delay ≤ 15 min, redeliveries).
const TTL_S: u64 = 2 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Queued,
    Decided,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub issue_key: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// One minute's share of a bulk decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub batch_id: String,
    pub minute: u64,
    /// Who decided: the only thing taken from the record about the person (their rights are
    /// read again when the group runs).
    pub actor: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub comment: String,
    pub source: DecisionSource,
    pub queued_at: String,
    pub items: Vec<Item>,
}

pub fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

fn cost_of(v: Verdict) -> u64 {
    match v {
        Verdict::Approve => budget::APPROVE_UNITS,
        Verdict::Deny => budget::DENY_UNITS,
    }
}

fn refusal(issue_key: &str, e: &AppError) -> Value {
    json!({"issueKey": issue_key, "ok": false, "error": {"code": e.code, "message": e.message}})
}

/// Keys that cannot be decided whatever the budget (unknown, already decided), answered now
/// with the codes `decide_one` gives, so no budget is reserved for them. Only for a caller with
/// an approval role (anyone else learns nothing about keys). Reads only.
fn not_pending(store: Store<'_>, keys_: &[String]) -> AppResult<Vec<Option<AppError>>> {
    let idx: Vec<String> = keys_
        .iter()
        .map(|k| keys::request_by_issue_key(k))
        .collect();
    let mut ids = std::collections::BTreeMap::new();
    let valid: Vec<String> = idx
        .iter()
        .filter(|k| crate::storage::check_key(k).is_ok())
        .cloned()
        .collect();
    for chunk in valid.chunks(crate::storage::MAX_BATCH) {
        ids.extend(store.batch_get(chunk)?);
    }
    let rec_keys: Vec<String> = ids
        .values()
        .filter_map(|t| serde_json::from_str::<String>(t).ok())
        .map(|id| keys::request(&id))
        .filter(|k| crate::storage::check_key(k).is_ok())
        .collect();
    let mut recs = std::collections::BTreeMap::new();
    for chunk in rec_keys.chunks(crate::storage::MAX_BATCH) {
        recs.extend(store.batch_get(chunk)?);
    }
    Ok(keys_
        .iter()
        .zip(&idx)
        .map(|(k, i)| {
            let not_found = || {
                Some(AppError::not_found(
                    "REQUEST_NOT_FOUND",
                    format!("no AI Clearance request {k:?}"),
                ))
            };
            let Some(id) = ids
                .get(i)
                .and_then(|t| serde_json::from_str::<String>(t).ok())
            else {
                return not_found();
            };
            let Some(r) = recs
                .get(&keys::request(&id))
                .and_then(|t| serde_json::from_str::<Request>(t).ok())
            else {
                return not_found();
            };
            (r.decision != Decision::Pending).then(|| {
                AppError::conflict(
                    "REQUEST_NOT_PENDING",
                    format!("{k} is already {}", r.decision.as_str()),
                )
            })
        })
        .collect())
}

/// A bulk decision by `who` on `keys_` (already checked: at most 50, the caller's bulk rate
/// limit taken), within the write budget.
pub fn bulk(
    host: &dyn Host,
    who: &str,
    keys_: &[String],
    verdict: Verdict,
    comment: &str,
) -> AppResult<Value> {
    let store = Store::new(host);
    let source = DecisionSource::Bulk;
    let mut c = Caller::new(host, who)?;
    let now_ms = host.now_ms();
    let now_min = budget::minute_of(now_ms);
    let mut results: Vec<Option<Value>> = vec![None; keys_.len()];
    // Who has no approval role spends nothing: every key is refused by `decide_one` as before.
    let mut todo: Vec<usize> = (0..keys_.len()).collect();
    let mut plan = vec![(now_min, keys_.len())];
    // Drawn by the reservation when it queues keys for a later minute (they are recorded
    // under it for the Approvals tab, D-253).
    let mut batch_id: Option<String> = None;
    let reserving = c.has_approval_access()?;
    if reserving {
        let early = not_pending(store, keys_)?;
        todo.clear();
        for (i, e) in early.into_iter().enumerate() {
            match e {
                Some(e) => results[i] = Some(refusal(&keys_[i], &e)),
                None => todo.push(i),
            }
        }
        plan = if todo.is_empty() {
            vec![]
        } else {
            let planned: Vec<String> = todo.iter().map(|i| keys_[*i].clone()).collect();
            let mut b = budget::Batch {
                keys: &planned,
                id: None,
            };
            let plan = budget::reserve(host, todo.len(), cost_of(verdict), Some(&mut b))?;
            batch_id = b.id;
            plan
        };
    }
    let (mut ok, mut failed, mut queued) = (0, 0, 0);
    let mut next = todo.into_iter();
    let mut groups: Vec<(u64, Vec<usize>)> = Vec::new();
    for (minute, n) in &plan {
        let idx: Vec<usize> = next.by_ref().take(*n).collect();
        if *minute == now_min {
            // This minute's share: decided now, by the single-decision rules.
            let mut unspent = 0;
            for i in idx {
                let k = &keys_[i];
                results[i] = Some(match tab::decide_one(&mut c, k, verdict, comment, source) {
                    Ok(v) => json!({"issueKey": k, "ok": true, "outcome": v["outcome"],
                                    "grantId": v.pointer("/decision/grantId")}),
                    Err(e) => {
                        unspent += cost_of(verdict);
                        refusal(k, &e)
                    }
                });
            }
            if reserving {
                budget::refund(host, now_min, unspent);
            }
        } else {
            groups.push((*minute, idx));
        }
    }
    // Beyond the ring: refused on their own, with when to try again.
    for i in next {
        let wait = budget::SLOTS * 60 - (now_ms / 1000) % 60;
        results[i] = Some(json!({"issueKey": keys_[i], "ok": false, "error": {
            "code": "WRITE_BUDGET_FULL",
            "message": format!("the app's storage budget for the next {} minutes is taken by other decisions; nothing was recorded for this request, try again in {} minutes", budget::SLOTS, wait.div_ceil(60)),
            "retryAfterSeconds": wait}}));
    }
    if groups.is_empty() {
        batch_id = None;
    }
    for (minute, idx) in groups {
        let id = format!("{}:{minute}", batch_id.as_deref().expect("set"));
        let within = minute - now_min + 1;
        let g = Group {
            batch_id: batch_id.clone().expect("set"),
            minute,
            actor: who.to_string(),
            verdict,
            comment: comment.to_string(),
            source,
            queued_at: crate::time::rfc3339(now_ms),
            items: idx
                .iter()
                .map(|i| Item {
                    issue_key: keys_[*i].clone(),
                    status: Status::Queued,
                    outcome: None,
                    error: None,
                    at: None,
                })
                .collect(),
        };
        // Delivered just inside its minute (Forge's delay is at most 900 s).
        let delay = ((minute * 60_000).saturating_sub(now_ms).div_ceil(1000) + 1).min(900);
        let event = json!({ EVENT_FIELD: id }).to_string();
        let queued_ok = store
            .create_ttl(&key(&id), &g, TTL_S)
            .map_err(AppError::from)
            .and_then(|_| {
                host.queue_push(super::notices::QUEUE, &[event], delay as u32)
                    .map_err(AppError::from)
            });
        for i in idx {
            let k = &keys_[i];
            results[i] = Some(match &queued_ok {
                Ok(()) => json!({"issueKey": k, "ok": true, "outcome": "queued",
                    "batchId": batch_id, "withinMinutes": within,
                    "message": format!("queued inside the app's storage budget: will be recorded within {within} minutes")}),
                Err(e) => refusal(k, e),
            });
        }
        if queued_ok.is_err() {
            let _ = store.delete(&key(&id));
        }
    }
    let results: Vec<Value> = results.into_iter().map(|r| r.expect("every key")).collect();
    for r in &results {
        match (r["ok"].as_bool(), r["outcome"].as_str()) {
            (Some(true), Some("queued")) => queued += 1,
            (Some(true), _) => ok += 1,
            _ => failed += 1,
        }
    }
    if queued > 0 {
        host.log(
            Level::Info,
            &format!("bulk decision by {who}: {ok} decided, {queued} queued inside the write budget, {failed} refused"),
        );
    }
    Ok(
        json!({"results": results, "succeeded": ok, "failed": failed, "queued": queued, "batchId": batch_id}),
    )
}

/// Whether `actor` already decided `issue_key` at or after `since` (a previous delivery of this
/// group that did not live to save its progress): the outcome it recorded.
fn applied_before(store: Store<'_>, g: &Group, issue_key: &str) -> AppResult<Option<String>> {
    let r = match super::decision::load_request_by_key(store, issue_key) {
        Ok((r, _)) => r,
        Err(e) if e.code == "REQUEST_NOT_FOUND" => return Ok(None),
        Err(e) => return Err(e),
    };
    if r.decided_by.as_deref() == Some(g.actor.as_str())
        && r.decision_source == Some(g.source)
        && r.decided_at
            .as_deref()
            .is_some_and(|t| t >= g.queued_at.as_str())
    {
        return Ok(Some(r.decision.as_str().to_string()));
    }
    // A path step this actor decided since (the path may still be open).
    let path = r
        .route
        .as_ref()
        .filter(|x| x.kind == RouteKind::Path)
        .and_then(|x| x.approval_id.clone());
    if let Some(id) = path {
        let (a, _) = crate::approvals::store::load(store, &id)?;
        let mine = a
            .steps
            .iter()
            .flat_map(|s| s.decisions.iter())
            .any(|d| d.decider == g.actor && d.at.as_str() >= g.queued_at.as_str());
        if mine {
            let outcome = if r.decision == Decision::Pending {
                "recorded"
            } else {
                r.decision.as_str()
            };
            return Ok(Some(outcome.to_string()));
        }
    }
    Ok(None)
}

/// The `decisions` queue consumer of one group: decides its queued keys as the person who
/// queued them. `Err` with a throttling or transient kind comes back after Retry-After
/// (`dispatch::queue_event`, D-137) with the progress saved.
pub fn run(host: &dyn Host, id: &str) -> AppResult<Option<u32>> {
    run_limited(host, id, usize::MAX).map(|_| None)
}

/// [`run`] for at most `max` of the group's queued keys: how many it took, and how many are
/// still queued after it.
fn run_limited(host: &dyn Host, id: &str, max: usize) -> AppResult<(usize, usize)> {
    let store = Store::new(host);
    let k = key(id);
    if crate::storage::check_key(&k).is_err() {
        return Ok((0, 0));
    }
    let Some(raw) = store.get_raw(&k)? else {
        return Ok((0, 0));
    };
    let mut g: Group = crate::storage::decode(&k, &raw)?;
    if g.items.iter().all(|i| i.status != Status::Queued) {
        return Ok((0, 0));
    }
    let mut c = Caller::new(host, &g.actor)?;
    let mut stop: Option<AppError> = None;
    let (verdict, comment, source) = (g.verdict, g.comment.clone(), g.source);
    let mut changed = false;
    let mut taken = 0;
    for n in 0..g.items.len() {
        if g.items[n].status != Status::Queued {
            continue;
        }
        if taken >= max {
            break;
        }
        taken += 1;
        let issue_key = g.items[n].issue_key.clone();
        let res = tab::decide_one(&mut c, &issue_key, verdict, &comment, source);
        let now = crate::time::rfc3339(host.now_ms());
        let item = match res {
            Ok(v) => Item {
                status: Status::Decided,
                outcome: v["outcome"].as_str().map(String::from),
                at: Some(now),
                ..g.items[n].clone()
            },
            Err(e) if matches!(e.kind, ErrorKind::RateLimited | ErrorKind::Unavailable) => {
                stop = Some(e);
                break;
            }
            Err(e) => match applied_before(store, &g, &issue_key) {
                Ok(Some(outcome)) => Item {
                    status: Status::Decided,
                    outcome: Some(outcome),
                    at: Some(now),
                    ..g.items[n].clone()
                },
                Ok(None) => Item {
                    status: Status::Refused,
                    error: Some(json!({"code": e.code, "message": e.message})),
                    at: Some(now),
                    ..g.items[n].clone()
                },
                Err(e) => {
                    stop = Some(e);
                    break;
                }
            },
        };
        g.items[n] = item;
        changed = true;
    }
    if changed {
        store.put_ttl(&k, &g, TTL_S)?;
    }
    let left = g
        .items
        .iter()
        .filter(|i| i.status == Status::Queued)
        .count();
    match stop {
        Some(e) => Err(e),
        None if left > 0 => Ok((taken, left)),
        None => {
            let refused = g
                .items
                .iter()
                .filter(|i| i.status == Status::Refused)
                .count();
            host.log(
                Level::Info,
                &format!(
                    "queued bulk decisions {id} by {}: {} decided, {refused} refused",
                    g.actor,
                    g.items.len() - refused
                ),
            );
            Ok((taken, 0))
        }
    }
}

/// The job runner's safety net for queued bulk decisions whose event never came (D-254): each
/// group of the `bulk-queued` record whose minute passed [`budget::SWEEP_AFTER_MIN`] ago and
/// that still has queued keys is applied now, by [`run`]'s rules (the person's rights read
/// again, each key by the single-decision rules, a key decided meanwhile reported, not
/// decided twice), inside this minute's write budget; at most `max_groups` groups a run. Groups
/// found done (their event ran) leave the record. Returns the keys it took.
pub fn sweep(host: &dyn Host, max_groups: usize) -> AppResult<u64> {
    let store = Store::new(host);
    let now_min = budget::minute_of(host.now_ms());
    let (q, raw) = budget::queued(store)?;
    let mut done: Vec<(String, u64)> = Vec::new();
    let (mut taken, mut tried) = (0u64, 0);
    for g in q
        .groups
        .iter()
        .filter(|g| g.minute + budget::SWEEP_AFTER_MIN < now_min)
    {
        if tried >= max_groups || host.remaining_ms() < 30_000 {
            break;
        }
        let id = format!("{}:{}", g.batch_id, g.minute);
        let left = match store.get::<Group>(&key(&id))? {
            Some(group) => group
                .items
                .iter()
                .filter(|i| i.status == Status::Queued)
                .map(|_| cost_of(group.verdict))
                .collect::<Vec<u64>>(),
            None => Vec::new(),
        };
        if left.is_empty() {
            done.push((g.batch_id.clone(), g.minute));
            continue;
        }
        tried += 1;
        // What fits in this minute's budget now; the rest waits for the next run.
        let cost = left[0];
        let plan = budget::reserve(host, left.len(), cost, None)?;
        let mut fit = 0;
        for (m, n) in plan {
            if m == now_min {
                fit += n;
            } else {
                budget::refund(host, m, n as u64 * cost);
            }
        }
        if fit == 0 {
            break;
        }
        host.log(
            Level::Warn,
            &format!("queued bulk decisions {id}: their event did not run; applying {fit} now"),
        );
        let (n, still) = run_limited(host, &id, fit)?;
        taken += n as u64;
        if still == 0 {
            done.push((g.batch_id.clone(), g.minute));
        }
    }
    if !done.is_empty() {
        let mut after = q.clone();
        after
            .groups
            .retain(|g| !done.iter().any(|(b, m)| *b == g.batch_id && *m == g.minute));
        after.trim(now_min);
        let mut tx = store.tx();
        if after.groups.is_empty() {
            tx.delete_if_current(
                crate::storage::keys::BULK_QUEUED,
                raw.as_deref().unwrap_or(""),
            )?;
        } else {
            tx.set_if_current(crate::storage::keys::BULK_QUEUED, &after, raw.as_deref())?;
        }
        // A bulk queued meanwhile changed the record: the next run drops these.
        match tx.commit() {
            Ok(()) | Err(crate::storage::StorageError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(taken)
}

/// When the runner next has queued groups to look at: the first group's sweep minute.
pub fn sweep_due(store: Store<'_>) -> AppResult<Option<u64>> {
    let (q, _) = budget::queued(store)?;
    Ok(q.groups
        .iter()
        .map(|g| (g.minute + budget::SWEEP_AFTER_MIN + 1) * 60_000)
        .min())
}

/// `clearance.approvals.bulkStatus {batchId}`: what became of a queued bulk decision, for the
/// person who made it (one query page: at most 16 groups).
pub fn status(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let id = p.get("batchId").and_then(Value::as_str).unwrap_or("");
    let not_found = || AppError::not_found("BATCH_NOT_FOUND", "no such queued bulk decision");
    if id.is_empty() || id.len() > 40 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(not_found());
    }
    let groups = Store::new(host).scan::<Group>(&key(&format!("{id}:")), 20)?;
    let groups: Vec<Group> = groups
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| g.actor == who)
        .collect();
    if groups.is_empty() {
        return Err(not_found());
    }
    // A group whose event the platform gave up on (five throttled deliveries) is pushed again
    // when its person looks: still queued 20 minutes after its minute.
    let now_min = budget::minute_of(host.now_ms());
    for g in groups
        .iter()
        .filter(|g| g.minute + 20 < now_min && g.items.iter().any(|i| i.status == Status::Queued))
    {
        let event = json!({ EVENT_FIELD: format!("{}:{}", g.batch_id, g.minute) }).to_string();
        if let Err(e) = host.queue_push(super::notices::QUEUE, &[event], 0) {
            host.log(
                Level::Warn,
                &format!(
                    "queued bulk decisions {}: not pushed again ({e})",
                    g.batch_id
                ),
            );
        }
    }
    let items: Vec<&Item> = groups.iter().flat_map(|g| g.items.iter()).collect();
    let count = |s: Status| items.iter().filter(|i| i.status == s).count();
    Ok(
        json!({"batchId": id, "items": items, "queued": count(Status::Queued),
              "decided": count(Status::Decided), "refused": count(Status::Refused)}),
    )
}
