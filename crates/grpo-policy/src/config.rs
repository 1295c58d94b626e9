//! `config.json`: the architecture, its sizes, and its quantization.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::linear::QuantSpec;
use crate::models::Architecture;

/// The decoder shape shared by the supported architectures (Qwen2/2.5,
/// Qwen3, Llama, Mistral), filled from each one's `config.json` by its module
/// under `models/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    /// Which architecture the checkpoint declares.
    pub architecture: Architecture,
    /// Width of the residual stream.
    pub hidden_size: i32,
    /// Number of decoder layers.
    pub num_hidden_layers: i32,
    /// Width of the MLP.
    pub intermediate_size: i32,
    /// Query heads.
    pub num_attention_heads: i32,
    /// Key/value heads (grouped-query attention when fewer than query heads).
    pub num_key_value_heads: i32,
    /// Size of one head.
    pub head_dim: i32,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: i32,
    /// Epsilon of every RMS norm.
    pub rms_norm_eps: f32,
    /// RoPE base.
    pub rope_theta: f32,
    /// RoPE on interleaved (true) or split (false) halves.
    pub rope_traditional: bool,
    /// The raw `rope_scaling` object, if any.
    pub rope_scaling: Option<Value>,
    /// Output head shares the embedding (`None`: decided by whether the
    /// checkpoint has `lm_head.weight`).
    pub tie_word_embeddings: Option<bool>,
    /// Bias on the q, k and v projections.
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    /// Bias on the MLP projections.
    pub mlp_bias: bool,
    /// RMS norm on each query and key head (Qwen3).
    pub qk_norm: bool,
    /// MLX quantization of the checkpoint, if any.
    pub quantization: Option<Quantization>,
}

/// The `quantization` entry of an MLX checkpoint's `config.json`: a default
/// plus per-layer overrides (mlx-lm's mixed-precision form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// The default group size and bits.
    pub default: QuantSpec,
    /// Per-path overrides, e.g. `model.layers.0.mlp.down_proj`.
    pub overrides: BTreeMap<String, QuantSpec>,
}

impl Quantization {
    /// The spec for the layer at `path`.
    pub fn for_path(&self, path: &str) -> QuantSpec {
        self.overrides.get(path).copied().unwrap_or(self.default)
    }

    fn parse(v: &Value) -> Result<Self> {
        let spec = |v: &Value, what: &str| -> Result<QuantSpec> {
            let int = |k: &str| v.get(k).and_then(Value::as_i64).map(|x| x as i32);
            match (int("group_size"), int("bits")) {
                (Some(group_size), Some(bits)) => Ok(QuantSpec { group_size, bits }),
                _ => Err(Error::config(
                    "config.json",
                    format!("quantization {what} needs integer `group_size` and `bits`"),
                )),
            }
        };
        if let Some(mode) = v.get("mode").and_then(Value::as_str) {
            if mode != "affine" {
                return Err(Error::config(
                    "config.json",
                    format!("quantization mode `{mode}` is not supported (supported: affine)"),
                ));
            }
        }
        let default = spec(v, "")?;
        let mut overrides = BTreeMap::new();
        if let Some(obj) = v.as_object() {
            for (k, o) in obj {
                if o.is_object() {
                    overrides.insert(k.clone(), spec(o, &format!("of `{k}`"))?);
                }
            }
        }
        Ok(Self { default, overrides })
    }
}

impl TransformerConfig {
    /// Reads `dir/config.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        if !path.is_file() {
            return Err(Error::MissingFiles {
                dir: dir.to_path_buf(),
                what: "model configuration",
                looked_for: "config.json".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        Self::from_json(&value).map_err(|e| match e {
            Error::InvalidConfig { message, .. } => Error::InvalidConfig {
                what: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Interprets a parsed `config.json`.
    pub fn from_json(value: &Value) -> Result<Self> {
        let model_type = value
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config("config.json", "no `model_type`"))?;
        let architecture = Architecture::from_model_type(model_type)?;
        let mut config = architecture.parse_config(value)?;
        let quant = value
            .get("quantization")
            .or_else(|| value.get("quantization_config"));
        config.quantization = match quant {
            Some(q) if q.get("quant_method").is_none() => Some(Quantization::parse(q)?),
            Some(q) => {
                return Err(Error::config(
                    "config.json",
                    format!(
                        "quantization method {} is not supported; use an MLX-quantized checkpoint (mlx-community/…-4bit) or convert with `mlx_lm.convert -q`",
                        q["quant_method"]
                    ),
                ))
            }
            None => None,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let positive = [
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("intermediate_size", self.intermediate_size),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
            ("vocab_size", self.vocab_size),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(Error::config(
                    "config.json",
                    format!("`{name}` must be positive, got {v}"),
                ));
            }
        }
        if self.num_attention_heads % self.num_key_value_heads != 0 {
            return Err(Error::config(
                "config.json",
                format!(
                    "num_attention_heads ({}) must be a multiple of num_key_value_heads ({})",
                    self.num_attention_heads, self.num_key_value_heads
                ),
            ));
        }
        Ok(())
    }

    /// The quantization of the layer at `path`, if the checkpoint is quantized.
    pub fn quant_for(&self, path: &str) -> Option<QuantSpec> {
        self.quantization.as_ref().map(|q| q.for_path(path))
    }
}
