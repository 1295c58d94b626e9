//! GGUF tensors → Hugging Face tensors: llama.cpp's names become
//! transformers' names, llama.cpp's rotary row order is undone, and
//! quantized blocks are kept as MLX quantized weights or dequantized.
//!
//! MLX's GGUF reader returns Q4_0, Q4_1 and Q8_0 tensors as MLX affine
//! quantization with group size 32 (`NAME.weight` packed into `u32`, plus
//! `NAME.scales` and `NAME.biases`), and every other type as floats.

use std::collections::{BTreeMap, HashMap};

use mlx_rs::{ops, Array, Dtype};

use super::metadata::Metadata;
use crate::error::Result;

/// The group size of every GGUF block type that MLX keeps quantized.
pub(crate) const GROUP_SIZE: i32 = 32;

/// How to store the weights of the converted checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufDtype {
    /// Keep quantized blocks as MLX 4/8-bit weights (the mlx-community
    /// layout); scales, biases and other floats become float32, which is
    /// exact for GGUF's float16 scales.
    Keep,
    /// Dequantize everything to float32.
    F32,
    /// Dequantize everything to float16.
    F16,
    /// Dequantize everything to bfloat16.
    Bf16,
}

impl GgufDtype {
    /// The float dtype of the written tensors.
    pub(crate) fn float(self) -> Dtype {
        match self {
            Self::Keep | Self::F32 => Dtype::Float32,
            Self::F16 => Dtype::Float16,
            Self::Bf16 => Dtype::Bfloat16,
        }
    }

    /// The name transformers gives that dtype (`torch_dtype`).
    pub(crate) fn torch_name(self) -> &'static str {
        match self {
            Self::Keep | Self::F32 => "float32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }
}

/// The converted tensors, and the bits of each module kept quantized.
pub(crate) struct Converted {
    pub tensors: HashMap<String, Array>,
    /// HF module path (`model.layers.0.self_attn.q_proj`) → bits.
    pub quantized: BTreeMap<String, i32>,
}

/// What the rotary un-permutation needs: llama.cpp reorders the rows of
/// Q and K of Llama-family models (its "permute"), per head.
pub(crate) struct Rotary {
    pub permuted: bool,
    pub heads: i32,
    pub kv_heads: i32,
}

/// llama.cpp's module name → transformers' (without `.weight`).
fn hf_module(gguf: &str) -> Option<String> {
    let fixed = match gguf {
        "token_embd" => Some("model.embed_tokens"),
        "output_norm" => Some("model.norm"),
        "output" => Some("lm_head"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.to_string());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    layer.parse::<u32>().ok()?;
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}"))
}

/// Undoes llama.cpp's permutation of the rows of a Q or K projection
/// (`reshape(heads, 2, rows/heads/2, ...).swapaxes(1, 2)` in its converter).
/// Works on any tensor whose first axis is the projection's output rows:
/// the weight, a quantized weight's scales and biases, a bias.
fn unpermute(a: &Array, heads: i32) -> Result<Array> {
    let shape = a.shape().to_vec();
    let rows = shape[0];
    let mut split = vec![heads, rows / heads / 2, 2];
    split.extend_from_slice(&shape[1..]);
    Ok(a.reshape(&split)?.swap_axes(1, 2)?.reshape(&shape)?)
}

/// Converts every tensor of the file.
pub(crate) fn convert(
    arrays: HashMap<String, Array>,
    meta: &Metadata<'_>,
    rotary: &Rotary,
    dtype: GgufDtype,
) -> Result<Converted> {
    // Group by module: NAME.weight / NAME.scales / NAME.biases / NAME.bias.
    let mut modules: BTreeMap<String, BTreeMap<String, Array>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for (name, array) in arrays {
        let Some((module, suffix)) = name.rsplit_once('.') else {
            skipped.push(name);
            continue;
        };
        if module == "rope_freqs" {
            // Llama 3.1's rope factors: read into `rope_scaling` instead.
            continue;
        }
        modules
            .entry(module.to_string())
            .or_default()
            .insert(suffix.to_string(), array);
    }
    let mut out = Converted {
        tensors: HashMap::new(),
        quantized: BTreeMap::new(),
    };
    let float = dtype.float();
    for (module, mut parts) in modules {
        let Some(hf) = hf_module(&module) else {
            skipped.push(module);
            continue;
        };
        let heads = match module.rsplit('.').next() {
            Some("attn_q") if rotary.permuted => Some(rotary.heads),
            Some("attn_k") if rotary.permuted => Some(rotary.kv_heads),
            _ => None,
        };
        if let Some(heads) = heads {
            for a in parts.values_mut() {
                *a = unpermute(a, heads)?;
            }
        }
        let weight = parts
            .remove("weight")
            .ok_or_else(|| meta.error(format!("tensor `{module}` has no weight")))?;
        match (parts.remove("scales"), parts.remove("biases")) {
            (Some(scales), Some(biases)) => {
                let bits = weight.shape()[1] * 32 / (scales.shape()[1] * GROUP_SIZE);
                if dtype == GgufDtype::Keep {
                    out.quantized.insert(hf.clone(), bits);
                    out.tensors.insert(format!("{hf}.weight"), weight);
                    out.tensors
                        .insert(format!("{hf}.scales"), scales.as_dtype(float)?);
                    out.tensors
                        .insert(format!("{hf}.biases"), biases.as_dtype(float)?);
                } else {
                    let dense = ops::dequantize(
                        &weight,
                        &scales.as_dtype(Dtype::Float32)?,
                        &biases.as_dtype(Dtype::Float32)?,
                        GROUP_SIZE,
                        bits,
                    )?;
                    out.tensors
                        .insert(format!("{hf}.weight"), dense.as_dtype(float)?);
                }
            }
            (None, None) => {
                if !matches!(
                    weight.dtype(),
                    Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16
                ) {
                    return Err(meta.error(format!(
                        "tensor `{module}.weight` has type {:?}, which MLX does not read as floats",
                        weight.dtype()
                    )));
                }
                out.tensors
                    .insert(format!("{hf}.weight"), weight.as_dtype(float)?);
            }
            _ => {
                return Err(meta.error(format!(
                    "tensor `{module}` has only one of scales and biases"
                )))
            }
        }
        if let Some(bias) = parts.remove("bias") {
            out.tensors
                .insert(format!("{hf}.bias"), bias.as_dtype(float)?);
        }
        if let Some(other) = parts.keys().next() {
            return Err(meta.error(format!("unexpected tensor `{module}.{other}`")));
        }
    }
    if !skipped.is_empty() {
        skipped.sort();
        return Err(meta.error(format!(
            "tensors with no place in a transformers checkpoint: {}",
            skipped.join(", ")
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_transformers() {
        assert_eq!(hf_module("token_embd").unwrap(), "model.embed_tokens");
        assert_eq!(
            hf_module("blk.12.attn_output").unwrap(),
            "model.layers.12.self_attn.o_proj"
        );
        assert_eq!(
            hf_module("blk.0.ffn_norm").unwrap(),
            "model.layers.0.post_attention_layernorm"
        );
        assert!(hf_module("blk.x.attn_q").is_none());
        assert!(hf_module("blk.0.ssm_conv").is_none());
    }

    /// llama.cpp's permutation, written as its converter writes it, is
    /// undone exactly.
    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        let (heads, head_dim, cols) = (3, 4, 2);
        let rows = heads * head_dim;
        let original = Array::from_iter(0..rows * cols, &[rows, cols]);
        let permuted = original
            .reshape(&[heads, 2, head_dim / 2, cols])
            .unwrap()
            .swap_axes(1, 2)
            .unwrap()
            .reshape(&[rows, cols])
            .unwrap();
        assert_ne!(
            permuted.as_slice::<i32>(),
            original.as_slice::<i32>(),
            "the permutation moves rows"
        );
        let restored = unpermute(&permuted, heads).unwrap();
        assert_eq!(restored.as_slice::<i32>(), original.as_slice::<i32>());
    }
}
