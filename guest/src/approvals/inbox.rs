//! The approver inbox: who may decide which open human step, read without scanning every task.
//!
//! One index entry per principal per open task: `approval-inbox:u.<account>:<approval>:<step>`
//! for each named approver and delegate, `approval-inbox:g.<group-hash>:…` for a group step,
//! plus one directory record per group that has ever had a step (`approval-inbox-group:<hash>`)
//! so a caller in fifty Jira groups costs one batch read, not fifty queries.
//!
//! The entries are a hint, never the truth: they are written BEFORE the transaction that opens
//! the task and deleted AFTER the one that closes it, so the only stale entries are ones whose
//! task is gone or no longer names the principal. Readers load the task behind every entry and
//! check it (`Task::names`); stale entries they meet are deleted. A reader can therefore not
//! miss an open task the principal may take, and never acts on an entry alone (issue 32 item 2,
//! D-138).

use super::store::{task_key, Task};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::storage::{StorageResult, Store};
use sha2::{Digest, Sha256};

const PREFIX: &str = "approval-inbox:";
const GROUP_DIRECTORY_PREFIX: &str = "approval-inbox-group:";
/// Writes per transaction, under Forge's 25 operations with room for the storage layer's hints.
const CHUNK: usize = 20;
/// Entries read per principal in one call: an inbox page, not the backlog.
pub const PAGE: u32 = 50;

/// A principal's part of the key: account ids are key-safe (checked where they enter); group
/// names are free text, so they are hashed.
fn account_part(account_id: &str) -> String {
    format!("u.{account_id}")
}
fn group_part(group: &str) -> String {
    let h = Sha256::digest(group.as_bytes());
    let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("g.{hex}")
}
fn entry_key(part: &str, approval_id: &str, step_id: &str) -> String {
    format!("{PREFIX}{part}:{approval_id}:{step_id}")
}
fn prefix_of(part: &str) -> String {
    format!("{PREFIX}{part}:")
}
fn group_directory_key(group: &str) -> String {
    format!("{GROUP_DIRECTORY_PREFIX}{}", &group_part(group)[2..])
}

/// The key parts of everyone the task names.
fn parts(t: &Task) -> Vec<String> {
    let mut out: Vec<String> = t
        .approvers
        .iter()
        .chain(t.delegates.iter())
        .map(|a| account_part(a))
        .collect();
    out.extend(t.group.iter().map(|g| group_part(g)));
    out.sort();
    out.dedup();
    out
}

impl Task {
    /// Whether `who` (with these Jira groups) may take this task: a named approver, a delegate,
    /// or a member of its group.
    pub fn names(&self, who: &str, groups: &[String]) -> bool {
        self.approvers.iter().any(|x| x == who)
            || self.delegates.iter().any(|x| x == who)
            || self.group.as_ref().is_some_and(|g| groups.contains(g))
    }
}

/// Before the transaction that opens `tasks`: their entries (and group directory records).
/// Failing here fails the transition before anything of it is written.
pub fn stage_open(store: Store<'_>, tasks: &[Task]) -> StorageResult<()> {
    let mut writes: Vec<(String, String)> = Vec::new();
    for t in tasks {
        let target = task_key(&t.approval_id, &t.step_id);
        for p in parts(t) {
            writes.push((entry_key(&p, &t.approval_id, &t.step_id), target.clone()));
        }
        if let Some(g) = &t.group {
            writes.push((group_directory_key(g), g.clone()));
        }
    }
    for chunk in writes.chunks(CHUNK) {
        let mut tx = store.tx();
        for (k, v) in chunk {
            tx.set(k, v)?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// After the transaction that closed `tasks`: their entries go. Best effort — a failure leaves
/// stale entries that readers verify away and delete.
pub fn drop_closed(host: &dyn Host, tasks: &[Task]) {
    let store = Store::new(host);
    let keys: Vec<String> = tasks
        .iter()
        .flat_map(|t| {
            parts(t)
                .into_iter()
                .map(|p| entry_key(&p, &t.approval_id, &t.step_id))
        })
        .collect();
    for chunk in keys.chunks(CHUNK) {
        let mut tx = store.tx();
        let staged = chunk.iter().try_for_each(|k| tx.delete(k).map(|_| ()));
        if let Err(e) = staged.and_then(|_| tx.commit()) {
            host.log(
                Level::Warn,
                &format!("approver inbox: stale entries left for readers to drop: {e:?}"),
            );
            return;
        }
    }
}

/// Open tasks `who` may take, at most `PAGE`: up to `PAGE` entries per principal (the account, then each of
/// `groups` that has ever had a step), each verified against its task. Stale entries met on
/// the way are deleted. `first_only` stops at the first verified task (the tab's visibility).
pub fn open_tasks(
    host: &dyn Host,
    who: &str,
    groups: &[String],
    first_only: bool,
) -> AppResult<Vec<Task>> {
    let store = Store::new(host);
    let mut principals = vec![account_part(who)];
    if !groups.is_empty() {
        let dir: Vec<String> = groups.iter().map(|g| group_directory_key(g)).collect();
        let known = store.get_many::<String>(&dir)?;
        principals.extend(known.into_iter().map(|(_, g)| group_part(&g)));
    }
    let mut out: Vec<Task> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    for p in principals {
        let entries = store.scan::<String>(&prefix_of(&p), PAGE as usize)?;
        let targets: Vec<String> = entries.iter().map(|(_, t)| t.clone()).collect();
        let tasks = store.get_many::<Task>(&targets)?;
        for (entry, target) in &entries {
            match tasks.iter().find(|(k, _)| k == target) {
                Some((_, t)) if t.names(who, groups) => {
                    if !out
                        .iter()
                        .any(|o| o.approval_id == t.approval_id && o.step_id == t.step_id)
                    {
                        out.push(t.clone());
                    }
                }
                _ => stale.push(entry.clone()),
            }
        }
        if (first_only && !out.is_empty()) || out.len() >= PAGE as usize {
            out.truncate(PAGE as usize);
            break;
        }
    }
    for chunk in stale.chunks(CHUNK) {
        let mut tx = store.tx();
        let staged = chunk.iter().try_for_each(|k| tx.delete(k).map(|_| ()));
        if staged.and_then(|_| tx.commit()).is_err() {
            break; // the next reader drops them
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(approvers: &[&str], delegates: &[&str], group: Option<&str>) -> Task {
        Task {
            approval_id: "a1".into(),
            step_id: "s1".into(),
            issue_key: "AI-1".into(),
            approval_name: "p".into(),
            step_name: "Manager".into(),
            approvers: approvers.iter().map(|s| s.to_string()).collect(),
            delegates: delegates.iter().map(|s| s.to_string()).collect(),
            group: group.map(String::from),
            activated_at: String::new(),
        }
    }

    #[test]
    fn every_principal_gets_one_entry_and_groups_are_key_safe() {
        let t = task(
            &["acc-1", "acc-2"],
            &["acc-2", "acc-3"],
            Some("AI approvers / EMEA"),
        );
        let p = parts(&t);
        assert_eq!(p.len(), 4, "{p:?}");
        let g = group_part("AI approvers / EMEA");
        assert!(
            g.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "{g}"
        );
        assert_ne!(g, group_part("AI approvers / APAC"));
    }

    #[test]
    fn a_task_names_approvers_delegates_and_group_members_only() {
        let t = task(&["acc-1"], &["acc-3"], Some("grp"));
        assert!(t.names("acc-1", &[]));
        assert!(t.names("acc-3", &[]));
        assert!(t.names("acc-9", &["grp".into()]));
        assert!(!t.names("acc-9", &["other".into()]));
    }
}
