//! Scoring a policy on held-out examples: the guide's evaluation script,
//! batched.
//!
//! Each example is answered once (greedy unless a sampler is given), in
//! batches, and scored with the same parser and comparison as the rewards:
//! exact-match, function and parameter accuracy, parse rate, format validity,
//! irrelevance accuracy (no call when none applies), per kind of example.

use std::collections::BTreeMap;
use std::path::Path;

use grpo_policy::mlx_rs::{random, Array};
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_rewards::{Reference, RewardSet};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::multi_turn::{sample_trajectories, MultiTurn, Sampling};
use crate::rollout::opened_in_prompt;
use crate::thinking::Thinking;
pub use crate::turn_tally::TurnTally;

/// One example to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct EvalExample<'a> {
    /// Prompt tokens (chat template applied).
    pub prompt: &'a [u32],
    /// The expected answer.
    pub reference: &'a Reference,
    /// The expected answer as written in the data.
    pub answer: &'a str,
    /// The example's kind (`single`, `multiple`, `parallel`,
    /// `irrelevance`, …), for the breakdown.
    pub kind: &'a str,
}

/// Counts for one kind of example (or all of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Examples scored.
    pub total: usize,
    /// Exact matches.
    pub exact: usize,
    /// Sum of function scores.
    pub function: f64,
    /// Sum of parameter scores.
    pub params: f64,
    /// Outputs with at least one parseable call.
    pub parseable: usize,
    /// Outputs with a valid format (calls present exactly when expected,
    /// nothing but calls).
    pub format: usize,
}

impl Tally {
    /// Exact-match accuracy.
    pub fn exact_rate(&self) -> f64 {
        ratio(self.exact as f64, self.total)
    }

    /// Mean function score.
    pub fn function_rate(&self) -> f64 {
        ratio(self.function, self.total)
    }

    /// Mean parameter score.
    pub fn params_rate(&self) -> f64 {
        ratio(self.params, self.total)
    }

    /// Parse rate.
    pub fn parse_rate(&self) -> f64 {
        ratio(self.parseable as f64, self.total)
    }

    /// Format validity.
    pub fn format_rate(&self) -> f64 {
        ratio(self.format as f64, self.total)
    }
}

fn ratio(x: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        x / n as f64
    }
}

/// One answer that was not an exact match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// Index of the example in the evaluated list.
    pub index: usize,
    /// Its kind.
    pub kind: String,
    /// The expected answer.
    pub expected: String,
    /// What the model produced.
    pub got: String,
    /// Function score.
    pub function: f32,
    /// Parameter score.
    pub params: f32,
    /// Overall score (0.4 function + 0.4 params + 0.2 exact).
    pub overall: f32,
}

/// The result of an evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// All examples.
    pub all: Tally,
    /// By kind.
    pub by_kind: BTreeMap<String, Tally>,
    /// Every non-exact answer.
    pub mismatches: Vec<Mismatch>,
    /// Generated tokens.
    pub generated_tokens: usize,
    /// Seconds spent.
    pub seconds: f64,
    /// Turns, tool calls and final answers, in a multi-turn evaluation
    /// ([`evaluate_multi_turn`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_turn: Option<TurnTally>,
}

impl EvalReport {
    /// Exact-match accuracy over all examples.
    pub fn exact_match(&self) -> f64 {
        self.all.exact_rate()
    }

    /// Irrelevance accuracy: share of `irrelevance` examples answered with
    /// no call, if there are any.
    pub fn irrelevance_accuracy(&self) -> Option<f64> {
        self.by_kind.get("irrelevance").map(Tally::exact_rate)
    }
}

/// How to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Prompts generated together.
    pub batch_size: usize,
    /// Tokens per answer at most.
    pub max_tokens: usize,
    /// Greedy by default.
    pub sampler: Sampler,
    /// Seed of sampling (unused when greedy).
    pub seed: u64,
}

const SCORERS: [&str; 5] = [
    "tool_call_exact",
    "tool_call_function",
    "tool_call_params",
    "tool_call_parseable",
    "tool_call_format",
];

/// Answers and scores every example under the rewards' default value
/// comparison; `progress(done, total)` is called after each batch.
pub fn evaluate(
    policy: &Policy,
    examples: &[EvalExample<'_>],
    opts: &EvalOptions,
    progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let default = grpo_rewards::CompareOptions::default();
    evaluate_with(policy, examples, opts, &default, progress)
}

/// [`evaluate`], comparing values under `compare`:
/// [`CompareOptions::bfcl`](grpo_rewards::CompareOptions::bfcl) gives
/// numbers comparable with the Berkeley Function Calling Leaderboard.
pub fn evaluate_with(
    policy: &Policy,
    examples: &[EvalExample<'_>],
    opts: &EvalOptions,
    compare: &grpo_rewards::CompareOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let start = std::time::Instant::now();
    let scorers = RewardSet::new(&SCORERS, None)?.with_options(*compare);
    let overall = RewardSet::new(&["tool_call_overall"], None)?.with_options(*compare);
    let mut report = EvalReport::default();
    let mut key = random::key(opts.seed)?;
    for (b, chunk) in examples.chunks(opts.batch_size.max(1)).enumerate() {
        let prompts: Vec<Vec<u32>> = chunk.iter().map(|e| e.prompt.to_vec()).collect();
        let (next, sub): (Array, Array) = random::split(&key, 2)?;
        key = next;
        let generation = policy.generate(&prompts, 1, opts.max_tokens, opts.sampler, &sub)?;
        report.generated_tokens += generation.total_tokens();
        let texts = policy.decode(&generation.tokens)?;
        let first = b * opts.batch_size.max(1);
        tally_batch(&mut report, chunk, first, &texts, &scorers, &overall)?;
        progress(report.all.total, examples.len());
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// [`evaluate_with`] with multi-turn answers: each example's calls run on
/// `turns.tools` and the model answers again after their results, as in
/// a multi-turn rollout ([`crate::multi_turn`]; `opts.max_tokens` bounds
/// the whole trajectory). Calls are scored on the first turn, and the last
/// message against the example's `final_answer`
/// ([`EvalReport::multi_turn`]).
pub fn evaluate_multi_turn(
    policy: &Policy,
    examples: &[EvalExample<'_>],
    opts: &EvalOptions,
    compare: &grpo_rewards::CompareOptions,
    turns: &MultiTurn<'_>,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let start = std::time::Instant::now();
    let scorers = RewardSet::new(&SCORERS, None)?.with_options(*compare);
    let overall = RewardSet::new(&["tool_call_overall"], None)?.with_options(*compare);
    let thinking = Thinking::default();
    let mut report = EvalReport::default();
    let mut used = TurnTally::default();
    let mut key = random::key(opts.seed)?;
    for (b, chunk) in examples.chunks(opts.batch_size.max(1)).enumerate() {
        let prompts: Vec<Vec<u32>> = chunk.iter().map(|e| e.prompt.to_vec()).collect();
        let (next, sub): (Array, Array) = random::split(&key, 2)?;
        key = next;
        let opened = opened_in_prompt(policy, &prompts, &thinking)?;
        let sampling = Sampling {
            group_size: 1,
            max_tokens: opts.max_tokens,
            sampler: opts.sampler,
            thinking: &thinking,
        };
        let trajectories = sample_trajectories(policy, &prompts, sampling, turns, &opened, &sub)?;
        let texts: Vec<String> = trajectories
            .iter()
            .map(|t| t.messages.first().cloned().unwrap_or_default())
            .collect();
        let first = b * opts.batch_size.max(1);
        tally_batch(&mut report, chunk, first, &texts, &scorers, &overall)?;
        for (e, t) in chunk.iter().zip(&trajectories) {
            report.generated_tokens += t.sampled_tokens();
            used.add(t, e.reference, &thinking);
        }
        progress(report.all.total, examples.len());
    }
    report.multi_turn = Some(used);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Scores the answers `texts` of `chunk` (whose first example is number
/// `first` of the evaluated list) into `report`.
fn tally_batch(
    report: &mut EvalReport,
    chunk: &[EvalExample<'_>],
    first: usize,
    texts: &[String],
    scorers: &RewardSet,
    overall: &RewardSet,
) -> Result<()> {
    let references: Vec<&Reference> = chunk.iter().map(|e| e.reference).collect();
    let scores = scorers.score_batch(texts, &references)?;
    let overall = overall.score_batch(texts, &references)?;
    for (i, e) in chunk.iter().enumerate() {
        let s: Vec<f32> = scores.per_reward.iter().map(|col| col[i]).collect();
        for tally in [
            &mut report.all,
            report.by_kind.entry(e.kind.to_string()).or_default(),
        ] {
            tally.total += 1;
            tally.exact += usize::from(s[0] == 1.0);
            tally.function += f64::from(s[1]);
            tally.params += f64::from(s[2]);
            tally.parseable += usize::from(s[3] == 1.0);
            tally.format += usize::from(s[4] == 1.0);
        }
        if s[0] < 1.0 {
            report.mismatches.push(Mismatch {
                index: first + i,
                kind: e.kind.to_string(),
                expected: e.answer.to_string(),
                got: texts[i].clone(),
                function: s[1],
                params: s[2],
                overall: overall.total[i],
            });
        }
    }
    Ok(())
}

/// One line of `eval.jsonl`: a validation's rates, overall and per kind of
/// example. Iteration 0 is the model before training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalLine {
    /// Iterations done when it was measured (0: before the first).
    pub iteration: usize,
    /// Exact-match rate over all examples.
    pub exact_match: f64,
    /// Mean function score.
    pub function: f64,
    /// Mean parameter score.
    pub params: f64,
    /// Share of outputs with a parseable call.
    pub parse_rate: f64,
    /// Share of outputs in a valid format.
    pub format: f64,
    /// Examples scored.
    pub examples: usize,
    /// The same rates for each kind of example (`single`, `multiple`,
    /// `parallel`, `irrelevance`, …).
    #[serde(default)]
    pub by_kind: std::collections::BTreeMap<String, KindRates>,
    /// Multi-turn validations: the share of examples with a
    /// `final_answer` whose last message gives it (absent when none has
    /// one, and in single-turn runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_answer: Option<f64>,
    /// Multi-turn validations: the model's mean turns per example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<f64>,
}

/// The rates of one kind of example in an [`EvalLine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindRates {
    /// Exact-match rate.
    pub exact_match: f64,
    /// Mean function score.
    pub function: f64,
    /// Mean parameter score.
    pub params: f64,
    /// Share of outputs with a parseable call.
    pub parse_rate: f64,
    /// Share of outputs in a valid format.
    pub format: f64,
    /// Examples of this kind scored.
    pub examples: usize,
}

impl KindRates {
    /// The rates of one tally.
    pub fn of(t: &Tally) -> Self {
        Self {
            exact_match: t.exact_rate(),
            function: t.function_rate(),
            params: t.params_rate(),
            parse_rate: t.parse_rate(),
            format: t.format_rate(),
            examples: t.total,
        }
    }
}

impl EvalLine {
    /// The line of a validation after `iteration` iterations.
    pub fn new(iteration: usize, r: &EvalReport) -> Self {
        let all = KindRates::of(&r.all);
        Self {
            iteration,
            exact_match: all.exact_match,
            function: all.function,
            params: all.params,
            parse_rate: all.parse_rate,
            format: all.format,
            examples: all.examples,
            by_kind: r
                .by_kind
                .iter()
                .map(|(k, t)| (k.clone(), KindRates::of(t)))
                .collect(),
            final_answer: r
                .multi_turn
                .as_ref()
                .and_then(TurnTally::final_answer_accuracy),
            turns: r.multi_turn.as_ref().map(TurnTally::mean_turns),
        }
    }

    /// The rates over all examples.
    pub fn all(&self) -> KindRates {
        KindRates {
            exact_match: self.exact_match,
            function: self.function,
            params: self.params,
            parse_rate: self.parse_rate,
            format: self.format,
            examples: self.examples,
        }
    }

    /// Reads `eval.jsonl` (lines that do not parse are skipped).
    pub fn read_log(path: &Path) -> Result<Vec<EvalLine>> {
        let text = std::fs::read_to_string(path).map_err(Error::io("reading", path))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}
