//! Llama 2/3.x (`model_type: llama`) and Mistral (`model_type: mistral`,
//! which mlx-lm also runs on its Llama module): RMSNorm, SwiGLU, grouped
//! query attention, optional `attention_bias`/`mlp_bias`, RoPE with the
//! `llama3` (and linear, yarn) scaling of `rope_scaling`.
//! Reference: `mlx_lm/models/llama.py`.
//!
//! Mistral's `sliding_window` is not applied: it only matters for sequences
//! longer than the window (4,096 tokens), far beyond GRPO completions.

use serde::Deserialize;
use serde_json::Value;

use super::{parse, Architecture};
use crate::config::TransformerConfig;
use crate::error::Result;

#[derive(Deserialize)]
struct LlamaConfig {
    hidden_size: i32,
    num_hidden_layers: i32,
    intermediate_size: i32,
    num_attention_heads: i32,
    #[serde(default)]
    num_key_value_heads: Option<i32>,
    #[serde(default)]
    head_dim: Option<i32>,
    rms_norm_eps: f32,
    vocab_size: i32,
    #[serde(default = "default_theta")]
    rope_theta: f32,
    #[serde(default)]
    rope_traditional: bool,
    #[serde(default)]
    rope_scaling: Option<Value>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
}

fn default_theta() -> f32 {
    10_000.0
}

pub(crate) fn config(architecture: Architecture, value: &Value) -> Result<TransformerConfig> {
    let c: LlamaConfig = parse(value)?;
    Ok(TransformerConfig {
        architecture,
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        intermediate_size: c.intermediate_size,
        num_attention_heads: c.num_attention_heads,
        num_key_value_heads: c.num_key_value_heads.unwrap_or(c.num_attention_heads),
        head_dim: c
            .head_dim
            .unwrap_or(c.hidden_size / c.num_attention_heads.max(1)),
        vocab_size: c.vocab_size,
        rms_norm_eps: c.rms_norm_eps,
        rope_theta: c.rope_theta,
        rope_traditional: c.rope_traditional,
        rope_scaling: c.rope_scaling,
        tie_word_embeddings: c.tie_word_embeddings,
        qkv_bias: c.attention_bias,
        o_bias: c.attention_bias,
        mlp_bias: c.mlp_bias,
        qk_norm: false,
        quantization: None,
    })
}
