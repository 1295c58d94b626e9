//! One entry's output, judged: what the per-example JSONL of
//! `mlx-grpo eval --bfcl` holds.

use grpo_rewards::CompareOptions;
use serde_json::{json, Value};

use super::{score, Category, Entry, Outcome};

/// An entry with the model's output and BFCL's verdict on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The BFCL id (the entry's location when it has none).
    pub id: String,
    /// The category it was scored in.
    pub category: Category,
    /// What the model wrote (empty for an entry that was not converted,
    /// which is never shown to the model).
    pub output: String,
    /// The verdict.
    pub outcome: Outcome,
}

impl Judged {
    /// Judges `output` for `entry` of `category`, under BFCL's checking
    /// mode ([`CompareOptions::bfcl`]). An entry that could not be
    /// converted counts as wrong (`error_type` `not_converted`), so every
    /// entry of a file is in the denominator, as on the leaderboard.
    pub fn new(category: Category, entry: &Entry, output: &str) -> Self {
        let id = entry.id.clone().unwrap_or_else(|| entry.location.clone());
        let wrong = |error_type, reason: String| Outcome {
            valid: false,
            error_type: Some(error_type),
            reason,
            decoded: Vec::new(),
        };
        let (output, outcome) = match &entry.example {
            Err(reason) => (String::new(), wrong("not_converted", reason.clone())),
            Ok(ex) => match ex.reference() {
                Ok(r) => (
                    output.to_owned(),
                    score(category.check(), output, &r, &CompareOptions::bfcl()),
                ),
                Err(e) => (output.to_owned(), wrong("not_converted", e.to_string())),
            },
        };
        Judged {
            id,
            category,
            output,
            outcome,
        }
    }

    /// The line of the per-example JSONL: `id`, `category`, `valid`,
    /// `verdict` (`correct` or `incorrect`), `error_type`, `reason`,
    /// `output` and `decoded` (the calls read from the output).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "category": self.category.name(),
            "valid": self.outcome.valid,
            "verdict": if self.outcome.valid { "correct" } else { "incorrect" },
            "error_type": self.outcome.error_type,
            "reason": self.outcome.reason,
            "output": self.output,
            "decoded": self.outcome.decoded,
        })
    }
}
