//! Checks of the run directory (`--adapter-path`) before `train` or `sft`
//! does any work, so that no run replaces or mixes with another by accident:
//!
//! - a path that is a file is refused;
//! - with `--resume`, the settings that cannot change during a run (adapter
//!   shape, data, seed, batch and group size) must be the checkpoint's; the
//!   others (iterations, learning rate, logging, …) may change, with a note;
//! - without it, a directory that holds a run (checkpoints, metrics or
//!   adapters) is refused unless `--force` is given, which deletes that run's
//!   files (and only those) first.

use std::path::Path;

use anyhow::{bail, Context, Result};
use grpo::config::TrainConfig;
use grpo::trainer::checkpoints_dir;

/// The files a run writes in its directory; `--force` deletes these only.
const RUN_FILES: &[&str] = &[
    "metrics.jsonl",
    "rollouts.jsonl",
    "eval.jsonl",
    "adapters.safetensors",
    "adapter_config.json",
    "train_config.yaml",
    "train.log",
    "training.png",
];

/// Runs the checks (and `--force`'s deletion) for the resolved and
/// validated settings of a run, before its data and model are loaded.
pub fn prepare(config: &TrainConfig, resume: bool, force: bool) -> Result<()> {
    let dir = &config.adapter_path;
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--adapter-path {} is a file; it must be a directory (adapters, checkpoints and metrics go there): choose another path",
            dir.display()
        );
    }
    if resume {
        return check_resume(config);
    }
    let holds = existing_run(dir)?;
    let Some(what) = holds else {
        return Ok(());
    };
    if !force {
        bail!(
            "--adapter-path {} already holds a run ({what}); continue it with --resume, start it over with --force (deletes its checkpoints and logs), or choose another --adapter-path",
            dir.display()
        );
    }
    eprintln!(
        "--force: deleting the previous run in {} ({what})",
        dir.display()
    );
    let checkpoints = checkpoints_dir(dir);
    if checkpoints.exists() {
        std::fs::remove_dir_all(&checkpoints)
            .with_context(|| format!("removing {}", checkpoints.display()))?;
    }
    for name in RUN_FILES {
        let path = dir.join(name);
        if path.is_file() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// What of a previous run `dir` holds, in words, if anything.
fn existing_run(dir: &Path) -> Result<Option<String>> {
    let checkpoints = grpo::checkpoint::list(&checkpoints_dir(dir))?;
    if let Some(last) = checkpoints.last() {
        return Ok(Some(format!(
            "{} checkpoint(s), the last after iteration {}",
            checkpoints.len(),
            last.iteration
        )));
    }
    let found: Vec<&str> = RUN_FILES
        .iter()
        .copied()
        .filter(|name| dir.join(name).is_file())
        .filter(|name| !matches!(*name, "train.log" | "train_config.yaml"))
        .collect();
    Ok((!found.is_empty()).then(|| found.join(", ")))
}

/// Refuses a resume whose fixed settings differ from the checkpoint's, and
/// notes the settings that changed otherwise.
fn check_resume(config: &TrainConfig) -> Result<()> {
    let root = checkpoints_dir(&config.adapter_path);
    if let Some((dir, allowed)) = grpo::checkpoint::check_resume(&root, config)? {
        if !allowed.is_empty() {
            let list: Vec<String> = allowed.iter().map(|c| format!("  {c}")).collect();
            eprintln!(
                "note: resuming {} with changed settings (checkpoint → now):\n{}",
                dir.display(),
                list.join("\n")
            );
        }
    }
    Ok(())
}
