//! Warnings for the silent failures of GRPO runs: completions cut by the
//! length limit, a reward that never moves, groups with no signal, outputs
//! with no parseable call.

use crate::metrics::IterationMetrics;

/// Iterations a condition must hold before it is reported.
const PATIENCE: usize = 10;
/// Iterations between two reports of the same condition.
const REPEAT_AFTER: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Truncated,
    ConstantReward,
    ZeroVariance,
    NoCalls,
}

impl Condition {
    const ALL: [Condition; 4] = [
        Condition::Truncated,
        Condition::ConstantReward,
        Condition::ZeroVariance,
        Condition::NoCalls,
    ];

    fn holds(self, m: &IterationMetrics) -> bool {
        // Each condition is about rollouts, which SFT iterations do not have.
        let Some(g) = &m.grpo else {
            return false;
        };
        match self {
            Condition::Truncated => g.truncated_fraction > 0.5,
            Condition::ConstantReward => g.reward_std == 0.0,
            Condition::ZeroVariance => g.zero_variance_groups * 4 >= g.groups * 3,
            Condition::NoCalls => g.parseable_fraction == 0.0,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Condition::Truncated => "most completions hit --max-completion-length for the last 10 iterations: raise it, or check that the model stops (EOS token, chat template)",
            Condition::ConstantReward => "every completion got the same reward for the last 10 iterations: no group has anything to learn from; check the data and the reward functions, or raise --temperature",
            Condition::ZeroVariance => "three quarters of the groups had equal rewards for the last 10 iterations: try partial-credit rewards (tool_call_function, tool_call_params), a larger --group-size or a higher --temperature",
            Condition::NoCalls => "no completion held a parseable tool call for the last 10 iterations: check the prompt format and chat template, or start from a model that calls tools sometimes (SFT first)",
        }
    }
}

/// Tracks how long each condition has held.
#[derive(Debug, Clone, Default)]
pub struct Watchdog {
    streaks: [usize; 4],
    last_warned: [Option<usize>; 4],
}

impl Watchdog {
    /// Feeds one iteration; returns the warnings due now.
    pub fn observe(&mut self, m: &IterationMetrics) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (i, c) in Condition::ALL.into_iter().enumerate() {
            self.streaks[i] = if c.holds(m) { self.streaks[i] + 1 } else { 0 };
            let quiet = self.last_warned[i].is_none_or(|at| m.iteration >= at + REPEAT_AFTER);
            if self.streaks[i] >= PATIENCE && quiet {
                self.last_warned[i] = Some(m.iteration);
                out.push(c.message());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests::{sample, with_grpo};

    #[test]
    fn warns_after_patience_then_stays_quiet() {
        let mut w = Watchdog::default();
        let mut warned = Vec::new();
        for i in 1..=30 {
            let m = IterationMetrics {
                iteration: i,
                ..with_grpo(sample(), |g| g.truncated_fraction = 0.9)
            };
            warned.extend(w.observe(&m).into_iter().map(|msg| (i, msg)));
        }
        assert_eq!(warned.len(), 1);
        assert_eq!(warned[0].0, 10);
        assert!(warned[0].1.contains("max-completion-length"));
    }

    #[test]
    fn healthy_runs_get_no_warning() {
        let mut w = Watchdog::default();
        for i in 1..=50 {
            assert!(w
                .observe(&IterationMetrics {
                    iteration: i,
                    ..sample()
                })
                .is_empty());
        }
    }
}
