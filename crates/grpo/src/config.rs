//! Every setting of a training run, with the user's guide's defaults, and
//! their validation.
//!
//! Field names are the guide's flags with `_` for `-` (`--group-size` is
//! `group_size`), so a YAML configuration file reads like the command line.

use std::path::PathBuf;

use grpo_policy::adapters::{AdapterConfig, FineTuneType, LoraParameters, ATTENTION, PROJECTIONS};
use grpo_policy::sample::Sampler;
use serde::{Deserialize, Serialize};

use crate::curriculum::Curriculum;
use crate::error::{Error, Result};
use crate::importance_sampling::ImportanceSamplingLevel;
use crate::loss::{LossConfig, LossType};
use crate::optimizer::AdamWConfig;
use crate::phases::{Phase, PhasePlan};
use crate::reward_errors::RewardErrors;
use crate::scale_rewards::ScaleRewards;
use crate::schedule::{Decay, LrSchedule};
use crate::thinking::Thinking;

/// The learning-rate schedule's shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The peak rate after warmup, throughout.
    #[default]
    Constant,
    /// Cosine decay from the peak to `min_learning_rate` at the last iteration.
    Cosine,
}

/// A training run's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Model directory or Hugging Face repo id (resolved through the local
    /// cache). `None`: the embedded default model.
    pub model: Option<String>,
    /// Training JSONL. `None`: the embedded default data.
    pub data: Option<PathBuf>,
    /// Validation JSONL, scored every `steps_per_eval` iterations.
    pub val_data: Option<PathBuf>,
    /// Where adapters, checkpoints, metrics and plots go.
    pub adapter_path: PathBuf,

    /// `lora`, `dora` or `full`.
    pub train_type: FineTuneType,
    /// Adapt the last N blocks (-1: all).
    pub lora_layers: i32,
    /// Adapter rank.
    pub lora_rank: i32,
    /// Adapter alpha; the update is scaled by `lora_alpha / lora_rank`.
    pub lora_alpha: f32,
    /// Dropout on adapter inputs.
    pub lora_dropout: f32,
    /// Projections adapted, by their name in a block.
    pub lora_keys: Vec<String>,

    /// Training iterations (optimizer steps per generation batch are
    /// `num_iterations`).
    pub iters: usize,
    /// Prompts per iteration: the global batch, over all ranks of a
    /// data-parallel run ([`crate::data_parallel`]).
    pub batch_size: usize,
    /// Completions sampled per prompt.
    pub group_size: usize,
    /// Peak learning rate.
    pub learning_rate: f32,
    /// Linear warmup, in optimizer steps (GRPO takes `num_iterations` per
    /// iteration, SFT one), as TRL's `warmup_steps`.
    pub warmup_steps: usize,
    /// `constant` or `cosine`.
    pub lr_schedule: ScheduleKind,
    /// Final rate of the cosine schedule.
    pub min_learning_rate: f32,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Global gradient-norm clip (0: off).
    pub max_grad_norm: f32,

    /// Tokens generated per completion at most.
    pub max_completion_length: usize,
    /// Prompt tokens at most, chat template included (TRL's
    /// `max_prompt_length`). Every prompt must also leave room for
    /// `max_completion_length` in the model's context
    /// (`max_position_embeddings`); longer prompts are skipped, each named in
    /// the data report, or cut with `truncate_prompts`. `None`: the
    /// context's limit only.
    pub max_prompt_length: Option<usize>,
    /// Cut a prompt that is too long to its last allowed tokens (the start
    /// of its text is dropped, as TRL truncates on the left) instead of
    /// skipping it.
    pub truncate_prompts: bool,
    /// Sampling temperature of rollouts.
    pub temperature: f32,
    /// Nucleus sampling of rollouts (1: off).
    pub top_p: f32,
    /// Top-k sampling of rollouts (0: off).
    pub top_k: i32,
    /// Min-p sampling of rollouts (0: off).
    pub min_p: f32,

    /// KL coefficient (0: no reference pass).
    pub beta: f32,
    /// Lower clip range.
    pub epsilon: f32,
    /// Upper clip range (DAPO clip-higher); defaults to `epsilon`.
    pub epsilon_high: Option<f32>,
    /// `grpo`, `bnpo`, `dr_grpo` or `dapo`.
    pub loss_type: LossType,
    /// Optimizer steps on each generation batch.
    pub num_iterations: usize,
    /// What group-centred rewards are divided by: the group's standard
    /// deviation (`group`), the batch's (`batch`) or nothing (`none`), as
    /// TRL's `scale_rewards`; `true` / `false` read as `group` / `none`.
    pub scale_rewards: ScaleRewards,
    /// Exclude completions cut by the length limit from the loss.
    pub mask_truncated_completions: bool,
    /// One importance ratio per token (`token`) or GSPO's one per
    /// completion (`sequence`), as TRL's `importance_sampling_level`.
    pub importance_sampling_level: ImportanceSamplingLevel,
    /// Fraction of the batch's completion tokens, those of highest entropy,
    /// that carry the policy loss (TRL's `top_entropy_quantile`; 1: all).
    pub top_entropy_quantile: f32,
    /// DAPO's dynamic sampling: at most this many extra rollout rounds per
    /// iteration, each on fresh prompts, to replace groups whose rewards
    /// are all equal (they carry no signal); 0: off.
    pub dynamic_sampling: usize,

    /// Reward function names.
    pub reward_functions: Vec<String>,
    /// One weight per reward function (default 1 each).
    pub reward_weights: Option<Vec<f32>>,
    /// Python file of reward functions with TRL's signature, run by one
    /// worker for the whole run; its functions are named in
    /// `reward_functions`.
    pub reward_file: Option<PathBuf>,
    /// The Python that runs `reward_file`. `None`: `.venv/bin/python` of
    /// the current directory or one above, else `python3`.
    pub reward_python: Option<PathBuf>,
    /// A long-lived program (run by `sh -c`) that scores batches over the
    /// line protocol of docs/rewards.md, instead of `reward_file`.
    pub reward_command: Option<String>,
    /// Seconds a custom reward may take for one batch (and its worker to
    /// start) before the worker is stopped.
    pub reward_timeout: f64,
    /// What an exception or a timeout in a custom reward does.
    pub reward_errors: RewardErrors,

    /// Checkpoint every N iterations (and at the end).
    pub save_every: usize,
    /// Checkpoints kept (oldest removed first).
    pub keep_checkpoints: usize,
    /// Report line every N iterations.
    pub steps_per_report: usize,
    /// Validate every N iterations (with `val_data`).
    pub steps_per_eval: usize,
    /// Validation examples scored each time (0: all).
    pub val_examples: usize,
    /// Write the group's rollouts to `rollouts.jsonl` every N iterations (0: never).
    pub log_rollouts_every: usize,
    /// Seed of data order, sampling and adapter initialisation.
    pub seed: u64,
    /// Share of each kind of example (`single`, `multiple`, `parallel`,
    /// `irrelevance`, …) in every batch, e.g. `{multiple: 0.4,
    /// irrelevance: 0.3, single: 0.25, parallel: 0.05}`; shares are
    /// normalised, unlisted kinds are not drawn. `None`: every example once
    /// per epoch, kinds in the data's proportions.
    pub kind_mix: Option<std::collections::BTreeMap<String, f64>>,
    /// Recompute each layer's activations in the backward pass to save memory.
    pub grad_checkpoint: bool,
    /// Prompts (each with its group of completions) differentiated in one
    /// forward and backward pass of a GRPO update; 0: the whole batch at
    /// once. The update's gradient is the sum over these micro-batches,
    /// each loss weighted by its share of the batch, so it is the update
    /// of one pass while only a micro-batch's activations are alive.
    pub micro_batch_size: usize,
    /// Weights & Biases project to log to (through its Python package).
    pub wandb_project: Option<String>,

    /// Completions must open with a reasoning block.
    pub enforce_thinking: bool,
    /// Opening reasoning tag.
    pub think_start: String,
    /// Closing reasoning tag.
    pub think_end: String,
    /// Two-phase recovery: samples per group continued after a forced end
    /// of reasoning (-1: off; N >= 0: at most N per group).
    pub two_phase_samples_per_group: i64,
    /// Two-phase recovery: tokens of answer sampled after the forced end of
    /// reasoning.
    pub two_phase_answer_length: usize,
    /// Scaffold completions with a fraction of the reference answer.
    pub curriculum_enabled: bool,
    /// Scaffold fraction at the start.
    pub curriculum_start_ratio: f32,
    /// Scaffold fraction at the end.
    pub curriculum_end_ratio: f32,
    /// Iterations over which the scaffold fraction moves.
    pub curriculum_steps: usize,
    /// Training phases applied in order, each with its iterations, rewards
    /// and optionally learning rate (empty: one phase with the settings
    /// above). Their iterations must add up to `iters`.
    pub phases: Vec<Phase>,

    /// Tool servers (MCP over stdio) that execute the model's calls in
    /// multi-turn rollouts, as `[{name, command: [program, args...]}]`
    /// (docs/tools.md); their `tools/list` schemas go to the chat
    /// template's `tools` argument.
    pub tools: Vec<grpo_tools::ServerSpec>,
    /// The model's turns per completion at most: 1 is single-turn (no tool
    /// is run); above 1, a turn with calls gets their results and another
    /// turn, and `max_completion_length` bounds the whole trajectory
    /// (results and template tokens included). Needs `tools`.
    pub max_turns: usize,
    /// Seconds one tool call may take before it comes back to the model as
    /// a timeout error.
    pub tool_timeout: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: None,
            data: None,
            val_data: None,
            adapter_path: PathBuf::from("adapters"),
            train_type: FineTuneType::Lora,
            lora_layers: 16,
            lora_rank: 8,
            lora_alpha: 16.0,
            lora_dropout: 0.0,
            lora_keys: ATTENTION.iter().map(|s| s.to_string()).collect(),
            iters: 1000,
            batch_size: 4,
            group_size: 8,
            learning_rate: 1e-5,
            warmup_steps: 0,
            lr_schedule: ScheduleKind::Constant,
            min_learning_rate: 0.0,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
            max_completion_length: 256,
            max_prompt_length: None,
            truncate_prompts: false,
            temperature: 0.7,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            beta: 0.1,
            epsilon: 0.2,
            epsilon_high: None,
            loss_type: LossType::Grpo,
            num_iterations: 1,
            scale_rewards: ScaleRewards::Group,
            mask_truncated_completions: false,
            importance_sampling_level: ImportanceSamplingLevel::Token,
            top_entropy_quantile: 1.0,
            dynamic_sampling: 0,
            reward_functions: vec!["tool_call_exact".into(), "tool_call_function".into()],
            reward_weights: None,
            reward_file: None,
            reward_python: None,
            reward_command: None,
            reward_timeout: 60.0,
            reward_errors: RewardErrors::Stop,
            save_every: 100,
            keep_checkpoints: 3,
            steps_per_report: 10,
            steps_per_eval: 100,
            val_examples: 0,
            log_rollouts_every: 10,
            seed: 0,
            kind_mix: None,
            grad_checkpoint: false,
            micro_batch_size: 0,
            wandb_project: None,
            enforce_thinking: false,
            think_start: "<think>".into(),
            think_end: "</think>".into(),
            two_phase_samples_per_group: -1,
            two_phase_answer_length: 64,
            curriculum_enabled: false,
            curriculum_start_ratio: 1.0,
            curriculum_end_ratio: 0.0,
            curriculum_steps: 500,
            phases: Vec::new(),
            tools: Vec::new(),
            max_turns: 1,
            tool_timeout: 10.0,
        }
    }
}

impl TrainConfig {
    /// Checks every value before any work starts; the error names the
    /// setting and what is allowed.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("iters", self.iters),
            ("batch_size", self.batch_size),
            ("group_size", self.group_size),
            ("max_completion_length", self.max_completion_length),
            ("num_iterations", self.num_iterations),
            ("save_every", self.save_every),
            ("keep_checkpoints", self.keep_checkpoints),
            ("steps_per_report", self.steps_per_report),
            ("steps_per_eval", self.steps_per_eval),
        ];
        for (field, v) in positive {
            if v == 0 {
                return invalid(field, 0.0, "an integer >= 1");
            }
        }
        if self.max_prompt_length == Some(0) {
            return invalid(
                "max_prompt_length",
                0.0,
                "an integer >= 1 (leave it out for the model's context)",
            );
        }
        if self.group_size < 2 {
            return invalid(
                "group_size",
                self.group_size as f64,
                "at least 2 (advantages compare completions within a group)",
            );
        }
        let rate = |field, v: f32| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                invalid(field, v.into(), "a finite number >= 0")
            }
        };
        rate("learning_rate", self.learning_rate)?;
        if self.learning_rate == 0.0 {
            return invalid(
                "learning_rate",
                0.0,
                "> 0 (at 0 the run would train nothing), e.g. 1e-5",
            );
        }
        rate("min_learning_rate", self.min_learning_rate)?;
        rate("weight_decay", self.weight_decay)?;
        rate("max_grad_norm", self.max_grad_norm)?;
        rate("temperature", self.temperature)?;
        if self.temperature == 0.0 {
            return invalid(
                "temperature",
                0.0,
                "> 0 (greedy rollouts make every completion of a group the same)",
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return invalid("top_p", self.top_p.into(), "0 < top_p <= 1");
        }
        if !(0.0..1.0).contains(&self.min_p) {
            return invalid("min_p", self.min_p.into(), "0 <= min_p < 1");
        }
        if self.top_k < 0 {
            return invalid("top_k", self.top_k.into(), "an integer >= 0 (0: off)");
        }
        if self.lora_rank < 1 && self.train_type != FineTuneType::Full {
            return invalid("lora_rank", self.lora_rank.into(), "an integer >= 1");
        }
        if !(self.lora_alpha.is_finite() && self.lora_alpha > 0.0) {
            return invalid("lora_alpha", self.lora_alpha.into(), "a number > 0");
        }
        if !(0.0..1.0).contains(&self.lora_dropout) {
            return invalid(
                "lora_dropout",
                self.lora_dropout.into(),
                "0 <= lora_dropout < 1",
            );
        }
        if self.lora_layers == 0 || self.lora_layers < -1 {
            return invalid("lora_layers", self.lora_layers.into(), "-1 (all) or >= 1");
        }
        for key in &self.lora_keys {
            if !PROJECTIONS.contains(&key.as_str()) {
                return Err(Error::InvalidConfig {
                    field: "lora_keys",
                    message: format!(
                        "unknown projection `{key}` (known: {})",
                        PROJECTIONS.join(", ")
                    ),
                });
            }
        }
        self.loss_config().validate()?;
        let q = self.top_entropy_quantile;
        if !(q.is_finite() && q > 0.0 && q <= 1.0) {
            return invalid(
                "top_entropy_quantile",
                q.into(),
                "0 < top_entropy_quantile <= 1 (1: every token; 0.2 trains on the 20% of highest entropy)",
            );
        }
        if self.micro_batch_size > 0 && q < 1.0 {
            return Err(Error::InvalidConfig {
                field: "micro_batch_size",
                message: format!(
                    "top_entropy_quantile {q} picks tokens by a quantile over the whole batch, which micro-batches do not see: leave out micro_batch_size, or set top_entropy_quantile to 1"
                ),
            });
        }
        self.schedule().validate()?;
        self.rewards()?;
        self.strategies()
    }

    /// Checks the multi-turn settings: tools for more than one turn, and
    /// none of the strategies that edit a single completion.
    fn turns(&self) -> Result<()> {
        if self.max_turns == 0 {
            return invalid("max_turns", 0.0, "an integer >= 1 (1: single-turn)");
        }
        if !(self.tool_timeout.is_finite() && self.tool_timeout > 0.0) {
            return invalid("tool_timeout", self.tool_timeout, "seconds > 0");
        }
        for spec in &self.tools {
            spec.validate().map_err(|e| Error::InvalidConfig {
                field: "tools",
                message: e.to_string(),
            })?;
        }
        if self.max_turns > 1 {
            if self.tools.is_empty() {
                return Err(Error::InvalidConfig {
                    field: "max_turns",
                    message: "more than one turn needs tool servers to run the calls; declare them under `tools:` (e.g. `- {name: synth, command: [mlx-grpo, tools, serve, synth]}`)".into(),
                });
            }
            if self.curriculum_enabled || self.two_phase_samples_per_group >= 0 {
                return Err(Error::InvalidConfig {
                    field: "max_turns",
                    message: "multi-turn rollouts do not combine with --curriculum-enabled or two-phase recovery; turn those off or set --max-turns 1".into(),
                });
            }
        }
        Ok(())
    }

    /// Whether rollouts run tools over several turns.
    pub fn multi_turn(&self) -> bool {
        self.max_turns > 1
    }

    /// Checks the thinking, two-phase, curriculum and phase settings.
    fn strategies(&self) -> Result<()> {
        for (field, tag) in [
            ("think_start", &self.think_start),
            ("think_end", &self.think_end),
        ] {
            if tag.trim().is_empty() {
                return Err(Error::InvalidConfig {
                    field,
                    message: "the reasoning tag is empty (default: <think> and </think>)".into(),
                });
            }
        }
        if self.think_start == self.think_end {
            return Err(Error::InvalidConfig {
                field: "think_end",
                message: format!(
                    "`{}` is also the opening tag; the tags must differ",
                    self.think_end
                ),
            });
        }
        if self.two_phase_samples_per_group < -1 {
            return invalid(
                "two_phase_samples_per_group",
                self.two_phase_samples_per_group as f64,
                "-1 (off) or N >= 0 (at most N samples per group)",
            );
        }
        if self.two_phase_samples_per_group >= 0 && self.two_phase_answer_length == 0 {
            return invalid("two_phase_answer_length", 0.0, "an integer >= 1");
        }
        self.turns()?;
        if let Some(curriculum) = self.curriculum() {
            curriculum.validate()?;
            if self.enforce_thinking {
                return Err(Error::InvalidConfig {
                    field: "curriculum_enabled",
                    message: "scaffolding puts the answer at the start of the completion, where --enforce-thinking wants the reasoning block; use one or the other".into(),
                });
            }
        }
        if let Some(plan) = self.phase_plan()? {
            if plan.total_iters() != self.iters {
                return Err(Error::InvalidConfig {
                    field: "phases",
                    message: format!(
                        "the phases add up to {} iterations but iters is {}; make them agree (leave iters out of the file to use the phases' total)",
                        plan.total_iters(),
                        self.iters
                    ),
                });
            }
        }
        Ok(())
    }

    /// The reasoning tags and whether a leading reasoning block is required.
    pub fn thinking(&self) -> Thinking {
        Thinking {
            start: self.think_start.clone(),
            end: self.think_end.clone(),
            enforce: self.enforce_thinking,
        }
    }

    /// The scaffold schedule, when curriculum scaffolding is on.
    pub fn curriculum(&self) -> Option<Curriculum> {
        self.curriculum_enabled.then_some(Curriculum {
            start_ratio: self.curriculum_start_ratio,
            end_ratio: self.curriculum_end_ratio,
            steps: self.curriculum_steps,
        })
    }

    /// The most samples per group two-phase recovery continues (`None`: off).
    pub fn recovery_limit(&self) -> Option<usize> {
        usize::try_from(self.two_phase_samples_per_group).ok()
    }

    /// The training phases, resolved (`None` without `phases`).
    pub fn phase_plan(&self) -> Result<Option<PhasePlan>> {
        if self.phases.is_empty() {
            return Ok(None);
        }
        PhasePlan::new(&self.phases).map(Some)
    }

    /// The resolved reward functions.
    pub fn rewards(&self) -> Result<grpo_rewards::RewardSet> {
        Ok(grpo_rewards::RewardSet::new(
            &self.reward_functions,
            self.reward_weights.as_deref(),
        )?)
    }

    /// The loss settings.
    pub fn loss_config(&self) -> LossConfig {
        LossConfig {
            epsilon: self.epsilon,
            epsilon_high: self.epsilon_high,
            beta: self.beta,
            loss_type: self.loss_type,
            max_completion_length: self.max_completion_length,
        }
    }

    /// The learning-rate schedule of GRPO: over `iters × num_iterations`
    /// optimizer steps.
    pub fn schedule(&self) -> LrSchedule {
        self.schedule_over(self.iters * self.num_iterations)
    }

    /// The learning-rate schedule of supervised fine-tuning, which takes one
    /// optimizer step per iteration (`num_iterations` is GRPO's).
    pub fn sft_schedule(&self) -> LrSchedule {
        self.schedule_over(self.iters)
    }

    /// The schedule of a run of `steps` optimizer steps.
    fn schedule_over(&self, steps: usize) -> LrSchedule {
        LrSchedule {
            peak: self.learning_rate,
            warmup_steps: self.warmup_steps,
            decay: match self.lr_schedule {
                ScheduleKind::Constant => Decay::Constant,
                ScheduleKind::Cosine => Decay::Cosine {
                    decay_steps: steps.saturating_sub(self.warmup_steps).max(1),
                    floor: self.min_learning_rate.min(self.learning_rate),
                },
            },
        }
    }

    /// The optimizer's settings.
    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            weight_decay: self.weight_decay,
            ..AdamWConfig::default()
        }
    }

    /// How rollouts are sampled.
    pub fn sampler(&self) -> Sampler {
        Sampler {
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            min_p: self.min_p,
        }
    }

    /// The adapters to create, in mlx-lm's terms (`scale = alpha / rank`).
    pub fn adapter_config(&self) -> AdapterConfig {
        AdapterConfig {
            fine_tune_type: self.train_type,
            num_layers: self.lora_layers,
            lora_parameters: LoraParameters {
                rank: self.lora_rank,
                scale: self.lora_alpha / self.lora_rank.max(1) as f32,
                dropout: self.lora_dropout,
                keys: Some(self.lora_keys.clone()),
            },
            extra: Default::default(),
        }
    }
}

/// Settings a resumed run must share with its checkpoint: they shape the
/// adapters' tensors or the order of the data, which the checkpoint holds
/// (the prompt limits decide which records are in the data).
pub const FIXED_ON_RESUME: &[&str] = &[
    "model",
    "data",
    "max_prompt_length",
    "truncate_prompts",
    "train_type",
    "lora_layers",
    "lora_rank",
    "lora_alpha",
    "lora_dropout",
    "lora_keys",
    "seed",
    "kind_mix",
    "batch_size",
    "group_size",
];

/// Settings that are where the files go, not what the run does.
const IGNORED_ON_RESUME: &[&str] = &["adapter_path"];

/// One setting whose value differs from the checkpoint's.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingChange {
    /// The setting, spelled as in the configuration.
    pub field: String,
    /// Its value in the checkpoint (JSON; `null` when the checkpoint lacks it).
    pub saved: serde_json::Value,
    /// Its value now.
    pub now: serde_json::Value,
}

impl std::fmt::Display for SettingChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.saved, self.now)
    }
}

/// How a run's settings differ from those saved in the checkpoint it
/// resumes (see [`TrainConfig::compare_with_checkpoint`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeChanges {
    /// Changes of [`FIXED_ON_RESUME`] settings: the run must not resume.
    pub refused: Vec<SettingChange>,
    /// Other changes (iterations, learning rate, logging, …): allowed; the
    /// run no longer repeats the uninterrupted one exactly.
    pub allowed: Vec<SettingChange>,
}

impl ResumeChanges {
    /// An error listing the refused changes, or `Ok` when there are none.
    pub fn check(&self, checkpoint: &std::path::Path) -> Result<()> {
        if self.refused.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self.refused.iter().map(|c| format!("  {c}")).collect();
        Err(Error::Checkpoint {
            path: checkpoint.to_path_buf(),
            reason: format!(
                "--resume with settings that cannot change during a run (checkpoint → now):\n{}\nresume with the checkpoint's values, or start a new run in another --adapter-path",
                list.join("\n")
            ),
        })
    }
}

impl TrainConfig {
    /// Compares these settings with `saved`, the configuration a checkpoint
    /// recorded ([`TrainerState::config`](crate::checkpoint::TrainerState)).
    /// `model` and `data` are compared as files when both exist (so `./m`
    /// and `m` are the same model).
    pub fn compare_with_checkpoint(&self, saved: &serde_json::Value) -> ResumeChanges {
        let now = serde_json::to_value(self).expect("configs serialize");
        // A setting the checkpoint lacks (it was written by a version
        // without it) had its default value then.
        let defaults = serde_json::to_value(TrainConfig::default()).expect("configs serialize");
        let mut changes = ResumeChanges::default();
        let Some(now) = now.as_object() else {
            return changes;
        };
        for (field, value) in now {
            if IGNORED_ON_RESUME.contains(&field.as_str()) {
                continue;
            }
            let old = saved
                .get(field)
                .or_else(|| defaults.get(field))
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            if same_setting(field, &old, value) {
                continue;
            }
            let change = SettingChange {
                field: field.clone(),
                saved: old,
                now: value.clone(),
            };
            if FIXED_ON_RESUME.contains(&field.as_str()) {
                changes.refused.push(change);
            } else {
                changes.allowed.push(change);
            }
        }
        changes
    }
}

fn same_setting(field: &str, a: &serde_json::Value, b: &serde_json::Value) -> bool {
    if a == b {
        return true;
    }
    if field == "scale_rewards" {
        // A checkpoint of an older version holds `true` / `false`.
        let read = |v: &serde_json::Value| serde_json::from_value::<ScaleRewards>(v.clone()).ok();
        if let (Some(x), Some(y)) = (read(a), read(b)) {
            return x == y;
        }
    }
    if let (serde_json::Value::Number(x), serde_json::Value::Number(y)) = (a, b) {
        // f32 settings pass through f64 in JSON on one side only sometimes.
        if let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) {
            return (x as f32) == (y as f32);
        }
    }
    if matches!(field, "model" | "data" | "val_data") {
        if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
            let (x, y) = (std::path::Path::new(x), std::path::Path::new(y));
            if let (Ok(x), Ok(y)) = (x.canonicalize(), y.canonicalize()) {
                return x == y;
            }
        }
    }
    false
}

fn invalid<T>(field: &'static str, value: f64, allowed: &'static str) -> Result<T> {
    Err(Error::InvalidParameter {
        field,
        value,
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_the_guide() {
        let c = TrainConfig::default();
        c.validate().unwrap();
        assert_eq!(
            c.reward_functions,
            ["tool_call_exact", "tool_call_function"]
        );
        assert_eq!(
            (c.group_size, c.batch_size, c.max_completion_length),
            (8, 4, 256)
        );
        assert_eq!(c.adapter_config().lora_parameters.scale, 2.0);
    }

    #[test]
    fn sft_decays_over_its_own_steps_and_grpo_over_its_updates() {
        let c = TrainConfig {
            iters: 10,
            num_iterations: 4,
            learning_rate: 1e-3,
            min_learning_rate: 0.0,
            lr_schedule: ScheduleKind::Cosine,
            ..TrainConfig::default()
        };
        // SFT takes 10 steps: its last one is at the end of the decay
        // (2.4 % of the peak; it was 88 % when SFT was sized for 40).
        assert!(c.sft_schedule().lr_at(9) < 0.05 * c.learning_rate);
        // GRPO takes 40 updates: at its tenth it has decayed a little.
        let grpo = c.schedule().lr_at(9);
        assert!(
            grpo > 0.8 * c.learning_rate && grpo < c.learning_rate,
            "{grpo}"
        );
        assert!(c.schedule().lr_at(39) < 0.05 * c.learning_rate);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let c = TrainConfig {
            group_size: 1,
            ..TrainConfig::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("group_size"));
        let c = TrainConfig {
            reward_functions: vec!["tool_call_exact".into(), "nope".into()],
            ..TrainConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("nope") && err.contains("tool_call_function"),
            "{err}"
        );
        let c = TrainConfig {
            reward_weights: Some(vec![1.0]),
            ..TrainConfig::default()
        };
        assert!(c.validate().is_err());
        let c = TrainConfig {
            enforce_thinking: true,
            curriculum_enabled: true,
            ..TrainConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("curriculum_enabled"), "{err}");
        let c = TrainConfig {
            two_phase_samples_per_group: -2,
            ..TrainConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("two_phase_samples_per_group"), "{err}");
        for lr in [0.0, -1e-5, f32::NAN, f32::INFINITY] {
            let c = TrainConfig {
                learning_rate: lr,
                ..TrainConfig::default()
            };
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("learning_rate"), "{lr}: {err}");
        }
    }

    #[test]
    fn the_strategies_validate_and_resolve() {
        let c = TrainConfig {
            enforce_thinking: true,
            two_phase_samples_per_group: 2,
            ..TrainConfig::default()
        };
        c.validate().unwrap();
        assert_eq!(c.recovery_limit(), Some(2));
        assert!(c.thinking().enforce);
        assert_eq!(TrainConfig::default().recovery_limit(), None);
        let c: TrainConfig = serde_json::from_value(serde_json::json!({
            "iters": 30,
            "phases": [
                {"iters": 10, "reward_functions": ["tool_call_function"]},
                {"iters": 20, "reward_functions": ["tool_call_exact"], "learning_rate": 2e-5},
            ],
        }))
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.phase_plan().unwrap().unwrap().len(), 2);
        let c = TrainConfig { iters: 31, ..c };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("add up to 30"), "{err}");
    }

    #[test]
    fn resume_refuses_changed_adapter_shapes_and_allows_schedule_changes() {
        let saved = serde_json::to_value(TrainConfig::default()).unwrap();
        let same = TrainConfig::default().compare_with_checkpoint(&saved);
        assert_eq!(same, ResumeChanges::default());
        let c = TrainConfig {
            lora_rank: 16,
            train_type: FineTuneType::Dora,
            iters: 2000,
            learning_rate: 2e-5,
            steps_per_report: 1,
            adapter_path: "elsewhere".into(),
            ..TrainConfig::default()
        };
        let changes = c.compare_with_checkpoint(&saved);
        let names = |v: &[SettingChange]| {
            let mut n: Vec<String> = v.iter().map(|c| c.field.clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&changes.refused), ["lora_rank", "train_type"]);
        assert_eq!(
            names(&changes.allowed),
            ["iters", "learning_rate", "steps_per_report"]
        );
        let err = changes
            .check(std::path::Path::new("a/checkpoints/iteration-4"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lora_rank: 8 → 16"), "{err}");
        assert!(err.contains("train_type: \"lora\" → \"dora\""), "{err}");
        assert!(err.contains("iteration-4"), "{err}");
    }

    #[test]
    fn prompt_limits_are_fixed_on_resume_and_default_when_a_checkpoint_lacks_them() {
        let mut saved = serde_json::to_value(TrainConfig::default()).unwrap();
        let obj = saved.as_object_mut().unwrap();
        obj.remove("max_prompt_length");
        obj.remove("truncate_prompts");
        let same = TrainConfig::default().compare_with_checkpoint(&saved);
        assert_eq!(same, ResumeChanges::default());
        let c = TrainConfig {
            max_prompt_length: Some(512),
            truncate_prompts: true,
            ..TrainConfig::default()
        };
        let mut refused: Vec<String> = c
            .compare_with_checkpoint(&saved)
            .refused
            .into_iter()
            .map(|c| c.to_string())
            .collect();
        refused.sort();
        assert_eq!(
            refused,
            [
                "max_prompt_length: null → 512",
                "truncate_prompts: false → true"
            ]
        );
        let zero = TrainConfig {
            max_prompt_length: Some(0),
            ..TrainConfig::default()
        };
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_prompt_length"));
    }

    #[test]
    fn a_checkpoint_with_the_old_boolean_scale_rewards_means_the_same() {
        let mut saved = serde_json::to_value(TrainConfig::default()).unwrap();
        saved["scale_rewards"] = serde_json::json!(true);
        let same = TrainConfig::default().compare_with_checkpoint(&saved);
        assert_eq!(same, ResumeChanges::default());
        saved["scale_rewards"] = serde_json::json!(false);
        let changed = TrainConfig::default().compare_with_checkpoint(&saved);
        assert_eq!(changed.allowed.len(), 1);
        assert_eq!(
            changed.allowed[0].to_string(),
            "scale_rewards: false → \"group\""
        );
    }

    #[test]
    fn yaml_keys_are_the_flag_names() {
        let c: TrainConfig =
            serde_json::from_value(serde_json::json!({"group_size": 4, "loss_type": "dr_grpo"}))
                .unwrap();
        assert_eq!(c.group_size, 4);
        assert_eq!(c.loss_type, LossType::DrGrpo);
        let err = serde_json::from_value::<TrainConfig>(serde_json::json!({"group_sise": 4}))
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `group_sise`"));
    }
}
