//! The supported architectures. Each module reads its own `config.json` keys
//! and defaults into the shared [`TransformerConfig`] and says which
//! checkpoint tensors the shared decoder ignores; the decoder itself is
//! [`transformer::Transformer`].

pub mod llama;
pub mod qwen2;
pub mod qwen3;
pub mod transformer;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::TransformerConfig;
use crate::error::{Error, Result};
use crate::weights::WeightMap;

/// The `model_type` values of `config.json` that load.
pub const SUPPORTED: &[&str] = &["qwen2", "qwen3", "llama", "mistral"];

/// An architecture, by its `config.json` `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Qwen2 and Qwen2.5: q/k/v bias, tied embeddings on small sizes.
    Qwen2,
    /// Qwen3: per-head q/k RMS norm, explicit `head_dim`.
    Qwen3,
    /// Llama 2/3.x: optional biases, llama3 RoPE scaling.
    Llama,
    /// Mistral: the Llama decoder (as mlx-lm maps it).
    Mistral,
}

impl Architecture {
    /// Parses a `model_type`.
    pub fn from_model_type(model_type: &str) -> Result<Self> {
        match model_type {
            "qwen2" => Ok(Self::Qwen2),
            "qwen3" => Ok(Self::Qwen3),
            "llama" => Ok(Self::Llama),
            "mistral" => Ok(Self::Mistral),
            other => Err(Error::UnsupportedModel {
                model_type: other.to_string(),
                supported: SUPPORTED,
            }),
        }
    }

    /// The `model_type` string.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
            Self::Llama => "llama",
            Self::Mistral => "mistral",
        }
    }

    pub(crate) fn parse_config(self, value: &Value) -> Result<TransformerConfig> {
        match self {
            Self::Qwen2 => qwen2::config(value),
            Self::Qwen3 => qwen3::config(value),
            Self::Llama | Self::Mistral => llama::config(self, value),
        }
    }

    /// Removes checkpoint tensors the decoder has no use for (precomputed
    /// rotary frequencies and the like).
    pub(crate) fn sanitize(self, weights: &mut WeightMap) {
        weights.discard_where(|k| k.contains("self_attn.rotary_emb.inv_freq"));
    }
}

/// Reads a `config.json` field into `T`, naming the field when it is
/// missing or of the wrong type.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| Error::config("config.json", e.to_string()))
}
