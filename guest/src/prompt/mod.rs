//! The AI Prompt step's pure building blocks (no I/O): anonymisation (`privacy`), context pruning
//! of the Jira issue (`prune`), the generated system prompt (`system`), the six built-in templates
//! (`builtins`), provider wire formats and error mapping (`providers`), and parsing of the model's
//! answer into sections, chips and citations (`result`).

pub mod builtins;
pub mod privacy;
pub mod providers;
pub mod prune;
pub mod result;
pub mod system;
