//! One GRPO iteration: sample a group of completions per prompt, score
//! them, and take `num_iterations` clipped-objective updates.
//!
//! The iteration's batch is cut into shards ([`crate::data_parallel`]):
//! one for a run of one process, which is then exactly the plain loop. Each
//! shard this rank handles is generated with its own key and differentiated
//! as one unit; the update uses the mean gradient over all shards of all
//! ranks, and the metrics describe the whole batch.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use grpo_policy::batch::PromptBatch;
use grpo_policy::entropy::completion_logprobs_and_entropy;
use grpo_policy::generate::FinishReason;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mlx_rs::{self, transforms::eval, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_rewards::Reference;

use crate::advantages::{batch_scaled, group_relative, AdvantageConfig};
use crate::error::Result;
use crate::importance_sampling::ImportanceSamplingLevel;
use crate::loss::{grpo_loss_with, LossInputs, LossOutput, LossType};
use crate::loss_variant::LossVariant;
use crate::metrics::{GrpoMetrics, IterationMetrics, ParallelMetrics, StrategyMetrics};
use crate::micro_batch;
use crate::multi_turn;
use crate::parts::Parts;
use crate::rollout::{self, PromptSet, Rollout, RolloutConfig};
use crate::scale_rewards::ScaleRewards;
use crate::streams::{key_for, Stream};
use crate::two_phase::Recovery;

/// One shard's prompts and what was sampled for them.
struct Shard {
    prompts: Vec<Vec<u32>>,
    rollout: Rollout,
}

/// What the loss of one shard needs, built once per iteration.
pub(crate) struct ShardInputs {
    pub(crate) prompt_batch: PromptBatch,
    pub(crate) completions: CompletionBatch,
    pub(crate) mask: Array,
    pub(crate) advantages: Array,
    pub(crate) ref_logprobs: Option<Array>,
    pub(crate) old_logprobs: Option<Array>,
    /// Loss tokens (the mask's sum).
    pub(crate) tokens: f32,
}

/// The seed of shard `shard`'s random streams. A batch of one shard keeps
/// the run's seed, so a run of one process draws what it always drew.
fn shard_seed(seed: u64, shard: usize, shards: usize) -> u64 {
    if shards == 1 {
        seed
    } else {
        seed ^ (shard as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93)
    }
}

/// GRPO iteration `iteration` (from 1): rollouts, advantages, updates.
pub(crate) fn iteration(p: &mut Parts<'_>, iteration: usize) -> Result<IterationMetrics> {
    let start = Instant::now();
    let global = p.sampler.next_batch(p.config.batch_size);
    let mut shards = Vec::new();
    let mut generation_time = Duration::ZERO;
    let mut sampled_groups = None;
    for (index, range) in p.dp.my_shards(global.len()) {
        let batch = global[range].to_vec();
        let (batch, shard) = if p.config.dynamic_sampling > 0 {
            // One shard only (checked when the run starts).
            let (batch, shard, sampled) = rollout_varied(p, batch, iteration)?;
            sampled_groups = Some(sampled);
            (batch, shard)
        } else {
            let shard = rollout_shard(p, &batch, iteration, index, 0)?;
            (batch, shard)
        };
        generation_time += shard.rollout.generation_time;
        let c = p.config;
        if c.log_rollouts_every > 0 && iteration.is_multiple_of(c.log_rollouts_every) {
            p.rollout_log.write(
                iteration,
                &batch,
                &shard.rollout,
                &p.train.answers,
                &p.rewards.names(),
            )?;
        }
        shards.push(shard);
    }
    let scaffold_ratio = p.config.curriculum().map(|c| c.ratio_at(iteration));

    let train_start = Instant::now();
    let learned = learn(p, &shards, iteration)?;
    let train_time = train_start.elapsed().as_secs_f32();

    // The whole batch's rows, in global order (rank by rank).
    let names: Vec<String> = p.rewards.names().into_iter().map(String::from).collect();
    let width = ROW_FIELDS + 2 * names.len();
    let mut local = Vec::new();
    for shard in &shards {
        push_rows(&mut local, &shard.rollout);
    }
    let rows =
        p.dp.gather(&local, width, "collecting the batch's rewards")?;
    let rows: Vec<&[f32]> = rows.chunks_exact(width).collect();
    let local_prompt_tokens: usize = shards.iter().flat_map(|s| &s.prompts).map(Vec::len).sum();
    let c = p.config;
    let peak = mlx_rs::memory::peak_memory()? as u64;
    let (generation_s, train_s, prompt_tokens, peak_memory_bytes) = if p.dp.is_distributed() {
        let per_rank = p.dp.gather(
            &[
                generation_time.as_secs_f32(),
                train_time,
                local_prompt_tokens as f32,
                peak as f32,
            ],
            4,
            "collecting the ranks' timings",
        )?;
        let ranks: Vec<&[f32]> = per_rank.chunks_exact(4).collect();
        let max = |i: usize| ranks.iter().map(|r| r[i]).fold(0.0f32, f32::max);
        let sum = |i: usize| ranks.iter().map(|r| f64::from(r[i])).sum::<f64>();
        (max(0), max(1), sum(2) as usize, max(3) as u64)
    } else {
        (
            generation_time.as_secs_f32(),
            train_time,
            local_prompt_tokens,
            peak,
        )
    };

    let rewards: Vec<f32> = rows.iter().map(|r| r[0]).collect();
    let stats = group_relative(&rewards, c.group_size, &AdvantageConfig::default())?.stats;
    let n = rows.len().max(1) as f32;
    let count = |i: usize| rows.iter().map(|r| f64::from(r[i])).sum::<f64>() as usize;
    let sampled_tokens = count(1);
    let total_tokens = count(2);
    let thinking = c.thinking();
    let multi_turn = p.turns.is_some();
    let strategy = StrategyMetrics {
        phase: p.phase.map(|i| i + 1),
        scaffold_ratio,
        recovered: c.recovery_limit().map(|_| count(6)),
        thinking_fraction: thinking.enforce.then(|| count(5) as f32 / n),
        sampled_groups,
        turns: multi_turn.then(|| count(7) as f32 / n),
        tool_calls: multi_turn.then(|| count(8)),
        tool_errors: multi_turn.then(|| count(9)),
    };
    Ok(IterationMetrics {
        iteration,
        iterations: c.iters,
        loss: learned.loss,
        grpo: Some(GrpoMetrics {
            mean_reward: stats.reward_mean,
            reward_std: stats.reward_std,
            rewards: {
                let k_names = names.len();
                names
                    .into_iter()
                    .enumerate()
                    .map(|(k, name)| {
                        let column: Vec<f32> = rows.iter().map(|r| r[ROW_FIELDS + k]).collect();
                        let applied: Vec<bool> = rows
                            .iter()
                            .map(|r| r[ROW_FIELDS + k_names + k] != 0.0)
                            .collect();
                        (name, applied_mean(&column, &applied))
                    })
                    .collect()
            },
            kl: learned.kl,
            clip_fraction: learned.clip_fraction,
            ratio_mean: learned.ratio_mean,
            entropy: learned.entropy,
            truncated_fraction: count(3) as f32 / n,
            parseable_fraction: count(4) as f32 / n,
            zero_variance_groups: stats.zero_variance_groups,
            groups: stats.groups,
            rollout_tokens_per_s: sampled_tokens as f32 / generation_s.max(1e-6),
        }),
        grad_norm: learned.grad_norm,
        learning_rate: learned.lr,
        completion_length: sampled_tokens as f32 / n,
        train_tokens_per_s: (c.num_iterations * (prompt_tokens + total_tokens)) as f32
            / train_s.max(1e-6),
        iteration_s: start.elapsed().as_secs_f32(),
        peak_memory_bytes,
        skipped: learned.skipped,
        strategy,
        parallel: if p.dp.is_distributed() {
            ParallelMetrics {
                ranks: Some(p.dp.ranks()),
                allreduce_s: Some(learned.allreduce_s),
                wait_s: Some(learned.wait_s),
            }
        } else {
            ParallelMetrics::default()
        },
    })
}

/// DAPO's dynamic sampling: the rollout of `first`, with its groups
/// whose rewards are all equal replaced by groups of fresh prompts that
/// differ, drawn in at most `dynamic_sampling` extra rounds (each of
/// twice the groups still missing, at most a batch). Returns the
/// prompts trained on (fewer than `first` when the rounds ran out; all
/// of `first` when no group differed), their rollout, and the number of
/// groups sampled.
fn rollout_varied(
    p: &mut Parts<'_>,
    first: Vec<usize>,
    iteration: usize,
) -> Result<(Vec<usize>, Shard, usize)> {
    let want = first.len();
    let shard = rollout_shard(p, &first, iteration, 0, 0)?;
    let mut sampled = want;
    let keep = shard.rollout.varied_groups();
    let mut batch: Vec<usize> = keep.iter().map(|&g| first[g]).collect();
    let mut prompts: Vec<Vec<u32>> = keep.iter().map(|&g| shard.prompts[g].clone()).collect();
    let mut rollout = shard.rollout.select_groups(&keep)?;
    for round in 1..=p.config.dynamic_sampling {
        let missing = want - batch.len();
        if missing == 0 {
            break;
        }
        let more = p.sampler.next_batch((2 * missing).min(want));
        sampled += more.len();
        let extra = rollout_shard(p, &more, iteration, 0, round as u64)?;
        let keep: Vec<usize> = extra
            .rollout
            .varied_groups()
            .into_iter()
            .take(missing)
            .collect();
        batch.extend(keep.iter().map(|&g| more[g]));
        prompts.extend(keep.iter().map(|&g| extra.prompts[g].clone()));
        rollout.append(extra.rollout.select_groups(&keep)?)?;
    }
    if batch.is_empty() {
        // Nothing to learn from: the first batch, whose advantages are
        // all zero, keeps the iteration's shape and metrics.
        return Ok((first, shard, sampled));
    }
    if p.config.scale_rewards == ScaleRewards::Batch {
        rollout.advantages = batch_scaled(
            &rollout.rewards,
            rollout.group_size,
            &AdvantageConfig::default(),
        )?
        .values;
    }
    Ok((batch, Shard { prompts, rollout }, sampled))
}

/// Samples and scores the completions of shard `index` of the batch,
/// the prompts `batch`, in rollout round `round` of the iteration (0
/// but for dynamic sampling's extra rounds, which need keys of their
/// own).
fn rollout_shard(
    p: &Parts<'_>,
    batch: &[usize],
    iteration: usize,
    index: usize,
    round: u64,
) -> Result<Shard> {
    let c = p.config;
    let seed = shard_seed(c.seed, index, p.dp.shards());
    let step = iteration as u64 + (round << 32);
    let prompts: Vec<Vec<u32>> = batch.iter().map(|&i| p.train.prompts[i].clone()).collect();
    let references: Vec<&Reference> = batch.iter().map(|&i| &p.train.references[i]).collect();
    let scaffolds = p.scaffolds(batch, iteration);
    let thinking = c.thinking();
    let recovery_key = key_for(seed, Stream::Recovery, step)?;
    let recovery = c.recovery_limit().map(|limit| Recovery {
        samples_per_group: limit,
        answer_tokens: c.two_phase_answer_length,
        key: &recovery_key,
    });
    let prompt_set = PromptSet {
        tokens: &prompts,
        references: &references,
        scaffolds: &scaffolds,
    };
    let rollout_config = RolloutConfig {
        group_size: c.group_size,
        max_tokens: c.max_completion_length,
        sampler: c.sampler(),
        rewards: p.rewards,
        advantages: AdvantageConfig {
            scale_by_std: c.scale_rewards == ScaleRewards::Group,
            ..AdvantageConfig::default()
        },
        thinking: &thinking,
        recovery,
    };
    let key = key_for(seed, Stream::Rollout, step)?;
    let mut rollout = match p.turns {
        Some(turns) => multi_turn::collect(p.policy, prompt_set, rollout_config, turns, &key)?,
        None => rollout::collect(p.policy, prompt_set, rollout_config, &key)?,
    };
    if c.scale_rewards == ScaleRewards::Batch {
        // One divisor for the shard's batch, from every reward of it (with
        // several shards, each shard's own: advantages are computed where
        // the groups are).
        rollout.advantages =
            batch_scaled(&rollout.rewards, c.group_size, &AdvantageConfig::default())?.values;
    }
    Ok(Shard { prompts, rollout })
}

/// The tensors of one shard's loss, with the reference and old-policy
/// log-probs evaluated.
fn shard_inputs(p: &Parts<'_>, shard: &Shard, dropout: &Array) -> Result<ShardInputs> {
    let c = p.config;
    let rollout = &shard.rollout;
    let prompt_batch = PromptBatch::new(&shard.prompts)?;
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
    let model = &p.policy.model;
    let logprobs = |m: &Transformer, mode: &Mode| -> Result<Array> {
        let lp = completion_logprobs(
            m,
            &prompt_batch,
            &completions,
            c.group_size,
            c.temperature,
            mode,
        )?;
        eval([&lp])?;
        Ok(lp)
    };
    let ref_logprobs = if c.beta > 0.0 {
        Some(logprobs(p.reference.unwrap_or(model), &Mode::reference())?)
    } else {
        None
    };
    let old_logprobs = if c.num_iterations > 1 {
        // Under the dropout masks of the updates, so that the first
        // update's ratios are exactly 1 and later ones move only with
        // the weights (with LoRA dropout, a mask of its own per pass
        // would put noise into every ratio).
        Some(logprobs(model, &Mode::training(dropout.clone()))?)
    } else {
        None
    };
    let tokens = if p.dp.shards() > 1 {
        mask.sum(None)?.item_exact::<f32>()
    } else {
        0.0
    };
    Ok(ShardInputs {
        prompt_batch,
        completions,
        mask,
        advantages,
        ref_logprobs,
        old_logprobs,
        tokens,
    })
}

/// The `num_iterations` updates on one rollout, each on the mean
/// gradient over every shard of the batch.
///
/// Every update of the iteration, and the old-policy pass, draws the
/// same adapter-dropout masks (the key of the iteration's first
/// optimizer step): the ratios then measure how the weights moved, not
/// which units were dropped.
fn learn(p: &mut Parts<'_>, shards: &[Shard], iteration: usize) -> Result<Learned> {
    let first_step = (iteration - 1) * p.config.num_iterations;
    let dropout = key_for(p.config.seed, Stream::Dropout, first_step as u64)?;
    let inputs: Vec<ShardInputs> = shards
        .iter()
        .map(|s| shard_inputs(p, s, &dropout))
        .collect::<Result<_>>()?;
    let c = p.config;
    let group = c.group_size;
    let temperature = c.temperature;
    let several = p.dp.shards() > 1;
    let local_tokens: f32 = inputs.iter().map(|s| s.tokens).sum();
    // DAPO normalises by the tokens of the whole batch; each shard's
    // loss is scaled so that the mean over shards is that loss.
    let total_tokens = (several && c.loss_type == LossType::Dapo)
        .then(|| -> Result<f32> {
            let all = p.dp.sum(&[local_tokens], "counting the batch's tokens")?[0];
            Ok((all / p.dp.shards() as f32).max(1.0))
        })
        .transpose()?;
    let loss_config = c.loss_config();
    let (importance_sampling_level, top_entropy_quantile) =
        (c.importance_sampling_level, c.top_entropy_quantile);
    let schedule = p.schedule;

    let grad_checkpoint = c.grad_checkpoint;
    // One forward and backward pass over `shard`, its loss times
    // `weight`; the outputs are the loss, its metrics and, last, the
    // mean entropy over the tokens the loss counts.
    let pass = |p: &mut Parts<'_>,
                shard: &ShardInputs,
                total_tokens: Option<f32>,
                weight: f32|
     -> Result<(Vec<Array>, BTreeMap<String, Array>)> {
        p.learner.value_and_grad(&mut p.policy.model, |m| {
            let mode = Mode::training(dropout.clone()).with_grad_checkpoint(grad_checkpoint);
            // The entropy comes from the same logits, under
            // stop-gradient: the metric, and the token selection
            // of top_entropy_quantile.
            let (logprobs, entropy) = completion_logprobs_and_entropy(
                m,
                &shard.prompt_batch,
                &shard.completions,
                group,
                temperature,
                &mode,
            )?;
            let mut out = grpo_loss_with(
                &LossInputs {
                    logprobs: &logprobs,
                    old_logprobs: shard.old_logprobs.as_ref(),
                    ref_logprobs: shard.ref_logprobs.as_ref(),
                    advantages: &shard.advantages,
                    mask: &shard.mask,
                    total_tokens,
                },
                &loss_config,
                &LossVariant {
                    importance_sampling_level,
                    top_entropy_quantile,
                    entropy: Some(&entropy),
                },
            )?;
            if weight != 1.0 {
                out.loss = out.loss.multiply(Array::from_f32(weight))?;
            }
            let mut arrays = out.into_arrays();
            arrays.push(masked_mean(&entropy, &shard.mask)?);
            Ok(arrays)
        })
    };
    let sequence = importance_sampling_level == ImportanceSamplingLevel::Sequence;
    // Cut once: every update of the iteration differentiates the same slices.
    let splits = inputs
        .iter()
        .map(|s| micro_batch::split(s, c.micro_batch_size, group, c.loss_type, total_tokens))
        .collect::<Result<Vec<_>>>()?;

    let mut learned = Learned::default();
    for k in 0..c.num_iterations {
        let step = (iteration - 1) * c.num_iterations + k;
        let lr = schedule.lr_at(step);
        let mut summed: Option<BTreeMap<String, Array>> = None;
        let mut shard_outputs = Vec::with_capacity(inputs.len());
        for (shard, split) in inputs.iter().zip(&splits) {
            let (outputs, grads) = match split {
                None => pass(p, shard, total_tokens, 1.0)?,
                Some(micro_batches) => micro_batch::accumulate(micro_batches, sequence, |micro| {
                    pass(p, &micro.inputs, micro.total_tokens, micro.loss_weight)
                })?,
            };
            summed = Some(micro_batch::add_gradients(summed, grads)?);
            shard_outputs.push(outputs);
        }
        let summed = summed.expect("every rank has at least one shard");
        let (grads, allreduce) = p.dp.mean_gradients(summed)?;
        // The outputs of the update: the loss first, the entropy last.
        let (outputs, reduced) = if several {
            let reduced = reduce_loss_outputs(p, &inputs, shard_outputs)?;
            let outputs = vec![
                Array::from_f32(reduced.loss),
                Array::from_f32(reduced.entropy),
            ];
            (outputs, Some(reduced))
        } else {
            (shard_outputs.pop().expect("one shard"), None)
        };
        let applied = p.learner.apply(&mut p.policy.model, &grads, &outputs, lr)?;
        let mut outputs = outputs;
        let entropy = outputs.pop().map(|e| e.item_exact::<f32>());
        let (loss, kl, clip_fraction, ratio_mean) = match reduced {
            Some(r) => (r.loss, r.kl, r.clip_fraction, r.ratio_mean),
            None => {
                let out = LossOutput::from_arrays(outputs)?;
                let m = out.metrics.values()?;
                (
                    out.loss.item_exact::<f32>(),
                    m.kl,
                    m.clip_fraction,
                    m.ratio_mean,
                )
            }
        };
        learned = Learned {
            loss,
            kl,
            clip_fraction,
            ratio_mean,
            entropy,
            grad_norm: applied.grad_norm,
            lr,
            skipped: learned.skipped || applied.skipped,
            allreduce_s: learned.allreduce_s + allreduce.all_sum.as_secs_f32(),
            wait_s: learned.wait_s + allreduce.wait.as_secs_f32(),
        };
    }
    Ok(learned)
}

/// The loss (mean over shards) and the token-weighted means of the loss
/// metrics over every shard of every rank.
fn reduce_loss_outputs(
    p: &Parts<'_>,
    inputs: &[ShardInputs],
    outputs: Vec<Vec<Array>>,
) -> Result<Reduced> {
    // [loss, ratio·t, clip·t, kl·t, t, entropy·t]
    let mut sums = [0.0f32; 6];
    let mut has_kl = false;
    for (shard, mut out) in inputs.iter().zip(outputs) {
        let entropy = out.pop().expect("the entropy is the last output");
        sums[5] += entropy.item_exact::<f32>() * shard.tokens;
        let out = LossOutput::from_arrays(out)?;
        let m = out.metrics.values()?;
        let t = shard.tokens;
        sums[0] += out.loss.item_exact::<f32>();
        sums[1] += m.ratio_mean * t;
        sums[2] += m.clip_fraction * t;
        if let Some(kl) = m.kl {
            has_kl = true;
            sums[3] += kl * t;
        }
        sums[4] += t;
    }
    let all = p.dp.sum(&sums, "reducing the loss")?;
    let tokens = all[4].max(1.0);
    Ok(Reduced {
        loss: all[0] / p.dp.shards() as f32,
        ratio_mean: all[1] / tokens,
        clip_fraction: all[2] / tokens,
        kl: has_kl.then(|| all[3] / tokens),
        entropy: all[5] / tokens,
    })
}

/// What the updates of one iteration reported.
#[derive(Debug, Default, Clone, Copy)]
struct Learned {
    loss: f32,
    kl: Option<f32>,
    clip_fraction: f32,
    ratio_mean: f32,
    entropy: Option<f32>,
    grad_norm: f32,
    lr: f32,
    skipped: bool,
    /// Seconds spent in the gradient all-sum (several ranks only).
    allreduce_s: f32,
    /// Seconds spent waiting for the slowest rank before it.
    wait_s: f32,
}

/// The loss metrics of an update, over the whole batch.
struct Reduced {
    loss: f32,
    ratio_mean: f32,
    clip_fraction: f32,
    kl: Option<f32>,
    entropy: f32,
}

/// Per-row fields [`push_rows`] writes before the reward columns: total
/// reward, sampled tokens, all tokens, truncated, parseable, reasoned,
/// recovered, and (0 in single-turn rollouts) turns, tool calls, failed
/// tool calls.
const ROW_FIELDS: usize = 10;

/// Appends each row of `rollout` as `ROW_FIELDS` numbers, then its reward
/// columns, then whether each reward applied (1 or 0): the form in which
/// the ranks exchange them.
fn push_rows(out: &mut Vec<f32>, rollout: &Rollout) {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    for row in 0..rollout.rows() {
        let given: usize = rollout.forced[row].iter().map(|r| r.len()).sum();
        let total = rollout.tokens[row].len();
        out.extend([
            rollout.rewards[row],
            (total - given) as f32,
            total as f32,
            flag(rollout.finish[row] == FinishReason::Length),
            flag(rollout.parseable[row]),
            flag(rollout.reasoned[row]),
            flag(rollout.recovered[row]),
        ]);
        let used = rollout.tool_use.as_ref();
        out.extend(
            [
                used.map_or(0, |u| u.turns[row]),
                used.map_or(0, |u| u.calls[row]),
                used.map_or(0, |u| u.errors[row]),
            ]
            .map(|n| n as f32),
        );
        out.extend(rollout.reward_columns.iter().map(|col| col[row]));
        out.extend(rollout.reward_applied.iter().map(|a| flag(a[row])));
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
