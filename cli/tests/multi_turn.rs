//! Multi-turn rollouts on the embedded tiny model: its calls run on real
//! MCP servers (the binary's `tools serve synth`, and a third-party server
//! written with the `mcp` package in `.venv`), the results come back as
//! `tool` messages, and only the model's own tokens carry loss.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use grpo::advantages::AdvantageConfig;
use grpo::multi_turn::{self, tool_turn_tokens, MultiTurn};
use grpo::rollout::{PromptSet, Rollout, RolloutConfig};
use grpo::thinking::Thinking;
use grpo_dataset::synth::{generate, SynthConfig};
use grpo_dataset::Example;
use grpo_policy::mlx_rs::random;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_rewards::{extract_function_calls, Reference, RewardSet};
use grpo_tools::{ServerSpec, ToolSet, ToolSetOptions};

const BIN: &str = env!("CARGO_BIN_EXE_mlx-grpo");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy() -> Policy {
    grpo_policy::blas::pin_threads();
    Policy::load(root().join("fixtures/tiny-tool-caller").to_str().unwrap()).unwrap()
}

/// Synthetic one-call tasks whose answer needs the tool's result, the
/// first `n` that call `function`.
fn final_answer_tasks(function: &str, n: usize) -> Vec<Example> {
    let all = generate(&SynthConfig {
        n: 2000,
        seed: 3,
        mix: "single=1".parse().unwrap(),
        final_answers: true,
        ..SynthConfig::default()
    })
    .unwrap();
    let picked: Vec<Example> = all
        .into_iter()
        .filter(|e| e.final_answer.is_some() && e.answer.starts_with(&format!("{function}(")))
        .take(n)
        .collect();
    assert_eq!(picked.len(), n, "too few `{function}` tasks");
    picked
}

fn synth_server() -> ServerSpec {
    ServerSpec::new("synth", [BIN, "tools", "serve", "synth"])
}

/// The venv's Python when it can import `mcp` (else `None`, said on
/// stderr: the one case in which the third-party server tests skip).
fn python() -> Option<String> {
    let python = root().join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import mcp.server.mcpserver"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipped: {} cannot import `mcp`", python.display());
        return None;
    }
    Some(python.to_string_lossy().into_owned())
}

fn factorial_server(python: &str, mode: &str) -> ServerSpec {
    let script = root().join("cli/tests/servers/factorial_server.py");
    ServerSpec::new("factorial", [python, script.to_str().unwrap(), mode])
}

fn start(spec: ServerSpec, call_timeout: Duration, restarts: u32) -> ToolSet {
    ToolSet::start(
        &[spec],
        ToolSetOptions {
            call_timeout,
            restarts,
            ..ToolSetOptions::default()
        },
    )
    .expect("the server starts")
}

/// A rollout of `group` trajectories for each of `tasks`, at most
/// `max_turns` turns and `budget` tokens each.
fn rollout(
    policy: &Policy,
    tools: &ToolSet,
    tasks: &[Example],
    group: usize,
    max_turns: usize,
    budget: usize,
) -> grpo::Result<Rollout> {
    let prompts: Vec<Vec<u32>> = tasks
        .iter()
        .map(|t| policy.prompt_tokens(&t.prompt).unwrap())
        .collect();
    let references: Vec<Reference> = tasks.iter().map(|t| t.reference().unwrap()).collect();
    let references: Vec<&Reference> = references.iter().collect();
    let rewards = RewardSet::new(&["tool_call_exact", "final_answer"], None).unwrap();
    let thinking = Thinking::default();
    multi_turn::collect(
        policy,
        PromptSet {
            tokens: &prompts,
            references: &references,
            scaffolds: &[],
        },
        RolloutConfig {
            group_size: group,
            max_tokens: budget,
            sampler: Sampler::with_temperature(0.7),
            rewards: &rewards,
            advantages: AdvantageConfig::default(),
            thinking: &thinking,
            recovery: None,
        },
        MultiTurn {
            tools,
            max_turns,
            schemas: None,
        },
        &random::key(7).unwrap(),
    )
}

/// The rows that called a tool and got a second turn, each checked to be
/// laid out exactly: its first turn (sampled, ending with the end-of-turn
/// token), the tool turn (given: what the template renders for the
/// results that `tools` gives for the first turn's calls, computed again
/// here), then its second turn (sampled); the loss mask 1 on the sampled
/// tokens only. Returns the decoded tool turns.
fn check_two_turn_rows(policy: &Policy, tools: &ToolSet, rollout: &Rollout) -> Vec<String> {
    let used = rollout.tool_use.as_ref().expect("a multi-turn rollout");
    let mask = rollout.sampled_mask();
    let width = mask.shape()[1] as usize;
    let mask = mask.as_slice::<f32>().to_vec();
    let eos = policy.tokenizer.eos_token_ids();
    let mut tool_turns = Vec::new();
    for row in 0..rollout.rows() {
        let tokens = &rollout.tokens[row];
        let line = &mask[row * width..(row + 1) * width];
        if used.turns[row] == 1 {
            assert!(rollout.forced[row].is_empty(), "row {row}");
            assert!(line[..tokens.len()].iter().all(|&m| m == 1.0), "row {row}");
            continue;
        }
        assert_eq!(used.turns[row], 2, "row {row}: at most two turns");
        assert_eq!(rollout.forced[row].len(), 1, "row {row}: one tool turn");
        let given = rollout.forced[row][0].clone();
        assert!(given.start > 0 && given.end < tokens.len(), "row {row}");
        assert!(
            eos.contains(&tokens[given.start - 1]),
            "row {row}: turn 1 ends with its end token"
        );

        // The tool turn is what the template renders for the calls'
        // results.
        let first = policy
            .tokenizer
            .decode(&tokens[..given.start], true)
            .unwrap();
        let calls = extract_function_calls(&first).calls;
        assert!(
            !calls.is_empty(),
            "row {row}: a second turn needs calls in the first"
        );
        assert_eq!(used.calls[row], calls.len(), "row {row}");
        let results = tools.call_batch(&calls).unwrap();
        let want =
            tool_turn_tokens(policy, None, &calls, &results, tokens[given.start - 1]).unwrap();
        assert_eq!(tokens[given.clone()], want[..], "row {row}");
        assert_eq!(
            used.errors[row],
            results.iter().filter(|r| r.is_error()).count()
        );

        for (i, &m) in line.iter().enumerate() {
            let sampled = i < tokens.len() && !given.contains(&i);
            assert_eq!(
                m,
                if sampled { 1.0 } else { 0.0 },
                "row {row}, position {i}"
            );
        }
        tool_turns.push(policy.tokenizer.decode(&tokens[given], false).unwrap());
    }
    tool_turns
}

#[test]
fn a_call_to_the_synth_server_gets_its_result_and_a_second_turn() {
    let policy = policy();
    let tools = start(synth_server(), Duration::from_secs(10), 1);
    let tasks = final_answer_tasks("calculate_factorial", 2);
    let rollout = rollout(&policy, &tools, &tasks, 4, 2, 128).unwrap();
    let tool_turns = check_two_turn_rows(&policy, &tools, &rollout);
    assert!(
        !tool_turns.is_empty(),
        "no row called a tool: {:#?}",
        rollout.texts
    );
    for turn in &tool_turns {
        // The fixture's template: the results as a user turn of
        // <tool_response> blocks, then the next assistant header.
        assert!(
            turn.starts_with("\n<|im_start|>user\n<tool_response>\n"),
            "{turn:?}"
        );
        assert!(
            turn.ends_with("</tool_response><|im_end|>\n<|im_start|>assistant\n"),
            "{turn:?}"
        );
    }
    assert!(
        tool_turns.iter().any(|t| t.contains(r#"{"factorial":"#)),
        "{tool_turns:#?}"
    );
    let used = rollout.tool_use.as_ref().unwrap();
    assert!(used.total_calls() >= tool_turns.len());
    assert!(
        rollout.tokens.iter().all(|t| t.len() <= 128),
        "the budget bounds the trajectory"
    );
    // Rewards: a column per reward, `final_answer` read from the last
    // message.
    assert_eq!(rollout.reward_columns.len(), 2);
}

#[test]
fn one_turn_runs_no_tool() {
    let policy = policy();
    let tools = start(synth_server(), Duration::from_secs(10), 1);
    let tasks = final_answer_tasks("calculate_factorial", 1);
    let rollout = rollout(&policy, &tools, &tasks, 4, 1, 64).unwrap();
    let used = rollout.tool_use.as_ref().unwrap();
    assert_eq!(used.turns, [1; 4]);
    assert_eq!(used.total_calls(), 0);
    assert!(rollout.forced.iter().all(Vec::is_empty));
}

#[test]
fn a_failing_tool_comes_back_as_its_error_text() {
    let Some(python) = python() else { return };
    let policy = policy();
    let tools = start(
        factorial_server(&python, "fail"),
        Duration::from_secs(10),
        1,
    );
    let tasks = final_answer_tasks("calculate_factorial", 2);
    let rollout = rollout(&policy, &tools, &tasks, 4, 2, 128).unwrap();
    let tool_turns = check_two_turn_rows(&policy, &tools, &rollout);
    assert!(
        !tool_turns.is_empty(),
        "no row called a tool: {:#?}",
        rollout.texts
    );
    assert!(
        tool_turns.iter().all(
            |t| (t.contains("\nerror: ") && t.contains("the abacus is broken"))
                || t.contains("error: there is no tool")
        ),
        "{tool_turns:#?}"
    );
    let used = rollout.tool_use.as_ref().unwrap();
    assert_eq!(used.total_errors(), used.total_calls());
}

#[test]
fn a_hanging_tool_comes_back_as_a_timeout() {
    let Some(python) = python() else { return };
    let policy = policy();
    let tools = start(factorial_server(&python, "hang"), Duration::from_secs(1), 1);
    let tasks = final_answer_tasks("calculate_factorial", 2);
    let rollout = rollout(&policy, &tools, &tasks, 4, 2, 128).unwrap();
    let used = rollout.tool_use.as_ref().unwrap();
    assert!(
        used.total_calls() > 0,
        "no row called a tool: {:#?}",
        rollout.texts
    );
    assert_eq!(used.total_errors(), used.total_calls());
    let timed_out = rollout
        .texts
        .iter()
        .filter(|t| t.contains("error: `calculate_factorial` did not answer within 1 s"))
        .count();
    assert!(timed_out > 0, "{:#?}", rollout.texts);
}

#[test]
fn a_server_that_crashes_stops_the_rollout_with_a_clear_error() {
    let Some(python) = python() else { return };
    let policy = policy();
    // No restart: the first crash is final.
    let tools = start(
        factorial_server(&python, "crash"),
        Duration::from_secs(10),
        0,
    );
    let tasks = final_answer_tasks("calculate_factorial", 2);
    let err = rollout(&policy, &tools, &tasks, 4, 2, 128)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tool server `factorial`"), "{err}");
    assert!(err.contains("the abacus fell apart"), "its stderr: {err}");
}

/// Runs `command` and returns its stdout; panics with its stderr when it
/// fails.
fn succeed(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes `data synth` tasks with final answers (and `extra` flags) under
/// `dir/data`; returns the path of `train.jsonl`.
fn write_data(dir: &Path, extra: &[&str]) -> PathBuf {
    succeed(
        Command::new(BIN)
            .args([
                "data",
                "synth",
                "--final-answers",
                "--n",
                "80",
                "--seed",
                "1",
            ])
            .args(["--mix", "single=1", "--compact"])
            .args(extra)
            .arg("--out")
            .arg(dir.join("data")),
    );
    dir.join("data/train.jsonl")
}

#[test]
fn a_two_turn_training_run_writes_the_tool_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path(), &[]);
    let config = dir.path().join("run.yaml");
    std::fs::write(
        &config,
        format!("tools:\n  - name: synth\n    command: [{BIN}, tools, serve, synth]\n"),
    )
    .unwrap();
    let adapters = dir.path().join("run");
    let out = Command::new(BIN)
        .args(["train", "--config"])
        .arg(&config)
        .arg("--model")
        .arg(root().join("fixtures/tiny-tool-caller"))
        .arg("--data")
        .arg(&data)
        .arg("--adapter-path")
        .arg(&adapters)
        .arg("--val-data")
        .arg(data.with_file_name("valid.jsonl"))
        .args([
            "--val-examples",
            "8",
            "--max-turns",
            "2",
            "--iters",
            "2",
            "--batch-size",
            "2",
            "--group-size",
            "4",
            "--max-completion-length",
            "96",
            "--beta",
            "0",
            "--steps-per-report",
            "1",
            "--reward-functions",
            "tool_call_exact",
            "final_answer",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let metrics = std::fs::read_to_string(adapters.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for m in &lines {
        let turns = m["turns"].as_f64().expect("turns in metrics.jsonl");
        assert!((1.0..=2.0).contains(&turns), "{m}");
        assert!(m["tool_calls"].as_u64().is_some(), "{m}");
        assert!(m["tool_errors"].as_u64().unwrap() <= m["tool_calls"].as_u64().unwrap());
    }
    let calls: u64 = lines
        .iter()
        .map(|m| m["tool_calls"].as_u64().unwrap())
        .sum();
    assert!(calls > 0, "the model calls tools on this data: {text}");
    assert!(
        text.contains("turns"),
        "the report line says the turns: {text}"
    );
    // Validation runs the same loop: before training and at the end, with
    // the final answers of the validation tasks that have one.
    let validations = grpo::eval::EvalLine::read_log(&adapters.join("eval.jsonl")).unwrap();
    assert_eq!(
        validations.iter().map(|v| v.iteration).collect::<Vec<_>>(),
        [0, 2]
    );
    let valid = grpo_dataset::load(&data.with_file_name("valid.jsonl"), &Default::default())
        .unwrap()
        .examples;
    assert!(valid.iter().any(|e| e.final_answer.is_some()));
    for v in &validations {
        assert!(
            (1.0..=2.0).contains(&v.turns.expect("turns in eval.jsonl")),
            "{v:?}"
        );
        assert!((0.0..=1.0).contains(&v.final_answer.expect("final answers in eval.jsonl")));
    }
    assert!(text.contains("final answer (multi-turn)"), "{text}");
}

#[test]
fn answer_turns_teach_the_answer_with_sft() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path(), &["--answer-turns"]);
    let load = |path: &Path| {
        grpo_dataset::load(path, &Default::default())
            .unwrap()
            .examples
    };
    let (train, valid) = (load(&data), load(&data.with_file_name("valid.jsonl")));
    let turns: Vec<&Example> = train.iter().filter(|e| e.is_answer_turn()).collect();
    let tasks = train.iter().filter(|e| e.final_answer.is_some()).count() - turns.len();
    assert_eq!(
        turns.len(),
        tasks,
        "one answering turn per task with a final answer"
    );
    assert!(!turns.is_empty() && !valid.iter().any(Example::is_answer_turn));
    succeed(
        Command::new(BIN)
            .args(["sft", "--model"])
            .arg(root().join("fixtures/tiny-tool-caller"))
            .arg("--data")
            .arg(&data)
            .arg("--adapter-path")
            .arg(dir.path().join("sft"))
            .args(["--train-type", "full", "--iters", "2", "--batch-size", "4"]),
    );
}

#[test]
fn more_than_one_turn_without_tools_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path(), &[]);
    let out = Command::new(BIN)
        .args(["train", "--model"])
        .arg(root().join("fixtures/tiny-tool-caller"))
        .arg("--data")
        .arg(&data)
        .args(["--max-turns", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_turns") && err.contains("tools:"), "{err}");
}

#[test]
fn eval_with_two_turns_reports_final_answers_and_turns() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path(), &[]);
    let out = succeed(
        Command::new(BIN)
            .args(["eval", "--model"])
            .arg(root().join("fixtures/tiny-tool-caller"))
            .arg("--data")
            .arg(&data)
            .args([
                "--limit",
                "8",
                "--max-tokens",
                "96",
                "--max-turns",
                "2",
                "--json",
            ]),
    );
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let turns = &report["multi_turn"];
    assert_eq!(turns["examples"], 8, "{report}");
    let n = turns["turns"].as_u64().unwrap();
    assert!((8..=16).contains(&n), "{turns}");
    assert!(turns["with_final_answer"].as_u64().unwrap() > 0, "{turns}");
    assert!(
        turns["final_correct"].as_u64().unwrap() <= turns["with_final_answer"].as_u64().unwrap()
    );
    assert_eq!(report["all"]["total"], 8);
}
