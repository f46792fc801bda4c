//! The AI Prompt step.
//!
//! Pure building blocks (no I/O): anonymisation (`privacy`), the trust boundary (`boundary`), context pruning of the Jira issue
//! (`prune`), the generated system prompt (`system`), the six built-in templates (`builtins`),
//! provider wire formats and error mapping (`providers`), and parsing of the model's answer into
//! sections, chips and citations (`result`).
//!
//! With I/O: Settings → AI (`settings`), custom templates (`templates`), monthly usage
//! (`usage`), the admin error inbox (`inbox`), precedent approvals (`precedents`), the queue worker that runs a step (`worker`), and
//! the resolvers (`service`).

pub mod boundary;
pub mod builtins;
pub mod inbox;
pub mod pii;
pub mod precedents;
pub mod privacy;
pub mod providers;
pub mod prune;
pub mod result;
pub mod service;
pub mod settings;
pub mod system;
pub mod templates;
pub mod usage;
pub mod worker;
