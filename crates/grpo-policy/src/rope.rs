//! Rotary position embeddings and the `rope_scaling` variants of
//! `config.json` (as `mlx_lm/models/rope_utils.py` interprets them).

use std::f32::consts::PI;

use mlx_rs::{fast, Array};
use serde_json::Value;

use crate::error::{Error, Result};

/// The `rope_scaling.type`/`rope_type` values supported.
pub const SUPPORTED_SCALING: &[&str] = &["default", "linear", "llama3", "yarn"];

/// RoPE applied to `[b, heads, l, head_dim]` queries or keys.
#[derive(Debug, Clone)]
pub struct Rope {
    dims: i32,
    traditional: bool,
    base: f32,
    /// Position multiplier (linear scaling: `1 / factor`).
    scale: f32,
    /// Per-pair frequencies overriding `base` (llama3, yarn).
    freqs: Option<Array>,
    /// Input multiplier (yarn's attention scaling).
    mscale: f32,
}

impl Rope {
    /// Builds the rotation from `rope_theta`, `rope_traditional` and the
    /// optional `rope_scaling` object of `config.json`.
    pub fn new(dims: i32, base: f32, traditional: bool, scaling: Option<&Value>) -> Result<Self> {
        let mut rope = Self {
            dims,
            traditional,
            base,
            scale: 1.0,
            freqs: None,
            mscale: 1.0,
        };
        let Some(cfg) = scaling.filter(|v| !v.is_null()) else {
            return Ok(rope);
        };
        let kind = cfg
            .get("type")
            .or_else(|| cfg.get("rope_type"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        let num = |k: &str, default: f32| -> f32 {
            cfg.get(k)
                .and_then(Value::as_f64)
                .map_or(default, |v| v as f32)
        };
        let factor = || -> Result<f32> {
            cfg.get("factor")
                .and_then(Value::as_f64)
                .map(|v| v as f32)
                .ok_or_else(|| {
                    Error::config(
                        "config.json",
                        format!("rope_scaling `{kind}` needs a `factor`"),
                    )
                })
        };
        match kind {
            "default" => {}
            "linear" => rope.scale = 1.0 / factor()?,
            "llama3" => {
                let freqs = llama3_freqs(
                    dims,
                    base,
                    factor()?,
                    num("low_freq_factor", 1.0),
                    num("high_freq_factor", 4.0),
                    num("original_max_position_embeddings", 8192.0),
                );
                rope.freqs = Some(Array::from_slice(&freqs, &[freqs.len() as i32]));
            }
            "yarn" => {
                let factor = factor()?;
                let (freqs, mscale) = yarn(
                    dims,
                    base,
                    factor,
                    num("original_max_position_embeddings", 4096.0),
                    num("beta_fast", 32.0),
                    num("beta_slow", 1.0),
                    num("mscale", 1.0),
                    num("mscale_all_dim", 0.0),
                );
                rope.freqs = Some(Array::from_slice(&freqs, &[freqs.len() as i32]));
                rope.mscale = mscale;
            }
            other => {
                return Err(Error::config(
                    "config.json",
                    format!(
                        "unsupported rope_scaling type `{other}` (supported: {})",
                        SUPPORTED_SCALING.join(", ")
                    ),
                ))
            }
        }
        Ok(rope)
    }

    /// Rotates `x` whose first position sits at absolute position `offset`.
    ///
    /// # Shapes
    /// `x`: `[b, heads, l, head_dim]` → same.
    pub fn forward(&self, x: &Array, offset: i32) -> Result<Array> {
        let x = if self.mscale != 1.0 {
            x.multiply(Array::from_f32(self.mscale))?
        } else {
            x.clone()
        };
        let base = if self.freqs.is_some() {
            None
        } else {
            Some(self.base)
        };
        Ok(fast::rope(
            &x,
            self.dims,
            self.traditional,
            base,
            self.scale,
            offset,
            self.freqs.as_ref(),
        )?)
    }
}

impl Rope {
    /// Rotates every position of `x` by the same `by` positions: keys
    /// rotated for positions `p..` become the keys of `p + by..` (rotations
    /// compose). The input multiplier is not applied again (cached keys
    /// carry it already).
    ///
    /// # Shapes
    /// `x`: `[b, heads, l, head_dim]` → same.
    pub fn shift(&self, x: &Array, by: i32) -> Result<Array> {
        let shape = x.shape().to_vec();
        let d = shape[3];
        // Each position its own sequence of one, all at offset `by`.
        let flat = x.reshape(&[-1, 1, d])?;
        let base = if self.freqs.is_some() {
            None
        } else {
            Some(self.base)
        };
        let rotated = fast::rope(
            &flat,
            self.dims,
            self.traditional,
            base,
            self.scale,
            by,
            self.freqs.as_ref(),
        )?;
        Ok(rotated.reshape(&shape)?)
    }
}

/// Llama 3.1's frequency-dependent interpolation: long wavelengths are slowed
/// by `factor`, short ones kept, the band between blended smoothly.
fn llama3_freqs(
    dims: i32,
    base: f32,
    factor: f32,
    low_freq_factor: f32,
    high_freq_factor: f32,
    old_context: f32,
) -> Vec<f32> {
    let low_wavelen = old_context / low_freq_factor;
    let high_wavelen = old_context / high_freq_factor;
    (0..dims / 2)
        .map(|i| {
            let freq = base.powf(2.0 * i as f32 / dims as f32);
            let wavelen = 2.0 * PI * freq;
            if wavelen > low_wavelen {
                freq * factor
            } else if wavelen > high_wavelen {
                let smooth = (old_context / wavelen - low_freq_factor)
                    / (high_freq_factor - low_freq_factor);
                freq / ((1.0 - smooth) / factor + smooth)
            } else {
                freq
            }
        })
        .collect()
}

/// YaRN (Peng et al., 2023): per-dimension blend of interpolated and original
/// frequencies, plus the attention scale `mscale`.
#[allow(clippy::too_many_arguments)]
fn yarn(
    dims: i32,
    base: f32,
    factor: f32,
    old_context: f32,
    beta_fast: f32,
    beta_slow: f32,
    mscale: f32,
    mscale_all_dim: f32,
) -> (Vec<f32>, f32) {
    let correction_dim = |rotations: f32| {
        dims as f32 * (old_context / (rotations * 2.0 * PI)).ln() / (2.0 * base.ln())
    };
    let low = correction_dim(beta_fast).floor().max(0.0);
    let high = correction_dim(beta_slow).ceil().min(dims as f32 - 1.0);
    let high = if high == low { high + 0.001 } else { high };
    let get_mscale = |scale: f32, m: f32| {
        if scale <= 1.0 {
            1.0
        } else {
            0.1 * m * scale.ln() + 1.0
        }
    };
    let freqs = (0..dims / 2)
        .map(|i| {
            let extra = base.powf(2.0 * i as f32 / dims as f32);
            let inter = factor * extra;
            let ramp = ((i as f32 - low) / (high - low)).clamp(0.0, 1.0);
            let mask = 1.0 - ramp;
            inter * extra / (inter * mask + extra * (1.0 - mask))
        })
        .collect();
    (
        freqs,
        get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_keeps_short_and_slows_long_wavelengths() {
        let f = llama3_freqs(128, 500_000.0, 8.0, 1.0, 4.0, 8192.0);
        assert_eq!(f.len(), 64);
        assert_eq!(f[0], 1.0); // highest frequency untouched
        let plain = 500_000f32.powf(126.0 / 128.0);
        assert!((f[63] / plain - 8.0).abs() < 1e-3); // longest slowed by `factor`
    }

    #[test]
    fn unknown_scaling_lists_supported() {
        let cfg = serde_json::json!({"type": "su", "factor": 2.0});
        let err = Rope::new(64, 10000.0, false, Some(&cfg))
            .unwrap_err()
            .to_string();
        assert!(err.contains("default, linear, llama3, yarn"), "{err}");
    }
}
