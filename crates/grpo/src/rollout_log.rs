//! `rollouts.jsonl`: every completion of an iteration, with its rewards and
//! advantage, one line each, for reading what the policy wrote.

use std::collections::BTreeMap;

use grpo_policy::generate::FinishReason;
use serde::Serialize;

use crate::error::Result;
use crate::metrics::JsonlLog;
use crate::rollout::Rollout;

/// The rollout log of a run.
pub(crate) struct RolloutLog(pub(crate) JsonlLog);

/// One line: one completion.
#[derive(Serialize)]
struct RolloutLine<'a> {
    iteration: usize,
    prompt_index: usize,
    sample: usize,
    expected: &'a str,
    completion: &'a str,
    finish: FinishReason,
    rewards: BTreeMap<&'a str, f32>,
    reward: f32,
    advantage: f32,
}

impl RolloutLog {
    /// Writes the rows of `rollout`, sampled at `iteration` for the prompts
    /// `batch` (indices into the training data, whose reference answers
    /// are `answers`), scored by the rewards `reward_names`.
    pub(crate) fn write(
        &mut self,
        iteration: usize,
        batch: &[usize],
        rollout: &Rollout,
        answers: &[String],
        reward_names: &[&str],
    ) -> Result<()> {
        for row in 0..rollout.rows() {
            let prompt = batch[row / rollout.group_size];
            self.0.write(&RolloutLine {
                iteration,
                prompt_index: prompt,
                sample: row % rollout.group_size,
                expected: &answers[prompt],
                completion: &rollout.texts[row],
                finish: rollout.finish[row],
                rewards: reward_names
                    .iter()
                    .copied()
                    .zip(&rollout.reward_columns)
                    .map(|(n, col)| (n, col[row]))
                    .collect(),
                reward: rollout.rewards[row],
                advantage: rollout.advantages[row],
            })?;
        }
        Ok(())
    }
}
