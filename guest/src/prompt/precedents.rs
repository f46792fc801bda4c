//! Precedent approvals (`crossApprovals`): up to 5 earlier, decided approvals of the same
//! definition, newest first, each with a flat list of up to 5 comments tagged with the
//! commenter's decision, so the model weighs dissent against consent itself.
//!
//! Read from the `approval-by-definition:` index (newest first); the scan is bounded so the cost
//! of a step does not grow with a definition's history.

use crate::approvals::model::{Approval, ApprovalStatus, Verdict};
use crate::approvals::store;
use crate::error::AppResult;
use crate::storage::Store;
use serde_json::{json, Value};

pub const MAX_PRECEDENTS: usize = 5;
pub const MAX_COMMENTS: usize = 5;
/// Index entries examined at most (running and cancelled approvals are skipped, not counted).
pub const SCAN_LIMIT: usize = 40;
const COMMENT_MAX_CHARS: usize = 500;

/// The precedents of `a` and the account ids they name (so the caller can tokenise them).
pub fn cross_approvals(store: Store<'_>, a: &Approval) -> AppResult<(Vec<Value>, Vec<String>)> {
    let index = store.scan::<Value>(&store::by_definition_prefix(&a.definition_id), SCAN_LIMIT)?;
    let ids: Vec<String> = index
        .iter()
        .filter_map(|(_, v)| v.get("approvalId").and_then(Value::as_str))
        .filter(|id| *id != a.id)
        .map(String::from)
        .collect();
    let mut out = Vec::new();
    let mut people = Vec::new();
    // Batched reads (25 a call), in the index's newest-first order.
    let keys: Vec<String> = ids.iter().map(|id| store::approval_key(id)).collect();
    for (_, p) in store.get_many::<Approval>(&keys)? {
        if !matches!(
            p.status,
            ApprovalStatus::Approved | ApprovalStatus::Rejected
        ) {
            continue;
        }
        out.push(precedent(&p, &mut people));
        if out.len() == MAX_PRECEDENTS {
            break;
        }
    }
    Ok((out, people))
}

fn precedent(p: &Approval, people: &mut Vec<String>) -> Value {
    // Every decision comment in decision order, then the latest five: the last word (often the
    // dissent that closed the approval) is the one a cap must not drop.
    let mut all: Vec<(&str, &crate::approvals::model::Decision)> = p
        .all_steps()
        .flat_map(|(_, st)| st.decisions.iter().map(move |d| (st.name.as_str(), d)))
        .filter(|(_, d)| !d.comment.trim().is_empty())
        .collect();
    all.sort_by(|x, y| x.1.at.cmp(&y.1.at));
    let skip = all.len().saturating_sub(MAX_COMMENTS);
    let comments: Vec<Value> = all[skip..]
        .iter()
        .map(|(step, d)| {
            people.push(d.decider.clone());
            json!({
                "decision": match d.decision { Verdict::Approve => "APPROVE", Verdict::Reject => "REJECT" },
                "comment": crate::prompt::prune::truncate_chars(&d.comment, COMMENT_MAX_CHARS),
                "author": d.decider,
                "step": step,
            })
        })
        .collect();
    json!({
        "name": p.name,
        "status": p.status,
        "issueKey": p.issue.key,
        "startedAt": p.started_at,
        "completedAt": p.completed_at,
        "comments": comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approvals::definition::{self, Quorum};
    use crate::approvals::engine::{self, Authority, Eval};
    use crate::approvals::model::{IssueRef, Step};

    struct NoConditions;
    impl Eval for NoConditions {
        fn skip_reason(&mut self, _: &Step) -> AppResult<Option<String>> {
            Ok(None)
        }
        fn group_size(&mut self, _: &str) -> AppResult<u32> {
            Ok(1)
        }
    }

    // covers: AP-080, AP-117
    #[test]
    fn a_precedent_carries_at_most_five_comments_tagged_with_their_decision() {
        let approvers: Vec<String> = (1..=7).map(|n| format!("u{n}")).collect();
        let mut d = definition::parse(
            &json!({"name": "d", "steps": [{"name": "Panel", "type": "USER", "parallelGroupNumber": 1,
                    "approvers": approvers, "quorum": Quorum::All}]}),
            |_| Ok(true),
        )
        .unwrap();
        d.id = "d1".into();
        let issue = IssueRef {
            id: "1".into(),
            key: "AIR-1".into(),
            project_id: "10".into(),
        };
        let (mut a, _) =
            engine::start(&d, "a1".into(), issue, "u0", 1_000, &mut NoConditions).unwrap();
        for (n, who) in approvers.iter().enumerate() {
            let (v, c) = if n == 6 {
                (Verdict::Reject, "too risky")
            } else {
                (Verdict::Approve, "fine")
            };
            engine::decide(
                &mut a,
                "s1",
                who,
                Authority::Approver,
                v,
                c,
                2_000,
                &mut NoConditions,
            )
            .unwrap();
        }
        assert_eq!(a.status, ApprovalStatus::Rejected);
        let mut people = Vec::new();
        let p = precedent(&a, &mut people);
        let comments = p["comments"].as_array().unwrap();
        assert_eq!(comments.len(), MAX_COMMENTS);
        // The latest five: four consents and the closing dissent.
        assert!(comments[..4]
            .iter()
            .all(|c| c["decision"] == "APPROVE" && c["comment"] == "fine"));
        assert_eq!(comments[4]["decision"], "REJECT");
        assert_eq!(comments[4]["comment"], "too risky");
        assert_eq!(
            people.len(),
            MAX_COMMENTS,
            "every named commenter is tokenised"
        );
        assert_eq!(p["status"], "REJECTED");
    }
}
