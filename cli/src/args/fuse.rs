//! `mlx-grpo fuse`.

use std::path::PathBuf;

use clap::Args;

/// `mlx-grpo fuse`.
#[derive(Debug, Clone, Args)]
pub struct FuseArgs {
    /// Model directory or Hugging Face repo id [default: the embedded tiny model].
    #[arg(long)]
    pub model: Option<String>,
    /// Adapters to fold in.
    #[arg(long)]
    pub adapter_path: PathBuf,
    /// Where to write the fused model: a new or empty directory (never the
    /// model's or the adapters' own).
    #[arg(long)]
    pub save_path: PathBuf,
    /// Write dense weights even if the base is quantized.
    #[arg(long)]
    pub dequantize: bool,
    /// Replace --save-path if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
}
