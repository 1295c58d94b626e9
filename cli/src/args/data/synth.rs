//! `mlx-grpo data synth`.

use std::path::PathBuf;

use clap::Args;

/// `mlx-grpo data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of records in all.
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// Seed; the same flags always give the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for train.jsonl, valid.jsonl and test.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Functions listed in each multiple/parallel/irrelevance prompt.
    #[arg(long, default_value_t = 3)]
    pub functions_per_prompt: usize,
    /// Kind weights, e.g. single=0.25,multiple=0.35,parallel=0.25,irrelevance=0.15.
    #[arg(long)]
    pub mix: Option<String>,
    /// Most calls in a parallel answer.
    #[arg(long, default_value_t = 3)]
    pub max_parallel_calls: usize,
    /// Write the function list in prompts on one line (fewer tokens).
    #[arg(long)]
    pub compact: bool,
    /// Give one-call tasks whose tool result is one number a
    /// `final_answer` (that number, as `tools serve synth` computes it).
    #[arg(long)]
    pub final_answers: bool,
    /// With --final-answers: also write into train.jsonl, after each task
    /// with a final answer, the turn that gives it (the request, the call
    /// and its result as `messages`, `The answer is N.` as `answer`), to
    /// teach answering from a tool result with `mlx-grpo sft` before
    /// multi-turn GRPO. valid.jsonl and test.jsonl keep the tasks only.
    #[arg(long, requires = "final_answers")]
    pub answer_turns: bool,
    /// Fraction of records for valid.jsonl.
    #[arg(long, default_value_t = 0.1)]
    pub valid_fraction: f64,
    /// Fraction of records for test.jsonl.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
}
