//! Tiny configurations and helpers shared by the tests.

use std::path::PathBuf;

use grpo_policy::mlx_rs::Array;
use serde_json::{json, Value};

/// A `config.json` for `model_type` at toy size: 2 layers, hidden 64,
/// 4 query heads over 2 key/value heads, vocabulary 128.
pub fn tiny_config(model_type: &str) -> Value {
    let mut c = json!({
        "model_type": model_type,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 96,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "vocab_size": 128,
        "max_position_embeddings": 512,
        "rope_theta": 10000.0,
        "tie_word_embeddings": true,
    });
    match model_type {
        "qwen3" => c["head_dim"] = json!(16),
        "llama" => {
            c["tie_word_embeddings"] = json!(false);
            c["rope_scaling"] = json!({
                "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 64
            });
        }
        "mistral" => c["tie_word_embeddings"] = json!(false),
        _ => {}
    }
    c
}

/// The Python interpreter of the project's venv (made by scripts/setup).
pub fn venv_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join(".venv/bin/python")
}

/// Host copy of a float array.
pub fn to_vec(a: &Array) -> Vec<f32> {
    a.as_dtype(grpo_policy::mlx_rs::Dtype::Float32)
        .unwrap()
        .as_slice::<f32>()
        .to_vec()
}

/// Largest absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
