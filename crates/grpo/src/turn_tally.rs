//! [`TurnTally`]: what a multi-turn evaluation counts beyond the calls.

use grpo_rewards::{FinalAnswer, Reference};
use serde::{Deserialize, Serialize};

use crate::thinking::Thinking;
use crate::trajectory::Trajectory;

/// Turns, tool calls and final answers over the examples of a multi-turn
/// evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnTally {
    /// Examples answered.
    pub examples: usize,
    /// The model's turns, summed over the examples.
    pub turns: usize,
    /// Tool calls made, all turns.
    pub tool_calls: usize,
    /// Tool calls that came back as an error.
    pub tool_errors: usize,
    /// Examples that have a `final_answer`.
    pub with_final_answer: usize,
    /// Of those, the ones whose last message gives it.
    pub final_correct: usize,
}

impl TurnTally {
    /// Counts one example's trajectory against its reference.
    pub fn add(&mut self, t: &Trajectory, reference: &Reference, thinking: &Thinking) {
        self.examples += 1;
        self.turns += t.turns();
        self.tool_calls += t.calls;
        self.tool_errors += t.errors;
        let expected = reference
            .row()
            .and_then(|r| r.get("final_answer"))
            .and_then(|v| FinalAnswer::from_json(v).ok());
        if let Some(answer) = expected {
            self.with_final_answer += 1;
            let last = thinking.scored_text(t.last_message(), false);
            self.final_correct += usize::from(answer.matches(&last));
        }
    }

    /// Mean turns per example.
    pub fn mean_turns(&self) -> f64 {
        self.turns as f64 / self.examples.max(1) as f64
    }

    /// Final-answer accuracy over the examples that have one (`None`:
    /// none has).
    pub fn final_answer_accuracy(&self) -> Option<f64> {
        (self.with_final_answer > 0)
            .then(|| self.final_correct as f64 / self.with_final_answer as f64)
    }
}
