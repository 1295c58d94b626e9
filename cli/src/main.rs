//! `mlx-grpo`: teach language models to call tools with GRPO on MLX.

use clap::Parser;

/// Teach language models to call tools with GRPO on Apple's MLX.
#[derive(Debug, Parser)]
#[command(name = "mlx-grpo", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
