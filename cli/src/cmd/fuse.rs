//! `mlx-grpo fuse`: a standalone model with the adapters folded in.

use std::process::ExitCode;

use anyhow::{Context, Result};
use grpo_policy::adapters;
use grpo_policy::policy::Policy;

use crate::args::FuseArgs;
use crate::embedded;

/// Loads model + adapters, folds them, and writes a model directory
/// (config, weights, tokenizer files) that mlx-grpo and mlx-lm load.
pub fn run(args: FuseArgs) -> Result<ExitCode> {
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| embedded::model().display().to_string());
    let mut policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
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
    policy.model.save(&args.save_path, &config)?;
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
        "chat_template.jinja",
    ] {
        let from = policy.dir.join(name);
        if from.is_file() {
            std::fs::copy(&from, args.save_path.join(name))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    println!("Fused model written to {}", args.save_path.display());
    Ok(ExitCode::SUCCESS)
}
