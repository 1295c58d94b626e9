//! `mlx-grpo train` and `mlx-grpo sft`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use grpo::trainer::{Objective, Outcome, Trainer};
use grpo_dataset::{load, Example, LoadOptions};
use grpo_policy::policy::Policy;

use crate::args::TrainArgs;
use crate::{config_file, embedded, plot, ui, wandb};

/// Runs a training job to its end or to Ctrl-C.
pub fn run(args: TrainArgs, objective: Objective, stop: &AtomicBool) -> Result<ExitCode> {
    let mut args = args;
    let defaults = if args.model.is_none() {
        let name = match objective {
            Objective::Grpo => "grpo",
            Objective::Sft => "sft",
        };
        let model = embedded::model();
        if !model.join("config.json").is_file() {
            bail!(
                "no --model given and the embedded model is missing ({}); pass --model and --data, or set MLX_GRPO_FIXTURES to the fixtures/ directory of mlx-grpo's source",
                model.display()
            );
        }
        args.model = Some(model.display().to_string());
        if args.data.is_none() {
            args.data = Some(embedded::data("train"));
            if args.val_data.is_none() {
                args.val_data = Some(embedded::data("valid"));
            }
        }
        Some(embedded::run_config(name)).filter(|p| p.is_file())
    } else {
        None
    };
    let Some(data) = args.data.clone() else {
        bail!("--data is required with --model (a JSONL file in the tool-calling format)");
    };
    let config = config_file::resolve(&args, defaults.as_deref())?;
    config.validate().context("invalid settings")?;
    if config.wandb_project.is_some() {
        wandb::check()?;
    }
    let model = config.model.clone().expect("set above");

    let mut console = ui::Console::new(config.steps_per_report, None);
    let train = load_data(&data, args.strict, "training", &mut console)?;
    let val = config
        .val_data
        .as_ref()
        .map(|p| load_data(p, args.strict, "validation", &mut console))
        .transpose()?;

    console.say(&format!("Loading {model}"));
    let policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
    let mut trainer = Trainer::new(
        config.clone(),
        policy,
        &train,
        val.as_deref(),
        args.resume,
        objective,
    )
    .context("setting up the run")?;

    let yaml = config_file::to_yaml(&config)?;
    console.say(&format!("Settings:\n{}", indent(&yaml)));
    std::fs::write(config.adapter_path.join("train_config.yaml"), &yaml).with_context(|| {
        format!(
            "writing {}",
            config.adapter_path.join("train_config.yaml").display()
        )
    })?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.adapter_path.join("train.log"))
        .ok();
    let mut console = ui::Console::new(config.steps_per_report, log);
    let mut wandb = match &config.wandb_project {
        Some(project) => Some(wandb::Wandb::start(project, &config)?),
        None => None,
    };

    let summary = {
        let mut observers: Vec<&mut dyn grpo::observer::Observer> = vec![&mut console];
        if let Some(w) = wandb.as_mut() {
            observers.push(w);
        }
        trainer.run(&mut ui::Fanout(observers), stop)
    };
    console.finish();
    if let Some(w) = wandb {
        w.finish();
    }
    let summary = summary?;
    match plot::training_curves(&config.adapter_path) {
        Ok(path) => console.say(&format!("Plot: {}", path.display())),
        Err(e) => console.say(&format!("warning: no plot: {e:#}")),
    }
    let code = match summary.outcome {
        Outcome::Finished => {
            console.say(&format!(
                "Done: {} iterations. Adapters in {} (load with mlx_lm.load(model, adapter_path=...)); metrics in metrics.jsonl",
                summary.iterations_done,
                config.adapter_path.display()
            ));
            ExitCode::SUCCESS
        }
        Outcome::Interrupted => {
            console.say(&format!(
                "Interrupted after iteration {}; checkpoint saved. Continue with the same command and --resume.",
                summary.iterations_done
            ));
            ExitCode::from(130)
        }
    };
    // The last lines: what the run did to the held-out split.
    let evals =
        grpo::eval::EvalLine::read_log(&config.adapter_path.join("eval.jsonl")).unwrap_or_default();
    if let (Some(first), Some(last)) = (evals.first(), evals.last()) {
        if evals.len() > 1 {
            console.say(&ui::before_after(first, last));
        }
    }
    Ok(code)
}

fn load_data(
    path: &Path,
    strict: bool,
    what: &str,
    console: &mut ui::Console,
) -> Result<Vec<Example>> {
    let loaded = load(
        path,
        &LoadOptions {
            strict,
            ..LoadOptions::default()
        },
    )
    .with_context(|| format!("loading the {what} data"))?;
    let skipped = loaded.report.skipped_total();
    if skipped > 0 {
        console.say(&format!("warning: {what} data: {}", loaded.report));
    }
    console.say(&format!(
        "{} {what} examples from {}",
        loaded.examples.len(),
        path.display()
    ));
    Ok(loaded.examples)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
