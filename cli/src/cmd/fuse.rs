//! `mlx-grpo fuse`: a standalone model with the adapters folded in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use grpo_policy::adapters;
use grpo_policy::output_dir::OutputDir;
use grpo_policy::policy::Policy;

use crate::args::FuseArgs;
use crate::embedded;

/// Loads model + adapters, folds them, and writes a model directory
/// (config, weights, tokenizer files) that mlx-grpo and mlx-lm load.
///
/// The output is written into a temporary directory that is renamed into
/// place at the end, so a failure leaves `--save-path` as it was. An output
/// that is (or is inside, or holds) the model or the adapters is refused,
/// `--force` or not; an existing non-empty one needs `--force`.
pub fn run(args: FuseArgs) -> Result<ExitCode> {
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| embedded::model().display().to_string());
    // Checked before any work, and again on the resolved model directory
    // (a Hub id is only known as a directory once resolved).
    refuse_overlap(&args.save_path, Path::new(&model), "the model directory")?;
    refuse_overlap(&args.save_path, &args.adapter_path, "the adapter directory")?;
    let out = OutputDir::create(&args.save_path, args.force)?;

    let mut policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
    refuse_overlap(&args.save_path, &policy.dir, "the model directory")?;
    policy
        .load_adapters(&args.adapter_path)
        .with_context(|| format!("loading adapters from {}", args.adapter_path.display()))?;
    adapters::fuse(&mut policy.model, args.dequantize)?;
    let config_path = policy.dir.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?,
    )?;
    if args.dequantize {
        if let Some(obj) = config.as_object_mut() {
            obj.remove("quantization");
            obj.remove("quantization_config");
        }
    }
    policy.model.save(out.path(), &config)?;
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
        "chat_template.jinja",
    ] {
        let from = policy.dir.join(name);
        if from.is_file() {
            std::fs::copy(&from, out.path().join(name))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    let written = out.commit()?;
    println!("Fused model written to {}", written.display());
    Ok(ExitCode::SUCCESS)
}

/// Fails when writing `out` would write over `input` while it is read:
/// the same directory, one inside the other (through any symbolic links).
fn refuse_overlap(out: &Path, input: &Path, what: &str) -> Result<()> {
    if !input.exists() {
        return Ok(());
    }
    let (Some(out_abs), Ok(input_abs)) = (absolute(out), input.canonicalize()) else {
        return Ok(());
    };
    if out_abs == input_abs {
        bail!(
            "--save-path {} is {what} being read; choose another directory",
            out.display()
        );
    }
    if input_abs.starts_with(&out_abs) || out_abs.starts_with(&input_abs) {
        bail!(
            "--save-path {} overlaps {what} {} (one is inside the other); choose a directory outside it",
            out.display(),
            input.display()
        );
    }
    Ok(())
}

/// `path` made absolute with its symbolic links resolved, for a path that
/// may not exist yet (its nearest existing ancestor is resolved).
fn absolute(path: &Path) -> Option<PathBuf> {
    let mut existing = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        rest.push(existing.file_name()?.to_os_string());
        existing = existing.parent()?.to_path_buf();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_nested_or_enclosing_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let model = root.path().join("m");
        std::fs::create_dir(&model).unwrap();
        let err = |out: &Path| {
            refuse_overlap(out, &model, "the model")
                .unwrap_err()
                .to_string()
        };
        assert!(err(&model).contains("is the model"), "{}", err(&model));
        assert!(err(&root.path().join("m/./")).contains("is the model"));
        assert!(err(&model.join("fused")).contains("overlaps"));
        assert!(err(root.path()).contains("overlaps"));
        refuse_overlap(&root.path().join("m2"), &model, "the model").unwrap();
        refuse_overlap(&root.path().join("new/deeper"), &model, "the model").unwrap();
        // A missing input (a Hub id before it is resolved) is not compared.
        refuse_overlap(&model, Path::new("org/name-not-here"), "the model").unwrap();
    }
}
