//! The key/value cache of one attention layer, for a batch of rows.
//!
//! The cache is passed into the model, never stored in it (mlx-lm's design):
//! that is what lets one prompt prefill be shared by a whole GRPO group
//! ([`KvCache::repeat_rows`]) and finished rows be dropped mid-generation
//! ([`KvCache::select_rows`]).

use mlx_rs::{
    ops::{self, indexing::IndexOp, indexing::TryIndexMutOp},
    Array,
};

use crate::error::Result;

/// Positions are allocated in chunks of this many, so that decoding does not
/// copy the whole cache at every step.
const STEP: i32 = 256;

/// Keys and values of one layer, `[rows, kv_heads, capacity, head_dim]`, of
/// which the first `len` positions are filled.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Option<Array>,
    values: Option<Array>,
    len: i32,
}

impl KvCache {
    /// One empty cache per layer.
    pub fn for_layers(n: usize) -> Vec<KvCache> {
        vec![KvCache::default(); n]
    }

    /// Number of positions held (the position of the next token).
    pub fn len(&self) -> i32 {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `l` new positions and returns all keys and values so far.
    ///
    /// # Shapes
    /// `keys`, `values`: `[rows, kv_heads, l, head_dim]` →
    /// `[rows, kv_heads, len + l, head_dim]` each.
    pub fn update_and_fetch(&mut self, keys: &Array, values: &Array) -> Result<(Array, Array)> {
        let l = keys.shape()[2];
        let needed = self.len + l;
        let capacity = self.keys.as_ref().map_or(0, |k| k.shape()[2]);
        if needed > capacity {
            let grow = (needed - capacity + STEP - 1) / STEP * STEP;
            self.keys = Some(grown(self.keys.take(), keys, grow)?);
            self.values = Some(grown(self.values.take(), values, grow)?);
        }
        let (start, end) = (self.len, needed);
        let cached_keys = self.keys.as_mut().expect("allocated above");
        cached_keys.try_index_mut((.., .., start..end, ..), keys)?;
        let cached_values = self.values.as_mut().expect("allocated above");
        cached_values.try_index_mut((.., .., start..end, ..), values)?;
        self.len = end;
        Ok((
            cached_keys.index((.., .., ..end, ..)),
            cached_values.index((.., .., ..end, ..)),
        ))
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
