//! AdamW over named parameters, with state that checkpoints can save.
//!
//! Decoupled weight decay (Loshchilov & Hutter, 2019) with bias-corrected
//! moments, as PyTorch's `AdamW` (and so TRL) computes it:
//!
//! ```text
//! m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
//! p ← p − lr·wd·p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
//! ```
//!
//! Parameters are addressed by name, so the moments saved in a checkpoint
//! line up with the adapter tensors whatever order a walk produces.
//!
//! Parameters stored in a low-precision float type (bfloat16, float16) get
//! a float32 master copy, as mixed-precision trainers keep one: the update
//! is applied to the master and only then rounded to the parameter's type.
//! Without it an update smaller than half the type's spacing (bfloat16 has
//! 8 bits of mantissa: 0.0078 at 1.0) rounds back to the old value on
//! every step, and at a fine-tuning learning rate most weights never move.

use std::collections::BTreeMap;
use std::path::Path;

use mlx_rs::{ops, Array};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// AdamW hyper-parameters (PyTorch's defaults but for the weight decay,
/// which LoRA fine-tuning usually leaves at 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// Decoupled weight decay.
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// AdamW's moments, step count and the float32 master copies of
/// low-precision parameters.
#[derive(Debug, Clone)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    m: BTreeMap<String, Array>,
    v: BTreeMap<String, Array>,
    /// Float32 values of the parameters whose own type is narrower.
    master: BTreeMap<String, Array>,
}

impl AdamW {
    /// A fresh optimizer (zero moments, step 0).
    pub fn new(config: AdamWConfig) -> Self {
        Self {
            config,
            step: 0,
            m: BTreeMap::new(),
            v: BTreeMap::new(),
            master: BTreeMap::new(),
        }
    }

    /// Updates taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// One update at learning rate `lr`: returns the new value of every
    /// parameter in `params`, in its own dtype (lazily; evaluate them with
    /// the moments, see [`state_arrays`](Self::state_arrays)). `grads` must
    /// name exactly the parameters of `params`. A parameter narrower than
    /// float32 is updated through its master copy, made from it on its
    /// first update.
    pub fn update(
        &mut self,
        params: &BTreeMap<String, Array>,
        grads: &BTreeMap<String, Array>,
        lr: f32,
    ) -> Result<BTreeMap<String, Array>> {
        if params.len() != grads.len() || params.keys().any(|k| !grads.contains_key(k)) {
            return Err(Error::GradientMismatch {
                missing: params
                    .keys()
                    .filter(|k| !grads.contains_key(*k))
                    .cloned()
                    .collect(),
            });
        }
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2 = 1.0 - c.beta2.powi(t);
        let mut out = BTreeMap::new();
        for (name, p) in params {
            let g = grads[name].as_dtype(mlx_rs::Dtype::Float32)?;
            let m = match self.m.get(name) {
                Some(m) => m
                    .multiply(Array::from_f32(c.beta1))?
                    .add(g.multiply(Array::from_f32(1.0 - c.beta1))?)?,
                None => g.multiply(Array::from_f32(1.0 - c.beta1))?,
            };
            let g2 = g.square()?;
            let v = match self.v.get(name) {
                Some(v) => v
                    .multiply(Array::from_f32(c.beta2))?
                    .add(g2.multiply(Array::from_f32(1.0 - c.beta2))?)?,
                None => g2.multiply(Array::from_f32(1.0 - c.beta2))?,
            };
            let denom = v
                .multiply(Array::from_f32(1.0 / bc2))?
                .sqrt()?
                .add(Array::from_f32(c.eps))?;
            let step = m.multiply(Array::from_f32(lr / bc1))?.divide(&denom)?;
            let low_precision = is_low_precision(p.dtype());
            let p32 = match self.master.get(name) {
                Some(master) if low_precision => master.clone(),
                _ => p.as_dtype(mlx_rs::Dtype::Float32)?,
            };
            let decayed = if c.weight_decay > 0.0 {
                p32.multiply(Array::from_f32(1.0 - lr * c.weight_decay))?
            } else {
                p32
            };
            let new = decayed.subtract(&step)?;
            out.insert(name.clone(), new.as_dtype(p.dtype())?);
            if low_precision {
                self.master.insert(name.clone(), new);
            }
            self.m.insert(name.clone(), m);
            self.v.insert(name.clone(), v);
        }
        Ok(out)
    }

    /// The moment arrays and master copies, to evaluate together with the
    /// updated parameters.
    pub fn state_arrays(&self) -> impl Iterator<Item = &Array> {
        self.m
            .values()
            .chain(self.v.values())
            .chain(self.master.values())
    }

    /// The float32 master copy of a low-precision parameter, once it has
    /// been updated.
    pub fn master(&self, name: &str) -> Option<&Array> {
        self.master.get(name)
    }

    /// Writes the moments and master copies to `path` (safetensors,
    /// `m.<name>`, `v.<name>` and `master.<name>`) with the step count in its
    /// metadata, so a resumed run continues from the same float32 values.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: Vec<(String, &Array)> = Vec::new();
        for (k, a) in &self.m {
            tensors.push((format!("m.{k}"), a));
        }
        for (k, a) in &self.v {
            tensors.push((format!("v.{k}"), a));
        }
        for (k, a) in &self.master {
            tensors.push((format!("master.{k}"), a));
        }
        let metadata = std::collections::HashMap::from([
            ("step".to_string(), self.step.to_string()),
            (
                "config".to_string(),
                serde_json::to_string(&self.config).expect("configs serialize"),
            ),
        ]);
        grpo_policy::weights::save_safetensors_with(
            path,
            tensors.iter().map(|(k, a)| (k.as_str(), *a)),
            &metadata,
        )
        .map_err(Error::from)
    }

    /// Reads moments written by [`save`](Self::save). The hyper-parameters
    /// are those of `config` (a resumed run may change them), the step and
    /// moments those of the file.
    pub fn load(path: &Path, config: AdamWConfig) -> Result<Self> {
        let bad = |reason: String| Error::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let (tensors, metadata) = Array::load_safetensors_with_metadata(path)
            .map_err(|e| bad(grpo_policy::weights::unreadable(path, &e).to_string()))?;
        let step = metadata
            .get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no `step` in the optimizer state's metadata".into()))?;
        let mut opt = Self::new(config);
        opt.step = step;
        for (k, a) in tensors {
            if let Some(name) = k.strip_prefix("m.") {
                opt.m.insert(name.to_string(), a);
            } else if let Some(name) = k.strip_prefix("v.") {
                opt.v.insert(name.to_string(), a);
            } else if let Some(name) = k.strip_prefix("master.") {
                opt.master.insert(name.to_string(), a);
            } else {
                return Err(bad(format!(
                    "unexpected tensor `{k}` in the optimizer state"
                )));
            }
        }
        mlx_rs::transforms::eval(opt.state_arrays())?;
        Ok(opt)
    }
}

/// Float types that keep a float32 master copy.
fn is_low_precision(dtype: mlx_rs::Dtype) -> bool {
    matches!(dtype, mlx_rs::Dtype::Bfloat16 | mlx_rs::Dtype::Float16)
}

/// Scales `grads` so that their global L2 norm is at most `max_norm`;
/// returns the scaled gradients and the norm before scaling (lazy).
pub fn clip_grad_norm(
    grads: &BTreeMap<String, Array>,
    max_norm: f32,
) -> Result<(BTreeMap<String, Array>, Array)> {
    let mut total = Array::from_f32(0.0);
    for g in grads.values() {
        total = total.add(g.as_dtype(mlx_rs::Dtype::Float32)?.square()?.sum(None)?)?;
    }
    let norm = total.sqrt()?;
    if max_norm <= 0.0 {
        return Ok((grads.clone(), norm));
    }
    // min(1, max_norm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_.
    let factor = ops::minimum(
        Array::from_f32(1.0),
        Array::from_f32(max_norm).divide(norm.add(Array::from_f32(1e-6))?)?,
    )?;
    let mut out = BTreeMap::new();
    for (k, g) in grads {
        out.insert(k.clone(), g.multiply(factor.as_dtype(g.dtype())?)?);
    }
    Ok((out, norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_map(v: f32) -> BTreeMap<String, Array> {
        BTreeMap::from([("w".to_string(), Array::from_slice(&[v], &[1]))])
    }

    #[test]
    fn first_step_moves_by_lr_times_sign() {
        // With bias correction, step 1 is lr * g / (|g| + eps) ≈ lr * sign(g).
        let mut opt = AdamW::new(AdamWConfig::default());
        let p = opt.update(&scalar_map(1.0), &scalar_map(0.5), 0.1).unwrap();
        assert!((p["w"].as_slice::<f32>()[0] - 0.9).abs() < 1e-6);
        let p = opt.update(&p, &scalar_map(-2.0), 0.1).unwrap();
        // m = 0.9*0.05 + 0.1*(-2) = -0.155, v = 0.999*0.00025 + 0.001*4 = 0.00424975
        let (mhat, vhat) = (-0.155 / (1.0 - 0.81), 0.004_249_75 / (1.0 - 0.998_001));
        let want = 0.9 - 0.1 * mhat / (f32::sqrt(vhat) + 1e-8);
        assert!((p["w"].as_slice::<f32>()[0] - want).abs() < 1e-5);
    }

    #[test]
    fn state_survives_a_save_and_load() {
        let mut opt = AdamW::new(AdamWConfig::default());
        let p = opt.update(&scalar_map(1.0), &scalar_map(0.5), 0.1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.safetensors");
        opt.save(&path).unwrap();
        let mut loaded = AdamW::load(&path, AdamWConfig::default()).unwrap();
        assert_eq!(loaded.step(), 1);
        let a = opt.update(&p, &scalar_map(-2.0), 0.1).unwrap();
        let b = loaded.update(&p, &scalar_map(-2.0), 0.1).unwrap();
        assert_eq!(a["w"].as_slice::<f32>(), b["w"].as_slice::<f32>());
    }

    #[test]
    fn bfloat16_parameters_move_under_a_small_learning_rate() {
        // bfloat16's spacing at 1.0 is 2^-7 ≈ 0.0078: an AdamW step of 1e-4
        // (≈ lr · sign(g)) rounds back to 1.0 unless the master copy keeps it.
        let w = |v: f32| {
            BTreeMap::from([(
                "w".to_string(),
                Array::from_slice(&[v], &[1])
                    .as_dtype(mlx_rs::Dtype::Bfloat16)
                    .unwrap(),
            )])
        };
        let mut opt = AdamW::new(AdamWConfig::default());
        let mut p = w(1.0);
        for _ in 0..100 {
            p = opt.update(&p, &w(0.5), 1e-4).unwrap();
        }
        assert_eq!(p["w"].dtype(), mlx_rs::Dtype::Bfloat16);
        let master = opt.master("w").unwrap();
        assert_eq!(master.dtype(), mlx_rs::Dtype::Float32);
        assert!((master.as_slice::<f32>()[0] - 0.99).abs() < 1e-4);
        // The parameter holds the master rounded to bfloat16 (spacing 2^-8
        // just below 1.0).
        let stored = p["w"].as_dtype(mlx_rs::Dtype::Float32).unwrap();
        let stored = stored.as_slice::<f32>()[0];
        assert!(stored < 0.995 && (stored - 0.99).abs() <= 0.002, "{stored}");

        // The master copy is saved with the moments and read back.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.safetensors");
        opt.save(&path).unwrap();
        let loaded = AdamW::load(&path, AdamWConfig::default()).unwrap();
        assert_eq!(
            loaded.master("w").unwrap().as_slice::<f32>(),
            master.as_slice::<f32>()
        );
    }

    #[test]
    fn float32_parameters_keep_no_master_copy() {
        let mut opt = AdamW::new(AdamWConfig::default());
        opt.update(&scalar_map(1.0), &scalar_map(0.5), 0.1).unwrap();
        assert!(opt.master("w").is_none());
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let g = BTreeMap::from([
            ("a".to_string(), Array::from_slice(&[3.0f32], &[1])),
            ("b".to_string(), Array::from_slice(&[4.0f32], &[1])),
        ]);
        let (clipped, norm) = clip_grad_norm(&g, 1.0).unwrap();
        assert!((norm.item_exact::<f32>() - 5.0).abs() < 1e-6);
        assert!((clipped["a"].as_slice::<f32>()[0] - 0.6).abs() < 1e-5);
        let (same, _) = clip_grad_norm(&g, 10.0).unwrap();
        assert_eq!(same["b"].as_slice::<f32>(), &[4.0]);
    }
}
