//! The key/value cache of one attention layer, for a batch of rows.
//!
//! The cache is passed into the model, never stored in it (mlx-lm's design):
//! that is what lets one prompt prefill be shared by a whole GRPO group
//! ([`KvCache::repeat_rows`], [`KvCache::left_padded`]) and finished rows be
//! dropped mid-generation ([`KvCache::select_rows`]).

use mlx_rs::{
    ops::{self, indexing::IndexOp, indexing::TryIndexMutOp},
    Array,
};

use crate::error::{Error, Result};

/// Positions are allocated in chunks of this many, so that decoding does not
/// copy the whole cache at every step.
const STEP: i32 = 256;

/// Keys and values of one layer, `[rows, kv_heads, capacity, head_dim]`, for
/// positions `start..len`: positions before `start` are padding that is not
/// stored (see [`starting_at`](Self::starting_at)).
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Option<Array>,
    values: Option<Array>,
    start: i32,
    len: i32,
}

impl KvCache {
    /// One empty cache per layer.
    pub fn for_layers(n: usize) -> Vec<KvCache> {
        vec![KvCache::default(); n]
    }

    /// An empty cache whose first position is `offset`, as if `offset` pad
    /// positions came first. Tokens appended get the positions (and so the
    /// rotary phases) they have in a batch left-padded by `offset`, while
    /// attention sees only the stored positions: a prompt prefilled here
    /// needs no mask beyond the causal one, computes nothing for its pads,
    /// and joins the padded batch through [`left_padded`](Self::left_padded).
    pub fn starting_at(offset: i32) -> KvCache {
        let offset = offset.max(0);
        KvCache {
            start: offset,
            len: offset,
            ..KvCache::default()
        }
    }

    /// The position of the next token: the number of positions held,
    /// padding before [`starting_at`](Self::starting_at)'s offset included.
    pub fn len(&self) -> i32 {
        self.len
    }

    /// The first stored position: positions before it are padding
    /// ([`starting_at`](Self::starting_at)).
    pub fn start(&self) -> i32 {
        self.start
    }

    /// Whether no position is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `l` new positions and returns the keys and values of all
    /// stored positions.
    ///
    /// # Shapes
    /// `keys`, `values`: `[rows, kv_heads, l, head_dim]` →
    /// `[rows, kv_heads, len + l - start, head_dim]` each.
    pub fn update_and_fetch(&mut self, keys: &Array, values: &Array) -> Result<(Array, Array)> {
        let l = keys.shape()[2];
        let (from, to) = (self.len - self.start, self.len - self.start + l);
        let capacity = self.keys.as_ref().map_or(0, |k| k.shape()[2]);
        if to > capacity {
            let grow = (to - capacity + STEP - 1) / STEP * STEP;
            self.keys = Some(grown(self.keys.take(), keys, grow)?);
            self.values = Some(grown(self.values.take(), values, grow)?);
        }
        let cached_keys = self.keys.as_mut().expect("allocated above");
        cached_keys.try_index_mut((.., .., from..to, ..), keys)?;
        let cached_values = self.values.as_mut().expect("allocated above");
        cached_values.try_index_mut((.., .., from..to, ..), values)?;
        self.len += l;
        Ok((
            cached_keys.index((.., .., ..to, ..)),
            cached_values.index((.., .., ..to, ..)),
        ))
    }

    /// Row `i` alone, as a one-row cache (a view, no copy).
    pub fn row(&self, i: i32) -> KvCache {
        let stored = self.len - self.start;
        let slice = |a: &Array| a.index((i..i + 1, .., ..stored, ..));
        KvCache {
            keys: self.keys.as_ref().map(slice),
            values: self.values.as_ref().map(slice),
            ..*self
        }
    }

    /// Row `i` alone, positions `from..to` only (absolute positions, as
    /// [`len`](Self::len) counts them), as a one-row cache of its own that
    /// starts at `from`: what a row of a batch holds when it stops, kept to
    /// continue it later. A copy, so that the batch's buffers stay unshared
    /// and later decoding steps write them in place.
    pub fn row_span(&self, i: i32, from: i32, to: i32) -> Result<KvCache> {
        if from < self.start || to > self.len || from > to {
            return Err(Error::config(
                "cache span",
                format!(
                    "positions {from}..{to} are not within the stored {}..{}",
                    self.start, self.len
                ),
            ));
        }
        let (a, b) = (from - self.start, to - self.start);
        let slice = |x: &Array| x.index((i..i + 1, .., a..b, ..)).contiguous();
        Ok(KvCache {
            keys: self.keys.as_ref().map(slice).transpose()?,
            values: self.values.as_ref().map(slice).transpose()?,
            start: from,
            len: to,
        })
    }

    /// This cache moved `by` positions later: keys rotated by `rotate`
    /// (which rotates every position by the same `by`, see
    /// [`Rope::shift`](crate::rope::Rope::shift)), values as they are.
    ///
    /// RoPE rotations compose, so a key rotated for position `p` and then
    /// by `by` is the key for `p + by`: rows of different lengths can be
    /// right-aligned in one batch ([`left_padded`](Self::left_padded)) with
    /// every row's positions still contiguous, which a continued
    /// conversation needs (its new tokens must sit right after its old
    /// ones, as in the one-pass recomputation the loss does).
    pub(crate) fn shifted(
        &self,
        by: i32,
        rotate: impl Fn(&Array) -> Result<Array>,
    ) -> Result<KvCache> {
        Ok(KvCache {
            keys: self.keys.as_ref().map(rotate).transpose()?,
            values: self.values.clone(),
            start: self.start + by,
            len: self.len + by,
        })
    }

    /// One batch cache from caches of different lengths: each part's rows
    /// repeated `times` times in place (part-major, as
    /// [`repeat_rows`](Self::repeat_rows)), right-aligned at the longest
    /// part's length behind zero padding (which the attention mask must
    /// hide), with room for `capacity` positions in all so that decoding up
    /// to it never regrows the buffers. Every part must hold keys, or none.
    ///
    /// This is how a group shares its prompt: each prompt is prefilled once,
    /// without padding, and joined here with one copy.
    pub fn left_padded(parts: &[KvCache], times: i32, capacity: i32) -> Result<KvCache> {
        let len = parts.iter().map(|p| p.len).max().unwrap_or(0);
        let filled = parts.iter().filter(|p| p.keys.is_some()).count();
        if filled != 0 && filled != parts.len() {
            return Err(Error::config(
                "cache parts",
                format!("{filled} of {} hold keys; all or none must", parts.len()),
            ));
        }
        let capacity = capacity.max(len);
        let join = |pick: fn(&KvCache) -> Option<&Array>| -> Result<Option<Array>> {
            let mut rows = Vec::with_capacity(parts.len() * times.max(0) as usize);
            for part in parts {
                let Some(a) = pick(part) else { continue };
                let s = a.shape();
                let zeros = |n: i32| ops::zeros_dtype(&[s[0], s[1], n, s[3]], a.dtype());
                let pad = len - part.len + part.start;
                let mut pieces = Vec::with_capacity(3);
                if pad > 0 {
                    pieces.push(zeros(pad)?);
                }
                pieces.push(a.index((.., .., ..part.len - part.start, ..)));
                if capacity > len {
                    pieces.push(zeros(capacity - len)?);
                }
                let padded = ops::concatenate(&pieces, 2)?;
                if s[0] == 1 {
                    rows.extend(std::iter::repeat_n(padded, times.max(0) as usize));
                } else {
                    rows.push(repeat_rows(&padded, times)?);
                }
            }
            Ok(if rows.is_empty() {
                None
            } else {
                Some(ops::concatenate(&rows, 0)?)
            })
        };
        Ok(KvCache {
            keys: join(|p| p.keys.as_ref())?,
            values: join(|p| p.values.as_ref())?,
            start: 0,
            len,
        })
    }

    /// Repeats every row `times` times in place (`[a, b]` → `[a, a, b, b]`):
    /// one prompt's prefill becomes the start of each of its group's samples.
    pub fn repeat_rows(&mut self, times: i32) -> Result<()> {
        for a in [&mut self.keys, &mut self.values].into_iter().flatten() {
            *a = repeat_rows(a, times)?;
        }
        Ok(())
    }

    /// Keeps only the rows listed in `rows` (an integer array), in that order.
    pub fn select_rows(&mut self, rows: &Array) -> Result<()> {
        for a in [&mut self.keys, &mut self.values].into_iter().flatten() {
            *a = a.take_axis(rows, 0)?;
        }
        Ok(())
    }

    /// The stored keys and values, when any.
    pub(crate) fn stored(&self) -> Option<(&Array, &Array)> {
        self.keys.as_ref().zip(self.values.as_ref())
    }

    /// This cache, positions included, with `keys` and `values` as its
    /// stored arrays (the same positions, computed elsewhere).
    pub(crate) fn with_stored(&self, keys: Array, values: Array) -> KvCache {
        KvCache {
            keys: Some(keys),
            values: Some(values),
            ..*self
        }
    }

    /// The cached arrays, for evaluation.
    pub fn arrays(&self) -> impl Iterator<Item = &Array> {
        self.keys.iter().chain(self.values.iter())
    }
}

/// `[a, b]` → `[a, a, b, b]` along axis 0 (for `times = 2`).
pub(crate) fn repeat_rows(a: &Array, times: i32) -> Result<Array> {
    if times == 1 {
        return Ok(a.clone());
    }
    let shape = a.shape();
    let mut expanded = vec![shape[0], times];
    expanded.extend_from_slice(&shape[1..]);
    let mut merged = vec![shape[0] * times];
    merged.extend_from_slice(&shape[1..]);
    Ok(ops::broadcast_to(a.expand_dims(1)?, &expanded)?.reshape(&merged)?)
}

/// `old` with `grow` more zero positions on axis 2 (a new buffer of `like`'s
/// rows, heads, head size and dtype when there is none yet).
fn grown(old: Option<Array>, like: &Array, grow: i32) -> Result<Array> {
    let s = like.shape();
    let extra = ops::zeros_dtype(&[s[0], s[1], grow, s[3]], like.dtype())?;
    Ok(match old {
        Some(old) => ops::concatenate(&[old, extra], 2)?,
        None => extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[rows, 1, positions, 1]` keys holding `values`.
    fn block(values: &[f32], rows: i32) -> Array {
        let positions = values.len() as i32 / rows;
        Array::from_slice(values, &[rows, 1, positions, 1])
    }

    fn flat(a: &Array) -> Vec<f32> {
        a.as_slice::<f32>().to_vec()
    }

    #[test]
    fn an_offset_cache_stores_and_returns_only_its_own_positions() {
        let mut c = KvCache::starting_at(3);
        assert_eq!(c.len(), 3);
        let (k, _) = c
            .update_and_fetch(&block(&[1.0, 2.0], 1), &block(&[1.0, 2.0], 1))
            .unwrap();
        assert_eq!(flat(&k), [1.0, 2.0]);
        let (k, _) = c
            .update_and_fetch(&block(&[3.0], 1), &block(&[3.0], 1))
            .unwrap();
        assert_eq!(flat(&k), [1.0, 2.0, 3.0]);
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn left_padded_right_aligns_repeats_and_reserves_room() {
        // Part a: positions 2..4 stored (offset 2); part b: 0..3, two rows.
        let mut a = KvCache::starting_at(2);
        a.update_and_fetch(&block(&[1.0, 2.0], 1), &block(&[1.0, 2.0], 1))
            .unwrap();
        let mut b = KvCache::default();
        let rows = block(&[5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 2);
        b.update_and_fetch(&rows, &rows).unwrap();
        let joined = KvCache::left_padded(&[a, b], 2, 6).unwrap();
        assert_eq!(joined.len(), 4);
        let keys = joined.keys.as_ref().unwrap();
        assert_eq!(keys.shape(), &[6, 1, 6, 1]);
        #[rustfmt::skip]
        let want = [
            0.0, 0.0, 1.0, 2.0, 0.0, 0.0, // a
            0.0, 0.0, 1.0, 2.0, 0.0, 0.0, // a again
            0.0, 5.0, 6.0, 7.0, 0.0, 0.0, // b row 0
            0.0, 5.0, 6.0, 7.0, 0.0, 0.0, // b row 0 again
            0.0, 8.0, 9.0, 10.0, 0.0, 0.0, // b row 1
            0.0, 8.0, 9.0, 10.0, 0.0, 0.0, // b row 1 again
        ];
        assert_eq!(flat(keys), want);
    }

    #[test]
    fn left_padded_rejects_a_mix_of_empty_and_filled_parts() {
        let mut a = KvCache::default();
        a.update_and_fetch(&block(&[1.0], 1), &block(&[1.0], 1))
            .unwrap();
        let err = KvCache::left_padded(&[a, KvCache::default()], 1, 4).unwrap_err();
        assert!(err.to_string().contains("1 of 2 hold keys"), "{err}");
    }
}
