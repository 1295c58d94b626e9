//! `mlx-grpo train` and `mlx-grpo sft`: the flags of a run's settings.

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::{Arg, Args};
use grpo::config::{ScheduleKind, TrainConfig};
use grpo::importance_sampling::ImportanceSamplingLevel;
use grpo::loss::LossType;
use grpo::reward_errors::RewardErrors;
use grpo::scale_rewards::ScaleRewards;
use grpo_policy::adapters::FineTuneType;
use serde::Serialize;
use serde_json::{Map, Value};

/// `mlx-grpo train` (and `sft`): every setting of a run. Unset flags come
/// from `--config`, then from the defaults shown.
///
/// Each setting is a field named as its [`TrainConfig`] field (the flag is
/// that name with `-`, the YAML key that name), of the library's own type
/// wrapped in `Option` (`None`: not given). The flags become settings by
/// serialising this struct, so a flag cannot be left out of the overlay;
/// fields that are not settings are `#[serde(skip)]`. Defaults are not
/// written here: [`with_default`] adds them to the help from
/// `TrainConfig::default()`.
///
/// Negative numbers parse wherever they stand (`allow_negative_numbers` on
/// the subcommands); the float flags also take `allow_hyphen_values`,
/// because clap's test for a negative number rejects a signed exponent
/// (`--learning-rate -1e-5`). List flags (`--reward-weights 1 2 3`) end at
/// the next flag.
#[derive(Debug, Clone, Default, Args, Serialize)]
#[command(mut_args = with_default)]
pub struct TrainArgs {
    /// Model directory or Hugging Face repo id (from the local cache)
    /// [default: the embedded tiny model].
    #[arg(long, help_heading = "Model and data")]
    pub model: Option<String>,
    /// Training data, JSONL in the guide's tool-calling format
    /// [default: the embedded data set].
    #[arg(long, help_heading = "Model and data")]
    pub data: Option<PathBuf>,
    /// Validation data, scored every --steps-per-eval iterations.
    #[arg(long, help_heading = "Model and data")]
    pub val_data: Option<PathBuf>,
    /// YAML file with any of these settings (keys are flag names, `-` or
    /// `_`); flags given here override it.
    #[arg(long, help_heading = "Model and data")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Train (accepted for compatibility with mlx-lm style commands; this
    /// subcommand always trains).
    #[arg(long, help_heading = "Model and data")]
    #[serde(skip)]
    pub train: bool,
    /// Stop at the first malformed data line instead of skipping and counting.
    #[arg(long, help_heading = "Model and data")]
    #[serde(skip)]
    pub strict: bool,

    /// What to train: lora, dora or full.
    #[arg(long, value_enum, help_heading = "Fine-tuning")]
    pub train_type: Option<FineTuneType>,
    /// Adapt the last N transformer blocks; -1 for all.
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_layers: Option<i32>,
    /// Adapter rank.
    #[arg(long, help_heading = "Fine-tuning")]
    pub lora_rank: Option<i32>,
    /// Adapter alpha; updates are scaled by alpha / rank.
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_alpha: Option<f32>,
    /// Dropout on adapter inputs.
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_dropout: Option<f32>,
    /// Projections to adapt; add mlp.gate_proj mlp.up_proj mlp.down_proj
    /// for the MLP.
    #[arg(long, num_args = 1.., help_heading = "Fine-tuning")]
    pub lora_keys: Option<Vec<String>>,
    /// Recompute activations in the backward pass to save memory
    /// (`--grad-checkpoint` or `--grad-checkpoint true`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Fine-tuning")]
    pub grad_checkpoint: Option<bool>,
    /// Prompts, each with its group, per forward and backward pass of a
    /// GRPO update (0: the whole batch): the gradients of these
    /// micro-batches are summed into the update of the whole batch, with
    /// the activations of one micro-batch in memory at a time.
    #[arg(long, value_name = "PROMPTS", help_heading = "Fine-tuning")]
    pub micro_batch_size: Option<usize>,

    /// Training iterations.
    #[arg(long, help_heading = "Optimisation")]
    pub iters: Option<usize>,
    /// Prompts per iteration, over all processes of a distributed run
    /// (each takes an equal share).
    #[arg(long, help_heading = "Optimisation")]
    pub batch_size: Option<usize>,
    /// Completions sampled per prompt; advantages compare them.
    #[arg(long, help_heading = "Optimisation")]
    pub group_size: Option<usize>,
    /// Peak learning rate.
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub learning_rate: Option<f32>,
    /// Linear warmup, in optimizer steps: GRPO takes --num-iterations of
    /// them per iteration, SFT one.
    #[arg(long, help_heading = "Optimisation")]
    pub warmup_steps: Option<usize>,
    /// Learning-rate schedule after warmup: constant or cosine.
    #[arg(long, value_enum, help_heading = "Optimisation")]
    pub lr_schedule: Option<ScheduleKind>,
    /// Final learning rate of the cosine schedule.
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub min_learning_rate: Option<f32>,
    /// AdamW weight decay.
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub weight_decay: Option<f32>,
    /// Clip the global gradient norm to this; 0 for no clipping.
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub max_grad_norm: Option<f32>,
    /// Seed of data order, sampling and adapter initialisation.
    #[arg(long, help_heading = "Optimisation")]
    pub seed: Option<u64>,

    /// Most tokens per completion.
    #[arg(long, help_heading = "Generation")]
    pub max_completion_length: Option<usize>,
    /// Most tokens per prompt, chat template included (TRL's
    /// max_prompt_length). Each prompt must also leave room for
    /// --max-completion-length in the model's context
    /// (max_position_embeddings in config.json). Longer prompts are
    /// skipped, each named on stderr with its length, or cut with
    /// --truncate-prompts [default: the context's limit only].
    #[arg(long, help_heading = "Generation")]
    pub max_prompt_length: Option<usize>,
    /// Cut a prompt that is too long instead of skipping it: its last
    /// tokens are kept (the start of its text is dropped, as TRL truncates
    /// on the left; the chat template's framing stays). With the guide's
    /// prompts that drops the function list first, so shorter prompts are
    /// better. Records with `messages` are skipped, not cut.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Generation")]
    pub truncate_prompts: Option<bool>,
    /// Sampling temperature of rollouts.
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub temperature: Option<f32>,
    /// Nucleus sampling; 1 for off.
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub top_p: Option<f32>,
    /// Top-k sampling; 0 for off.
    #[arg(long, help_heading = "Generation")]
    pub top_k: Option<i32>,
    /// Min-p sampling; 0 for off.
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub min_p: Option<f32>,
    /// Completions must open with a closed reasoning block; those that do
    /// not score 0 on every reward (tool calling needs no reasoning).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Generation")]
    pub enforce_thinking: Option<bool>,
    /// Opening reasoning tag.
    #[arg(long, help_heading = "Generation")]
    pub think_start: Option<String>,
    /// Closing reasoning tag.
    #[arg(long, help_heading = "Generation")]
    pub think_end: Option<String>,
    /// Two-phase recovery: at most N samples per group that hit the length
    /// limit inside their reasoning get a forced --think-end and a short
    /// answer budget; -1 for off, >= --group-size for all.
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub two_phase_samples_per_group: Option<i64>,
    /// Two-phase recovery: answer tokens sampled after the forced
    /// --think-end.
    #[arg(long, help_heading = "Generation")]
    pub two_phase_answer_length: Option<usize>,
    /// The model's turns per completion at most: a turn with tool calls
    /// gets their results (run by the `tools:` servers of --config) and
    /// another turn, and --max-completion-length bounds the whole
    /// trajectory; 1 is single-turn, no tool run.
    #[arg(long, help_heading = "Generation")]
    pub max_turns: Option<usize>,
    /// Seconds one tool call may take before the model gets a timeout
    /// error as its result.
    #[arg(long, value_name = "SECONDS", help_heading = "Generation")]
    pub tool_timeout: Option<f64>,

    /// KL penalty to the base model; 0 skips the reference pass.
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub beta: Option<f32>,
    /// Lower clip range of the importance ratio.
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub epsilon: Option<f32>,
    /// Upper clip range (DAPO's clip-higher) [default: --epsilon].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub epsilon_high: Option<f32>,
    /// Loss aggregation: grpo, bnpo, dr_grpo or dapo.
    #[arg(long, value_enum, help_heading = "GRPO objective")]
    pub loss_type: Option<LossType>,
    /// Optimizer steps on each batch of completions.
    #[arg(long, help_heading = "GRPO objective")]
    pub num_iterations: Option<usize>,
    /// What group-centred rewards are divided by, as TRL's
    /// scale_rewards: `group` (the group's std), `batch` (the whole
    /// batch's std) or `none` (Dr. GRPO); `true` / `false` mean group /
    /// none.
    #[arg(long, num_args = 0..=1, default_missing_value = "group", value_name = "group|batch|none", help_heading = "GRPO objective")]
    pub scale_rewards: Option<ScaleRewards>,
    /// Leave completions cut by the length limit out of the loss.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "GRPO objective")]
    pub mask_truncated_completions: Option<bool>,
    /// Importance ratio per `token`, or per `sequence` (GSPO's
    /// length-normalised sequence ratio, clipped whole), as TRL's
    /// importance_sampling_level.
    #[arg(long, value_name = "token|sequence", help_heading = "GRPO objective")]
    pub importance_sampling_level: Option<ImportanceSamplingLevel>,
    /// Train only on this fraction of completion tokens, those of highest
    /// entropy in the batch (TRL's top_entropy_quantile; 0.2 keeps the top
    /// 20%; 1 trains on every token).
    #[arg(long, value_name = "Q", help_heading = "GRPO objective")]
    pub top_entropy_quantile: Option<f32>,
    /// DAPO's dynamic sampling: groups whose completions all got the same
    /// reward carry no signal, so sample fresh prompts, in at most ROUNDS
    /// extra rollouts per iteration, and train on groups that differ;
    /// `--dynamic-sampling` alone allows 3, and 0 is off.
    #[arg(long, num_args = 0..=1, default_missing_value = "3", value_name = "ROUNDS", help_heading = "GRPO objective")]
    pub dynamic_sampling: Option<usize>,
    /// Reward functions: tool_call_exact, tool_call_function,
    /// tool_call_params, tool_call_overall, tool_call_parseable,
    /// tool_call_format, tool_call_concise, final_answer. For phases of
    /// different rewards, use `phases:` in --config.
    #[arg(long, num_args = 1.., help_heading = "GRPO objective")]
    pub reward_functions: Option<Vec<String>>,
    /// One weight per reward function [default: 1 each].
    #[arg(long, num_args = 1.., help_heading = "GRPO objective")]
    pub reward_weights: Option<Vec<f32>>,
    /// Python file of reward functions with TRL's signature
    /// (`def f(completions, prompts=None, completion_ids=None, **kwargs)
    /// -> list[float | None]`, data set columns as lists); name them in
    /// --reward-functions. Run by one Python worker for the whole run.
    #[arg(long, value_name = "PATH", help_heading = "Custom rewards")]
    pub reward_file: Option<PathBuf>,
    /// The Python that runs --reward-file [default: .venv/bin/python of
    /// the current directory or one above, else python3].
    #[arg(long, value_name = "PATH", help_heading = "Custom rewards")]
    pub reward_python: Option<PathBuf>,
    /// A long-lived program that scores batches over the line protocol of
    /// docs/rewards.md (run by `sh -c`), instead of --reward-file.
    #[arg(long, value_name = "CMD ARGS", help_heading = "Custom rewards")]
    pub reward_command: Option<String>,
    /// Seconds a custom reward may take for one batch before its worker is
    /// stopped.
    #[arg(long, value_name = "SECONDS", help_heading = "Custom rewards")]
    pub reward_timeout: Option<f64>,
    /// What an exception or a timeout in a custom reward does: `stop` the
    /// run (with a checkpoint) or `skip` the batch for that reward (scored
    /// as not applicable, counted).
    #[arg(long, value_enum, help_heading = "Custom rewards")]
    pub reward_errors: Option<RewardErrors>,
    /// Give the first part of the reference answer at the start of each
    /// completion (no loss on it), shrinking from --curriculum-start-ratio
    /// to --curriculum-end-ratio over --curriculum-steps iterations.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "GRPO objective")]
    pub curriculum_enabled: Option<bool>,
    /// Scaffold fraction at the start.
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub curriculum_start_ratio: Option<f32>,
    /// Scaffold fraction at the end.
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub curriculum_end_ratio: Option<f32>,
    /// Iterations over which the scaffold fraction moves.
    #[arg(long, help_heading = "GRPO objective")]
    pub curriculum_steps: Option<usize>,

    /// Where adapters, checkpoints, metrics and the plot go.
    #[arg(long, help_heading = "Output")]
    pub adapter_path: Option<PathBuf>,
    /// Checkpoint every N iterations and at the end.
    #[arg(long, help_heading = "Output")]
    pub save_every: Option<usize>,
    /// Checkpoints kept.
    #[arg(long, help_heading = "Output")]
    pub keep_checkpoints: Option<usize>,
    /// Report every N iterations.
    #[arg(long, help_heading = "Output")]
    pub steps_per_report: Option<usize>,
    /// Validate every N iterations (with --val-data).
    #[arg(long, help_heading = "Output")]
    pub steps_per_eval: Option<usize>,
    /// Validation examples scored each time; 0 for all.
    #[arg(long, help_heading = "Output")]
    pub val_examples: Option<usize>,
    /// Log every completion to rollouts.jsonl every N iterations; 0 for
    /// never.
    #[arg(long, help_heading = "Output")]
    pub log_rollouts_every: Option<usize>,
    /// Also log to this Weights & Biases project (needs `pip install wandb`
    /// in .venv; offline when there is no network).
    #[arg(long, help_heading = "Output")]
    pub wandb_project: Option<String>,
    /// Continue from the last checkpoint in --adapter-path (with the same
    /// settings; iterations, learning rate and logging may change).
    #[arg(long, help_heading = "Output")]
    #[serde(skip)]
    pub resume: bool,
    /// Start a new run in an --adapter-path that holds one: its
    /// checkpoints, logs and adapters are deleted first.
    #[arg(long, help_heading = "Output", conflicts_with = "resume")]
    #[serde(skip)]
    pub force: bool,
    /// Cut each iteration's --batch-size prompts into N shards, each
    /// generated with its own random key and differentiated as one unit
    /// [default: one per process]. A run of one process with
    /// --rollout-shards N repeats a run on N processes (`mlx.launch`).
    #[arg(long, help_heading = "Distributed")]
    #[serde(skip)]
    pub rollout_shards: Option<usize>,
}

impl TrainArgs {
    /// The settings given as flags, keyed as in [`TrainConfig`] (and the
    /// YAML files): every field but the `#[serde(skip)]` ones, when given.
    pub fn settings(&self) -> serde_json::Result<Map<String, Value>> {
        let Value::Object(mut map) = serde_json::to_value(self)? else {
            unreachable!("a struct serialises to a map")
        };
        map.retain(|_, v| !v.is_null());
        Ok(map)
    }
}

/// Appends `[default: …]` to the help of a flag whose setting has a value
/// by default, from `TrainConfig::default()`, so that the help cannot
/// disagree with the library. Settings that default to nothing (`None`)
/// describe their default in their doc comment.
fn with_default(arg: Arg) -> Arg {
    let Some(shown) = shown_default(arg.get_id().as_str()) else {
        return arg;
    };
    let note = format!("[default: {shown}]");
    let help = arg.get_help().map(|h| format!("{h} {note}"));
    let long = arg.get_long_help().map(|h| format!("{h}\n\n{note}"));
    let arg = match help {
        Some(h) => arg.help(h),
        None => arg.help(note),
    };
    match long {
        Some(h) => arg.long_help(h),
        None => arg,
    }
}

/// The default of setting `key` as it would be typed after its flag
/// (lists separated by spaces), or `None` when it has no value by default
/// or is not a setting.
pub(crate) fn shown_default(key: &str) -> Option<String> {
    static DEFAULTS: LazyLock<Map<String, Value>> =
        LazyLock::new(|| match serde_json::to_value(TrainConfig::default()) {
            Ok(Value::Object(map)) => map,
            other => unreachable!("TrainConfig serialises to a map, not {other:?}"),
        });
    shown(DEFAULTS.get(key)?)
}

fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null | Value::Object(_) => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_f64() => n.as_f64().map(number),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => items
            .iter()
            .map(shown)
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(" ")),
    }
}

/// A float as a user writes it. f32 settings reach JSON as f64 (0.7 is
/// 0.699999988…), so a number that is an f32 is written as the shortest
/// f32; and `1e-5` rather than `0.00001`.
fn number(f: f64) -> String {
    let single = f as f32;
    let (plain, exponent) = if f64::from(single) == f {
        (single.to_string(), format!("{single:e}"))
    } else {
        (f.to_string(), format!("{f:e}"))
    };
    if exponent.len() < plain.len() {
        exponent
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use crate::config_file::resolve;
    use clap::{CommandFactory, Parser};

    fn train(args: &[&str]) -> TrainArgs {
        let cli = Cli::try_parse_from(["mlx-grpo", "train"].iter().chain(args))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Command::Train(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_and_negative_flags_parse_wherever_they_stand() {
        let a = train(&["--reward-weights", "1", "2", "3", "--adapter-path", "out"]);
        assert_eq!(a.reward_weights, Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(a.adapter_path, Some(PathBuf::from("out")));
        let a = train(&["--reward-weights", "0.5", "-0.5", "--iters", "3"]);
        assert_eq!(a.reward_weights, Some(vec![0.5, -0.5]));
        assert_eq!(a.iters, Some(3));
        let a = train(&[
            "--learning-rate",
            "-1e-5",
            "--beta",
            "-0.1",
            "--lora-layers",
            "-1",
        ]);
        assert_eq!(a.learning_rate, Some(-1e-5));
        assert_eq!(a.beta, Some(-0.1));
        assert_eq!(a.lora_layers, Some(-1));
        let a = train(&[
            "--reward-functions",
            "tool_call_exact",
            "--learning-rate",
            "2E-6",
        ]);
        assert_eq!(a.learning_rate, Some(2e-6));
    }

    #[test]
    fn scale_rewards_takes_a_mode_or_the_old_booleans() {
        for (given, want) in [
            (vec!["--scale-rewards", "batch"], ScaleRewards::Batch),
            (vec!["--scale-rewards", "none"], ScaleRewards::None),
            (vec!["--scale-rewards", "group"], ScaleRewards::Group),
            (vec!["--scale-rewards", "false"], ScaleRewards::None),
            (vec!["--scale-rewards", "true"], ScaleRewards::Group),
            (vec!["--scale-rewards"], ScaleRewards::Group),
        ] {
            assert_eq!(train(&given).scale_rewards, Some(want), "{given:?}");
        }
        let a = train(&[
            "--importance-sampling-level",
            "sequence",
            "--top-entropy-quantile",
            "0.2",
        ]);
        assert_eq!(
            a.importance_sampling_level,
            Some(ImportanceSamplingLevel::Sequence)
        );
        assert_eq!(a.top_entropy_quantile, Some(0.2));
        let err = Cli::try_parse_from(["mlx-grpo", "train", "--scale-rewards", "global"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("global") && err.contains("batch"), "{err}");
    }

    /// Flags of `train` that are not settings of [`TrainConfig`].
    const NOT_SETTINGS: &[&str] = &[
        "config",
        "train",
        "strict",
        "resume",
        "force",
        "rollout_shards",
    ];

    /// Settings only a configuration file can give (they are maps and lists
    /// of maps).
    const FILE_ONLY: &[&str] = &["kind_mix", "phases", "tools"];

    fn defaults() -> Map<String, Value> {
        match serde_json::to_value(TrainConfig::default()).unwrap() {
            Value::Object(m) => m,
            other => panic!("{other:?}"),
        }
    }

    /// `train`'s arguments, as clap builds them (with their help).
    fn train_arguments() -> Vec<clap::Arg> {
        Cli::command()
            .find_subcommand("train")
            .expect("a train subcommand")
            .get_arguments()
            .filter(|a| a.get_long().is_some() && a.get_id() != "help")
            .cloned()
            .collect()
    }

    /// The settings resolved from `flags` and from the YAML file `yaml`
    /// (when given), as JSON.
    fn resolved(flags: &[String], yaml: Option<&str>) -> Result<Map<String, Value>, String> {
        let dir = tempfile::tempdir().unwrap();
        let mut argv: Vec<String> = vec!["mlx-grpo".into(), "train".into()];
        argv.extend(flags.iter().cloned());
        if let Some(text) = yaml {
            let path = dir.path().join("run.yaml");
            std::fs::write(&path, text).unwrap();
            argv.extend(["--config".into(), path.display().to_string()]);
        }
        let cli = Cli::try_parse_from(&argv).map_err(|e| e.to_string())?;
        let Command::Train(args) = cli.command else {
            unreachable!()
        };
        let config = resolve(&args, None).map_err(|e| format!("{e:#}"))?;
        match serde_json::to_value(config).unwrap() {
            Value::Object(m) => Ok(m),
            other => panic!("{other:?}"),
        }
    }

    /// The settings that differ from the defaults.
    fn changed(settings: &Map<String, Value>) -> Vec<String> {
        let defaults = defaults();
        let mut keys: Vec<String> = settings
            .iter()
            .filter(|(k, v)| defaults.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn every_train_flag_reaches_its_setting_from_the_command_line_and_from_yaml() {
        let mut checked = 0;
        for arg in train_arguments() {
            let id = arg.get_id().as_str().to_string();
            if NOT_SETTINGS.contains(&id.as_str()) {
                continue;
            }
            let flag = format!("--{}", arg.get_long().unwrap());
            // Values of every type a setting has: the enums' own values
            // first, then numbers, booleans and text.
            let mut candidates: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            candidates.extend(["7", "true", "false", "0.5", "x"].map(String::from));
            let reached = candidates.iter().find_map(|value| {
                let settings = resolved(&[flag.clone(), value.clone()], None).ok()?;
                (changed(&settings) == std::slice::from_ref(&id))
                    .then(|| (value.clone(), settings[&id].clone()))
            });
            let Some((value, setting)) = reached else {
                panic!(
                    "{flag}: no value changed the setting `{id}` alone (is it a TrainConfig field, and not #[serde(skip)]?)"
                );
            };
            // The YAML key is the flag's name (with `-`, as the guide spells
            // it), and sets the same value.
            let yaml =
                serde_norway::to_string(&serde_json::json!({ arg.get_long().unwrap(): setting }))
                    .unwrap();
            let from_file = resolved(&[], Some(&yaml)).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(changed(&from_file), std::slice::from_ref(&id), "{yaml}");
            assert_eq!(from_file[&id], setting, "{flag} {value} and {yaml}");
            checked += 1;
        }
        assert!(checked > 50, "{checked} flags checked");
    }

    #[test]
    fn every_setting_has_a_flag_but_the_file_only_ones() {
        let flags: Vec<String> = train_arguments()
            .iter()
            .map(|a| a.get_id().as_str().to_string())
            .collect();
        for key in defaults().keys() {
            assert!(
                flags.contains(key) || FILE_ONLY.contains(&key.as_str()),
                "the setting `{key}` has no flag (add it to TrainArgs, or to FILE_ONLY here)"
            );
        }
    }

    #[test]
    fn the_documented_defaults_are_the_library_defaults() {
        let defaults = defaults();
        for arg in train_arguments() {
            let id = arg.get_id().as_str();
            let help: Vec<String> = [arg.get_help(), arg.get_long_help()]
                .into_iter()
                .flatten()
                .map(|h| h.to_string())
                .collect();
            let documented: Vec<&str> = help
                .iter()
                .flat_map(|h| h.split("[default: ").skip(1))
                .map(|rest| &rest[..rest.find(']').expect("a closed [default: …]")])
                .collect();
            let Some(default) = defaults.get(id).filter(|v| !v.is_null()) else {
                // No value by default: the help may say in words what
                // happens (`[default: the embedded tiny model]`).
                continue;
            };
            // Once: the one added from TrainConfig::default(); a second is
            // written by hand in the doc comment.
            assert_eq!(
                documented.len(),
                help.len(),
                "--{id}: one [default: …] per help text, from TrainConfig::default(): {help:?}"
            );
            for shown in documented {
                assert_eq!(
                    Some(shown.to_string()),
                    shown_default(id),
                    "--{id}: a default written by hand in its help"
                );
                // Given back as the flag's value, the default shown is the
                // default.
                let mut flags = vec![format!("--{}", arg.get_long().unwrap())];
                flags.extend(shown.split(' ').map(String::from));
                let settings = resolved(&flags, None).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
                assert_eq!(&settings[id], default, "--{id} [default: {shown}]");
            }
        }
    }

    #[test]
    fn defaults_are_written_as_a_user_types_them() {
        assert_eq!(shown_default("learning_rate").as_deref(), Some("1e-5"));
        assert_eq!(shown_default("temperature").as_deref(), Some("0.7"));
        assert_eq!(shown_default("lora_alpha").as_deref(), Some("16"));
        assert_eq!(shown_default("reward_timeout").as_deref(), Some("60"));
        assert_eq!(shown_default("loss_type").as_deref(), Some("grpo"));
        assert_eq!(
            shown_default("reward_functions").as_deref(),
            Some("tool_call_exact tool_call_function")
        );
        assert_eq!(shown_default("epsilon_high"), None);
        assert_eq!(shown_default("config"), None);
    }
}
