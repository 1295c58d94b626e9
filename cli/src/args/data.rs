//! `mlx-grpo data`: its subcommands, one file each under `data/`.

mod convert;
mod from_format;
mod stats;
mod synth;
mod validate;

use clap::{Args, Subcommand};

pub use convert::DataConvertArgs;
pub use from_format::FromFormat;
pub use stats::StatsArgs;
pub use synth::SynthArgs;
pub use validate::ValidateArgs;

/// Arguments of `mlx-grpo data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Convert a public tool-calling data set into the guide's JSONL format.
    Convert(DataConvertArgs),
    /// Generate synthetic tool-calling tasks into train/valid/test files.
    Synth(SynthArgs),
    /// Summarise a data set: kinds, sources, functions, lengths, bad records.
    Stats(StatsArgs),
    /// Check every record; exits with status 1 if any is bad.
    Validate(ValidateArgs),
}
