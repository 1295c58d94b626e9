//! Micro-batches (`micro_batch_size`): a shard's learning pass cut into
//! slices of whole prompts, each differentiated on its own, so that only
//! one slice's activations are alive at a time.
//!
//! The saved activations of the blocks are most of a policy pass's peak
//! memory (benches/README.md measures 1.77 of SmolLM2's 2.5 GB), and they
//! grow with the rows of the pass; the gradient does not care how the rows
//! are grouped. Each slice's loss is weighted by its share of the shard's
//! normaliser (completions for `grpo` and `dr_grpo`, loss tokens for
//! `bnpo`, the shard's token count for `dapo`), so the summed gradient is
//! the gradient of one pass, and the metrics, weighted the same way, are
//! the one pass's metrics, up to the order of floating-point sums.

use std::collections::BTreeMap;
use std::ops::Range;

use grpo_policy::batch::PromptBatch;
use grpo_policy::logprobs::CompletionBatch;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, transforms::eval, Array};

use crate::error::Result;
use crate::grpo_iteration::ShardInputs;
use crate::loss::{LossOutput, LossType, OutputMean};

/// One slice of a shard: its inputs, and how it weighs in the shard's loss
/// and metrics.
pub(crate) struct MicroBatch {
    /// The slice's rows of every input of the loss.
    pub(crate) inputs: ShardInputs,
    /// The factor of the slice's loss in the shard's loss.
    pub(crate) loss_weight: f32,
    /// The DAPO normaliser the slice's loss uses: the shard's.
    pub(crate) total_tokens: Option<f32>,
    /// The slice's share of the shard's loss tokens: the weight of means
    /// over tokens.
    token_share: f32,
    /// The slice's share of the shard's completions: the weight of means
    /// over completions.
    row_share: f32,
}

impl MicroBatch {
    /// The factor of each output of the slice's loss (the `value_and_grad`
    /// outputs of the learning pass: [`LossOutput::into_arrays`], then
    /// means over tokens such as the entropy) in the shard's outputs. The
    /// loss comes already weighted by [`loss_weight`](Self::loss_weight).
    /// With one ratio per completion (`sequence`), the ratio and clip
    /// statistics are means over completions.
    fn output_weights(&self, outputs: usize, sequence: bool) -> Vec<f32> {
        let ratio = if sequence {
            self.row_share
        } else {
            self.token_share
        };
        (0..outputs)
            .map(|i| match LossOutput::ARRAY_MEANS.get(i) {
                Some(OutputMean::Loss) => 1.0,
                Some(OutputMean::Ratio) => ratio,
                Some(OutputMean::Tokens) | None => self.token_share,
            })
            .collect()
    }
}

/// The outputs and gradient of the whole shard from `pass` run on each of
/// its `micro_batches` in turn (each evaluated before the next is built,
/// so that its activations are freed), its outputs weighted by the
/// slice's [`output_weights`](MicroBatch::output_weights) and summed, its
/// gradients summed. `sequence`: one ratio per completion.
pub(crate) fn accumulate(
    micro_batches: &[MicroBatch],
    sequence: bool,
    mut pass: impl FnMut(&MicroBatch) -> Result<(Vec<Array>, BTreeMap<String, Array>)>,
) -> Result<(Vec<Array>, BTreeMap<String, Array>)> {
    let mut outputs: Option<Vec<Array>> = None;
    let mut grads = None;
    for micro in micro_batches {
        let (out, g) = pass(micro)?;
        eval(out.iter().chain(g.values()))?;
        let weights = micro.output_weights(out.len(), sequence);
        let out = out
            .iter()
            .zip(weights)
            .map(|(a, w)| Ok(a.multiply(Array::from_f32(w))?))
            .collect::<Result<Vec<_>>>()?;
        outputs = Some(match outputs {
            None => out,
            Some(sum) => sum
                .iter()
                .zip(&out)
                .map(|(a, b)| Ok(a.add(b)?))
                .collect::<Result<_>>()?,
        });
        grads = Some(add_gradients(grads, g)?);
    }
    let outputs = outputs.expect("a shard has at least one micro-batch");
    eval(&outputs)?;
    Ok((
        outputs,
        grads.expect("a shard has at least one micro-batch"),
    ))
}

/// `grads` added to `sum` (evaluated, so that the graphs behind both are
/// freed), or `grads` when there is no sum yet.
pub(crate) fn add_gradients(
    sum: Option<BTreeMap<String, Array>>,
    grads: BTreeMap<String, Array>,
) -> Result<BTreeMap<String, Array>> {
    let Some(sum) = sum else {
        return Ok(grads);
    };
    let sum = sum
        .into_iter()
        .map(|(name, a)| Ok((name.clone(), a.add(&grads[&name])?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    eval(sum.values())?;
    Ok(sum)
}

/// `shard` cut into slices of `prompts` prompts (the last may hold fewer),
/// each prompt with its `group` rows; `None` when one pass takes the whole
/// shard (`prompts` 0, or at least the shard's prompts). `total_tokens` is
/// the DAPO normaliser the shard's loss is given, if any.
pub(crate) fn split(
    shard: &ShardInputs,
    prompts: usize,
    group: usize,
    loss_type: LossType,
    total_tokens: Option<f32>,
) -> Result<Option<Vec<MicroBatch>>> {
    let count = shard.prompt_batch.rows();
    if prompts == 0 || prompts >= count {
        return Ok(None);
    }
    let row_tokens = shard.mask.sum_axis(1, false)?;
    row_tokens.eval()?;
    let row_tokens = row_tokens.as_slice::<f32>();
    // The normaliser of the shard's token means (`max(Σ mask, 1)`).
    let shard_tokens = row_tokens.iter().sum::<f32>().max(1.0);
    let shard_rows = (count * group) as f32;
    (0..count)
        .step_by(prompts)
        .map(|first| {
            let prompt_range = first..(first + prompts).min(count);
            let rows = prompt_range.start * group..prompt_range.end * group;
            let tokens: f32 = row_tokens[rows.clone()].iter().sum();
            let row_share = rows.len() as f32 / shard_rows;
            let token_share = tokens / shard_tokens;
            let (loss_weight, total_tokens) = match loss_type {
                LossType::Grpo | LossType::DrGrpo => (row_share, total_tokens),
                LossType::Bnpo => (token_share, total_tokens),
                LossType::Dapo => (1.0, Some(total_tokens.unwrap_or(shard_tokens))),
            };
            Ok(MicroBatch {
                inputs: slice(shard, prompt_range, rows, tokens)?,
                loss_weight,
                total_tokens,
                token_share,
                row_share,
            })
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// The `prompts` of `shard` and their `rows`, with `tokens` loss tokens.
fn slice(
    shard: &ShardInputs,
    prompts: Range<usize>,
    rows: Range<usize>,
    tokens: f32,
) -> Result<ShardInputs> {
    let r = rows.start as i32..rows.end as i32;
    let take = |a: &Array| a.index((r.clone(), ..));
    let c = &shard.completions;
    Ok(ShardInputs {
        prompt_batch: PromptBatch {
            tokens: shard
                .prompt_batch
                .tokens
                .index((prompts.start as i32..prompts.end as i32, ..)),
            pads: shard.prompt_batch.pads[prompts].to_vec(),
        },
        completions: CompletionBatch {
            tokens: take(&c.tokens),
            mask: take(&c.mask),
            lengths: c.lengths[rows].to_vec(),
        },
        mask: take(&shard.mask),
        advantages: shard.advantages.index(r.clone()),
        ref_logprobs: shard.ref_logprobs.as_ref().map(take),
        old_logprobs: shard.old_logprobs.as_ref().map(take),
        tokens,
    })
}
