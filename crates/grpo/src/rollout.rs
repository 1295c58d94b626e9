//! One iteration's samples: the group of completions of every prompt, their
//! rewards and advantages.
//!
//! Rows are prompt-major: completion `j` of prompt `p` is row
//! `p * group_size + j`, in every vector here and in every tensor built from
//! them. This is the only place that states it.
//!
//! A completion may hold tokens that were given rather than sampled: the
//! scaffold at its start ([`crate::curriculum`]) and the forced end of
//! reasoning of a recovered sample ([`crate::two_phase`]). They are part of
//! the completion for decoding and rewards, and carry no loss
//! ([`Rollout::sampled_mask`]).

use std::ops::Range;
use std::time::{Duration, Instant};

use grpo_policy::generate::FinishReason;
use grpo_policy::mlx_rs::Array;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_rewards::{BatchScores, Reference, RewardSet};

use crate::advantages::{group_relative, AdvantageConfig, AdvantageStats};
use crate::error::{Error, Result};
pub use crate::sampled::Sampled;
use crate::thinking::{Block, Thinking};
use crate::tool_use::ToolUse;
use crate::two_phase::{self, Recovery};

/// The prompts of one iteration and what to compare their completions with.
#[derive(Debug, Clone, Copy)]
pub struct PromptSet<'a> {
    /// Prompt token ids (chat template applied).
    pub tokens: &'a [Vec<u32>],
    /// The expected answer of each prompt.
    pub references: &'a [&'a Reference],
    /// Tokens given at the start of each prompt's completions (curriculum
    /// scaffolding): one per prompt, or none at all.
    pub scaffolds: &'a [Vec<u32>],
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
    /// Reasoning tags, and whether a leading reasoning block is required.
    pub thinking: &'a Thinking,
    /// Two-phase recovery of samples cut inside their reasoning (`None`: off).
    pub recovery: Option<Recovery<'a>>,
}

/// Sampled completions with their scores.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Completions per prompt.
    pub group_size: usize,
    /// Generated token ids per row.
    pub tokens: Vec<Vec<u32>>,
    /// Decoded completion text per row (given tokens included).
    pub texts: Vec<String>,
    /// Token ranges of each row that were given rather than sampled
    /// (scaffold, forced end of reasoning); they carry no loss.
    pub forced: Vec<Vec<Range<usize>>>,
    /// Whether each row was continued by two-phase recovery.
    pub recovered: Vec<bool>,
    /// Whether each row opened with a closed reasoning block.
    pub reasoned: Vec<bool>,
    /// Why each row stopped.
    pub finish: Vec<FinishReason>,
    /// `[reward][row]`: each reward function's score (0 where it did not
    /// apply).
    pub reward_columns: Vec<Vec<f32>>,
    /// `[reward][row]`: whether the reward applied (a custom reward may
    /// return `None`).
    pub reward_applied: Vec<Vec<bool>>,
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
    /// What each row did with the tools, in a multi-turn rollout
    /// ([`crate::multi_turn`]); `None` for single-turn ones.
    pub tool_use: Option<ToolUse>,
}

impl Rollout {
    /// Number of completions.
    pub fn rows(&self) -> usize {
        self.tokens.len()
    }

    /// Total completion tokens, given ones included.
    pub fn total_tokens(&self) -> usize {
        self.tokens.iter().map(Vec::len).sum()
    }

    /// Total sampled tokens (given ones left out).
    pub fn sampled_tokens(&self) -> usize {
        let given: usize = self.forced.iter().flatten().map(|r| r.len()).sum();
        self.total_tokens() - given
    }

    /// `[rows, len]` float32: 1 on sampled tokens, 0 on given tokens and on
    /// padding, with `len` the longest row (at least 1), as
    /// [`CompletionBatch`](grpo_policy::logprobs::CompletionBatch) pads: the
    /// loss mask.
    pub fn sampled_mask(&self) -> Array {
        let len = self.tokens.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut mask = vec![0.0f32; self.rows() * len];
        for (row, tokens) in self.tokens.iter().enumerate() {
            let line = &mut mask[row * len..row * len + tokens.len()];
            line.fill(1.0);
            for r in self.forced.get(row).into_iter().flatten() {
                line[r.clone()].fill(0.0);
            }
        }
        Array::from_slice(&mask, &[self.rows() as i32, len as i32])
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

    /// The groups (prompts) whose rewards are not all equal: those that
    /// carry a signal.
    pub fn varied_groups(&self) -> Vec<usize> {
        self.rewards
            .chunks_exact(self.group_size)
            .enumerate()
            .filter(|(_, g)| !crate::advantages::is_constant(g))
            .map(|(i, _)| i)
            .collect()
    }

    /// The rollout of groups `groups` only, in that order. Advantages are
    /// relative to each group, so they stay as they are; the statistics
    /// are recomputed for the groups kept.
    pub fn select_groups(&self, groups: &[usize]) -> Result<Rollout> {
        let rows: Vec<usize> = groups
            .iter()
            .flat_map(|&g| g * self.group_size..(g + 1) * self.group_size)
            .collect();
        let pick = |v: &[f32]| rows.iter().map(|&r| v[r]).collect::<Vec<_>>();
        let rewards = pick(&self.rewards);
        let stats = group_relative(&rewards, self.group_size, &AdvantageConfig::default())?.stats;
        Ok(Rollout {
            group_size: self.group_size,
            tokens: rows.iter().map(|&r| self.tokens[r].clone()).collect(),
            texts: rows.iter().map(|&r| self.texts[r].clone()).collect(),
            forced: rows.iter().map(|&r| self.forced[r].clone()).collect(),
            recovered: rows.iter().map(|&r| self.recovered[r]).collect(),
            reasoned: rows.iter().map(|&r| self.reasoned[r]).collect(),
            finish: rows.iter().map(|&r| self.finish[r]).collect(),
            reward_columns: self.reward_columns.iter().map(|c| pick(c)).collect(),
            reward_applied: self
                .reward_applied
                .iter()
                .map(|c| rows.iter().map(|&r| c[r]).collect())
                .collect(),
            rewards,
            advantages: pick(&self.advantages),
            stats,
            parseable: rows.iter().map(|&r| self.parseable[r]).collect(),
            generation_time: self.generation_time,
            tool_use: self.tool_use.as_ref().map(|u| ToolUse {
                turns: rows.iter().map(|&r| u.turns[r]).collect(),
                calls: rows.iter().map(|&r| u.calls[r]).collect(),
                errors: rows.iter().map(|&r| u.errors[r]).collect(),
            }),
        })
    }

    /// `self` followed by `other` (same group size), generation times added.
    pub fn append(&mut self, other: Rollout) -> Result<()> {
        if other.group_size != self.group_size {
            return Err(Error::InvalidConfig {
                field: "group_size",
                message: format!(
                    "cannot join rollouts of groups of {} and {}",
                    self.group_size, other.group_size
                ),
            });
        }
        self.tokens.extend(other.tokens);
        self.texts.extend(other.texts);
        self.forced.extend(other.forced);
        self.recovered.extend(other.recovered);
        self.reasoned.extend(other.reasoned);
        self.finish.extend(other.finish);
        for (mine, theirs) in self.reward_columns.iter_mut().zip(other.reward_columns) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.reward_applied.iter_mut().zip(other.reward_applied) {
            mine.extend(theirs);
        }
        self.rewards.extend(other.rewards);
        self.advantages.extend(other.advantages);
        self.parseable.extend(other.parseable);
        self.generation_time += other.generation_time;
        match (&mut self.tool_use, other.tool_use) {
            (Some(mine), Some(theirs)) => {
                mine.turns.extend(theirs.turns);
                mine.calls.extend(theirs.calls);
                mine.errors.extend(theirs.errors);
            }
            (None, None) => {}
            _ => {
                return Err(Error::InvalidConfig {
                    field: "max_turns",
                    message: "cannot join a multi-turn rollout and a single-turn one".into(),
                })
            }
        }
        self.stats =
            group_relative(&self.rewards, self.group_size, &AdvantageConfig::default())?.stats;
        Ok(())
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
    let group = config.group_size;
    let opened = opened_in_prompt(policy, prompts.tokens, config.thinking)?;
    let sampled = sample(policy, &prompts, &config, &opened, key)?;
    let generation_time = start.elapsed();

    let texts = policy.decode(&sampled.tokens)?;
    let references: Vec<&Reference> = prompts
        .references
        .iter()
        .flat_map(|r| std::iter::repeat_n(*r, group))
        .collect();
    let scored: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(row, t)| {
            config
                .thinking
                .scored_text(t, opened[row / group])
                .into_owned()
        })
        .collect();
    // Custom rewards also get the tokens of each completion (TRL's
    // `completion_ids`): every token of the row, given ones included.
    let ids: Vec<&[u32]> = sampled.tokens.iter().map(Vec::as_slice).collect();
    let mut scores = config
        .rewards
        .score_batch_with_ids(&scored, &ids, &references)?;
    let reasoned: Vec<bool> = texts
        .iter()
        .enumerate()
        .map(|(row, t)| config.thinking.block(t, opened[row / group]) == Block::Leading)
        .collect();
    zero_unreasoned(&mut scores, &reasoned, config.thinking);
    let advantages = group_relative(&scores.total, group, &config.advantages)?;
    Ok(Rollout {
        group_size: group,
        tokens: sampled.tokens,
        texts,
        forced: sampled.forced,
        recovered: sampled.recovered,
        reasoned,
        finish: sampled.finish,
        reward_columns: scores.per_reward,
        reward_applied: scores.applied,
        rewards: scores.total,
        advantages: advantages.values,
        stats: advantages.stats,
        parseable: scores.parseable,
        generation_time,
        tool_use: None,
    })
}

/// With `--enforce-thinking`, every reward of a row that did not open with
/// a closed reasoning block becomes 0 (`reasoned[row]` says which did).
pub(crate) fn zero_unreasoned(scores: &mut BatchScores, reasoned: &[bool], thinking: &Thinking) {
    if !thinking.enforce {
        return;
    }
    for (row, ok) in reasoned.iter().enumerate() {
        if !ok {
            scores.per_reward.iter_mut().for_each(|c| c[row] = 0.0);
            scores.total[row] = 0.0;
        }
    }
}

/// Generates the completions: each prompt's scaffold is appended to it for
/// generation (so it costs none of the length budget) and then moved to the
/// front of the completion as given tokens; then samples cut inside their
/// reasoning are recovered.
fn sample(
    policy: &Policy,
    prompts: &PromptSet<'_>,
    config: &RolloutConfig<'_>,
    opened: &[bool],
    key: &Array,
) -> Result<Sampled> {
    let group = config.group_size;
    if !prompts.scaffolds.is_empty() && prompts.scaffolds.len() != prompts.tokens.len() {
        return Err(Error::InvalidConfig {
            field: "scaffolds",
            message: format!(
                "{} scaffolds for {} prompts (give one per prompt, or none)",
                prompts.scaffolds.len(),
                prompts.tokens.len()
            ),
        });
    }
    let scaffolded: Vec<Vec<u32>>;
    let generation_prompts = if prompts.scaffolds.is_empty() {
        prompts.tokens
    } else {
        scaffolded = prompts
            .tokens
            .iter()
            .zip(prompts.scaffolds)
            .map(|(p, s)| [p.as_slice(), s.as_slice()].concat())
            .collect();
        &scaffolded
    };
    let generation = policy.generate(
        generation_prompts,
        group,
        config.max_tokens,
        config.sampler,
        key,
    )?;
    let mut sampled = Sampled::after_scaffolds(generation, prompts.scaffolds, group);
    let Some(recovery) = config.recovery else {
        return Ok(sampled);
    };
    let texts = policy.decode(&sampled.tokens)?;
    let unclosed: Vec<bool> = texts
        .iter()
        .enumerate()
        .map(|(row, t)| config.thinking.block(t, opened[row / group]) == Block::Unclosed)
        .collect();
    let rows = two_phase::select(
        &sampled.finish,
        &unclosed,
        group,
        recovery.samples_per_group,
    );
    if rows.is_empty() {
        return Ok(sampled);
    }
    let think_end = policy.tokenizer.encode(&config.thinking.end, false)?;
    two_phase::recover(
        &mut sampled,
        &rows,
        &think_end,
        prompts.tokens,
        group,
        |contexts| {
            Ok(policy.generate(
                contexts,
                1,
                recovery.answer_tokens,
                config.sampler,
                recovery.key,
            )?)
        },
    )?;
    Ok(sampled)
}

/// Whether each prompt leaves its completions inside a reasoning block (a
/// chat template that ends the generation prompt with the opening tag).
pub(crate) fn opened_in_prompt(
    policy: &Policy,
    prompts: &[Vec<u32>],
    thinking: &Thinking,
) -> Result<Vec<bool>> {
    // The opening tag is a few tokens at most; a generous tail decodes it
    // whole whatever the tokenizer.
    const TAIL_TOKENS: usize = 16;
    prompts
        .iter()
        .map(|p| {
            let tail = &p[p.len().saturating_sub(TAIL_TOKENS)..];
            Ok(thinking.opened_by(&policy.tokenizer.decode(tail, false)?))
        })
        .collect()
}
