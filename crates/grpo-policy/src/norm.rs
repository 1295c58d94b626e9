//! RMS normalisation.

use mlx_rs::Array;

use crate::error::Result;
use crate::params::{join, parameters};
use crate::weights::WeightMap;

/// RMS normalisation with a learned per-channel weight (`fast::rms_norm`).
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Array,
    eps: f32,
}

impl RmsNorm {
    /// Takes `prefix.weight` (`[dims]`).
    pub fn load(weights: &mut WeightMap, prefix: &str, dims: i32, eps: f32) -> Result<Self> {
        Ok(Self {
            weight: weights.take(&join(prefix, "weight"), Some(&[dims]))?,
            eps,
        })
    }

    /// Normalises over the last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        Ok(mlx_rs::fast::rms_norm(x, Some(&self.weight), self.eps)?)
    }
}

parameters!(RmsNorm { weight: "weight" });
