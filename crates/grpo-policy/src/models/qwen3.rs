//! Qwen3 (`model_type: qwen3`): the Qwen2 decoder without q/k/v bias, with an
//! RMS norm on every query and key head before RoPE, and an explicit
//! `head_dim`. Reference: `mlx_lm/models/qwen3.py`.

use serde::Deserialize;
use serde_json::Value;

use super::{parse, Architecture};
use crate::config::TransformerConfig;
use crate::error::Result;

#[derive(Deserialize)]
struct Qwen3Config {
    hidden_size: i32,
    num_hidden_layers: i32,
    intermediate_size: i32,
    num_attention_heads: i32,
    num_key_value_heads: i32,
    head_dim: i32,
    rms_norm_eps: f32,
    vocab_size: i32,
    #[serde(default = "default_theta")]
    rope_theta: f32,
    #[serde(default)]
    rope_scaling: Option<Value>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
}

fn default_theta() -> f32 {
    1_000_000.0
}

pub(crate) fn config(value: &Value) -> Result<TransformerConfig> {
    let c: Qwen3Config = parse(value)?;
    Ok(TransformerConfig {
        architecture: Architecture::Qwen3,
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        intermediate_size: c.intermediate_size,
        num_attention_heads: c.num_attention_heads,
        num_key_value_heads: c.num_key_value_heads,
        head_dim: c.head_dim,
        vocab_size: c.vocab_size,
        rms_norm_eps: c.rms_norm_eps,
        rope_theta: c.rope_theta,
        rope_traditional: false,
        rope_scaling: c.rope_scaling,
        tie_word_embeddings: c.tie_word_embeddings,
        qkv_bias: c.attention_bias,
        o_bias: c.attention_bias,
        mlp_bias: false,
        qk_norm: true,
        quantization: None,
    })
}
