//! `mlx-grpo`: teach language models to call tools with GRPO on MLX.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd {
    pub mod data;
}

/// Teach language models to call tools with GRPO on Apple's MLX.
#[derive(Debug, Parser)]
#[command(name = "mlx-grpo", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert, generate, inspect and validate tool-calling data sets.
    Data(cmd::data::DataArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => cmd::data::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
