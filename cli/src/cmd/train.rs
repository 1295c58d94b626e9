//! `mlx-grpo train` and `mlx-grpo sft`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use grpo::data_parallel::DataParallel;
use grpo::trainer::{Objective, Outcome, Trainer};
use grpo_dataset::{load, LoadOptions, Loaded};
use grpo_policy::policy::Policy;

use crate::args::TrainArgs;
use crate::{config_file, embedded, plot, ui, wandb};

mod external;
mod prompts;
mod ranks;

/// Skipped records named on standard error, per data set; the rest are
/// counted (and `mlx-grpo data validate` lists the malformed ones).
const SHOWN_ISSUES: usize = 5;

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
    // Custom rewards: the worker starts, and its functions are known by
    // name, before the settings are checked and before any model loads.
    let mut reward_names = config.reward_functions.clone();
    for p in &config.phases {
        reward_names.extend(p.reward_functions.iter().cloned());
    }
    let timeout = config.reward_timeout;
    if !(timeout.is_finite() && timeout > 0.0) {
        bail!("reward_timeout (--reward-timeout) is {timeout}: give a number of seconds > 0");
    }
    let external = external::start(
        &external::Options {
            file: config.reward_file.as_deref(),
            python: config.reward_python.as_deref(),
            command: config.reward_command.as_deref(),
            timeout: std::time::Duration::from_secs_f64(timeout),
            errors: config.reward_errors,
        },
        &reward_names,
    )?;
    config.validate().context("invalid settings")?;
    // Several processes under `mlx.launch` or `mpirun`: rank 0 writes the
    // run's files and reports; the others only compute.
    let dp = DataParallel::new(ranks::join()?, args.rollout_shards).context("invalid settings")?;
    let main = dp.is_main();
    // The run directory: a file, a run to resume (its settings checked
    // against the checkpoint's) or one to replace with --force.
    if main || args.resume {
        super::run_dir::prepare(&config, args.resume, args.force && main)?;
    }
    if config.wandb_project.is_some() && main {
        wandb::check()?;
    }
    let model = config.model.clone().expect("set above");

    let mut console = if main {
        ui::Console::new(config.steps_per_report, None)
    } else {
        ui::Console::silent()
    };
    if dp.is_distributed() {
        console.say(&format!(
            "Data parallel: {} processes; each takes {} of the {} prompts of every iteration",
            dp.ranks(),
            config.batch_size / dp.ranks(),
            config.batch_size
        ));
    }
    let mut train = load_data(&data, args.strict, "training")?;
    let mut val = config
        .val_data
        .as_ref()
        .map(|p| load_data(p, args.strict, "validation"))
        .transpose()?;

    console.say(&format!("Loading {model}"));
    let policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
    // Prompts measured in the model's tokens, and the memory of a batch,
    // before the trainer allocates anything.
    let mut sets: Vec<(&str, &mut Loaded)> = vec![("training", &mut train)];
    if let Some(v) = val.as_mut() {
        sets.push(("validation", v));
    }
    let fitted = {
        let mut loaded: Vec<&mut Loaded> = sets.iter_mut().map(|(_, l)| &mut **l).collect();
        prompts::check(
            &policy,
            &config,
            objective,
            args.strict,
            &mut loaded,
            LoadOptions::default().max_issues,
        )?
    };
    for ((what, loaded), fitted) in sets.iter().zip(&fitted) {
        report_data(loaded, what, fitted, &mut console);
    }
    let train = train.examples;
    let val = val.map(|v| v.examples);
    let mut trainer = Trainer::new_data_parallel(
        config.clone(),
        policy,
        &train,
        val.as_deref(),
        args.resume,
        objective,
        dp,
    )
    .context("setting up the run")?;
    if !main {
        let summary = trainer.run(&mut ui::Fanout(Vec::new()), stop)?;
        return Ok(match summary.outcome {
            Outcome::Finished => ExitCode::SUCCESS,
            Outcome::Interrupted => ExitCode::from(130),
        });
    }

    let yaml = config_file::to_yaml(&config)?;
    console.say(&format!("Settings:\n{}", indent(&yaml)));
    std::fs::write(config.adapter_path.join("train_config.yaml"), &yaml).with_context(|| {
        format!(
            "writing {}",
            config.adapter_path.join("train_config.yaml").display()
        )
    })?;
    // The console's copy of the run; a run whose log cannot be written
    // would leave no record of itself, so that stops it before any work.
    let log_path = config.adapter_path.join("train.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut console = ui::Console::new(config.steps_per_report, Some(log));
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
    if let Some(skipped) = external.as_ref().map(|e| e.skipped()).filter(|n| *n > 0) {
        console.say(&format!(
            "Custom rewards: {skipped} failed batches skipped (--reward-errors skip)"
        ));
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

fn load_data(path: &Path, strict: bool, what: &str) -> Result<Loaded> {
    load(
        path,
        &LoadOptions {
            strict,
            ..LoadOptions::default()
        },
    )
    .with_context(|| format!("loading the {what} data"))
}

/// The records kept, on standard output; the first few skipped ones, as
/// `file:line: reason`, on standard error.
fn report_data(loaded: &Loaded, what: &str, fitted: &prompts::Fitted, console: &mut ui::Console) {
    let report = &loaded.report;
    let path = report.path.display();
    let skipped = report.skipped_total();
    if skipped > 0 {
        eprintln!("warning: {what} data: {}", report.brief(SHOWN_ISSUES));
        let malformed = skipped
            - report
                .skipped
                .get(&grpo_dataset::IssueKind::PromptTooLong)
                .copied()
                .unwrap_or(0);
        if skipped > SHOWN_ISSUES.min(report.issues.len()) && malformed > 0 {
            eprintln!("  every malformed record: mlx-grpo data validate {path} --show {malformed}");
        }
    }
    if fitted.truncated > 0 {
        eprintln!(
            "note: {what} data: {} cut to at most {} tokens, keeping the end (--truncate-prompts)",
            plural(fitted.truncated, "prompt"),
            fitted.limit
        );
    }
    let skipped_note = if skipped > 0 {
        format!(" ({skipped} skipped, listed on stderr)")
    } else {
        String::new()
    };
    console.say(&format!(
        "{} {what} examples from {path}{skipped_note}",
        loaded.examples.len(),
    ));
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
