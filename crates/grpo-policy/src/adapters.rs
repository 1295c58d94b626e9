//! Fine-tuning parameters and the adapter files of mlx-lm.
//!
//! An adapter directory holds `adapter_config.json` and
//! `adapters.safetensors`, exactly as `mlx_lm.lora` writes them, so that
//! `mlx_lm.load(model, adapter_path=dir)` and `mlx_lm.fuse` accept what
//! mlx-grpo trains, and mlx-grpo continues from what mlx-lm trained:
//!
//! ```json
//! {"fine_tune_type": "lora", "num_layers": 16,
//!  "lora_parameters": {"rank": 8, "scale": 20.0, "dropout": 0.0,
//!                      "keys": ["self_attn.q_proj", "self_attn.v_proj"]}}
//! ```
//!
//! `adapters.safetensors` holds the trainable parameters under the model's
//! names: `model.layers.N.self_attn.q_proj.lora_a` (`[in, rank]`),
//! `…lora_b` (`[rank, out]`), DoRA's `…m` (`[out]`), or every parameter for
//! full fine-tuning.

use std::collections::BTreeMap;
use std::path::Path;

use mlx_rs::{random, Array};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::linear::{AdapterKind, AdapterSpec};
use crate::models::transformer::Transformer;
use crate::params;
use crate::weights::{save_safetensors, WeightMap};

/// The projections of a decoder block that adapters can wrap, by mlx-lm key.
pub const PROJECTIONS: [&str; 7] = [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
];

/// The default targets: the attention projections.
pub const ATTENTION: [&str; 4] = [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
];

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FineTuneType {
    /// Low-rank adapters; the base stays frozen.
    Lora,
    /// Weight-decomposed low-rank adapters; the base stays frozen.
    Dora,
    /// Every parameter (not possible on a quantized base).
    Full,
}

/// `lora_parameters` of `adapter_config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraParameters {
    /// Rank of the update.
    pub rank: i32,
    /// Multiplier of the update (mlx-lm's `scale`; PEFT's `alpha / rank`).
    pub scale: f32,
    /// Dropout on the adapter input while training.
    pub dropout: f32,
    /// Projections wrapped, relative to a block (`self_attn.q_proj`, …).
    #[serde(default)]
    pub keys: Option<Vec<String>>,
}

/// The fine-tuning setup, serialised as mlx-lm's `adapter_config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    /// LoRA, DoRA or full.
    pub fine_tune_type: FineTuneType,
    /// Adapt the last `num_layers` blocks (-1: all).
    pub num_layers: i32,
    /// Adapter shape and targets.
    pub lora_parameters: LoraParameters,
    /// Other fields (mlx-lm writes its whole training configuration here;
    /// mlx-grpo writes the base model and its own settings), kept as read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl AdapterConfig {
    /// LoRA of `rank` on the attention projections of the last `num_layers`
    /// blocks, with mlx-lm's default scale (20) and no dropout.
    pub fn lora(num_layers: i32, rank: i32) -> Self {
        Self {
            fine_tune_type: FineTuneType::Lora,
            num_layers,
            lora_parameters: LoraParameters {
                rank,
                scale: 20.0,
                dropout: 0.0,
                keys: Some(ATTENTION.iter().map(|s| s.to_string()).collect()),
            },
            extra: BTreeMap::new(),
        }
    }

    /// The targeted projections (every projection when `keys` is absent, as
    /// mlx-lm does).
    pub fn keys(&self) -> Vec<String> {
        match &self.lora_parameters.keys {
            Some(k) => k.clone(),
            None => PROJECTIONS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Checks ranks, keys and layer counts against `model`.
    pub fn validate(&self, model: &Transformer) -> Result<()> {
        let bad = |m: String| Err(Error::config("adapter configuration", m));
        if self.fine_tune_type == FineTuneType::Full {
            if model
                .layers
                .iter()
                .any(|l| l.self_attn.q_proj.is_quantized())
            {
                return bad(
                    "full fine-tuning needs an unquantized model; use --train-type lora or dora"
                        .into(),
                );
            }
            return Ok(());
        }
        let p = &self.lora_parameters;
        if p.rank < 1 {
            return bad(format!("lora rank must be at least 1, got {}", p.rank));
        }
        if !(0.0..1.0).contains(&p.dropout) {
            return bad(format!("lora dropout must be in [0, 1), got {}", p.dropout));
        }
        if self.num_layers == 0 || self.num_layers < -1 {
            return bad(format!(
                "lora layers must be -1 (all) or positive, got {}",
                self.num_layers
            ));
        }
        for key in self.keys() {
            if !PROJECTIONS.contains(&key.as_str()) {
                return bad(format!(
                    "unknown projection `{key}` (known: {})",
                    PROJECTIONS.join(", ")
                ));
            }
        }
        Ok(())
    }

    fn spec(&self) -> AdapterSpec {
        AdapterSpec {
            kind: match self.fine_tune_type {
                FineTuneType::Dora => AdapterKind::Dora,
                _ => AdapterKind::Lora,
            },
            rank: self.lora_parameters.rank,
            scale: self.lora_parameters.scale,
            dropout: self.lora_parameters.dropout,
        }
    }

    /// Whether a parameter of the adapted model is trained.
    pub fn is_trainable(&self, name: &str) -> bool {
        match self.fine_tune_type {
            FineTuneType::Full => true,
            _ => matches!(name.rsplit('.').next(), Some("lora_a" | "lora_b" | "m")),
        }
    }
}

/// Wraps the targeted projections of the last `num_layers` blocks in fresh
/// adapters (initialised from `seed`), as `linear_to_lora_layers` does.
pub fn apply(model: &mut Transformer, config: &AdapterConfig, seed: u64) -> Result<()> {
    config.validate(model)?;
    if config.fine_tune_type == FineTuneType::Full {
        return Ok(());
    }
    let n = model.layers.len();
    let count = if config.num_layers < 0 {
        n
    } else {
        (config.num_layers as usize).min(n)
    };
    let keys = config.keys();
    let spec = config.spec();
    let mut key = random::key(seed)?;
    for layer in &mut model.layers[n - count..] {
        for (name, proj) in layer.projections_mut() {
            if keys.iter().any(|k| k == name) {
                let (next, sub) = random::split(&key, 2)?;
                key = next;
                proj.add_adapter(&spec, &sub)?;
            }
        }
    }
    Ok(())
}

/// The trainable parameters of an adapted model, by name.
pub fn trainable(model: &Transformer, config: &AdapterConfig) -> Vec<(String, Array)> {
    params::select(model, |name| config.is_trainable(name))
}

/// Writes `dir/adapter_config.json` and `dir/adapters.safetensors`, each
/// atomically (a crash leaves the previous file or the new one, never half).
pub fn save(dir: &Path, model: &Transformer, config: &AdapterConfig) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let weights = trainable(model, config);
    save_safetensors(
        &dir.join("adapters.safetensors"),
        weights.iter().map(|(k, v)| (k.as_str(), v)),
    )?;
    let path = dir.join("adapter_config.json");
    let tmp = dir.join("adapter_config.json.tmp");
    let text = serde_json::to_string_pretty(config).expect("adapter configs serialize");
    std::fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

/// Reads `dir/adapter_config.json`.
pub fn read_config(dir: &Path) -> Result<AdapterConfig> {
    let path = dir.join("adapter_config.json");
    if !path.is_file() {
        return Err(Error::MissingFiles {
            dir: dir.to_path_buf(),
            what: "adapter configuration",
            looked_for: "adapter_config.json".into(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json { path, source })
}

/// Applies the adapters of `dir` (from mlx-lm or mlx-grpo) to `model` and
/// loads their weights; every adapter tensor must fit a trainable parameter
/// and every trainable parameter must be in the file.
pub fn load(dir: &Path, model: &mut Transformer) -> Result<AdapterConfig> {
    let config = read_config(dir)?;
    apply(model, &config, 0)?;
    let path = dir.join("adapters.safetensors");
    let loaded =
        Array::load_safetensors(&path).map_err(|e| crate::weights::unreadable(&path, &e))?;
    let mut weights = WeightMap::from_tensors(&path, loaded.into_iter().collect());
    let mut values = BTreeMap::new();
    for (name, current) in trainable(model, &config) {
        let v = weights.take(&name, Some(current.shape()))?;
        values.insert(name, v.as_dtype(current.dtype())?);
    }
    weights.finish()?;
    let unmatched = params::assign(model, &values);
    debug_assert!(
        unmatched.is_empty(),
        "names came from the model: {unmatched:?}"
    );
    mlx_rs::transforms::eval(values.values())?;
    Ok(config)
}

/// Folds every adapter into its base weight (as `mlx_lm.fuse`), leaving a
/// plain model; quantized bases are requantized unless `dequantize`.
pub fn fuse(model: &mut Transformer, dequantize: bool) -> Result<()> {
    for layer in &mut model.layers {
        for (_, proj) in layer.projections_mut() {
            proj.fuse(dequantize)?;
        }
    }
    let all = params::named_parameters(model);
    mlx_rs::transforms::eval(all.values())?;
    Ok(())
}

/// Number of trainable and total parameters (packed quantized weights count
/// as stored), for the "trainable parameters" line users expect.
pub fn parameter_counts(model: &Transformer, config: &AdapterConfig) -> (usize, usize) {
    let trainable: usize = trainable(model, config).iter().map(|(_, a)| a.size()).sum();
    (trainable, params::count(model))
}
