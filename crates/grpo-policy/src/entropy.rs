//! The policy's entropy at each completion position, with the completion
//! log-probs of the same forward pass: the `entropy` of the training log
//! and the input of TRL's `top_entropy_quantile` token selection.

use mlx_rs::{stop_gradient, Array};

use crate::batch::PromptBatch;
use crate::error::Result;
use crate::logprobs::{completion_hidden, scaled_and_picked, scaled_logits, CompletionBatch};
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
    let hidden = completion_hidden(model, prompts, completions, group_size, mode)?;
    logprobs_and_entropy(&model.logits(&hidden)?, &completions.tokens, temperature)
}

/// [`token_logprobs`](crate::logprobs::token_logprobs) and [`token_entropy`] sharing the scaled float32
/// logits and their `logsumexp`: beside what the log-probs need, the
/// entropy adds `softmax · logits`, one vocabulary-sized temporary.
///
/// The log-probs are computed as `token_logprobs` computes them (the same
/// arithmetic, so the same numbers, which a test checks); the entropy
/// reads the shared values through `stop_gradient`.
///
/// # Shapes
/// `logits`: `[rows, len, vocab]`, `tokens`: `[rows, len]` → both `[rows, len]`.
pub fn logprobs_and_entropy(
    logits: &Array,
    tokens: &Array,
    temperature: f32,
) -> Result<(Array, Array)> {
    let (logits, picked) = scaled_and_picked(logits, tokens, temperature)?;
    let log_z = logits.logsumexp_axis(-1, true)?; // [rows, len, 1]
    let logprobs = picked.subtract(log_z.squeeze_axes(&[-1])?)?;
    let entropy = entropy_of(&stop_gradient(&logits)?, &stop_gradient(&log_z)?)?;
    Ok((logprobs, entropy))
}

/// `log_z − Σ_v exp(l_v − log_z) · l_v` over the last axis.
fn entropy_of(logits: &Array, log_z: &Array) -> Result<Array> {
    let p = logits.subtract(log_z)?.exp()?;
    let expected = p.multiply(logits)?.sum_axis(-1, false)?;
    Ok(log_z.squeeze_axes(&[-1])?.subtract(expected)?)
}

/// Entropy in nats of `softmax(logits / temperature)` over the last axis,
/// under stop-gradient: `logsumexp(l) − Σ_v softmax(l)_v · l_v`, which
/// needs one vocabulary-sized temporary beside the scaled logits.
///
/// # Shapes
/// `logits`: `[rows, len, vocab]` → `[rows, len]`.
pub fn token_entropy(logits: &Array, temperature: f32) -> Result<Array> {
    let logits = scaled_logits(&stop_gradient(logits)?, temperature)?;
    let log_z = logits.logsumexp_axis(-1, true)?;
    entropy_of(&logits, &log_z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logprobs::token_logprobs;

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

    #[test]
    fn the_shared_pass_has_the_gradient_of_token_logprobs_alone() {
        use mlx_rs::transforms::value_and_grad;
        let logits = Array::from_slice(&[0.3f32, -1.0, 2.0, 0.5, 1.5, 0.0, -0.5, 0.25], &[1, 2, 4]);
        let tokens = Array::from_slice(&[2u32, 0], &[1, 2]);
        let weights = Array::from_slice(&[1.0f32, -2.0], &[1, 2]);
        // The entropy rides along as an auxiliary output; the log-probs keep
        // the gradient token_logprobs gives them.
        let shared = |x: &[Array]| -> std::result::Result<Vec<Array>, mlx_rs::error::Exception> {
            let (lp, h) = logprobs_and_entropy(&x[0], &tokens, 0.7)
                .map_err(|e| mlx_rs::error::Exception::custom(e.to_string()))?;
            Ok(vec![lp.multiply(&weights)?.sum(None)?, h.sum(None)?])
        };
        let alone = |x: &[Array]| -> std::result::Result<Vec<Array>, mlx_rs::error::Exception> {
            let lp = token_logprobs(&x[0], &tokens, 0.7)
                .map_err(|e| mlx_rs::error::Exception::custom(e.to_string()))?;
            Ok(vec![lp.multiply(&weights)?.sum(None)?])
        };
        let (v1, g1) = value_and_grad(shared)(std::slice::from_ref(&logits)).unwrap();
        let (v2, g2) = value_and_grad(alone)(std::slice::from_ref(&logits)).unwrap();
        assert_eq!(v1[0].item_exact::<f32>(), v2[0].item_exact::<f32>());
        assert_eq!(g1[0].as_slice::<f32>(), g2[0].as_slice::<f32>());
    }
}
