//! Token embeddings, dense or MLX-quantized, also used as the output head when
//! a model ties its embeddings.

use mlx_rs::Array;

use crate::error::Result;
use crate::linear::{Matrix, QuantSpec};
use crate::params::parameters;
use crate::weights::WeightMap;

/// A `[vocab, hidden]` embedding table.
#[derive(Debug, Clone)]
pub struct Embedding {
    table: Matrix,
}

impl Embedding {
    /// Takes `prefix.weight` (and `scales`/`biases` when quantized).
    pub fn load(
        weights: &mut WeightMap,
        prefix: &str,
        dims: (i32, i32),
        quant: Option<QuantSpec>,
    ) -> Result<Self> {
        Ok(Self {
            table: Matrix::load(weights, prefix, dims, quant)?,
        })
    }

    /// Looks up rows.
    ///
    /// # Shapes
    /// `ids`: `[..]` (integers) → `[.., hidden]`.
    pub fn forward(&self, ids: &Array) -> Result<Array> {
        self.table.dense(Some(ids))
    }

    /// `x E^T`: logits over the vocabulary from hidden states.
    ///
    /// # Shapes
    /// `x`: `[.., hidden]` → `[.., vocab]`.
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        self.table.matmul_t(x)
    }
}

parameters!(Embedding { table: "" });
