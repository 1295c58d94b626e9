//! `mlx-grpo data stats`.

use std::path::PathBuf;

use clap::Args;

/// `mlx-grpo data stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The JSONL file (plain or gzip).
    pub file: PathBuf,
    /// A tokenizer.json (or a model directory holding one) to count tokens.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Print the statistics as JSON.
    #[arg(long)]
    pub json: bool,
}
