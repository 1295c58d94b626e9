//! Batched group generation, the hot path of GRPO.
//!
//! `B` prompts × `G` samples each are generated in one batch. Each prompt is
//! prefilled once (prompts of equal length together) at the positions it
//! has in the left-padded batch, without computing its pad positions
//! ([`KvCache::starting_at`]); the caches are then joined into that batch,
//! every prompt's cache repeated `G` times ([`KvCache::left_padded`]), so
//! the group shares its prompt computation.
//!
//! Decoding keeps the device one step ahead of the host, as mlx-lm does:
//! step `t + 1` is built and queued ([`async_eval`]) before the tokens of
//! step `t` are read, so graph building and the host's bookkeeping overlap
//! the computation. Rows that stop (end-of-sequence, a stop condition) are
//! dropped from the batch as they accumulate, so they stop costing compute;
//! a finished row's queued step is computed and discarded. Decoding runs
//! with one BLAS thread ([`crate::blas`]): its products are bound by reading
//! the weights, and a second thread does not help (as fast on the idle
//! two-core machine, half as fast when another job shares it).
//!
//! Rows are prompt-major: sample `j` of prompt `p` is row `p * G + j`.

use std::collections::BTreeMap;

use mlx_rs::{
    ops::{self, indexing::IndexOp},
    random,
    transforms::{async_eval, eval},
    Array,
};

use crate::cache::{repeat_rows, KvCache};
use crate::error::{Error, Result};
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::models::transformer::Transformer;
use crate::row_cache::RowCache;
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
    check_request(prompts, opts)?;
    let group = opts.group_size;
    if opts.max_tokens == 0 {
        let rows = prompts.len() * group;
        return Ok(Generation {
            tokens: vec![Vec::new(); rows],
            logprobs: vec![Vec::new(); rows],
            finish: vec![FinishReason::Length; rows],
        });
    }

    let (cache, logits, pads) = prefill_for_decoding(model, prompts, opts, mode)?;
    let (generation, _) = decode(model, cache, pads, &logits, opts, key, mode, false)?;
    Ok(generation)
}

/// The prompts' prefill with room for `opts.max_tokens` more, and each
/// row's left padding: where [`generate`] and [`generate_continuable`]
/// start decoding.
fn prefill_for_decoding(
    model: &Transformer,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions<'_>,
    mode: &Mode,
) -> Result<(Vec<KvCache>, Array, Vec<i32>)> {
    let group = opts.group_size;
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    // The last sampled token is never fed back, so this is all the room
    // decoding needs.
    let capacity = (longest + opts.max_tokens - 1) as i32;
    let (cache, logits) = prefill(model, prompts, group, capacity, mode)?;
    let pads: Vec<i32> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n((longest - p.len()) as i32, group))
        .collect();
    Ok((cache, logits, pads))
}

/// The checks every generation starts with: a group of at least one, and
/// prompts that each hold a token.
fn check_request(prompts: &[Vec<u32>], opts: &GenerateOptions<'_>) -> Result<()> {
    if opts.group_size == 0 {
        return Err(Error::config("group_size", "must be at least 1"));
    }
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(Error::config(
            "prompts",
            "every prompt needs at least one token",
        ));
    }
    Ok(())
}

/// [`generate`], with each row's cache kept so that the rows can be
/// continued ([`continue_rows`]): a multi-turn rollout appends tool results
/// to a conversation and samples on without computing it again.
pub fn generate_continuable(
    model: &Transformer,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions<'_>,
    key: &Array,
    mode: &Mode,
) -> Result<(Generation, Vec<RowCache>)> {
    check_request(prompts, opts)?;
    if opts.max_tokens == 0 {
        return Err(Error::config(
            "max_tokens",
            "a continuable generation samples at least one token",
        ));
    }
    let (cache, logits, pads) = prefill_for_decoding(model, prompts, opts, mode)?;
    decode(model, cache, pads, &logits, opts, key, mode, true)
}

/// Continues rows of an earlier [`generate_continuable`] or
/// [`continue_rows`]: row `r` takes `new_tokens[r]` (at least one: its last
/// sampled token, which its cache does not hold yet, then whatever the
/// conversation adds, such as tool results and the next assistant header)
/// and samples on, one sample per row (`opts.group_size` must be 1).
///
/// Nothing the caches hold is computed again. The rows are right-aligned
/// in one batch, each row's keys rotated to its new positions
/// ([`Transformer::shifted_cache`]), and every row's new tokens go through
/// the model in one batched pass, right after the row's own positions
/// (shorter lists padded at their end, which causal attention hides). Each
/// row is then cut back to its real positions and aligned again for
/// decoding, so every row stays contiguous and the result is what one pass
/// over the whole conversation would sample.
pub fn continue_rows(
    model: &Transformer,
    rows: Vec<RowCache>,
    new_tokens: &[Vec<u32>],
    opts: &GenerateOptions<'_>,
    key: &Array,
    mode: &Mode,
) -> Result<(Generation, Vec<RowCache>)> {
    if opts.group_size != 1 {
        return Err(Error::config(
            "group_size",
            "continued rows are sampled once each (group_size 1)",
        ));
    }
    if rows.is_empty() || rows.len() != new_tokens.len() || new_tokens.iter().any(Vec::is_empty) {
        return Err(Error::config(
            "new_tokens",
            format!(
                "{} rows and {} token lists; give every row at least one new token",
                rows.len(),
                new_tokens.len()
            ),
        ));
    }
    if opts.max_tokens == 0 {
        return Err(Error::config(
            "max_tokens",
            "a continuation samples at least one token",
        ));
    }
    // Every row's stored positions right-aligned at one end, its keys
    // rotated to match, so that one batched pass takes all new tokens.
    let end = rows.iter().map(RowCache::len).max().unwrap_or(0);
    let widest = new_tokens.iter().map(Vec::len).max().unwrap_or(0) as i32;
    let (cache, pads) = right_aligned(
        model,
        rows.iter().map(|r| (&r.layers[..], end - r.len())),
        end + widest,
    )?;
    drop(rows);
    let mut cache = cache;
    // Each row's new tokens start right after its stored ones; a shorter
    // list is padded at its end, where causal attention keeps the padding
    // out of the row's real positions.
    let mut input = Vec::with_capacity(new_tokens.len() * widest as usize);
    for tokens in new_tokens {
        input.extend(tokens);
        input.extend(std::iter::repeat_n(0, widest as usize - tokens.len()));
    }
    let input = Array::from_slice(&input, &[new_tokens.len() as i32, widest]);
    let mask = AttentionMask::padded_causal(&pads, end, widest);
    let hidden = model.hidden(&input, &mut cache, &mask, mode)?; // [rows, widest, hidden]
    let last: Vec<Array> = new_tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            hidden
                .index((i as i32, t.len() as i32 - 1, ..))
                .expand_dims(0)
        })
        .collect::<std::result::Result<_, _>>()?;
    let logits = model.logits(&ops::concatenate(&last, 0)?)?; // [rows, vocab]
                                                              // Each row cut back to its real positions and right-aligned again at
                                                              // the widest row's end, for decoding.
                                                              // Lazily: the copies are computed with the decoding batch they join.
    let kept = new_tokens
        .iter()
        .enumerate()
        .map(|(i, t)| RowCache::span(&cache, i as i32, pads[i], end + t.len() as i32))
        .collect::<Result<Vec<_>>>()?;
    drop(cache);
    let end = end + widest;
    let (cache, pads) = right_aligned(
        model,
        kept.iter().map(|r| (&r.layers[..], end - r.len())),
        end + opts.max_tokens as i32 - 1,
    )?;
    decode(model, cache, pads, &logits, opts, key, mode, true)
}

/// One batch cache from rows' caches (one [`KvCache`] per layer each), row
/// `i` moved `by_i` positions later (its keys rotated to match), so that
/// every row ends at the same position; room for `capacity` positions.
/// Returns the cache and each row's pad positions.
fn right_aligned<'a>(
    model: &Transformer,
    rows: impl Iterator<Item = (&'a [KvCache], i32)>,
    capacity: i32,
) -> Result<(Vec<KvCache>, Vec<i32>)> {
    let mut pads = Vec::new();
    let mut shifted = Vec::new();
    for (cache, by) in rows {
        let moved = model.shifted_cache(cache, by)?;
        pads.push(moved[0].start());
        shifted.push(moved);
    }
    let cache = (0..model.layers.len())
        .map(|layer| {
            let parts: Vec<KvCache> = shifted.iter().map(|c| c[layer].clone()).collect();
            KvCache::left_padded(&parts, 1, capacity)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((cache, pads))
}

/// The decoding loop (see the module docs) over a batch `cache` whose row
/// `i` starts after `pads[i]` pad positions, from the next-token `logits`
/// of every row. With `keep`, each row's cache is cut out when it stops:
/// its positions up to, not including, its last sampled token.
#[allow(clippy::too_many_arguments)]
fn decode(
    model: &Transformer,
    mut cache: Vec<KvCache>,
    mut pads: Vec<i32>,
    logits: &Array,
    opts: &GenerateOptions<'_>,
    key: &Array,
    mode: &Mode,
    keep: bool,
) -> Result<(Generation, Vec<RowCache>)> {
    let rows = pads.len();
    let mut out = Generation {
        tokens: vec![Vec::with_capacity(opts.max_tokens); rows],
        logprobs: vec![Vec::with_capacity(opts.max_tokens); rows],
        finish: vec![FinishReason::Length; rows],
    };
    let mut kept: Vec<Option<RowCache>> = vec![None; if keep { rows } else { 0 }];
    // The position of the first sampled token, in every row.
    let first = cache[0].len();
    // The prefill's products are large: compute them with every BLAS
    // thread, then decode (a few rows per product, bound by reading the
    // weights) with one (see `blas`).
    eval(cache.iter().flat_map(KvCache::arrays).chain([logits]))?;
    let _one_thread = crate::blas::limit_threads(1);

    // `live[i]` is the output row held at batch position i.
    let mut live: Vec<usize> = (0..rows).collect();
    let mut done = vec![false; rows];
    let mut key = key.clone();
    let mut queued = Some(sample_async(&opts.sampler, logits, &mut key)?);
    let mut sampled = 1; // steps queued so far
    while let Some((tokens, logprobs)) = queued.take() {
        // Queue the next step before reading this one.
        if sampled < opts.max_tokens {
            let mask = AttentionMask::padded_causal(&pads, cache[0].len(), 1);
            let input = tokens.reshape(&[live.len() as i32, 1])?;
            let logits = model
                .forward(&input, &mut cache, &mask, mode)?
                .index((.., 0, ..));
            queued = Some(sample_async(&opts.sampler, &logits, &mut key)?);
            sampled += 1;
        }

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
            if keep && (done[row] || out.tokens[row].len() == opts.max_tokens) {
                let to = first + out.tokens[row].len() as i32 - 1;
                kept[row] = Some(RowCache::cut(&cache, i as i32, pads[i], to)?);
            }
        }
        let finished = live.iter().filter(|&&r| done[r]).count();
        if finished == live.len() {
            break; // the queued step, if any, is discarded
        }
        let Some((next_tokens, next_logprobs)) = queued.take() else {
            break;
        };

        // Drop finished rows once they are an eighth of the batch: a
        // compaction copies the cache once, about what one decode step reads.
        if finished > 0 && finished * 8 >= live.len() {
            let keep: Vec<usize> = (0..live.len()).filter(|&i| !done[live[i]]).collect();
            let idx = Array::from_slice(
                &keep.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                &[keep.len() as i32],
            );
            for c in &mut cache {
                c.select_rows(&idx)?;
            }
            queued = Some((
                next_tokens.take_axis(&idx, 0)?,
                next_logprobs.take_axis(&idx, 0)?,
            ));
            live = keep.iter().map(|&i| live[i]).collect();
            pads = keep.iter().map(|&i| pads[i]).collect();
        } else {
            queued = Some((next_tokens, next_logprobs));
        }
    }
    let kept = kept
        .into_iter()
        .map(|k| k.ok_or_else(|| Error::config("generation", "a row stopped without its cache")))
        .collect::<Result<Vec<_>>>()?;
    Ok((out, kept))
}

/// Prefills every prompt once and joins the caches into the decoding batch
/// (`group` rows per prompt, room for `capacity` positions); returns it with
/// the next-token logits of every row, `[prompts * group, vocab]`.
///
/// Prompts of equal length run together, others alone, each block starting
/// at its rows' padding ([`KvCache::starting_at`]): no pad position is
/// computed, and each block needs only the plain causal mask.
fn prefill(
    model: &Transformer,
    prompts: &[Vec<u32>],
    group: usize,
    capacity: i32,
    mode: &Mode,
) -> Result<(Vec<KvCache>, Array)> {
    let mut by_len: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, p) in prompts.iter().enumerate() {
        by_len.entry(p.len()).or_default().push(i);
    }
    let layers = model.layers.len();
    let mut rows: Vec<Vec<Option<KvCache>>> = vec![vec![None; prompts.len()]; layers];
    let mut last: Vec<Option<Array>> = vec![None; prompts.len()];
    let longest = by_len.keys().next_back().copied().unwrap_or(0);
    for (&len, members) in &by_len {
        let flat: Vec<u32> = members
            .iter()
            .flat_map(|&i| prompts[i].iter().copied())
            .collect();
        let tokens = Array::from_slice(&flat, &[members.len() as i32, len as i32]);
        let pad = (longest - len) as i32;
        let mut cache = vec![KvCache::starting_at(pad); layers];
        // Attention sees the stored positions only: plain causal.
        let mask = AttentionMask::padded_causal(&vec![0; members.len()], 0, len as i32);
        let hidden = model.hidden(&tokens, &mut cache, &mask, mode)?;
        for (j, &i) in members.iter().enumerate() {
            let j = j as i32;
            last[i] = Some(hidden.index((j..j + 1, -1, ..))); // [1, hidden]
            for (layer, c) in cache.iter().enumerate() {
                rows[layer][i] = Some(c.row(j));
            }
        }
    }
    let last: Vec<Array> = last.into_iter().flatten().collect();
    let logits = model.logits(&ops::concatenate(&last, 0)?)?; // [prompts, vocab]
    let cache = rows
        .into_iter()
        .map(|parts| {
            let parts: Vec<KvCache> = parts.into_iter().flatten().collect();
            KvCache::left_padded(&parts, group as i32, capacity)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((cache, repeat_rows(&logits, group as i32)?))
}

/// Draws the next tokens from `logits` with a fresh subkey of `key` and
/// queues their computation without waiting for it.
fn sample_async(sampler: &Sampler, logits: &Array, key: &mut Array) -> Result<(Array, Array)> {
    let (next, sub) = random::split(&*key, 2)?;
    *key = next;
    let (tokens, logprobs) = sampler.sample(logits, &sub)?;
    async_eval([&tokens, &logprobs])?;
    Ok((tokens, logprobs))
}
