//! Qwen2 and Qwen2.5 (`model_type: qwen2`): RMSNorm, SwiGLU, RoPE, grouped
//! query attention with a bias on q/k/v (not o), tied embeddings by default.
//! Reference: `mlx_lm/models/qwen2.py`.

use serde::Deserialize;
use serde_json::Value;

use super::{parse, Architecture};
use crate::config::TransformerConfig;
use crate::error::Result;

#[derive(Deserialize)]
struct Qwen2Config {
    hidden_size: i32,
    num_hidden_layers: i32,
    intermediate_size: i32,
    num_attention_heads: i32,
    num_key_value_heads: i32,
    rms_norm_eps: f32,
    vocab_size: i32,
    #[serde(default = "default_theta")]
    rope_theta: f32,
    #[serde(default)]
    rope_traditional: bool,
    #[serde(default)]
    rope_scaling: Option<Value>,
    #[serde(default = "default_tie")]
    tie_word_embeddings: bool,
}

fn default_theta() -> f32 {
    1_000_000.0
}

fn default_tie() -> bool {
    true
}

pub(crate) fn config(value: &Value) -> Result<TransformerConfig> {
    let c: Qwen2Config = parse(value)?;
    Ok(TransformerConfig {
        architecture: Architecture::Qwen2,
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        intermediate_size: c.intermediate_size,
        num_attention_heads: c.num_attention_heads,
        num_key_value_heads: c.num_key_value_heads,
        head_dim: c.hidden_size / c.num_attention_heads.max(1),
        vocab_size: c.vocab_size,
        rms_norm_eps: c.rms_norm_eps,
        rope_theta: c.rope_theta,
        rope_traditional: c.rope_traditional,
        rope_scaling: c.rope_scaling,
        tie_word_embeddings: Some(c.tie_word_embeddings),
        qkv_bias: true,
        o_bias: false,
        mlp_bias: false,
        qk_norm: false,
        quantization: None,
    })
}
