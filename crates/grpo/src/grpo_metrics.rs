//! What a GRPO iteration measures that supervised fine-tuning does not.

use serde::{Deserialize, Serialize};

/// The measurements of a GRPO iteration's rollouts and update: the keys of
/// `metrics.jsonl` that an SFT iteration, which samples nothing and is not
/// rewarded, leaves out rather than fill with made-up values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrpoMetrics {
    /// Mean weighted reward.
    pub mean_reward: f32,
    /// Standard deviation of the weighted reward over the batch.
    pub reward_std: f32,
    /// Mean of each reward function, by name, in the configured order,
    /// over the completions it applied to (`None`: it applied to none).
    pub rewards: Vec<(String, Option<f32>)>,
    /// Mean KL to the reference policy (when beta > 0).
    pub kl: Option<f32>,
    /// Fraction of tokens whose ratio was clipped.
    pub clip_fraction: f32,
    /// Mean importance ratio.
    pub ratio_mean: f32,
    /// Mean entropy (nats) of the policy's sampling distribution at the
    /// completion tokens the loss counts, from the last update's pass (TRL's
    /// `entropy`).
    #[serde(default)]
    pub entropy: Option<f32>,
    /// Fraction of completions cut by the length limit.
    pub truncated_fraction: f32,
    /// Fraction of completions with at least one parseable call.
    pub parseable_fraction: f32,
    /// Groups whose completions all got the same reward (no signal).
    pub zero_variance_groups: usize,
    /// Groups in the batch.
    pub groups: usize,
    /// Generated tokens per second.
    pub rollout_tokens_per_s: f32,
}
