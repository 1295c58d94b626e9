//! The command line. Flag names and meanings follow the user's guide
//! (`--group-size`, `--reward-functions`, …); doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use grpo::config::ScheduleKind;
use grpo::loss::LossType;
use grpo_policy::adapters::FineTuneType;

/// Teach language models to call tools with GRPO on Apple's MLX.
///
/// Run `mlx-grpo train` with no arguments to train the small model that ships
/// with mlx-grpo on its tool-calling data (offline, a few minutes on a
/// laptop CPU). Point `--model` at a Hugging Face or MLX checkpoint
/// (e.g. mlx-community/Qwen2.5-0.5B-Instruct-4bit) and `--data` at a JSONL
/// file in the guide's format to train your own.
#[derive(Debug, Parser)]
#[command(name = "mlx-grpo", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model to call tools with GRPO.
    #[command(allow_negative_numbers = true)]
    Train(Box<TrainArgs>),
    /// Supervised fine-tuning on the answers (a warm start before GRPO).
    #[command(allow_negative_numbers = true)]
    Sft(Box<TrainArgs>),
    /// Score a model (with or without adapters) on a tool-calling JSONL file.
    Eval(EvalArgs),
    /// Fold adapters into the model and write a standalone model directory.
    Fuse(FuseArgs),
    /// Import a GGUF file (llama.cpp's format) as a Hugging Face-layout
    /// model directory that mlx-grpo and mlx-lm load.
    Convert(ConvertArgs),
    /// Convert, generate, inspect and validate tool-calling data sets.
    Data(crate::cmd::data::DataArgs),
    /// Create a small random model with a tokenizer trained on a data set
    /// (how the embedded model starts).
    InitModel(crate::cmd::init_model::InitModelArgs),
    /// Run the built-in MCP tool server, or try any MCP server by hand.
    Tools(crate::cmd::tools::ToolsArgs),
}

/// `mlx-grpo train` (and `sft`): every setting of a run. Unset flags come
/// from `--config`, then from the defaults shown.
///
/// Negative numbers parse wherever they stand (`allow_negative_numbers` on
/// the subcommands); the float flags also take `allow_hyphen_values`,
/// because clap's test for a negative number rejects a signed exponent
/// (`--learning-rate -1e-5`). List flags (`--reward-weights 1 2 3`) end at
/// the next flag.
#[derive(Debug, Clone, Default, Args)]
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
    pub config: Option<PathBuf>,
    /// Train (accepted for compatibility with mlx-lm style commands; this
    /// subcommand always trains).
    #[arg(long, help_heading = "Model and data")]
    pub train: bool,
    /// Stop at the first malformed data line instead of skipping and counting.
    #[arg(long, help_heading = "Model and data")]
    pub strict: bool,

    /// What to train: lora, dora or full [default: lora].
    #[arg(long, value_enum, help_heading = "Fine-tuning")]
    pub train_type: Option<TrainType>,
    /// Adapt the last N transformer blocks; -1 for all [default: 16].
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_layers: Option<i32>,
    /// Adapter rank [default: 8].
    #[arg(long, help_heading = "Fine-tuning")]
    pub lora_rank: Option<i32>,
    /// Adapter alpha; updates are scaled by alpha / rank [default: 16].
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_alpha: Option<f32>,
    /// Dropout on adapter inputs [default: 0].
    #[arg(long, allow_hyphen_values = true, help_heading = "Fine-tuning")]
    pub lora_dropout: Option<f32>,
    /// Projections to adapt [default: self_attn.q_proj self_attn.k_proj
    /// self_attn.v_proj self_attn.o_proj; add mlp.gate_proj mlp.up_proj
    /// mlp.down_proj for the MLP].
    #[arg(long, num_args = 1.., help_heading = "Fine-tuning")]
    pub lora_keys: Option<Vec<String>>,
    /// Recompute activations in the backward pass to save memory
    /// (`--grad-checkpoint` or `--grad-checkpoint true`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Fine-tuning")]
    pub grad_checkpoint: Option<bool>,

    /// Training iterations [default: 1000].
    #[arg(long, help_heading = "Optimisation")]
    pub iters: Option<usize>,
    /// Prompts per iteration, over all processes of a distributed run
    /// (each takes an equal share) [default: 4].
    #[arg(long, help_heading = "Optimisation")]
    pub batch_size: Option<usize>,
    /// Completions sampled per prompt; advantages compare them [default: 8].
    #[arg(long, help_heading = "Optimisation")]
    pub group_size: Option<usize>,
    /// Peak learning rate [default: 1e-5].
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub learning_rate: Option<f32>,
    /// Linear warmup, in optimizer steps: GRPO takes --num-iterations of them per iteration, SFT one [default: 0].
    #[arg(long, help_heading = "Optimisation")]
    pub warmup_steps: Option<usize>,
    /// Learning-rate schedule after warmup: constant or cosine [default: constant].
    #[arg(long, value_enum, help_heading = "Optimisation")]
    pub lr_schedule: Option<Schedule>,
    /// Final learning rate of the cosine schedule [default: 0].
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub min_learning_rate: Option<f32>,
    /// AdamW weight decay [default: 0].
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub weight_decay: Option<f32>,
    /// Clip the global gradient norm to this; 0 for no clipping [default: 1].
    #[arg(long, allow_hyphen_values = true, help_heading = "Optimisation")]
    pub max_grad_norm: Option<f32>,
    /// Seed of data order, sampling and adapter initialisation [default: 0].
    #[arg(long, help_heading = "Optimisation")]
    pub seed: Option<u64>,

    /// Most tokens per completion [default: 256].
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
    /// better. Records with `messages` are skipped, not cut [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Generation")]
    pub truncate_prompts: Option<bool>,
    /// Sampling temperature of rollouts [default: 0.7].
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub temperature: Option<f32>,
    /// Nucleus sampling; 1 for off [default: 1].
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub top_p: Option<f32>,
    /// Top-k sampling; 0 for off [default: 0].
    #[arg(long, help_heading = "Generation")]
    pub top_k: Option<i32>,
    /// Min-p sampling; 0 for off [default: 0].
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub min_p: Option<f32>,
    /// Completions must open with a closed reasoning block; those that do
    /// not score 0 on every reward [default: false; tool calling needs no
    /// reasoning].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "Generation")]
    pub enforce_thinking: Option<bool>,
    /// Opening reasoning tag [default: <think>].
    #[arg(long, help_heading = "Generation")]
    pub think_start: Option<String>,
    /// Closing reasoning tag [default: </think>].
    #[arg(long, help_heading = "Generation")]
    pub think_end: Option<String>,
    /// Two-phase recovery: at most N samples per group that hit the length
    /// limit inside their reasoning get a forced --think-end and a short
    /// answer budget; -1 for off, >= --group-size for all [default: -1].
    #[arg(long, allow_hyphen_values = true, help_heading = "Generation")]
    pub two_phase_samples_per_group: Option<i64>,
    /// Two-phase recovery: answer tokens sampled after the forced
    /// --think-end [default: 64].
    #[arg(long, help_heading = "Generation")]
    pub two_phase_answer_length: Option<usize>,
    /// The model's turns per completion at most: a turn with tool calls
    /// gets their results (run by the `tools:` servers of --config) and
    /// another turn, and --max-completion-length bounds the whole
    /// trajectory; 1 is single-turn, no tool run [default: 1].
    #[arg(long, help_heading = "Generation")]
    pub max_turns: Option<usize>,
    /// Seconds one tool call may take before the model gets a timeout
    /// error as its result [default: 10].
    #[arg(long, value_name = "SECONDS", help_heading = "Generation")]
    pub tool_timeout: Option<f64>,

    /// KL penalty to the base model; 0 skips the reference pass [default: 0.1].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub beta: Option<f32>,
    /// Lower clip range of the importance ratio [default: 0.2].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub epsilon: Option<f32>,
    /// Upper clip range (DAPO's clip-higher) [default: --epsilon].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub epsilon_high: Option<f32>,
    /// Loss aggregation: grpo, bnpo, dr_grpo or dapo [default: grpo].
    #[arg(long, value_enum, help_heading = "GRPO objective")]
    pub loss_type: Option<Loss>,
    /// Optimizer steps on each batch of completions [default: 1].
    #[arg(long, help_heading = "GRPO objective")]
    pub num_iterations: Option<usize>,
    /// What group-centred rewards are divided by, as TRL's
    /// scale_rewards: `group` (the group's std), `batch` (the whole
    /// batch's std) or `none` (Dr. GRPO); `true` / `false` mean group /
    /// none [default: group].
    #[arg(long, num_args = 0..=1, default_missing_value = "group", value_name = "group|batch|none", help_heading = "GRPO objective")]
    pub scale_rewards: Option<grpo::scale_rewards::ScaleRewards>,
    /// Leave completions cut by the length limit out of the loss [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "GRPO objective")]
    pub mask_truncated_completions: Option<bool>,
    /// Importance ratio per `token`, or per `sequence` (GSPO's
    /// length-normalised sequence ratio, clipped whole), as TRL's
    /// importance_sampling_level [default: token].
    #[arg(long, value_name = "token|sequence", help_heading = "GRPO objective")]
    pub importance_sampling_level: Option<grpo::importance_sampling::ImportanceSamplingLevel>,
    /// Train only on this fraction of completion tokens, those of highest
    /// entropy in the batch (TRL's top_entropy_quantile; 0.2 keeps the top
    /// 20%) [default: 1, every token].
    #[arg(long, value_name = "Q", help_heading = "GRPO objective")]
    pub top_entropy_quantile: Option<f32>,
    /// Reward functions: tool_call_exact, tool_call_function,
    /// tool_call_params, tool_call_overall, tool_call_parseable,
    /// tool_call_format, tool_call_concise, final_answer [default:
    /// tool_call_exact tool_call_function]. For phases of different rewards, use `phases:`
    /// in --config.
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
    /// stopped [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Custom rewards")]
    pub reward_timeout: Option<f64>,
    /// What an exception or a timeout in a custom reward does: `stop` the
    /// run (with a checkpoint) or `skip` the batch for that reward (scored
    /// as not applicable, counted) [default: stop].
    #[arg(long, value_enum, help_heading = "Custom rewards")]
    pub reward_errors: Option<RewardErrors>,
    /// Give the first part of the reference answer at the start of each
    /// completion (no loss on it), shrinking from --curriculum-start-ratio
    /// to --curriculum-end-ratio over --curriculum-steps iterations.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", help_heading = "GRPO objective")]
    pub curriculum_enabled: Option<bool>,
    /// Scaffold fraction at the start [default: 1].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub curriculum_start_ratio: Option<f32>,
    /// Scaffold fraction at the end [default: 0].
    #[arg(long, allow_hyphen_values = true, help_heading = "GRPO objective")]
    pub curriculum_end_ratio: Option<f32>,
    /// Iterations over which the scaffold fraction moves [default: 500].
    #[arg(long, help_heading = "GRPO objective")]
    pub curriculum_steps: Option<usize>,

    /// Where adapters, checkpoints, metrics and the plot go [default: adapters].
    #[arg(long, help_heading = "Output")]
    pub adapter_path: Option<PathBuf>,
    /// Checkpoint every N iterations and at the end [default: 100].
    #[arg(long, help_heading = "Output")]
    pub save_every: Option<usize>,
    /// Checkpoints kept [default: 3].
    #[arg(long, help_heading = "Output")]
    pub keep_checkpoints: Option<usize>,
    /// Report every N iterations [default: 10].
    #[arg(long, help_heading = "Output")]
    pub steps_per_report: Option<usize>,
    /// Validate every N iterations (with --val-data) [default: 100].
    #[arg(long, help_heading = "Output")]
    pub steps_per_eval: Option<usize>,
    /// Validation examples scored each time; 0 for all [default: 0].
    #[arg(long, help_heading = "Output")]
    pub val_examples: Option<usize>,
    /// Log every completion to rollouts.jsonl every N iterations; 0 for
    /// never [default: 10].
    #[arg(long, help_heading = "Output")]
    pub log_rollouts_every: Option<usize>,
    /// Also log to this Weights & Biases project (needs `pip install wandb`
    /// in .venv; offline when there is no network).
    #[arg(long, help_heading = "Output")]
    pub wandb_project: Option<String>,
    /// Continue from the last checkpoint in --adapter-path (with the same
    /// settings; iterations, learning rate and logging may change).
    #[arg(long, help_heading = "Output")]
    pub resume: bool,
    /// Start a new run in an --adapter-path that holds one: its
    /// checkpoints, logs and adapters are deleted first.
    #[arg(long, help_heading = "Output", conflicts_with = "resume")]
    pub force: bool,
    /// Cut each iteration's --batch-size prompts into N shards, each
    /// generated with its own random key and differentiated as one unit
    /// [default: one per process]. A run of one process with
    /// --rollout-shards N repeats a run on N processes (`mlx.launch`).
    #[arg(long, help_heading = "Distributed")]
    pub rollout_shards: Option<usize>,
}

/// `--train-type`.
/// `--reward-errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RewardErrors {
    /// Stop the run.
    #[default]
    Stop,
    /// Score the batch as not applicable for that reward, and count it.
    Skip,
}

impl From<RewardErrors> for grpo::reward_errors::RewardErrors {
    fn from(e: RewardErrors) -> Self {
        match e {
            RewardErrors::Stop => Self::Stop,
            RewardErrors::Skip => Self::Skip,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainType {
    /// Low-rank adapters.
    Lora,
    /// Weight-decomposed low-rank adapters.
    Dora,
    /// Every weight.
    Full,
}

impl From<TrainType> for FineTuneType {
    fn from(t: TrainType) -> Self {
        match t {
            TrainType::Lora => FineTuneType::Lora,
            TrainType::Dora => FineTuneType::Dora,
            TrainType::Full => FineTuneType::Full,
        }
    }
}

/// `--lr-schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Schedule {
    /// Constant after warmup.
    Constant,
    /// Cosine decay to --min-learning-rate.
    Cosine,
}

impl From<Schedule> for ScheduleKind {
    fn from(s: Schedule) -> Self {
        match s {
            Schedule::Constant => ScheduleKind::Constant,
            Schedule::Cosine => ScheduleKind::Cosine,
        }
    }
}

/// `--loss-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Loss {
    /// Token mean per completion, then mean over completions.
    Grpo,
    /// Token mean over the batch.
    Bnpo,
    /// Token sum over batch size × max completion length (Dr. GRPO).
    #[value(name = "dr_grpo")]
    DrGrpo,
    /// Token mean over the whole generation batch (DAPO).
    Dapo,
}

impl From<Loss> for LossType {
    fn from(l: Loss) -> Self {
        match l {
            Loss::Grpo => LossType::Grpo,
            Loss::Bnpo => LossType::Bnpo,
            Loss::DrGrpo => LossType::DrGrpo,
            Loss::Dapo => LossType::Dapo,
        }
    }
}

/// `mlx-grpo eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Model directory or Hugging Face repo id [default: the embedded tiny model].
    #[arg(long)]
    pub model: Option<String>,
    /// Adapters to apply (a directory with adapter_config.json).
    #[arg(long)]
    pub adapter_path: Option<PathBuf>,
    /// Test data (JSONL) [default: the embedded test set].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Score only the first N examples (of each category with --bfcl); 0
    /// for all.
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Prompts generated together.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Most tokens per answer.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 (default) is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Seed of sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The model's turns per answer at most: calls run on the --tools
    /// servers and the model answers again after their results; reports
    /// final-answer accuracy and turns (--max-tokens bounds the whole
    /// trajectory) [default: 1, single-turn].
    #[arg(long, default_value_t = 1)]
    pub max_turns: usize,
    /// A YAML file whose `tools:` list declares the servers for
    /// --max-turns (a training config works) [default: the built-in
    /// `mlx-grpo tools serve synth`].
    #[arg(long, value_name = "FILE")]
    pub tools: Option<PathBuf>,
    /// Seconds one tool call may take [default: 10].
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub tool_timeout: f64,
    /// Mismatches printed (all are written with --mismatches).
    #[arg(long, default_value_t = 5)]
    pub show: usize,
    /// Write every mismatch to this JSONL file.
    #[arg(long)]
    pub mismatches: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// How values compare: `default` (the rewards' rules) or `bfcl` (the
    /// Berkeley Function Calling Leaderboard's AST checker: strings
    /// lower-cased without spaces and `,./-_*^`, an int accepted for a
    /// float but not the reverse), for numbers comparable with the
    /// leaderboard.
    #[arg(long = "match", default_value = "default", value_parser = ["default", "bfcl"])]
    pub match_mode: String,
    /// Evaluate on a Berkeley Function Calling Leaderboard data directory
    /// (`BFCL_v4_<category>.json` with `possible_answer/`): every
    /// single-turn category found, checked as the leaderboard checks
    /// (always `--match bfcl`), with its per-category and summary
    /// accuracies; --limit counts per category.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "mismatches"])]
    pub bfcl: Option<PathBuf>,
    /// With --bfcl: give the functions through the chat template's `tools`
    /// argument instead of in the prompt (the guide's form, the default).
    #[arg(long, requires = "bfcl")]
    pub tools_in_template: bool,
    /// With --bfcl: the per-example JSONL (id, category, output, verdict,
    /// reason) [default: bfcl-results.jsonl].
    #[arg(long, value_name = "FILE", requires = "bfcl")]
    pub bfcl_results: Option<PathBuf>,
    /// With --bfcl: replace the per-example JSONL if it exists.
    #[arg(long, requires = "bfcl")]
    pub force: bool,
}

/// `mlx-grpo fuse`.
#[derive(Debug, Clone, Args)]
pub struct FuseArgs {
    /// Model directory or Hugging Face repo id [default: the embedded tiny model].
    #[arg(long)]
    pub model: Option<String>,
    /// Adapters to fold in.
    #[arg(long)]
    pub adapter_path: PathBuf,
    /// Where to write the fused model: a new or empty directory (never the
    /// model's or the adapters' own).
    #[arg(long)]
    pub save_path: PathBuf,
    /// Write dense weights even if the base is quantized.
    #[arg(long)]
    pub dequantize: bool,
    /// Replace --save-path if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
}

/// `mlx-grpo convert`.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The GGUF file to import (architectures llama, qwen2, qwen3; byte-level
    /// BPE tokenizers).
    #[arg(long, value_name = "FILE.gguf")]
    pub from_gguf: PathBuf,
    /// The model directory to write (config.json, model.safetensors and the
    /// tokenizer files).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How to store the weights: `keep` writes Q4_0/Q4_1/Q8_0 blocks as MLX
    /// 4/8-bit weights without loss (the mlx-community layout, for QLoRA);
    /// `f32`, `f16` and `bf16` dequantize.
    #[arg(long, value_enum, default_value_t = ConvertDtype::Keep)]
    pub dtype: ConvertDtype,
    /// Replace --out if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
}

/// `--dtype` of `mlx-grpo convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvertDtype {
    /// Keep quantized blocks quantized.
    Keep,
    /// float32.
    F32,
    /// float16.
    F16,
    /// bfloat16.
    Bf16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
        use grpo::scale_rewards::ScaleRewards;
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
            Some(grpo::importance_sampling::ImportanceSamplingLevel::Sequence)
        );
        assert_eq!(a.top_entropy_quantile, Some(0.2));
        let err = Cli::try_parse_from(["mlx-grpo", "train", "--scale-rewards", "global"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("global") && err.contains("batch"), "{err}");
    }
}
