//! `mlx-grpo eval`: the guide's evaluation script, batched; with `--bfcl`,
//! the Berkeley Function Calling Leaderboard's categories ([`bfcl`]).

mod bfcl;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use grpo::eval::{evaluate_multi_turn, evaluate_with, EvalOptions, EvalReport};
use grpo::multi_turn::MultiTurn;
use grpo::tasks::TaskSet;
use grpo_dataset::{load, LoadOptions};
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_tools::{ServerSpec, ToolSet, ToolSetOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::EvalArgs;
use crate::embedded;

/// Scores a model on a data set and prints (or writes) the report.
pub fn run(args: EvalArgs) -> Result<ExitCode> {
    if let Some(dir) = &args.bfcl {
        return bfcl::run(&args, dir);
    }
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| embedded::model().display().to_string());
    let data = args.data.clone().unwrap_or_else(|| embedded::data("test"));
    let loaded = load(&data, &LoadOptions::default()).context("loading the test data")?;
    let mut policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
    if let Some(dir) = &args.adapter_path {
        policy
            .load_adapters(dir)
            .with_context(|| format!("loading adapters from {}", dir.display()))?;
    }
    let tasks = TaskSet::prepare(&policy, &loaded.examples, "test data")?;
    let examples = tasks.eval_examples(args.limit);

    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json {
        let bar = ProgressBar::new(examples.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} examples | {elapsed_precise} < {eta_precise}",
            )
            .expect("a valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let sampler = if args.temperature > 0.0 {
        Sampler::with_temperature(args.temperature)
    } else {
        Sampler::greedy()
    };
    let compare: grpo_rewards::CompareOptions =
        args.match_mode.parse().map_err(anyhow::Error::msg)?;
    let opts = EvalOptions {
        batch_size: args.batch_size,
        max_tokens: args.max_tokens,
        sampler,
        seed: args.seed,
    };
    let progress = |done: usize, _: usize| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let report = if args.max_turns > 1 {
        let tools = ToolSet::start(
            &tool_servers(args.tools.as_deref())?,
            ToolSetOptions {
                call_timeout: std::time::Duration::from_secs_f64(args.tool_timeout),
                ..ToolSetOptions::default()
            },
        )?;
        let turns = MultiTurn {
            tools: &tools,
            max_turns: args.max_turns,
            schemas: None,
        };
        evaluate_multi_turn(&policy, &examples, &opts, &compare, &turns, progress)?
    } else {
        evaluate_with(&policy, &examples, &opts, &compare, progress)?
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(path) = &args.mismatches {
        let mut f =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        for m in &report.mismatches {
            writeln!(f, "{}", serde_json::to_string(m)?)?;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report, args.show));
        if let Some(path) = &args.mismatches {
            println!(
                "All {} mismatches: {}",
                report.mismatches.len(),
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The servers of `--tools FILE` (its `tools:` list), or the built-in
/// synth server.
fn tool_servers(file: Option<&std::path::Path>) -> Result<Vec<ServerSpec>> {
    let Some(path) = file else {
        let me = std::env::current_exe().context("finding this program to run its synth server")?;
        return Ok(vec![ServerSpec::new(
            "synth",
            [
                me.display().to_string(),
                "tools".into(),
                "serve".into(),
                "synth".into(),
            ],
        )]);
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    #[derive(serde::Deserialize)]
    struct Tools {
        #[serde(default)]
        tools: Vec<ServerSpec>,
    }
    let parsed: Tools = serde_norway::from_str(&text)
        .with_context(|| format!("reading the `tools:` list of {}", path.display()))?;
    if parsed.tools.is_empty() {
        anyhow::bail!(
            "{} declares no `tools:`; list the servers as `tools: [{{name: calc, command: [python, tools.py]}}]`",
            path.display()
        );
    }
    for spec in &parsed.tools {
        spec.validate()?;
    }
    Ok(parsed.tools)
}

/// The human-readable report: mismatches as the guide's script prints them,
/// then the accuracies.
pub fn render(r: &EvalReport, show: usize) -> String {
    let mut s = String::new();
    for m in r.mismatches.iter().take(show) {
        s += &format!(
            "\n❌ Mismatch:\n  Expected: {}\n  Got: {}\n  Scores: function {:.2}, params {:.2}, overall {:.2}\n",
            m.expected.replace('\n', "\\n"),
            m.got.replace('\n', "\\n"),
            m.function,
            m.params,
            m.overall
        );
    }
    if r.mismatches.len() > show {
        s += &format!("\n… {} more mismatches\n", r.mismatches.len() - show);
    }
    let rule = "=".repeat(60);
    let a = &r.all;
    s += &format!(
        "\n{rule}\nExact Match Accuracy: {:.2}% ({}/{})\n{rule}\n",
        100.0 * a.exact_rate(),
        a.exact,
        a.total
    );
    s += &format!(
        "Function accuracy: {:.2}% | Parameter accuracy: {:.2}% | Parse rate: {:.2}% | Format validity: {:.2}%\n",
        100.0 * a.function_rate(),
        100.0 * a.params_rate(),
        100.0 * a.parse_rate(),
        100.0 * a.format_rate()
    );
    if let Some(irr) = r.irrelevance_accuracy() {
        s += &format!("Irrelevance accuracy: {:.2}%\n", 100.0 * irr);
    }
    s += "By kind:\n";
    for (kind, t) in &r.by_kind {
        s += &format!(
            "  {kind:<12} exact {:>6.2}% ({}/{}) | function {:>6.2}% | params {:>6.2}%\n",
            100.0 * t.exact_rate(),
            t.exact,
            t.total,
            100.0 * t.function_rate(),
            100.0 * t.params_rate()
        );
    }
    if let Some(t) = &r.multi_turn {
        if let Some(acc) = t.final_answer_accuracy() {
            s += &format!(
                "Final-answer accuracy: {:.2}% ({}/{})\n",
                100.0 * acc,
                t.final_correct,
                t.with_final_answer
            );
        }
        s += &format!(
            "Turns: {:.2} per example | tool calls: {} ({} failed)\n",
            t.mean_turns(),
            t.tool_calls,
            t.tool_errors
        );
    }
    s += &format!(
        "{} tokens in {:.1}s ({:.0} tok/s)\n",
        r.generated_tokens,
        r.seconds,
        r.generated_tokens as f64 / r.seconds.max(1e-9)
    );
    s
}
