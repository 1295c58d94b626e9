//! Attention masks for batches of left-padded rows.
//!
//! Prompts of a batch have different lengths; they are left-padded to one
//! length so that every row's last prompt token sits in the same column and
//! generation appends in lockstep. RoPE depends only on the distance between
//! positions, so a row shifted right by its padding computes the same
//! attention as unpadded, provided no real query attends to a pad key.

use mlx_rs::{fast::ScaledDotProductAttentionMask, Array};

/// Which keys each query may attend to.
#[derive(Debug, Clone)]
pub enum AttentionMask {
    /// Every cached key (a one-token decode step without padding).
    All,
    /// Causal, no padding, nothing cached before this block.
    Causal,
    /// Explicit `[rows, 1, queries, keys]` booleans, true = attend.
    Explicit(Array),
}

impl AttentionMask {
    /// The mask for a block of `queries` new positions per row, appended after
    /// `cached` positions, where row `r` starts with `pads[r]` pad positions.
    ///
    /// A query sitting on a pad position may attend to itself only: that keeps
    /// every softmax row non-empty (no NaN leaking into real rows through
    /// `0 * NaN`) while real queries never see a pad key.
    pub fn padded_causal(pads: &[i32], cached: i32, queries: i32) -> Self {
        let any_pad = pads.iter().any(|&p| p > 0);
        if !any_pad {
            if queries == 1 {
                return AttentionMask::All;
            }
            if cached == 0 {
                return AttentionMask::Causal;
            }
        }
        let keys = cached + queries;
        let mut allowed = Vec::with_capacity(pads.len() * (queries * keys) as usize);
        for &pad in pads {
            for i in 0..queries {
                let q = cached + i;
                allowed.extend((0..keys).map(|k| k == q || (k <= q && k >= pad)));
            }
        }
        AttentionMask::Explicit(Array::from_slice(
            &allowed,
            &[pads.len() as i32, 1, queries, keys],
        ))
    }

    /// The form `fast::scaled_dot_product_attention` takes.
    pub(crate) fn as_sdpa(&self) -> Option<ScaledDotProductAttentionMask<'_>> {
        match self {
            AttentionMask::All => None,
            AttentionMask::Causal => Some(ScaledDotProductAttentionMask::Causal),
            AttentionMask::Explicit(a) => Some(ScaledDotProductAttentionMask::Array(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_keys_are_hidden_from_real_queries() {
        let AttentionMask::Explicit(m) = AttentionMask::padded_causal(&[2, 0], 0, 3) else {
            panic!("padding needs an explicit mask");
        };
        assert_eq!(m.shape(), &[2, 1, 3, 3]);
        let m = m.as_slice::<bool>();
        // Row 0 has two pads: queries 0 and 1 see only themselves, query 2 only itself.
        assert_eq!(
            &m[..9],
            &[true, false, false, false, true, false, false, false, true]
        );
        // Row 1 has none: plain causal.
        assert_eq!(
            &m[9..],
            &[true, false, false, true, true, false, true, true, true]
        );
    }

    #[test]
    fn unpadded_blocks_need_no_array() {
        assert!(matches!(
            AttentionMask::padded_causal(&[0, 0], 0, 4),
            AttentionMask::Causal
        ));
        assert!(matches!(
            AttentionMask::padded_causal(&[0], 7, 1),
            AttentionMask::All
        ));
        assert!(matches!(
            AttentionMask::padded_causal(&[0], 7, 2),
            AttentionMask::Explicit(_)
        ));
    }
}
