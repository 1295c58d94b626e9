//! `mlx-grpo data convert`.

use std::path::PathBuf;

use clap::Args;

use super::FromFormat;

/// `mlx-grpo data convert`.
#[derive(Debug, Args)]
pub struct DataConvertArgs {
    /// The source format.
    #[arg(long = "from", value_enum)]
    pub from: FromFormat,
    /// The BFCL possible-answer file matching the question file.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Write the function list in prompts on one line (fewer tokens).
    #[arg(long)]
    pub compact: bool,
    /// How many rejected records to print (all are counted).
    #[arg(long, default_value_t = 10)]
    pub show: usize,
    /// The source file (plain or gzip); with --from bfcl, also a BFCL data
    /// directory.
    pub input: PathBuf,
    /// The JSONL file to write (gzip when it ends in .gz); for a BFCL data
    /// directory, a directory that gets one <category>.jsonl per category.
    pub output: PathBuf,
}
