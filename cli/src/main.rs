//! `mlx-grpo`: teach language models to call tools with GRPO on MLX.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

mod args;
mod cmd {
    pub mod convert;
    pub mod data;
    pub mod eval;
    pub mod fuse;
    pub mod init_model;
    pub mod train;
}
mod config_file;
mod embedded;
mod plot;
mod ui;
mod wandb;

use args::{Cli, Command};
use grpo::trainer::Objective;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => cmd::train::run(*args, Objective::Grpo, &interrupt_flag()),
        Command::Sft(args) => cmd::train::run(*args, Objective::Sft, &interrupt_flag()),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Fuse(args) => cmd::fuse::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Data(args) => cmd::data::run(args),
        Command::InitModel(args) => cmd::init_model::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Set by the first Ctrl-C: the run finishes its iteration, saves a
/// checkpoint and exits. A second Ctrl-C exits at once (the last checkpoint
/// stays intact: checkpoints are written to a temporary name and renamed).
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nInterrupted again: exiting without a new checkpoint.");
            std::process::exit(130);
        }
        eprintln!("\nInterrupt: finishing this iteration, then saving a checkpoint (Ctrl-C again to quit now).");
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not save a checkpoint: {e}");
    }
    flag
}
