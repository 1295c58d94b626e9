//! Prompts of different lengths as one left-padded batch.

use mlx_rs::Array;

use crate::error::{Error, Result};

/// Token id written into pad positions. Never attended to (see
/// [`AttentionMask::padded_causal`](crate::mask::AttentionMask::padded_causal)),
/// so any valid id does.
pub const PAD_ID: u32 = 0;

/// `[rows, len]` prompt tokens, each row right-aligned, with how many pad
/// positions each row starts with.
#[derive(Debug, Clone)]
pub struct PromptBatch {
    /// `[rows, len]`, uint32.
    pub tokens: Array,
    /// Left pads per row.
    pub pads: Vec<i32>,
}

impl PromptBatch {
    /// Left-pads `prompts` to the longest one. Every prompt needs at least
    /// one token.
    pub fn new(prompts: &[Vec<u32>]) -> Result<Self> {
        if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
            return Err(Error::config(
                "prompts",
                "every prompt needs at least one token",
            ));
        }
        let len = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(prompts.len() * len);
        let mut pads = Vec::with_capacity(prompts.len());
        for p in prompts {
            let pad = len - p.len();
            flat.extend(std::iter::repeat_n(PAD_ID, pad));
            flat.extend_from_slice(p);
            pads.push(pad as i32);
        }
        Ok(Self {
            tokens: Array::from_slice(&flat, &[prompts.len() as i32, len as i32]),
            pads,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.pads.len()
    }

    /// Padded length.
    pub fn len(&self) -> i32 {
        self.tokens.shape()[1]
    }

    /// Whether the batch has no columns (never, for a batch from [`new`](Self::new)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pads of each row repeated `times` times, prompt-major.
    pub fn repeated_pads(&self, times: usize) -> Vec<i32> {
        self.pads
            .iter()
            .flat_map(|&p| std::iter::repeat_n(p, times))
            .collect()
    }
}
