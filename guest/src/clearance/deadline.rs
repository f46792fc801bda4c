//! Decision deadlines (issue 32): a request people decide directly that nobody has decided
//! within governance's `decisionDeadlineDays` (default 30, pinned at intake) is denied as
//! expired, the requester told in a comment, the denial audited with its rule. Without it the
//! pending backlog only grows, and every screen that lists it grows with it.
//!
//! Intake writes `request-decision-deadline:<ms>:<issueId>`; the daily pass reads only the due
//! entries. The expiry goes through `decision::apply`, the one place a request leaves pending,
//! where the kernel allows it only for a pending request no path decides. Each due key is
//! deleted once handled, so a second run finds nothing; a request decided in time is dropped
//! from the index when its day comes.

use super::decision::{self, Basis, Input};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::requests::{Decision, Request, RouteKind};
use crate::storage::{keys, Store};

/// Expires the due requests (at most `budget`). Returns how many were expired.
pub fn sweep(host: &dyn Host, budget: usize) -> AppResult<u64> {
    let store = Store::new(host);
    let now = host.now_ms();
    let due = store.due::<String>(keys::DECISION_DEADLINE_PREFIX, now, budget)?;
    let mut expired = 0;
    for (due_key, issue_id) in due {
        if host.remaining_ms() < 10_000 {
            break;
        }
        let request: Option<Request> = store.get(&keys::request(&issue_id))?;
        let days = deadline_days(&due_key, request.as_ref());
        let open = request.as_ref().is_some_and(|r| {
            r.decision == Decision::Pending
                && r.route.as_ref().is_none_or(|x| x.kind != RouteKind::Path)
        });
        if open {
            let applied = decision::apply(
                host,
                &Input {
                    issue_id: issue_id.clone(),
                    basis: Basis::Deadline { days },
                    comment: None,
                    known_issue: None,
                },
            );
            match applied {
                Ok(a) if a.decision == Decision::Denied => expired += 1,
                Ok(_) => {}
                Err(e) if e.code == "REQUEST_NOT_PENDING" || e.code == "PATH_DECIDES" => {}
                Err(e) => {
                    // Left in the index: tomorrow's pass tries again.
                    host.log(
                        Level::Warn,
                        &format!("deadline: {issue_id} not expired: {}", e.code),
                    );
                    continue;
                }
            }
        }
        store.delete(&due_key)?;
    }
    Ok(expired)
}

/// The days the deadline stood for (from when intake stored the request; the audit entry names
/// them).
fn deadline_days(due_key: &str, request: Option<&Request>) -> u32 {
    let due_ms = crate::storage::index_ms(due_key);
    let ingested = request
        .and_then(|r| crate::time::parse(&r.ingested_at))
        .unwrap_or(due_ms);
    (due_ms.saturating_sub(ingested) / 86_400_000) as u32
}
