//! The command line, every subcommand's arguments in one place (one file
//! each). Flag names and meanings follow the user's guide
//! (`--group-size`, `--reward-functions`, …); doc comments are the help.

mod convert;
mod convert_dtype;
mod data;
mod eval;
mod fuse;
mod init_model;
mod train;

use clap::{Parser, Subcommand};

pub use convert::ConvertArgs;
pub use convert_dtype::ConvertDtype;
pub use data::{
    DataArgs, DataCommand, DataConvertArgs, FromFormat, StatsArgs, SynthArgs, ValidateArgs,
};
pub use eval::EvalArgs;
pub use fuse::FuseArgs;
pub use init_model::InitModelArgs;
pub use train::TrainArgs;

/// Teach language models to call tools with GRPO on Apple's MLX.
///
/// Run `mlx-grpo train` with no arguments to train the small model that ships
/// with mlx-grpo on its tool-calling data (offline, a few minutes on a
/// laptop CPU). Point `--model` at a Hugging Face or MLX checkpoint
/// (e.g. mlx-community/Qwen2.5-0.5B-Instruct-4bit) and `--data` at a JSONL
/// file in the guide's format to train your own.
#[derive(Debug, Parser)]
#[command(name = "mlx-grpo", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model to call tools with GRPO.
    #[command(allow_negative_numbers = true)]
    Train(Box<TrainArgs>),
    /// Supervised fine-tuning on the answers (a warm start before GRPO).
    #[command(allow_negative_numbers = true)]
    Sft(Box<TrainArgs>),
    /// Score a model (with or without adapters) on a tool-calling JSONL file.
    Eval(EvalArgs),
    /// Fold adapters into the model and write a standalone model directory.
    Fuse(FuseArgs),
    /// Import a GGUF file (llama.cpp's format) as a Hugging Face-layout
    /// model directory that mlx-grpo and mlx-lm load.
    Convert(ConvertArgs),
    /// Convert, generate, inspect and validate tool-calling data sets.
    Data(DataArgs),
    /// Create a small random model with a tokenizer trained on a data set
    /// (how the embedded model starts).
    InitModel(InitModelArgs),
    /// Run the built-in MCP tool server, or try any MCP server by hand.
    Tools(crate::cmd::tools::ToolsArgs),
}
