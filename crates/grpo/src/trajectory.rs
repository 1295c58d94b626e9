//! [`Trajectory`]: one row of a multi-turn rollout as it grows, turn by
//! turn.

use std::ops::Range;

use grpo_policy::generate::FinishReason;

/// The completion of one row of a multi-turn rollout: everything after the
/// prompt, the model's turns and what the conversation put between them
/// (tool results, the chat template's tokens around them).
///
/// Given tokens are recorded as [`forced`](Self::forced) ranges, the same
/// mechanism as a curriculum scaffold's, so the loss, the importance ratios
/// and the KL leave them out with no concept of their own
/// ([`Rollout::sampled_mask`](crate::rollout::Rollout::sampled_mask)).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Token ids after the prompt, sampled and given.
    pub tokens: Vec<u32>,
    /// Sampling-time log-prob of each token (0 for given ones).
    pub logprobs: Vec<f32>,
    /// The ranges of `tokens` that were given, not sampled.
    pub forced: Vec<Range<usize>>,
    /// The text of each of the model's turns (special tokens removed).
    pub messages: Vec<String>,
    /// Calls the model made, over all turns.
    pub calls: usize,
    /// Calls that came back as an error (unknown tool, bad arguments, the
    /// tool's own error, a timeout).
    pub errors: usize,
    /// Why the last turn stopped, or [`FinishReason::Length`] when the
    /// token budget left no room for the next one.
    pub finish: FinishReason,
}

impl Default for Trajectory {
    fn default() -> Self {
        Trajectory {
            tokens: Vec::new(),
            logprobs: Vec::new(),
            forced: Vec::new(),
            messages: Vec::new(),
            calls: 0,
            errors: 0,
            finish: FinishReason::Length,
        }
    }
}

impl Trajectory {
    /// Appends one of the model's turns: its sampled tokens and their
    /// log-probs, its text, and why it stopped.
    pub fn push_turn(
        &mut self,
        tokens: &[u32],
        logprobs: &[f32],
        message: String,
        finish: FinishReason,
    ) {
        self.tokens.extend_from_slice(tokens);
        self.logprobs.extend_from_slice(logprobs);
        self.messages.push(message);
        self.finish = finish;
    }

    /// Appends tokens the model did not sample (tool results and the
    /// template's tokens around them), as a forced range.
    pub fn push_given(&mut self, tokens: &[u32]) {
        if tokens.is_empty() {
            return;
        }
        let start = self.tokens.len();
        self.tokens.extend_from_slice(tokens);
        self.logprobs.extend(std::iter::repeat_n(0.0, tokens.len()));
        self.forced.push(start..self.tokens.len());
    }

    /// The model's turns so far.
    pub fn turns(&self) -> usize {
        self.messages.len()
    }

    /// The model's last message, what a final answer is read from.
    pub fn last_message(&self) -> &str {
        self.messages.last().map_or("", String::as_str)
    }

    /// Tokens the model sampled (given ones left out).
    pub fn sampled_tokens(&self) -> usize {
        self.tokens.len() - self.forced.iter().map(|r| r.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::advantages::{group_relative, AdvantageConfig};
    use crate::rollout::Rollout;

    /// A rollout of `rows` with nothing but their tokens and given ranges.
    fn rollout_of(rows: &[Trajectory]) -> Rollout {
        let n = rows.len();
        let adv = group_relative(&vec![0.0; n], n, &AdvantageConfig::default()).unwrap();
        Rollout {
            group_size: n,
            tokens: rows.iter().map(|t| t.tokens.clone()).collect(),
            texts: vec![String::new(); n],
            forced: rows.iter().map(|t| t.forced.clone()).collect(),
            recovered: vec![false; n],
            reasoned: vec![true; n],
            finish: rows.iter().map(|t| t.finish).collect(),
            reward_columns: Vec::new(),
            reward_applied: Vec::new(),
            rewards: vec![0.0; n],
            advantages: adv.values,
            stats: adv.stats,
            parseable: vec![true; n],
            generation_time: Duration::ZERO,
            tool_use: None,
        }
    }

    #[test]
    fn a_two_turn_trajectory_masks_exactly_the_tool_turn() {
        // Turn 1: a call and the end-of-turn token (3 sampled); the tool
        // turn (template tokens and the result, 4 given); turn 2: the
        // answer (2 sampled, the second the end-of-turn token).
        let mut two = Trajectory::default();
        two.push_turn(
            &[11, 12, 2],
            &[-0.1, -0.2, -0.3],
            "f(x=1)".into(),
            FinishReason::Eos,
        );
        two.push_given(&[7, 30, 31, 8]);
        two.push_turn(&[40, 2], &[-0.5, -0.6], "41".into(), FinishReason::Eos);
        assert_eq!(two.tokens, [11, 12, 2, 7, 30, 31, 8, 40, 2]);
        assert_eq!(two.forced, vec![3..7]);
        assert_eq!(two.logprobs[3..7], [0.0; 4]);
        assert_eq!((two.turns(), two.last_message()), (2, "41"));
        assert_eq!(two.sampled_tokens(), 5);
        // A row that answered at once, shorter: padding is masked too.
        let mut one = Trajectory::default();
        one.push_turn(&[50, 2], &[-1.0, -1.0], "no call".into(), FinishReason::Eos);
        let rollout = rollout_of(&[two, one]);
        let mask = rollout.sampled_mask();
        assert_eq!(mask.shape(), &[2, 9]);
        #[rustfmt::skip]
        let want = [
            1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0,
            1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(mask.as_slice::<f32>(), want);
        assert_eq!(rollout.sampled_tokens(), 7);
    }

    #[test]
    fn nothing_given_adds_no_range() {
        let mut t = Trajectory::default();
        t.push_turn(&[1], &[-0.1], "a".into(), FinishReason::Length);
        t.push_given(&[]);
        assert!(t.forced.is_empty());
        assert_eq!(t.finish, FinishReason::Length);
    }
}
