//! The parts one iteration works on, lent by the trainer: the policy, the
//! reference, the tasks, the rewards, the learner and the data position.
//! [`crate::grpo_iteration::iteration`] and [`crate::sft_iteration::iteration`] are
//! functions of these parts, and the trainer, which owns them, is the only
//! place that holds the loop (as mlx-lm's `train()` takes its loss and its
//! batches as arguments).

use grpo_policy::models::transformer::Transformer;
use grpo_policy::policy::Policy;
use grpo_rewards::RewardSet;

use crate::config::TrainConfig;
use crate::data_parallel::DataParallel;
use crate::learner::Learner;
use crate::multi_turn::MultiTurn;
use crate::rollout_log::RolloutLog;
use crate::sampling::BatchSampler;
use crate::schedule::LrSchedule;
use crate::tasks::TaskSet;

/// What an iteration reads and updates.
pub(crate) struct Parts<'a> {
    pub(crate) config: &'a TrainConfig,
    /// The model being trained.
    pub(crate) policy: &'a mut Policy,
    /// The frozen starting model of a full fine-tune with a KL penalty
    /// (LoRA and DoRA runs use the policy with its adapters switched off).
    pub(crate) reference: Option<&'a Transformer>,
    /// The training prompts, references and (SFT, curriculum) targets.
    pub(crate) train: &'a TaskSet,
    /// The rewards in force (the current phase's).
    pub(crate) rewards: &'a RewardSet,
    pub(crate) learner: &'a mut Learner,
    /// The data position, advanced by the prompts the iteration draws.
    pub(crate) sampler: &'a mut BatchSampler,
    pub(crate) dp: &'a DataParallel,
    /// The multi-turn loop of a run with tool servers (`None`: single-turn).
    pub(crate) turns: Option<MultiTurn<'a>>,
    /// The learning-rate schedule in force (the current phase's).
    pub(crate) schedule: LrSchedule,
    /// The current phase (from 0), for the metrics.
    pub(crate) phase: Option<usize>,
    pub(crate) rollout_log: &'a mut RolloutLog,
}

impl Parts<'_> {
    /// The scaffold of each prompt of `batch` at `iteration` (none
    /// without a curriculum).
    pub(crate) fn scaffolds(&self, batch: &[usize], iteration: usize) -> Vec<Vec<u32>> {
        match (self.config.curriculum(), &self.train.targets) {
            (Some(curriculum), Some(targets)) => curriculum.scaffolds(targets, batch, iteration),
            _ => Vec::new(),
        }
    }
}
