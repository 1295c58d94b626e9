//! One GRPO iteration: sample a group of completions per prompt, score
//! them, and take `num_iterations` clipped-objective updates.

use std::time::Instant;

use grpo_policy::adapters;
use grpo_policy::batch::PromptBatch;
use grpo_policy::entropy::completion_logprobs_and_entropy;
use grpo_policy::generate::FinishReason;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mlx_rs::{self, transforms::eval, Array};
use grpo_policy::mode::Mode;
use grpo_rewards::Reference;

use crate::advantages::{batch_scaled, AdvantageConfig};
use crate::error::Result;
use crate::loss::{grpo_loss_with, LossInputs, LossOutput};
use crate::loss_variant::LossVariant;
use crate::metrics::{StepMetrics, StrategyMetrics};
use crate::rollout::{self, PromptSet, Rollout, RolloutConfig};
use crate::scale_rewards::ScaleRewards;
use crate::trainer::{key_for, Learned, Stream, Trainer};
use crate::two_phase::Recovery;
use crate::update;

impl Trainer {
    /// One GRPO iteration: rollouts, advantages, updates.
    pub(crate) fn grpo_iteration(&mut self) -> Result<StepMetrics> {
        let start = Instant::now();
        let iteration = self.done + 1;
        let c = &self.config;
        let batch = self.sampler.next_batch(c.batch_size);
        let prompts: Vec<Vec<u32>> = batch
            .iter()
            .map(|&i| self.train.prompts[i].clone())
            .collect();
        let references: Vec<&Reference> =
            batch.iter().map(|&i| &self.train.references[i]).collect();
        let (scaffold_ratio, scaffolds) = self.scaffolds(&batch, iteration);
        let thinking = c.thinking();
        let recovery_key = key_for(c.seed, Stream::Recovery, iteration as u64)?;
        let recovery = c.recovery_limit().map(|limit| Recovery {
            samples_per_group: limit,
            answer_tokens: c.two_phase_answer_length,
            key: &recovery_key,
        });
        let mut rollout = rollout::collect(
            &self.policy,
            PromptSet {
                tokens: &prompts,
                references: &references,
                scaffolds: &scaffolds,
            },
            RolloutConfig {
                group_size: c.group_size,
                max_tokens: c.max_completion_length,
                sampler: c.sampler(),
                rewards: &self.rewards,
                advantages: AdvantageConfig {
                    scale_by_std: c.scale_rewards == ScaleRewards::Group,
                    ..AdvantageConfig::default()
                },
                thinking: &thinking,
                recovery,
            },
            &key_for(c.seed, Stream::Rollout, iteration as u64)?,
        )?;
        if c.scale_rewards == ScaleRewards::Batch {
            // One divisor for the whole batch, from every reward of it.
            rollout.advantages =
                batch_scaled(&rollout.rewards, c.group_size, &AdvantageConfig::default())?.values;
        }
        if c.log_rollouts_every > 0 && iteration % c.log_rollouts_every == 0 {
            self.log_rollouts(iteration, &batch, &rollout)?;
        }

        let train_start = Instant::now();
        let learned = self.learn(&prompts, &rollout, iteration)?;
        let train_time = train_start.elapsed().as_secs_f32();
        let prompt_tokens: usize = prompts.iter().map(Vec::len).sum();
        let strategy = StrategyMetrics {
            phase: self.phase.map(|i| i + 1),
            scaffold_ratio,
            recovered: recovery.map(|_| rollout.recovered.iter().filter(|r| **r).count()),
            thinking_fraction: thinking.enforce.then(|| {
                rollout.reasoned.iter().filter(|r| **r).count() as f32
                    / rollout.rows().max(1) as f32
            }),
        };
        let rows = rollout.rows().max(1) as f32;
        let c = &self.config;
        let reward_means = self
            .rewards
            .names()
            .into_iter()
            .zip(rollout.reward_columns.iter().zip(&rollout.reward_applied))
            .map(|(n, (col, applied))| (n.to_string(), applied_mean(col, applied)))
            .collect();
        Ok(StepMetrics {
            iteration,
            iterations: c.iters,
            loss: learned.loss,
            mean_reward: rollout.stats.reward_mean,
            reward_std: rollout.stats.reward_std,
            rewards: reward_means,
            kl: learned.kl,
            clip_fraction: learned.clip_fraction,
            ratio_mean: learned.ratio_mean,
            entropy: learned.entropy,
            grad_norm: learned.grad_norm,
            learning_rate: learned.lr,
            completion_length: rollout.sampled_tokens() as f32 / rows,
            truncated_fraction: rollout.truncated_fraction(),
            parseable_fraction: rollout.parseable.iter().filter(|p| **p).count() as f32 / rows,
            zero_variance_groups: rollout.stats.zero_variance_groups,
            groups: rollout.stats.groups,
            rollout_tokens_per_s: rollout.sampled_tokens() as f32
                / rollout.generation_time.as_secs_f32().max(1e-6),
            train_tokens_per_s: (c.num_iterations * (prompt_tokens + rollout.total_tokens()))
                as f32
                / train_time.max(1e-6),
            step_s: start.elapsed().as_secs_f32(),
            peak_memory_bytes: mlx_rs::memory::peak_memory()? as u64,
            skipped: learned.skipped,
            strategy,
        })
    }

    /// The `num_iterations` updates on one rollout.
    fn learn(
        &mut self,
        prompts: &[Vec<u32>],
        rollout: &Rollout,
        iteration: usize,
    ) -> Result<Learned> {
        let c = &self.config;
        let group = c.group_size;
        let temperature = c.temperature;
        let prompt_batch = PromptBatch::new(prompts)?;
        let completions = CompletionBatch::new(&rollout.tokens);
        // Given tokens (scaffold, forced end of reasoning) carry no loss.
        let sampled = rollout.sampled_mask();
        let mask = if c.mask_truncated_completions {
            let keep: Vec<f32> = rollout
                .finish
                .iter()
                .map(|f| if *f == FinishReason::Length { 0.0 } else { 1.0 })
                .collect();
            sampled.multiply(Array::from_slice(&keep, &[keep.len() as i32, 1]))?
        } else {
            sampled
        };
        let advantages = Array::from_slice(&rollout.advantages, &[rollout.rows() as i32]);
        let model = &self.policy.model;
        let ref_logprobs = if c.beta > 0.0 {
            let lp = completion_logprobs(
                self.reference.as_ref().unwrap_or(model),
                &prompt_batch,
                &completions,
                group,
                temperature,
                &Mode::reference(),
            )?;
            eval([&lp])?;
            Some(lp)
        } else {
            None
        };
        let old_logprobs = if c.num_iterations > 1 {
            let lp = completion_logprobs(
                model,
                &prompt_batch,
                &completions,
                group,
                temperature,
                &Mode::inference(),
            )?;
            eval([&lp])?;
            Some(lp)
        } else {
            None
        };
        let loss_config = c.loss_config();
        let schedule = self.schedule_now();
        let trainable: Vec<String> = adapters::trainable(model, &self.adapter_config)
            .into_iter()
            .map(|(n, _)| n)
            .collect();

        let mut learned = Learned::default();
        for k in 0..c.num_iterations {
            let step = (iteration - 1) * c.num_iterations + k;
            let lr = schedule.lr_at(step);
            let dropout = key_for(c.seed, Stream::Dropout, step as u64)?;
            let grad_checkpoint = c.grad_checkpoint;
            let (importance_sampling_level, top_entropy_quantile) =
                (c.importance_sampling_level, c.top_entropy_quantile);
            let (outputs, grads) =
                update::value_and_grad(&mut self.policy.model, &trainable, |m| {
                    let mode =
                        Mode::training(dropout.clone()).with_grad_checkpoint(grad_checkpoint);
                    // The entropy comes from the same logits, under
                    // stop-gradient: the metric, and the token selection of
                    // top_entropy_quantile.
                    let (logprobs, entropy) = completion_logprobs_and_entropy(
                        m,
                        &prompt_batch,
                        &completions,
                        group,
                        temperature,
                        &mode,
                    )?;
                    let out = grpo_loss_with(
                        &LossInputs {
                            logprobs: &logprobs,
                            old_logprobs: old_logprobs.as_ref(),
                            ref_logprobs: ref_logprobs.as_ref(),
                            advantages: &advantages,
                            mask: &mask,
                            total_tokens: None,
                        },
                        &loss_config,
                        &LossVariant {
                            importance_sampling_level,
                            top_entropy_quantile,
                            entropy: Some(&entropy),
                        },
                    )?;
                    let mut arrays = out.into_arrays();
                    // Last: the mean entropy over the tokens the loss counts.
                    arrays.push(masked_mean(&entropy, &mask)?);
                    Ok(arrays)
                })?;
            let applied = update::apply(
                &mut self.policy.model,
                &mut self.optimizer,
                &grads,
                &outputs,
                c.max_grad_norm,
                lr,
            )?;
            let mut outputs = outputs;
            let entropy = outputs.pop().map(|e| e.item_exact::<f32>());
            let out = LossOutput::from_arrays(outputs)?;
            let m = out.metrics.values()?;
            learned = Learned {
                loss: out.loss.item_exact::<f32>(),
                kl: m.kl,
                clip_fraction: m.clip_fraction,
                ratio_mean: m.ratio_mean,
                entropy,
                grad_norm: applied.grad_norm,
                lr,
                skipped: learned.skipped || applied.skipped,
            };
        }
        Ok(learned)
    }
}

/// The mean of `x` over the positions where `mask` is non-zero (0 when
/// there are none).
fn masked_mean(x: &Array, mask: &Array) -> Result<Array> {
    let keep = mask.ne(Array::from_f32(0.0))?;
    let total = mlx_rs::ops::select(&keep, x, Array::from_f32(0.0))?.sum(None)?;
    let count = mlx_rs::ops::maximum(
        keep.as_dtype(mlx_rs::Dtype::Float32)?.sum(None)?,
        Array::from_f32(1.0),
    )?;
    Ok(total.divide(&count)?)
}

/// The mean of a reward over the rows where it applied; `None` when it
/// applied to none (a `None` score is "not applicable", not 0).
pub(crate) fn applied_mean(column: &[f32], applied: &[bool]) -> Option<f32> {
    let (sum, n) = column
        .iter()
        .zip(applied)
        .filter(|(_, a)| **a)
        .fold((0.0f32, 0usize), |(s, n), (v, _)| (s + v, n + 1));
    (n > 0).then(|| sum / n as f32)
}

#[cfg(test)]
mod tests {
    use super::applied_mean;

    #[test]
    fn rewards_that_do_not_apply_are_left_out_of_the_mean() {
        assert_eq!(
            applied_mean(&[1.0, 0.0, 0.5, 0.0], &[true, false, true, true]),
            Some(0.5)
        );
        assert_eq!(applied_mean(&[0.0, 0.0], &[false, false]), None);
        assert_eq!(applied_mean(&[0.25, 0.75], &[true, true]), Some(0.5));
    }
}
