//! Per-token log-probabilities of given completions, for the training loss.
//!
//! Computed the way generation produced them: the prompts are run once as a
//! left-padded batch, their caches repeated for the group, then all
//! completions run in one block. Gradients flow through both parts, and the
//! group shares the prompt's forward and backward pass (prompts are usually
//! several times longer than completions).

use mlx_rs::{ops, ops::indexing::IndexOp, Array, Dtype};

use crate::batch::{PromptBatch, PAD_ID};
use crate::cache::repeat_rows;
use crate::error::{Error, Result};
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::models::transformer::Transformer;

/// Completions right-padded into one block, prompt-major like
/// [`generate`](crate::generate::generate)'s output.
#[derive(Debug, Clone)]
pub struct CompletionBatch {
    /// `[rows, len]` uint32 tokens, padded with [`PAD_ID`].
    pub tokens: Array,
    /// `[rows, len]` float32: 1 on real tokens, 0 on padding.
    pub mask: Array,
    /// Real length of each row.
    pub lengths: Vec<usize>,
}

impl CompletionBatch {
    /// Right-pads `completions` to the longest (at least one column).
    pub fn new(completions: &[Vec<u32>]) -> Self {
        let len = completions.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut tokens = Vec::with_capacity(completions.len() * len);
        let mut mask = Vec::with_capacity(completions.len() * len);
        for c in completions {
            tokens.extend_from_slice(c);
            tokens.extend(std::iter::repeat_n(PAD_ID, len - c.len()));
            mask.extend(std::iter::repeat_n(1.0f32, c.len()));
            mask.extend(std::iter::repeat_n(0.0f32, len - c.len()));
        }
        let shape = [completions.len() as i32, len as i32];
        Self {
            tokens: Array::from_slice(&tokens, &shape),
            mask: Array::from_slice(&mask, &shape),
            lengths: completions.iter().map(Vec::len).collect(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }
}

/// `log p(completion[t] | prompt, completion[..t])` for every position, in
/// float32, from logits divided by `temperature` (as sampling used them).
/// Padding positions hold finite garbage: multiply by `completions.mask`.
///
/// `group_size` completions follow each prompt (prompt-major rows).
///
/// # Shapes
/// → `[prompts * group_size, completion_len]`.
pub fn completion_logprobs(
    model: &Transformer,
    prompts: &PromptBatch,
    completions: &CompletionBatch,
    group_size: usize,
    temperature: f32,
    mode: &Mode,
) -> Result<Array> {
    let hidden = completion_hidden(model, prompts, completions, group_size, mode)?;
    token_logprobs(&model.logits(&hidden)?, &completions.tokens, temperature)
}

/// The last hidden states that predict each completion token: the prompts
/// run once as a left-padded batch, their caches repeated for the group,
/// then all completions but their last token in one block. What
/// [`completion_logprobs`] and
/// [`completion_logprobs_and_entropy`](crate::entropy::completion_logprobs_and_entropy)
/// put the output head on.
///
/// # Shapes
/// → `[prompts * group_size, completion_len, hidden]`.
pub fn completion_hidden(
    model: &Transformer,
    prompts: &PromptBatch,
    completions: &CompletionBatch,
    group_size: usize,
    mode: &Mode,
) -> Result<Array> {
    let rows = prompts.rows() * group_size;
    if completions.rows() != rows {
        return Err(Error::config(
            "completions",
            format!(
                "{} rows for {} prompts × group of {group_size}",
                completions.rows(),
                prompts.rows()
            ),
        ));
    }
    let mut cache = model.new_cache();
    let mask = AttentionMask::padded_causal(&prompts.pads, 0, prompts.len());
    let hidden = model.hidden(&prompts.tokens, &mut cache, &mask, mode)?;
    let first = repeat_rows(&hidden.index((.., -1.., ..)), group_size as i32)?; // [rows, 1, hidden]

    let len = completions.tokens.shape()[1];
    if len > 1 {
        for c in &mut cache {
            c.repeat_rows(group_size as i32)?;
        }
        let pads = prompts.repeated_pads(group_size);
        let inputs = completions.tokens.index((.., ..len - 1)); // [rows, len - 1]
        let mask = AttentionMask::padded_causal(&pads, prompts.len(), len - 1);
        let rest = model.hidden(&inputs, &mut cache, &mask, mode)?;
        Ok(ops::concatenate(&[first, rest], 1)?) // [rows, len, hidden]
    } else {
        Ok(first)
    }
}

/// `log_softmax(logits / temperature)` at `tokens`, without materialising the
/// full log-softmax.
///
/// # Shapes
/// `logits`: `[rows, len, vocab]`, `tokens`: `[rows, len]` → `[rows, len]`.
pub fn token_logprobs(logits: &Array, tokens: &Array, temperature: f32) -> Result<Array> {
    let (logits, picked) = scaled_and_picked(logits, tokens, temperature)?;
    Ok(picked.subtract(logits.logsumexp_axis(-1, false)?)?)
}

/// `logits / temperature` in float32, and its values at `tokens`: what a
/// log-probability of the sampled tokens starts from.
///
/// # Shapes
/// `logits`: `[rows, len, vocab]`, `tokens`: `[rows, len]` → (`[rows, len,
/// vocab]`, `[rows, len]`).
pub(crate) fn scaled_and_picked(
    logits: &Array,
    tokens: &Array,
    temperature: f32,
) -> Result<(Array, Array)> {
    let logits = scaled_logits(logits, temperature)?;
    let picked = logits
        .take_along_axis(&tokens.expand_dims(-1)?, -1)?
        .squeeze_axes(&[-1])?;
    Ok((logits, picked))
}

/// `logits / temperature` in float32, the distribution sampling drew from
/// (a temperature of 0 or 1 leaves the logits as they are).
pub(crate) fn scaled_logits(logits: &Array, temperature: f32) -> Result<Array> {
    let logits = logits.as_dtype(Dtype::Float32)?;
    if temperature > 0.0 && temperature != 1.0 {
        Ok(logits.multiply(Array::from_f32(1.0 / temperature))?)
    } else {
        Ok(logits)
    }
}
