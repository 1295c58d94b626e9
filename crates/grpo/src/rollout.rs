//! One iteration's samples: the group of completions of every prompt, their
//! rewards and advantages.
//!
//! Rows are prompt-major: completion `j` of prompt `p` is row
//! `p * group_size + j`, in every vector here and in every tensor built from
//! them. This is the only place that states it.

use std::time::{Duration, Instant};

use grpo_policy::generate::FinishReason;
use grpo_policy::mlx_rs::Array;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_rewards::{Reference, RewardSet};

use crate::advantages::{group_relative, AdvantageConfig, AdvantageStats};
use crate::error::Result;

/// The prompts of one iteration and what to compare their completions with.
#[derive(Debug, Clone, Copy)]
pub struct PromptSet<'a> {
    /// Prompt token ids (chat template applied).
    pub tokens: &'a [Vec<u32>],
    /// The expected answer of each prompt.
    pub references: &'a [&'a Reference],
}

/// How completions are sampled and scored.
#[derive(Debug, Clone, Copy)]
pub struct RolloutConfig<'a> {
    /// Completions per prompt.
    pub group_size: usize,
    /// Tokens per completion at most.
    pub max_tokens: usize,
    /// Sampling settings.
    pub sampler: Sampler,
    /// Reward functions and weights.
    pub rewards: &'a RewardSet,
    /// Advantage normalisation.
    pub advantages: AdvantageConfig,
}

/// Sampled completions with their scores.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Completions per prompt.
    pub group_size: usize,
    /// Generated token ids per row.
    pub tokens: Vec<Vec<u32>>,
    /// Sampling-time log-probs per row.
    pub sampling_logprobs: Vec<Vec<f32>>,
    /// Decoded completion text per row.
    pub texts: Vec<String>,
    /// Why each row stopped.
    pub finish: Vec<FinishReason>,
    /// `[reward][row]`: each reward function's score.
    pub reward_columns: Vec<Vec<f32>>,
    /// Weighted total reward per row.
    pub rewards: Vec<f32>,
    /// Group-relative advantage per row.
    pub advantages: Vec<f32>,
    /// Group statistics of the rewards.
    pub stats: AdvantageStats,
    /// Whether each row holds at least one parseable call.
    pub parseable: Vec<bool>,
    /// Time spent generating.
    pub generation_time: Duration,
    /// Time spent decoding and scoring.
    pub scoring_time: Duration,
}

impl Rollout {
    /// Number of completions.
    pub fn rows(&self) -> usize {
        self.tokens.len()
    }

    /// Total generated tokens.
    pub fn total_tokens(&self) -> usize {
        self.tokens.iter().map(Vec::len).sum()
    }

    /// Fraction of completions cut by the length limit.
    pub fn truncated_fraction(&self) -> f32 {
        let n = self
            .finish
            .iter()
            .filter(|f| **f == FinishReason::Length)
            .count();
        n as f32 / self.rows().max(1) as f32
    }
}

/// Samples `group_size` completions for every prompt in one batched pass,
/// decodes and scores them, and derives group-relative advantages.
pub fn collect(
    policy: &Policy,
    prompts: PromptSet<'_>,
    config: RolloutConfig<'_>,
    key: &Array,
) -> Result<Rollout> {
    let start = Instant::now();
    let generation = policy.generate(
        prompts.tokens,
        config.group_size,
        config.max_tokens,
        config.sampler,
        key,
    )?;
    let generation_time = start.elapsed();

    let start = Instant::now();
    let texts = policy.decode(&generation.tokens)?;
    let references: Vec<&Reference> = prompts
        .references
        .iter()
        .flat_map(|r| std::iter::repeat_n(*r, config.group_size))
        .collect();
    let scores = config.rewards.score_batch(&texts, &references)?;
    let parseable = texts
        .iter()
        .map(|t| !grpo_rewards::extract_function_calls(t).calls.is_empty())
        .collect();
    let advantages = group_relative(&scores.total, config.group_size, &config.advantages)?;
    Ok(Rollout {
        group_size: config.group_size,
        tokens: generation.tokens,
        sampling_logprobs: generation.logprobs,
        texts,
        finish: generation.finish,
        reward_columns: scores.per_reward,
        rewards: scores.total,
        advantages: advantages.values,
        stats: advantages.stats,
        parseable,
        generation_time,
        scoring_time: start.elapsed(),
    })
}
