//! `mlx-grpo init-model`.

use std::path::PathBuf;

use clap::Args;

/// `mlx-grpo init-model`.
#[derive(Debug, Clone, Args)]
pub struct InitModelArgs {
    /// JSONL data (the guide's format) whose prompts and answers train the tokenizer.
    #[arg(long)]
    pub data: PathBuf,
    /// Directory to create (new or empty; see --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out if it exists and is not empty (an existing model there
    /// is replaced only once the new one is complete).
    #[arg(long)]
    pub force: bool,
    /// Vocabulary size, special tokens included.
    #[arg(long, default_value_t = 2048)]
    pub vocab_size: usize,
    /// Width of the residual stream.
    #[arg(long, default_value_t = 256)]
    pub hidden_size: i32,
    /// Decoder blocks.
    #[arg(long, default_value_t = 4)]
    pub num_layers: i32,
    /// Query heads.
    #[arg(long, default_value_t = 4)]
    pub num_heads: i32,
    /// Key/value heads.
    #[arg(long, default_value_t = 2)]
    pub num_kv_heads: i32,
    /// Width of the MLP.
    #[arg(long, default_value_t = 768)]
    pub intermediate_size: i32,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
