//! Completions as sampled, before decoding and scoring: the tokens, their
//! sampling log-probs, and which tokens were given (a curriculum's scaffold,
//! a recovered sample's forced end of reasoning) rather than sampled.

use std::ops::Range;

use grpo_policy::generate::{FinishReason, Generation};

/// Completions as sampled, before decoding and scoring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampled {
    /// Token ids per row, given tokens included.
    pub tokens: Vec<Vec<u32>>,
    /// Sampling-time log-probs per row (0 for given tokens).
    pub logprobs: Vec<Vec<f32>>,
    /// Why each row stopped.
    pub finish: Vec<FinishReason>,
    /// Token ranges of each row that were given rather than sampled.
    pub forced: Vec<Vec<Range<usize>>>,
    /// Whether each row was continued by two-phase recovery.
    pub recovered: Vec<bool>,
}

impl Sampled {
    /// The rows of `generation`, each after its prompt's scaffold (`group`
    /// rows per prompt; `scaffolds` empty for none).
    pub fn after_scaffolds(generation: Generation, scaffolds: &[Vec<u32>], group: usize) -> Self {
        let rows = generation.tokens.len();
        let mut out = Self {
            tokens: generation.tokens,
            logprobs: generation.logprobs,
            finish: generation.finish,
            forced: vec![Vec::new(); rows],
            recovered: vec![false; rows],
        };
        for (row, forced) in out.forced.iter_mut().enumerate() {
            let Some(given) = scaffolds.get(row / group).filter(|s| !s.is_empty()) else {
                continue;
            };
            out.tokens[row].splice(0..0, given.iter().copied());
            out.logprobs[row].splice(0..0, std::iter::repeat_n(0.0, given.len()));
            forced.push(0..given.len());
        }
        out
    }
}
