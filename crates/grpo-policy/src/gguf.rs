//! Importing GGUF checkpoints (llama.cpp's format) as Hugging Face-layout
//! model directories that mlx-grpo and Python `mlx_lm.load` both read.
//!
//! Many models are easiest to get as a GGUF file: one file holding the
//! weights (often quantized), the hyper-parameters and the tokenizer. MLX
//! reads GGUF natively (`mlx_load_gguf`, through mlx-rs's
//! [`GgufFile`](mlx_rs::io::GgufFile)); this module turns what it returns
//! into the files a transformers checkpoint has:
//!
//! | written | from |
//! |---|---|
//! | `config.json` | `{arch}.*` hyper-parameters; `tie_word_embeddings` when there is no `output` tensor; `quantization` when blocks are kept |
//! | `model.safetensors` | the tensors under transformers' names, Q/K rows back in transformers' rotary order (llama.cpp permutes them for Llama models) |
//! | `tokenizer.json` | `tokenizer.ggml.{tokens,merges,token_type,pre}`: byte-level BPE with the original pre-tokenizer |
//! | `tokenizer_config.json` | special tokens, `chat_template` |
//! | `generation_config.json` | BOS, EOS (and end-of-turn), padding ids |
//!
//! Q4_0, Q4_1 and Q8_0 blocks map exactly onto MLX's affine quantization
//! with group size 32, so [`GgufDtype::Keep`] writes an MLX 4/8-bit
//! checkpoint in the mlx-community layout without any loss; the float
//! dtypes dequantize. Other block types (K-quants) arrive as floats.
//!
//! Architectures: `llama` (Llama 2/3, Mistral, SmolLM), `qwen2`, `qwen3`.
//! Anything else, and SentencePiece tokenizers, fail with an error that
//! names what is unsupported.
//!
//! # Example
//!
//! ```no_run
//! use grpo_policy::gguf::{import_gguf, GgufDtype};
//!
//! let report = import_gguf(
//!     "SmolLM2-135M-Instruct.Q4_1.gguf".as_ref(),
//!     "models/smollm2-135m-instruct-4bit".as_ref(),
//!     GgufDtype::Keep,
//!     false,
//! )?;
//! println!("{} tensors, {} quantized", report.tensors, report.quantized_modules);
//! # Ok::<(), grpo_policy::Error>(())
//! ```

mod metadata;
mod tensors;
mod tokenizer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlx_rs::io::GgufFile;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::models::transformer::Transformer;
use crate::output_dir::OutputDir;
use crate::tokenizer::Tokenizer;
use crate::weights::save_safetensors;
use metadata::Metadata;
use tensors::{Rotary, GROUP_SIZE};

pub use tensors::GgufDtype;
pub use tokenizer::SUPPORTED_PRE_TOKENIZERS;

/// The `general.architecture` values that import.
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["llama", "qwen2", "qwen3"];

/// What an import wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The model directory.
    pub dir: PathBuf,
    /// `general.architecture`.
    pub architecture: String,
    /// `general.name`, if the file has one.
    pub name: Option<String>,
    /// Tensors written.
    pub tensors: usize,
    /// Modules kept quantized, by bits.
    pub quantized_modules: usize,
    /// Bits → number of modules kept at that precision.
    pub bits: BTreeMap<i32, usize>,
    /// Decoder layers.
    pub layers: i64,
    /// Vocabulary size.
    pub vocab_size: usize,
}

/// Converts `gguf` into a model directory at `out`.
///
/// The directory is written next to `out` and renamed into place when
/// complete, after the written model and tokenizer have loaded back; an
/// existing non-empty `out` is replaced only when `replace` is true.
///
/// # Errors
/// [`Error::Gguf`] for an unreadable file, an unsupported architecture,
/// tokenizer or tensor type, or missing metadata, naming the key or tensor;
/// [`Error::OutputExists`] when `out` exists and `replace` is false.
pub fn import_gguf(
    gguf: &Path,
    out: &Path,
    dtype: GgufDtype,
    replace: bool,
) -> Result<ImportReport> {
    if gguf.extension().and_then(|e| e.to_str()) != Some("gguf") {
        return Err(Error::Gguf {
            path: gguf.to_path_buf(),
            message: "not a .gguf file".into(),
        });
    }
    if !gguf.is_file() {
        return Err(Error::MissingFile {
            path: gguf.to_path_buf(),
            what: "the GGUF file to import",
        });
    }
    let file = GgufFile::load(gguf).map_err(|e| Error::Gguf {
        path: gguf.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    let meta = Metadata::new(&file, gguf);
    let arch = meta.require_string("general.architecture")?;
    if !SUPPORTED_ARCHITECTURES.contains(&arch.as_str()) {
        return Err(meta.error(format!(
            "architecture `{arch}` is not supported (supported: {})",
            SUPPORTED_ARCHITECTURES.join(", ")
        )));
    }
    let arrays = file
        .arrays()
        .map_err(|e| meta.error(format!("reading tensors: {e}")))?;
    let rope_freqs = arrays.get("rope_freqs.weight").cloned();
    let has_output = arrays.contains_key("output.weight");
    let has_qkv_bias = arrays.contains_key("blk.0.attn_q.bias");

    let mut config = model_config(&meta, &arch)?;
    let heads = config["num_attention_heads"].as_i64().unwrap_or(1) as i32;
    let kv_heads = config["num_key_value_heads"].as_i64().unwrap_or(1) as i32;
    if let Some(freqs) = rope_freqs {
        let head_dim = config["head_dim"].as_i64().unwrap_or(0) as usize;
        let theta = config["rope_theta"].as_f64().unwrap_or(10_000.0);
        let freqs: Vec<f32> = freqs.as_dtype(mlx_rs::Dtype::Float32)?.as_slice().to_vec();
        config["rope_scaling"] = llama3_rope_scaling(&freqs, theta, head_dim).ok_or_else(|| {
            meta.error("tensor `rope_freqs` holds rope factors that match no Llama 3 rope_scaling")
        })?;
    }
    config["tie_word_embeddings"] = json!(!has_output);
    if arch == "llama" {
        config["attention_bias"] = json!(has_qkv_bias);
    }
    config["torch_dtype"] = json!(dtype.torch_name());

    let rotary = Rotary {
        permuted: arch == "llama",
        heads,
        kv_heads,
    };
    let converted = tensors::convert(arrays, &meta, &rotary, dtype)?;
    if let Some(quantization) = quantization_config(&converted.quantized) {
        config["quantization"] = quantization.clone();
        config["quantization_config"] = quantization;
    }
    let context_length = meta.int(&format!("{arch}.context_length"))?;
    let tok = tokenizer::convert(&meta, context_length)?;
    let vocab_size = tok.tokenizer_json["model"]["vocab"]
        .as_object()
        .map_or(0, Map::len);
    if config.get("vocab_size").and_then(Value::as_i64).is_none() {
        config["vocab_size"] = json!(vocab_size);
    }
    for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
        if let Some(v) = tok.generation_config.get(key) {
            config[key] = v.clone();
        }
    }

    let staging = OutputDir::create(out, replace)?;
    let dir = staging.path();
    write_json(&dir.join("config.json"), &config)?;
    write_json(&dir.join("tokenizer.json"), &tok.tokenizer_json)?;
    write_json(&dir.join("tokenizer_config.json"), &tok.tokenizer_config)?;
    write_json(&dir.join("generation_config.json"), &tok.generation_config)?;
    let mut names: Vec<&String> = converted.tensors.keys().collect();
    names.sort();
    save_safetensors(
        &dir.join("model.safetensors"),
        names.iter().map(|n| (n.as_str(), &converted.tensors[*n])),
    )?;
    // What was written must load: every tensor accounted for, the tokenizer
    // and its template valid.
    Transformer::load(dir)?;
    Tokenizer::from_dir(dir)?;
    let dir = staging.commit()?;

    let mut bits = BTreeMap::new();
    for b in converted.quantized.values() {
        *bits.entry(*b).or_insert(0) += 1;
    }
    Ok(ImportReport {
        dir,
        architecture: arch.clone(),
        name: meta.string("general.name")?,
        tensors: converted.tensors.len(),
        quantized_modules: converted.quantized.len(),
        bits,
        layers: config["num_hidden_layers"].as_i64().unwrap_or(0),
        vocab_size,
    })
}

/// `config.json` from the `{arch}.*` hyper-parameters.
fn model_config(meta: &Metadata<'_>, arch: &str) -> Result<Value> {
    let key = |k: &str| format!("{arch}.{k}");
    let hidden = meta.require_int(&key("embedding_length"))?;
    let heads = meta.require_int(&key("attention.head_count"))?;
    let kv_heads = meta.int(&key("attention.head_count_kv"))?.unwrap_or(heads);
    let head_dim = meta
        .int(&key("attention.key_length"))?
        .unwrap_or(hidden / heads.max(1));
    let (class, model_type) = match arch {
        "llama" => ("LlamaForCausalLM", "llama"),
        "qwen2" => ("Qwen2ForCausalLM", "qwen2"),
        _ => ("Qwen3ForCausalLM", "qwen3"),
    };
    let mut c = json!({
        "architectures": [class],
        "model_type": model_type,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "intermediate_size": meta.require_int(&key("feed_forward_length"))?,
        "num_hidden_layers": meta.require_int(&key("block_count"))?,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": meta
            .float(&key("attention.layer_norm_rms_epsilon"))?
            .ok_or_else(|| meta.error(format!("no metadata `{}`", key("attention.layer_norm_rms_epsilon"))))?,
        "rope_theta": meta.float(&key("rope.freq_base"))?.unwrap_or(10_000.0),
        "rope_scaling": null,
    });
    if let Some(n) = meta.int(&key("context_length"))? {
        c["max_position_embeddings"] = json!(n);
    }
    if let Some(n) = meta.int(&key("vocab_size"))? {
        c["vocab_size"] = json!(n);
    }
    if let Some(kind) = meta.string(&key("rope.scaling.type"))? {
        match kind.as_str() {
            "none" => {}
            "linear" => {
                let factor = meta
                    .float(&key("rope.scaling.factor"))?
                    .ok_or_else(|| meta.error(format!("no metadata `{}`", key("rope.scaling.factor"))))?;
                c["rope_scaling"] = json!({"rope_type": "linear", "type": "linear", "factor": factor});
            }
            other => {
                return Err(meta.error(format!(
                    "rope scaling `{other}` is not supported (supported: none, linear, and Llama 3's rope_freqs)"
                )))
            }
        }
    }
    Ok(c)
}

/// The `quantization` entry for the kept modules: the most common bits as
/// the default, the others as per-module overrides (mlx-lm reads both).
fn quantization_config(bits: &BTreeMap<String, i32>) -> Option<Value> {
    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    for b in bits.values() {
        *counts.entry(*b).or_insert(0) += 1;
    }
    let (&default, _) = counts.iter().max_by_key(|(b, n)| (**n, -**b))?;
    let mut q = Map::new();
    q.insert("group_size".into(), json!(GROUP_SIZE));
    q.insert("bits".into(), json!(default));
    for (module, b) in bits {
        if *b != default {
            q.insert(module.clone(), json!({"group_size": GROUP_SIZE, "bits": b}));
        }
    }
    Some(Value::Object(q))
}

/// Recovers Llama 3's `rope_scaling` from the per-frequency factors that
/// llama.cpp stores as `rope_freqs`: the factor is the largest one, and the
/// standard low/high frequency factors and original context must reproduce
/// every entry.
fn llama3_rope_scaling(freqs: &[f32], theta: f64, head_dim: usize) -> Option<Value> {
    let factor = freqs.iter().copied().fold(f32::MIN, f32::max) as f64;
    let (low, high, original) = (1.0, 4.0, 8192.0);
    if head_dim == 0 || freqs.len() != head_dim / 2 {
        return None;
    }
    let (low_wavelen, high_wavelen) = (original / low, original / high);
    for (i, &stored) in freqs.iter().enumerate() {
        let freq = 1.0 / theta.powf((2 * i) as f64 / head_dim as f64);
        let wavelen = 2.0 * std::f64::consts::PI / freq;
        let expected = if wavelen < high_wavelen {
            1.0
        } else if wavelen > low_wavelen {
            factor
        } else {
            let smooth = (original / wavelen - low) / (high - low);
            1.0 / ((1.0 - smooth) / factor + smooth)
        };
        if ((stored as f64) - expected).abs() > 1e-3 * expected {
            return None;
        }
    }
    Some(json!({
        "rope_type": "llama3", "factor": factor, "low_freq_factor": low,
        "high_freq_factor": high, "original_max_position_embeddings": original as i64,
    }))
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_bits_become_overrides_of_the_common_default() {
        let bits = BTreeMap::from([
            ("model.embed_tokens".to_string(), 8),
            ("model.layers.0.mlp.up_proj".to_string(), 4),
            ("model.layers.0.mlp.down_proj".to_string(), 4),
        ]);
        let q = quantization_config(&bits).unwrap();
        assert_eq!(q["bits"], 4);
        assert_eq!(q["group_size"], 32);
        assert_eq!(q["model.embed_tokens"]["bits"], 8);
        assert!(q.get("model.layers.0.mlp.up_proj").is_none());
        assert!(quantization_config(&BTreeMap::new()).is_none());
    }

    /// Llama 3.1's published rope_scaling, run through llama.cpp's formula,
    /// is recovered from the factors alone.
    #[test]
    fn llama3_rope_scaling_round_trips() {
        let (theta, head_dim, factor) = (500_000.0f64, 128usize, 8.0f64);
        let freqs: Vec<f32> = (0..head_dim / 2)
            .map(|i| {
                let freq = 1.0 / theta.powf((2 * i) as f64 / head_dim as f64);
                let wavelen = 2.0 * std::f64::consts::PI / freq;
                if wavelen < 8192.0 / 4.0 {
                    1.0
                } else if wavelen > 8192.0 {
                    factor as f32
                } else {
                    let smooth = (8192.0 / wavelen - 1.0) / 3.0;
                    (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
                }
            })
            .collect();
        let scaling = llama3_rope_scaling(&freqs, theta, head_dim).unwrap();
        assert_eq!(scaling["rope_type"], "llama3");
        assert_eq!(scaling["factor"], 8.0);
        let mut off = freqs.clone();
        off[40] *= 1.5;
        assert!(llama3_rope_scaling(&off, theta, head_dim).is_none());
    }
}
