//! [`RowCache`]: what one row of a generation holds when it stops, kept so
//! that the row can be continued ([`crate::generate::continue_rows`]).

use mlx_rs::transforms::eval;

use crate::cache::KvCache;
use crate::error::Result;

/// The keys and values of one row's positions, one [`KvCache`] per layer,
/// each a one-row cache of its own (not a view into the batch it came
/// from).
///
/// It holds the row's tokens up to, not including, the last one sampled:
/// decoding never feeds the last token back, so a continuation starts by
/// feeding it.
#[derive(Debug, Clone)]
pub struct RowCache {
    pub(crate) layers: Vec<KvCache>,
}

impl RowCache {
    /// Row `i` of the batch `cache` (one per layer), positions `from..to`,
    /// copied and computed now so that the batch's buffers are not shared
    /// and later steps can write them in place.
    pub(crate) fn cut(cache: &[KvCache], i: i32, from: i32, to: i32) -> Result<RowCache> {
        let row = Self::span(cache, i, from, to)?;
        eval(row.layers.iter().flat_map(KvCache::arrays))?;
        Ok(row)
    }

    /// [`cut`](Self::cut), left lazy: the copies are computed with
    /// whatever they are used in first (a batch they join, say), not one
    /// row at a time.
    pub(crate) fn span(cache: &[KvCache], i: i32, from: i32, to: i32) -> Result<RowCache> {
        let layers = cache
            .iter()
            .map(|c| c.row_span(i, from, to))
            .collect::<Result<Vec<_>>>()?;
        Ok(RowCache { layers })
    }

    /// The position of the next token fed to the row (its pad positions
    /// included).
    pub fn len(&self) -> i32 {
        self.layers.first().map_or(0, KvCache::len)
    }

    /// The number of token positions the row holds.
    pub fn stored(&self) -> i32 {
        self.layers.first().map_or(0, |c| c.len() - c.start())
    }

    /// Whether the row holds no position.
    pub fn is_empty(&self) -> bool {
        self.stored() == 0
    }
}
