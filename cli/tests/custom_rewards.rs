//! Bring your own rewards (issue 18): Python reward functions with TRL's
//! signature (`--reward-file`), reward programs in another language
//! (`--reward-command`), and what happens when they fail, on the fixture
//! model with a real Python (the project's `.venv`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlx-grpo"))
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// The project's Python (the `.venv`), else `python3`.
fn python() -> String {
    let venv = root().join(".venv/bin/python");
    if venv.is_file() {
        venv.display().to_string()
    } else {
        "python3".into()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three records with an answer and one where no function applies
/// (answer ""), from the fixture test split.
fn data(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("tool-calling/test.jsonl")).unwrap();
    let mut with: Vec<&str> = Vec::new();
    let mut without = None;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["answer"] == "" {
            without = without.or(Some(line));
        } else if with.len() < 3 {
            with.push(line);
        }
    }
    with.insert(1, without.expect("an irrelevance record"));
    let path = dir.join("data.jsonl");
    std::fs::write(&path, with.join("\n") + "\n").unwrap();
    path
}

/// Runs a short training on the fixture model with `extra` flags: every
/// record is scored once (2 iterations of 2 prompts, 2 completions each).
fn train(dir: &Path, extra: &[&str]) -> Output {
    bin()
        .args(train_args(dir, extra))
        .output()
        .expect("the binary runs")
}

/// The command line of [`train`], which starts the run afresh (`--force`).
fn train_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let data = data(dir);
    let out = dir.join("run");
    let mut args: Vec<String> = [
        "train",
        "--model",
        s(&fixtures().join("tiny-tool-caller")),
        "--data",
        s(&data),
        "--adapter-path",
        s(&out),
        "--force",
        "--iters",
        "2",
        "--batch-size",
        "2",
        "--group-size",
        "2",
        "--max-completion-length",
        "16",
        "--beta",
        "0",
        "--steps-per-report",
        "1",
        "--log-rollouts-every",
        "1",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// [`train`] with the reward functions of `file`, run by the project's Python.
fn train_with_file(dir: &Path, file: &Path, extra: &[&str]) -> Output {
    let python = python();
    let mut args = vec!["--reward-file", s(file), "--reward-python", &python];
    args.extend_from_slice(extra);
    train(dir, &args)
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The run's metrics and rollouts.
fn logs(dir: &Path) -> (Vec<Value>, Vec<Value>) {
    let run = dir.join("run");
    (
        jsonl(&run.join("metrics.jsonl")),
        jsonl(&run.join("rollouts.jsonl")),
    )
}

const TRL_FILE: &str = r#"
import json

def brevity(completions, **kwargs):
    return [max(0.0, 1.0 - len(c) / 200) for c in completions]

def has_answer(completions, prompts=None, completion_ids=None, answer=None, **kwargs):
    # Every column arrives as a list, one item per completion.
    assert len(prompts) == len(completions) == len(answer)
    assert all(isinstance(p, str) and p for p in prompts)
    assert isinstance(kwargs["source"], list)
    print("has_answer scored", len(completions))  # to stderr, not the protocol
    return [None if a == "" else 1.0 for a in answer]
"#;

#[test]
fn trl_functions_score_beside_the_built_in_rewards() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rewards.py", TRL_FILE);
    let out = train_with_file(
        dir.path(),
        &file,
        &[
            "--reward-functions",
            "brevity",
            "tool_call_exact",
            "has_answer",
            "--reward-weights",
            "0.5",
            "1",
            "2",
        ],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("has_answer scored 4"), "{log}");
    assert!(
        log.contains("  brevity: ") && log.contains("  has_answer: "),
        "{log}"
    );

    let (metrics, rollouts) = logs(dir.path());
    assert_eq!(metrics.len(), 2);
    for m in &metrics {
        let names: Vec<&str> = m["rewards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap())
            .collect();
        assert_eq!(names, ["tool_call_exact", "brevity", "has_answer"], "{m}");
    }
    assert_eq!(rollouts.len(), 8);
    let mut not_applicable = 0;
    for r in &rollouts {
        let rewards = &r["rewards"];
        let exact = rewards["tool_call_exact"].as_f64().unwrap();
        let brevity = rewards["brevity"].as_f64().unwrap();
        let completion = r["completion"].as_str().unwrap();
        let want = (1.0 - completion.chars().count() as f64 / 200.0).max(0.0);
        assert!((brevity - want).abs() < 1e-3, "{r}");
        // None (no answer) adds nothing to the total, and shows as 0.
        let has = rewards["has_answer"].as_f64().unwrap();
        if r["expected"] == "" {
            not_applicable += 1;
            assert_eq!(has, 0.0, "{r}");
        } else {
            assert_eq!(has, 1.0, "{r}");
        }
        let total = r["reward"].as_f64().unwrap();
        assert!(
            (total - (exact + 0.5 * brevity + 2.0 * has)).abs() < 1e-4,
            "{r}"
        );
    }
    assert_eq!(
        not_applicable, 2,
        "the irrelevance record's two completions"
    );
}

#[test]
fn load_errors_fail_before_the_model_loads_with_the_traceback() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write(
        dir.path(),
        "broken.py",
        "def f(completions, **kw)\n    return []\n",
    );
    let out = train_with_file(dir.path(), &broken, &[]);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(
        log.contains("SyntaxError") && log.contains("broken.py"),
        "{log}"
    );
    assert!(!log.contains("Loading "), "the model was loaded:\n{log}");

    let importer = write(dir.path(), "importer.py", "import no_such_module_here\n");
    let out = train_with_file(dir.path(), &importer, &[]);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("ModuleNotFoundError"), "{log}");
    assert!(log.contains("Traceback"), "{log}");

    let no_args = write(dir.path(), "no_args.py", "def f():\n    return []\n");
    let out = train_with_file(dir.path(), &no_args, &[]);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("`f` cannot be called as"), "{log}");

    // A name in neither set lists both.
    let file = write(dir.path(), "rewards.py", TRL_FILE);
    let out = train_with_file(
        dir.path(),
        &file,
        &["--reward-functions", "tool_call_exact", "brevty"],
    );
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("unknown reward `brevty`"), "{log}");
    assert!(log.contains("tool_call_format"), "{log}");
    assert!(log.contains("brevity, has_answer"), "{log}");
    assert!(!log.contains("Loading "), "{log}");
}

const RAISING: &str = r#"
def picky(completions, answer, **kwargs):
    return [1.0 / len(a) for a in answer]
"#;

#[test]
fn an_exception_names_the_reward_the_row_and_the_traceback() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "picky.py", RAISING);
    let flags = ["--reward-functions", "tool_call_exact", "picky"];
    let out = train_with_file(dir.path(), &file, &flags);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("reward `picky`: raised an exception on completion "),
        "{log}"
    );
    assert!(
        log.contains(" of the batch (record with answer ``):"),
        "{log}"
    );
    assert!(log.contains("ZeroDivisionError"), "{log}");
    assert!(log.contains("picky.py\", line 3, in picky"), "{log}");
    assert!(!log.contains("<string>"), "the worker's own frames:\n{log}");
    assert!(!log.contains("During handling"), "{log}");

    // --reward-errors skip: the batch is scored as not applicable, counted.
    let mut skip = flags.to_vec();
    skip.extend(["--reward-errors", "skip"]);
    let out = train_with_file(dir.path(), &file, &skip);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("1 failed batches skipped"), "{log}");
    let (metrics, _) = logs(dir.path());
    assert_eq!(metrics.len(), 2);
}

/// TRL's `completion_ids`, and rewards that do not apply.
const IDS_AND_NONE: &str = r#"
def n_ids(completions, completion_ids=None, **kwargs):
    assert len(completion_ids) == len(completions)
    assert all(type(i) is int and i >= 0 for ids in completion_ids for i in ids)
    return [len(ids) for ids in completion_ids]

def answered(completions, answer, **kwargs):
    return [None if a == "" else 1.0 for a in answer]

def never(completions, **kwargs):
    return [None] * len(completions)
"#;

#[test]
fn completion_ids_reach_the_functions_and_none_stays_out_of_the_means() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ids.py", IDS_AND_NONE);
    let out = train_with_file(
        dir.path(),
        &file,
        &["--reward-functions", "n_ids", "answered", "never"],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("  never: n/a"), "{log}");
    let (metrics, rollouts) = logs(dir.path());
    assert_eq!(metrics.len(), 2);
    for m in &metrics {
        let rewards = m["rewards"].as_array().unwrap();
        // One id per generated token: the mean is the completion length.
        let n_ids = rewards[0][1].as_f64().unwrap();
        let length = m["completion_length"].as_f64().unwrap();
        assert!((n_ids - length).abs() < 1e-4, "{m}");
        // The irrelevance record's completions are not applicable: they
        // do not pull the mean of `answered` below 1.
        assert_eq!(rewards[1], serde_json::json!(["answered", 1.0]), "{m}");
        assert_eq!(rewards[2], serde_json::json!(["never", null]), "{m}");
    }
    let mut irrelevant = 0;
    for r in &rollouts {
        let n = r["rewards"]["n_ids"].as_f64().unwrap();
        assert!((1.0..=16.0).contains(&n) && n.fract() == 0.0, "{r}");
        irrelevant += usize::from(r["expected"] == "");
    }
    assert_eq!(irrelevant, 2, "the irrelevance record is in one iteration");
}

/// Raises from its second call on: the second iteration fails.
const FAILS_LATER: &str = r#"
calls = 0

def later(completions, **kwargs):
    global calls
    calls += 1
    if calls >= 2:
        raise RuntimeError(f"broken on call {calls}")
    return [0.5] * len(completions)
"#;

#[test]
fn an_exception_stops_the_run_with_a_checkpoint_to_resume_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "later.py", FAILS_LATER);
    let python = python();
    let flags = [
        "--reward-file",
        s(&file),
        "--reward-python",
        &python,
        "--reward-functions",
        "later",
    ];
    let out = train(dir.path(), &flags);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("reward `later`: raised an exception on completion 0 of the batch"),
        "{log}"
    );
    assert!(log.contains("RuntimeError: broken on call"), "{log}");
    assert!(log.contains("later.py\", line 8, in later"), "{log}");
    assert!(
        log.contains("the run stopped in iteration 2; the state after iteration 1 is saved in "),
        "{log}"
    );
    assert!(log.contains("--resume"), "{log}");
    let run = dir.path().join("run");
    assert_eq!(jsonl(&run.join("metrics.jsonl")).len(), 1);
    let checkpoints: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("iteration-"))
        .collect();
    assert_eq!(checkpoints, ["iteration-1"]);
    assert!(log.contains(&checkpoints[0]), "{log}");

    // Resumed (a new worker, whose first call succeeds), the run does the
    // second iteration on the batch that failed.
    let mut args = train_args(dir.path(), &flags);
    args.retain(|a| a != "--force");
    args.push("--resume".into());
    let out = bin().args(&args).output().unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let (metrics, rollouts) = logs(dir.path());
    let iterations: Vec<u64> = metrics
        .iter()
        .map(|m| m["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, [1, 2]);
    // Every record once: the failed batch was drawn again, not skipped.
    let mut expected: Vec<&str> = rollouts
        .iter()
        .map(|r| r["expected"].as_str().unwrap())
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 4, "{expected:?}");
}

#[test]
fn a_hung_worker_is_stopped_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "slow.py",
        "import time\n\ndef slow(completions, **kwargs):\n    time.sleep(600)\n    return [0.0] * len(completions)\n",
    );
    let start = Instant::now();
    let out = train_with_file(
        dir.path(),
        &file,
        &["--reward-functions", "slow", "--reward-timeout", "1"],
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("reward `slow`: no answer within 1s"), "{log}");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn wrong_lengths_and_non_numbers_are_errors_naming_the_reward() {
    let dir = tempfile::tempdir().unwrap();
    for (body, message) in [
        (
            "return [1.0]",
            "reward `bad`: returned 1 scores for 4 completions",
        ),
        (
            "return [float('nan')] * len(completions)",
            "reward `bad`: score 0 is nan, not a finite number",
        ),
        (
            "return ['high'] * len(completions)",
            "reward `bad`: score 0 is 'high' (str), not a number or None",
        ),
        (
            "return 1.0",
            "reward `bad`: returned float, not a list of scores",
        ),
    ] {
        let file = write(
            dir.path(),
            "bad.py",
            &format!("def bad(completions, **kwargs):\n    {body}\n"),
        );
        let out = train_with_file(
            dir.path(),
            &file,
            &["--reward-functions", "bad", "--reward-errors", "skip"],
        );
        let log = text(&out);
        assert!(!out.status.success(), "{body}: {log}");
        assert!(log.contains(message), "{body}: {log}");
    }
}

#[test]
fn a_worker_that_dies_is_restarted_once() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("died-once");
    let file = write(
        dir.path(),
        "flaky.py",
        &format!(
            "import os\n\ndef flaky(completions, **kwargs):\n    if not os.path.exists({m:?}):\n        open({m:?}, 'w').close()\n        os._exit(3)\n    return [1.0] * len(completions)\n",
            m = marker.display().to_string()
        ),
    );
    let flags = ["--reward-functions", "flaky"];
    let out = train_with_file(dir.path(), &file, &flags);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("died while scoring `flaky`"), "{log}");
    assert!(log.contains("restarting it once"), "{log}");
    let (metrics, _) = logs(dir.path());
    assert_eq!(metrics[0]["rewards"][0], serde_json::json!(["flaky", 1.0]));

    // One that dies every time stops the run.
    let dying = write(
        dir.path(),
        "dying.py",
        "import os\n\ndef dying(completions, **kwargs):\n    os._exit(3)\n",
    );
    let out = train_with_file(dir.path(), &dying, &["--reward-functions", "dying"]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("died again"), "{log}");
}

/// The example of docs/rewards.md, in JavaScript.
const NODE_REWARDS: &str = r#"
const readline = require("readline");
const send = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
send({ functions: ["brevity", "names_answer"] });
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const req = JSON.parse(line);
  try {
    if (req.function === "brevity") {
      send({ scores: req.completions.map((c) => Math.max(0, 1 - c.length / 200)) });
    } else if (req.function === "names_answer") {
      // Data set columns arrive as lists, one item per completion.
      const answers = req.columns.answer;
      send({ scores: req.completions.map((c, i) =>
        answers[i] === "" ? null : c.includes(answers[i].split("(")[0]) ? 1 : 0) });
    } else {
      send({ error: `no reward function ${req.function}` });
    }
  } catch (e) {
    send({ error: String(e.stack) });
  }
});
"#;

#[test]
fn a_reward_command_in_another_language() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("skipped: no node on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "rewards.js", NODE_REWARDS);
    let command = format!("node {}", s(&script));
    let out = train(
        dir.path(),
        &[
            "--reward-command",
            &command,
            "--reward-functions",
            "tool_call_function",
            "brevity",
            "names_answer",
        ],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let (metrics, rollouts) = logs(dir.path());
    let names: Vec<&str> = metrics[0]["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tool_call_function", "brevity", "names_answer"]);
    for r in &rollouts {
        let completion = r["completion"].as_str().unwrap();
        let want = (1.0 - completion.encode_utf16().count() as f64 / 200.0).max(0.0);
        assert!(
            (r["rewards"]["brevity"].as_f64().unwrap() - want).abs() < 1e-3,
            "{r}"
        );
        let expected = r["expected"].as_str().unwrap();
        let named =
            !expected.is_empty() && completion.contains(expected.split('(').next().unwrap());
        assert_eq!(
            r["rewards"]["names_answer"].as_f64().unwrap(),
            f64::from(u8::from(named)),
            "{r}"
        );
    }

    // A name the program does not serve lists what it does.
    let out = train(
        dir.path(),
        &["--reward-command", &command, "--reward-functions", "length"],
    );
    let log = text(&out);
    assert!(!out.status.success());
    assert!(
        log.contains(&format!("functions of `{command}`: brevity, names_answer")),
        "{log}"
    );
}

#[test]
fn phases_name_custom_rewards_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rewards.py", TRL_FILE);
    let config = write(
        dir.path(),
        "phases.yaml",
        "phases:\n  - {iters: 1, reward_functions: [brevity]}\n  - {iters: 1, reward_functions: [tool_call_exact, has_answer]}\n",
    );
    let out = train_with_file(dir.path(), &file, &["--config", s(&config)]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("rewards tool_call_exact 1, has_answer 1"),
        "{log}"
    );
    let (metrics, rollouts) = logs(dir.path());
    let names: Vec<&str> = metrics[1]["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tool_call_exact", "brevity", "has_answer"]);
    // Phase 1 weighs brevity alone.
    for r in rollouts.iter().filter(|r| r["iteration"] == 1) {
        let brevity = r["rewards"]["brevity"].as_f64().unwrap();
        assert!(
            (r["reward"].as_f64().unwrap() - brevity).abs() < 1e-4,
            "{r}"
        );
    }
}
