//! `mlx-grpo data validate`.

use std::path::PathBuf;

use clap::Args;

/// `mlx-grpo data validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The JSONL file (plain or gzip).
    pub file: PathBuf,
    /// Stop at the first bad record.
    #[arg(long)]
    pub strict: bool,
    /// How many bad records to print (all are counted).
    #[arg(long, default_value_t = 10)]
    pub show: usize,
}
