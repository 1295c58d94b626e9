//! The policy's entropy at each completion position, with the completion
//! log-probs of the same forward pass: the `entropy` of the training log
//! and the input of TRL's `top_entropy_quantile` token selection.

use mlx_rs::{ops, ops::indexing::IndexOp, stop_gradient, Array, Dtype};

use crate::batch::PromptBatch;
use crate::cache::repeat_rows;
use crate::error::{Error, Result};
use crate::logprobs::{token_logprobs, CompletionBatch};
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::models::transformer::Transformer;

/// [`completion_logprobs`](crate::logprobs::completion_logprobs) and the
/// entropy `H = −Σ_v p_v log p_v` of `p = softmax(logits / temperature)`
/// (the distribution the tokens were sampled from) at every completion
/// position, from one forward pass. The log-probs are exactly those of
/// `completion_logprobs`; the entropy is computed under stop-gradient, so
/// it adds no backward work. Padding positions hold finite garbage in both.
///
/// # Shapes
/// → `([prompts * group_size, completion_len], same)`.
pub fn completion_logprobs_and_entropy(
    model: &Transformer,
    prompts: &PromptBatch,
    completions: &CompletionBatch,
    group_size: usize,
    temperature: f32,
    mode: &Mode,
) -> Result<(Array, Array)> {
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
    // The forward pass of `completion_logprobs`, step for step.
    let mut cache = model.new_cache();
    let mask = AttentionMask::padded_causal(&prompts.pads, 0, prompts.len());
    let hidden = model.hidden(&prompts.tokens, &mut cache, &mask, mode)?;
    let first = repeat_rows(&hidden.index((.., -1.., ..)), group_size as i32)?;
    let len = completions.tokens.shape()[1];
    let hidden = if len > 1 {
        for c in &mut cache {
            c.repeat_rows(group_size as i32)?;
        }
        let pads = prompts.repeated_pads(group_size);
        let inputs = completions.tokens.index((.., ..len - 1));
        let mask = AttentionMask::padded_causal(&pads, prompts.len(), len - 1);
        let rest = model.hidden(&inputs, &mut cache, &mask, mode)?;
        ops::concatenate(&[first, rest], 1)?
    } else {
        first
    };
    let logits = model.logits(&hidden)?;
    let logprobs = token_logprobs(&logits, &completions.tokens, temperature)?;
    let entropy = token_entropy(&logits, temperature)?;
    Ok((logprobs, entropy))
}

/// Entropy in nats of `softmax(logits / temperature)` over the last axis,
/// under stop-gradient: `logsumexp(l) − Σ_v softmax(l)_v · l_v`, which
/// needs one vocabulary-sized temporary beside the scaled logits.
///
/// # Shapes
/// `logits`: `[rows, len, vocab]` → `[rows, len]`.
pub fn token_entropy(logits: &Array, temperature: f32) -> Result<Array> {
    let mut logits = stop_gradient(logits)?.as_dtype(Dtype::Float32)?;
    if temperature > 0.0 && temperature != 1.0 {
        logits = logits.multiply(Array::from_f32(1.0 / temperature))?;
    }
    let log_z = logits.logsumexp_axis(-1, true)?;
    let p = logits.subtract(&log_z)?.exp()?;
    let expected = p.multiply(&logits)?.sum_axis(-1, false)?;
    Ok(log_z.squeeze_axes(&[-1])?.subtract(expected)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_matches_hand_computation() {
        // Uniform over 4: ln 4. Logits [0, ln 3] -> p = [1/4, 3/4].
        let logits = Array::from_slice(
            &[0.0f32, 0.0, 0.0, 0.0, 0.0, 3f32.ln(), -1e9, -1e9],
            &[1, 2, 4],
        );
        let h = token_entropy(&logits, 1.0).unwrap();
        let h = h.as_slice::<f32>();
        assert!((h[0] - 4f32.ln()).abs() < 1e-6, "{h:?}");
        let want = -(0.25f32 * 0.25f32.ln() + 0.75 * 0.75f32.ln());
        assert!((h[1] - want).abs() < 1e-6, "{h:?}");
        // Temperature 2 halves the logits: [0, ln 3 / 2] -> p ∝ [1, √3].
        let h = token_entropy(&logits, 2.0).unwrap();
        let (a, b) = (1.0 / (1.0 + 3f32.sqrt()), 3f32.sqrt() / (1.0 + 3f32.sqrt()));
        let want = -(a * a.ln() + b * b.ln());
        assert!((h.as_slice::<f32>()[1] - want).abs() < 1e-6);
    }
}
