//! [`ToolUse`]: what the rows of a multi-turn rollout did with the tools,
//! for metrics.

/// Per row of a multi-turn rollout (prompt-major, as every vector of a
/// [`Rollout`](crate::rollout::Rollout)): its turns, its calls, and how
/// many of them failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolUse {
    /// The model's turns per row (1 when it called nothing).
    pub turns: Vec<usize>,
    /// Calls made per row, over all its turns.
    pub calls: Vec<usize>,
    /// Calls per row that came back as an error.
    pub errors: Vec<usize>,
}

impl ToolUse {
    /// Mean turns per row.
    pub fn mean_turns(&self) -> f32 {
        self.turns.iter().sum::<usize>() as f32 / self.turns.len().max(1) as f32
    }

    /// Calls over all rows.
    pub fn total_calls(&self) -> usize {
        self.calls.iter().sum()
    }

    /// Failed calls over all rows.
    pub fn total_errors(&self) -> usize {
        self.errors.iter().sum()
    }
}
