//! Synthetic tool-calling tasks, deterministic by seed.
//!
//! Tasks come from a catalogue of functions with typed parameters (int,
//! float, string, bool, enum, lists, optional ones with defaults), in four
//! kinds:
//!
//! - **single**: one function listed, one call;
//! - **multiple**: several functions listed, the query needs one of them;
//! - **parallel**: several calls in one answer, of one function or of
//!   several listed ones, one per line as in the guide's factorial example;
//! - **irrelevance**: the query asks for something no listed function does;
//!   the answer is empty.
//!
//! Prompts have the guide's shape (see [`crate::prompt::build_prompt`]).
//! Every argument of an answer can be read off the query: numbers appear as
//! digits, names and enum words verbatim, booleans as a phrase. Each record
//! carries `source: "synthetic"` and its kind in the extra field `kind`,
//! and `possible_answers` lists the allowed values of each parameter (an
//! omitted optional parameter may also be given its default).
//!
//! Record `i` depends only on the configuration and on records before it,
//! so a larger `n` with the same seed extends a smaller run.

mod catalogue;
mod execute;
mod fill;
mod functions;
mod kind;

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::prompt::{build_prompt, JsonStyle};
use crate::record::{Example, Message};
use crate::rng::SplitMix64;
use catalogue::{Domain, Function};
pub use execute::{execute, tools};
use fill::{fill, FilledCall};
pub use kind::{Kind, KindMix};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// How many records.
    pub n: usize,
    /// The seed; the same configuration always gives the same records.
    pub seed: u64,
    /// Functions listed in multiple, parallel and irrelevance prompts
    /// (single prompts list one). Three keeps prompts near 250 tokens.
    pub functions_per_prompt: usize,
    /// The kinds' weights.
    pub mix: KindMix,
    /// How the function list is laid out in the prompt.
    pub json_style: JsonStyle,
    /// The most calls in a parallel answer (at least 2).
    pub max_parallel_calls: usize,
    /// Give one-call tasks whose tool result is a single number a
    /// `final_answer`: that number, as [`execute`] computes it (and
    /// `mlx-grpo tools serve synth` returns it), so that answering needs
    /// the tool's result. The records are otherwise the same.
    pub final_answers: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            n: 1000,
            seed: 0,
            functions_per_prompt: 3,
            mix: KindMix::default(),
            json_style: JsonStyle::Pretty,
            max_parallel_calls: 3,
            final_answers: false,
        }
    }
}

impl SynthConfig {
    fn validate(&self, catalogue_len: usize) -> Result<()> {
        if !(2..=catalogue_len / 2).contains(&self.functions_per_prompt) {
            return Err(Error::BadConfig {
                name: "functions per prompt",
                value: self.functions_per_prompt.to_string(),
                allowed: format!("2 to {}", catalogue_len / 2),
            });
        }
        if self.max_parallel_calls < 2 {
            return Err(Error::BadConfig {
                name: "max parallel calls",
                value: self.max_parallel_calls.to_string(),
                allowed: "2 or more".into(),
            });
        }
        let weights = Kind::ALL.map(|k| self.mix.weight(k));
        if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite()))
            || weights.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::BadConfig {
                name: "kind mix",
                value: format!("{:?}", self.mix),
                allowed: "weights ≥ 0 with a positive sum".into(),
            });
        }
        Ok(())
    }
}

/// Generates `config.n` records.
///
/// # Errors
///
/// [`Error::BadConfig`] when `functions_per_prompt` is outside 2 to half
/// the catalogue, `max_parallel_calls` is below 2, or the mix has no
/// positive weight.
pub fn generate(config: &SynthConfig) -> Result<Vec<Example>> {
    let catalogue = catalogue::all();
    config.validate(catalogue.len())?;
    let mut seen = HashSet::with_capacity(config.n);
    let mut out = Vec::with_capacity(config.n);
    for i in 0..config.n {
        let mut rng = SplitMix64::derived(config.seed, i as u64);
        let kind = config.mix.draw(&mut rng);
        // Redraw a repeated prompt a few times; a tiny value space may
        // still repeat, which loading reports.
        let mut ex = task(kind, &catalogue, config, &mut rng);
        for _ in 0..16 {
            if !seen.contains(&ex.prompt) {
                break;
            }
            ex = task(kind, &catalogue, config, &mut rng);
        }
        seen.insert(ex.prompt.clone());
        out.push(ex);
    }
    Ok(out)
}

/// Builds one task of `kind`.
fn task(
    kind: Kind,
    catalogue: &[&'static Function],
    config: &SynthConfig,
    rng: &mut SplitMix64,
) -> Example {
    let k = config.functions_per_prompt;
    let target = pick_function(catalogue, rng, |_| true);
    let (listed, calls): (Vec<&'static Function>, Vec<FilledCall>) = match kind {
        Kind::Single => (vec![target], vec![fill(target, rng)]),
        Kind::Multiple => (
            with_distractors(vec![target], k, catalogue, rng),
            vec![fill(target, rng)],
        ),
        Kind::Parallel => {
            let n_calls = 2 + rng.below(config.max_parallel_calls - 1);
            let targets: Vec<&'static Function> = if rng.chance(0.5) {
                vec![target; n_calls]
            } else {
                // Distinct functions, each called once, up to the listed count.
                with_distractors(vec![target], n_calls.min(k), catalogue, rng)
            };
            let mut calls: Vec<FilledCall> = Vec::with_capacity(targets.len());
            for f in &targets {
                let mut call = fill(f, rng);
                for _ in 0..8 {
                    if !calls.iter().any(|c| c.render() == call.render()) {
                        break;
                    }
                    call = fill(f, rng);
                }
                calls.push(call);
            }
            let mut distinct: Vec<&'static Function> = Vec::new();
            for f in targets {
                if !distinct.iter().any(|d| d.name == f.name) {
                    distinct.push(f);
                }
            }
            (with_distractors(distinct, k, catalogue, rng), calls)
        }
        Kind::Irrelevance => {
            let listed = with_distractors(Vec::new(), k, catalogue, rng);
            let domains: Vec<Domain> = listed.iter().map(|f| f.domain).collect();
            let unlisted = |f: &Function| !listed.iter().any(|l| l.name == f.name);
            let asked = if catalogue
                .iter()
                .any(|f| unlisted(f) && !domains.contains(&f.domain))
            {
                pick_function(catalogue, rng, |f| {
                    unlisted(f) && !domains.contains(&f.domain)
                })
            } else {
                // Every domain is listed (many functions per prompt): any
                // unlisted function still makes the query unanswerable.
                pick_function(catalogue, rng, unlisted)
            };
            let query = fill(asked, rng).query;
            return assemble(kind, &listed, &[], query, config);
        }
    };
    let query = join_sentences(calls.iter().map(|c| c.query.as_str()), rng);
    let mut ex = assemble(kind, &listed, &calls, query, config);
    if let ([call], true) = (calls.as_slice(), config.final_answers) {
        ex.final_answer = numeric_result(call);
    }
    ex
}

/// The turn that answers `task` from its tool's result, as a record for
/// supervised fine-tuning (`mlx-grpo sft`): a multi-turn warm start, so
/// that a model learns to read a result and answer before GRPO rewards it
/// for doing so.
///
/// `messages` hold the request, the task's call as the assistant's turn
/// and the call's result as a `tool` message, as a multi-turn rollout
/// renders them (the result is the text `mlx-grpo tools serve synth`
/// returns); `answer` is the sentence `The answer is N.`, which the
/// `final_answer` reward matches. The record keeps the task's
/// `final_answer` and has the kind `answer`. `None` unless the task has
/// one call, a `final_answer` and a call that runs.
///
/// ```
/// use grpo_dataset::synth::{answer_turn, generate, SynthConfig};
///
/// let config = SynthConfig { n: 100, final_answers: true, ..SynthConfig::default() };
/// let task = generate(&config)?.into_iter().find(|t| t.final_answer.is_some()).unwrap();
/// let turn = answer_turn(&task).unwrap();
/// let messages = turn.messages.as_ref().unwrap();
/// assert_eq!(messages.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["user", "assistant", "tool"]);
/// assert_eq!(messages[1].content, task.answer);
/// assert_eq!(turn.answer, format!("The answer is {}.", task.final_answer.unwrap()));
/// # Ok::<(), grpo_dataset::Error>(())
/// ```
pub fn answer_turn(task: &Example) -> Option<Example> {
    let final_answer = task.final_answer.as_ref().filter(|v| v.is_number())?;
    let mut parsed = grpo_rewards::extract_function_calls(&task.answer);
    if parsed.calls.len() != 1 {
        return None;
    }
    let call = parsed.calls.remove(0);
    let args = call.to_json().get("arguments")?.as_object()?.clone();
    let result = execute(&call.name, &args).ok()?;
    let mut messages = task
        .messages
        .clone()
        .unwrap_or_else(|| vec![Message::new("user", task.prompt.clone())]);
    messages.push(Message::new("assistant", task.answer.clone()));
    let mut tool = Message::new("tool", result.to_string());
    tool.extra.insert("name".into(), Value::from(call.name));
    messages.push(tool);
    let mut extra = Map::new();
    extra.insert("kind".into(), Value::from("answer"));
    Some(Example {
        prompt: task.prompt.clone(),
        answer: format!("The answer is {final_answer}."),
        source: task.source.clone(),
        tools: task.tools.clone(),
        messages: Some(messages),
        final_answer: Some(final_answer.clone()),
        extra,
        ..Example::default()
    })
}

/// The call's result when it is one number: the result's only field
/// that does not repeat an argument (`{"factorial": 720}`, or
/// `{"amount": 92.0, "currency": "EUR"}` for a call with
/// `to_currency="EUR"`). `None` when the new information is not exactly
/// one number (`is_prime`'s boolean, a weather report).
fn numeric_result(call: &FilledCall) -> Option<Value> {
    let args: Map<String, Value> = call
        .args
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let result = execute(call.function.name, &args).ok()?;
    let echoes = |v: &Value| {
        args.values().any(|a| a == v)
            || call
                .function
                .params
                .iter()
                .any(|p| p.default.is_some_and(|d| d.to_json() == *v))
    };
    let mut new = result.as_object()?.values().filter(|v| !echoes(v));
    match (new.next(), new.next()) {
        (Some(n), None) if n.is_number() => Some(n.clone()),
        _ => None,
    }
}

/// A function satisfying `keep`, or any function when none does.
fn pick_function(
    catalogue: &[&'static Function],
    rng: &mut SplitMix64,
    keep: impl Fn(&Function) -> bool,
) -> &'static Function {
    let eligible: Vec<&'static Function> = catalogue.iter().copied().filter(|f| keep(f)).collect();
    let pool = if eligible.is_empty() {
        catalogue
    } else {
        &eligible
    };
    // `validate` guarantees a non-empty catalogue.
    pool[rng.below(pool.len())]
}

/// `chosen` plus other functions up to `k`, shuffled into prompt order.
fn with_distractors(
    mut chosen: Vec<&'static Function>,
    k: usize,
    catalogue: &[&'static Function],
    rng: &mut SplitMix64,
) -> Vec<&'static Function> {
    let mut others: Vec<&'static Function> = catalogue
        .iter()
        .copied()
        .filter(|f| !chosen.iter().any(|c| c.name == f.name))
        .collect();
    rng.shuffle(&mut others);
    let missing = k.saturating_sub(chosen.len());
    chosen.extend(others.into_iter().take(missing));
    rng.shuffle(&mut chosen);
    chosen
}

/// Joins the sentences of a parallel query with varied connectives.
fn join_sentences<'a>(sentences: impl Iterator<Item = &'a str>, rng: &mut SplitMix64) -> String {
    const CONNECTIVES: [&str; 4] = ["", "Also, ", "Then ", "And "];
    let mut out = String::new();
    for (i, s) in sentences.enumerate() {
        if i == 0 {
            out.push_str(s);
            continue;
        }
        out.push(' ');
        let connective = *rng.pick(&CONNECTIVES).unwrap_or(&"");
        out.push_str(connective);
        if connective.is_empty() || s.starts_with("I ") {
            out.push_str(s);
        } else {
            let mut chars = s.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_lowercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// The record for a task.
fn assemble(
    kind: Kind,
    listed: &[&'static Function],
    calls: &[FilledCall],
    query: String,
    config: &SynthConfig,
) -> Example {
    let tools: Vec<Value> = listed.iter().map(|f| f.to_json()).collect();
    let answer: Vec<String> = calls.iter().map(FilledCall::render).collect();
    let ground_truth = calls.first().map(|c| c.function.name.to_owned());
    let mut distinct: Vec<&str> = calls.iter().map(|c| c.function.name).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut extra = Map::new();
    extra.insert("kind".into(), Value::from(kind.name()));
    Example {
        prompt: build_prompt(&tools, &query, config.json_style),
        answer: answer.join("\n"),
        ground_truth_text: ground_truth.clone(),
        ground_truth,
        possible_boxed_answers: listed.iter().map(|f| f.name.to_owned()).collect(),
        is_multi_answer: distinct.len() > 1,
        confidence: 1.0,
        source: "synthetic".into(),
        possible_answers: (!calls.is_empty()).then(|| possible_answers(calls)),
        extra,
        ..Example::default()
    }
}

/// The BFCL form `[{"fn": {"param": [allowed…]}}]`: each passed value, and
/// for an optional parameter left out, its default or omission (`""`).
fn possible_answers(calls: &[FilledCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .map(|c| {
                let mut params = Map::new();
                for p in c.function.params {
                    let allowed = match (c.args.iter().find(|(n, _)| *n == p.name), p.default) {
                        (Some((_, v)), _) => vec![v.clone()],
                        (None, Some(d)) => vec![d.to_json(), json!("")],
                        (None, None) => continue,
                    };
                    params.insert(p.name.into(), Value::Array(allowed));
                }
                json!({ c.function.name: params })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
