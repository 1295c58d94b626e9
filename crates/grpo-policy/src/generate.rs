//! Batched group generation, the hot path of GRPO.
//!
//! `B` prompts × `G` samples each are generated in one batch: the prompts
//! are prefilled once, as one left-padded batch of `B` rows, and their caches
//! are repeated `G` times, so the group shares its prompt computation. Rows
//! that stop (end-of-sequence, a stop condition) are dropped from the batch
//! as they accumulate, so they stop costing compute.
//!
//! Rows are prompt-major: sample `j` of prompt `p` is row `p * G + j`.

use mlx_rs::{ops::indexing::IndexOp, random, transforms::eval, Array};

use crate::batch::PromptBatch;
use crate::cache::repeat_rows;
use crate::error::{Error, Result};
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::models::transformer::Transformer;
use crate::sample::Sampler;

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It produced an end-of-sequence token (kept as its last token).
    Eos,
    /// The caller's stop condition matched.
    Stop,
    /// It reached `max_tokens`.
    Length,
}

/// A stop condition on the tokens a row has generated so far.
pub type StopFn<'a> = &'a dyn Fn(&[u32]) -> bool;

/// What to generate.
pub struct GenerateOptions<'a> {
    /// Samples per prompt (`G`).
    pub group_size: usize,
    /// Most tokens generated per row.
    pub max_tokens: usize,
    /// How each token is drawn.
    pub sampler: Sampler,
    /// Token ids that end a sequence.
    pub eos: &'a [u32],
    /// Extra stop condition on a row's tokens so far (a stop string, say),
    /// checked after each token.
    pub stop: Option<StopFn<'a>>,
}

/// The completions of a batch, prompt-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated tokens per row (an end-of-sequence token included).
    pub tokens: Vec<Vec<u32>>,
    /// Log-probability of each generated token when it was sampled (see
    /// [`Sampler::sample`]).
    pub logprobs: Vec<Vec<f32>>,
    /// Why each row ended.
    pub finish: Vec<FinishReason>,
}

impl Generation {
    /// Total generated tokens.
    pub fn total_tokens(&self) -> usize {
        self.tokens.iter().map(Vec::len).sum()
    }
}

/// Generates `opts.group_size` completions for each prompt (see the module
/// docs). Randomness comes only from `key`, so a seed reproduces a batch.
pub fn generate(
    model: &Transformer,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions<'_>,
    key: &Array,
    mode: &Mode,
) -> Result<Generation> {
    if opts.group_size == 0 {
        return Err(Error::config("group_size", "must be at least 1"));
    }
    let group = opts.group_size;
    let batch = PromptBatch::new(prompts)?;
    let rows = batch.rows() * group;
    let mut out = Generation {
        tokens: vec![Vec::with_capacity(opts.max_tokens); rows],
        logprobs: vec![Vec::with_capacity(opts.max_tokens); rows],
        finish: vec![FinishReason::Length; rows],
    };
    if opts.max_tokens == 0 {
        return Ok(out);
    }

    // Prefill the B prompts once; only the last position's logits are needed.
    let mut cache = model.new_cache();
    let mask = AttentionMask::padded_causal(&batch.pads, 0, batch.len());
    let hidden = model.hidden(&batch.tokens, &mut cache, &mask, mode)?;
    let last = hidden.index((.., -1, ..)); // [B, hidden]
    let mut logits = repeat_rows(&model.logits(&last)?, group as i32)?; // [B*G, vocab]
    for c in &mut cache {
        c.repeat_rows(group as i32)?;
    }

    // `live[i]` is the output row held at batch position i.
    let mut live: Vec<usize> = (0..rows).collect();
    let mut pads = batch.repeated_pads(group);
    let mut done = vec![false; rows];
    let mut key = key.clone();
    for step in 0..opts.max_tokens {
        let (next_key, sub) = random::split(&key, 2)?;
        key = next_key;
        let (tokens, logprobs) = opts.sampler.sample(&logits, &sub)?;
        eval([&tokens, &logprobs])?;
        let (t, lp) = (tokens.as_slice::<u32>(), logprobs.as_slice::<f32>());
        for (i, &row) in live.iter().enumerate() {
            if done[row] {
                continue;
            }
            out.tokens[row].push(t[i]);
            out.logprobs[row].push(lp[i]);
            if opts.eos.contains(&t[i]) {
                out.finish[row] = FinishReason::Eos;
                done[row] = true;
            } else if opts.stop.is_some_and(|stop| stop(&out.tokens[row])) {
                out.finish[row] = FinishReason::Stop;
                done[row] = true;
            }
        }
        let finished = live.iter().filter(|&&r| done[r]).count();
        if finished == live.len() || step + 1 == opts.max_tokens {
            break;
        }

        // Drop finished rows once they are an eighth of the batch: a
        // compaction copies the cache once, about what one decode step reads.
        let mut input = tokens;
        if finished > 0 && finished * 8 >= live.len() {
            let keep: Vec<usize> = (0..live.len()).filter(|&i| !done[live[i]]).collect();
            let idx = Array::from_slice(
                &keep.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                &[keep.len() as i32],
            );
            for c in &mut cache {
                c.select_rows(&idx)?;
            }
            input = input.take_axis(&idx, 0)?;
            live = keep.iter().map(|&i| live[i]).collect();
            pads = keep.iter().map(|&i| pads[i]).collect();
        }
        let mask = AttentionMask::padded_causal(&pads, cache[0].len(), 1);
        let step_input = input.reshape(&[live.len() as i32, 1])?;
        logits = model
            .forward(&step_input, &mut cache, &mask, mode)?
            .index((.., 0, ..));
    }
    Ok(out)
}
