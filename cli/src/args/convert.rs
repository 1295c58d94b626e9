//! `mlx-grpo convert`.

use std::path::PathBuf;

use clap::Args;

use super::ConvertDtype;

/// `mlx-grpo convert`.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The GGUF file to import (architectures llama, qwen2, qwen3; byte-level
    /// BPE tokenizers).
    #[arg(long, value_name = "FILE.gguf")]
    pub from_gguf: PathBuf,
    /// The model directory to write (config.json, model.safetensors and the
    /// tokenizer files).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How to store the weights: `keep` writes Q4_0/Q4_1/Q8_0 blocks as MLX
    /// 4/8-bit weights without loss (the mlx-community layout, for QLoRA);
    /// `f32`, `f16` and `bf16` dequantize.
    #[arg(long, value_enum, default_value_t = ConvertDtype::Keep)]
    pub dtype: ConvertDtype,
    /// Replace --out if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
}
