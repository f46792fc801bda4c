//! Decision deadlines (issue 32): a request people decide directly that nobody has decided
//! within governance's `decisionDeadlineDays` (default 30, pinned at intake) is denied as
//! expired, the requester told in a comment, the denial audited with its rule. Without it the
//! pending backlog only grows, and every screen that lists it grows with it.
//!
//! Intake writes `request-decision-deadline:<ms>:<issueId>`; the daily pass reads only the due
//! entries and hands each to `decision::apply`, the one place a request leaves pending, which
//! reads the request once and where the kernel allows the expiry only for a pending request no
//! path decides. Each due key is deleted once handled, so a second run finds nothing; a request
//! decided in time (or one a path decides) is dropped from the index when its day comes.

use super::decision::{self, Basis, Input};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::requests::Decision;
use crate::storage::{keys, Store};

/// What `decision::apply` answers for a request the deadline no longer concerns.
const NOTHING_TO_EXPIRE: &[&str] = &["REQUEST_NOT_FOUND", "REQUEST_NOT_PENDING", "PATH_DECIDES"];

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
        let applied = decision::apply(
            host,
            &Input {
                issue_id: issue_id.clone(),
                basis: Basis::Deadline {
                    due_ms: crate::storage::index_ms(&due_key),
                },
                comment: None,
                known_issue: None,
            },
        );
        match applied {
            Ok(a) if a.decision == Decision::Denied => expired += 1,
            Ok(_) => {}
            Err(e) if NOTHING_TO_EXPIRE.contains(&e.code.as_str()) => {}
            Err(e) => {
                // Left in the index: tomorrow's pass tries again.
                host.log(
                    Level::Warn,
                    &format!("deadline: {issue_id} not expired: {}", e.code),
                );
                continue;
            }
        }
        store.delete(&due_key)?;
    }
    Ok(expired)
}
