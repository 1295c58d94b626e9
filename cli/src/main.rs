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
    pub mod run_dir;
    pub mod tools;
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
        Command::Train(args) => train(*args, Objective::Grpo),
        Command::Sft(args) => train(*args, Objective::Sft),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Fuse(args) => cmd::fuse::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Data(args) => cmd::data::run(args),
        Command::InitModel(args) => cmd::init_model::run(args),
        Command::Tools(args) => cmd::tools::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `train` or `sft`: Ctrl-C handled from the start, then the run (which
/// checks its directory first, see [`cmd::run_dir`]).
fn train(args: args::TrainArgs, objective: Objective) -> anyhow::Result<ExitCode> {
    let stop = interrupt_flag();
    cmd::train::run(args, objective, &stop)
}

/// Set by the first Ctrl-C (or SIGTERM, or SIGHUP): the run finishes its
/// iteration, saves a checkpoint and exits with 130. A second one exits at
/// once, also with 130; the last checkpoint stays intact (checkpoints are
/// written to a temporary name and renamed).
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            exit_now(
                b"\nInterrupted again: exiting now without a new checkpoint; the last checkpoint is intact.\n",
            );
        }
        eprintln!("\nInterrupt: finishing this iteration, then saving a checkpoint (Ctrl-C again to quit now).");
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not save a checkpoint: {e}");
    }
    flag
}

/// Writes `message` to standard error and ends the process with status 130
/// at once, from the signal-handling thread while the main thread may be
/// inside MLX or OpenBLAS.
///
/// `std::process::exit` is not usable here: it runs the C `atexit` handlers
/// and static destructors, and OpenBLAS's handler (`blas_thread_shutdown_`)
/// waits for worker threads that the main thread is using, so the process
/// hung or crashed. `_exit` ends the process without running anything, and
/// nothing needs running: checkpoints are complete on disk or not published.
/// The message is written with `write(2)`, not `eprintln!`, so that a main
/// thread holding the standard-error lock cannot block it.
fn exit_now(message: &[u8]) -> ! {
    #[cfg(unix)]
    // SAFETY: `write` reads `message.len()` bytes of a live slice; `_exit`
    // takes no pointers. Neither has preconditions beyond that.
    #[allow(unsafe_code)]
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(130);
    }
    #[cfg(not(unix))]
    {
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(message);
        std::process::exit(130);
    }
}
