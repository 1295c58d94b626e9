//! `mlx-grpo eval`.

use std::path::PathBuf;

use clap::Args;

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
    /// trajectory); 1 is single-turn.
    #[arg(long, default_value_t = 1)]
    pub max_turns: usize,
    /// A YAML file whose `tools:` list declares the servers for
    /// --max-turns (a training config works) [default: the built-in
    /// `mlx-grpo tools serve synth`].
    #[arg(long, value_name = "FILE")]
    pub tools: Option<PathBuf>,
    /// Seconds one tool call may take.
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
