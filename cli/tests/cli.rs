//! The `mlx-grpo` binary as a user meets it: help that lists the guide's
//! flags, and bad input that fails early with a message naming what to fix.

use std::path::Path;
use std::process::{Command, Output};

fn mlx_grpo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlx-grpo"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every flag the user's guide shows for training.
const GUIDE_FLAGS: &[&str] = &[
    "--model",
    "--data",
    "--train",
    "--train-type",
    "--iters",
    "--batch-size",
    "--group-size",
    "--learning-rate",
    "--max-completion-length",
    "--temperature",
    "--beta",
    "--reward-functions",
    "--reward-weights",
    "--save-every",
    "--adapter-path",
    "--epsilon",
    "--epsilon-high",
    "--enforce-thinking",
    "--two-phase-samples-per-group",
    "--curriculum-enabled",
    "--curriculum-start-ratio",
    "--curriculum-end-ratio",
    "--curriculum-steps",
    "--grad-checkpoint",
    "--lora-layers",
    "--lora-rank",
    "--lora-alpha",
    "--lora-dropout",
    "--wandb-project",
];

#[test]
fn train_help_lists_every_flag_of_the_guide() {
    let out = mlx_grpo(&["train", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let listed = |flag: &str| {
        help.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(flag)
                && !l[flag.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '-')
        })
    };
    for flag in GUIDE_FLAGS {
        assert!(listed(flag), "train --help lacks {flag}");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn unknown_reward_names_the_known_ones_before_any_work() {
    let out = mlx_grpo(&[
        "train",
        "--model",
        "missing-model-dir",
        "--data",
        "missing.jsonl",
        "--reward-functions",
        "tool_call_exact",
        "tool_call_speed",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("tool_call_speed"), "{err}");
    assert!(
        err.contains("tool_call_function") && err.contains("tool_call_parseable"),
        "{err}"
    );
}

#[test]
fn weight_count_must_match_reward_count() {
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--reward-functions",
        "tool_call_exact",
        "tool_call_function",
        "--reward-weights",
        "0.5",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("weight"), "{err}");
}

#[test]
fn invalid_values_name_the_setting() {
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--group-size",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("group_size"), "{}", stderr(&out));

    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--group-size",
        "-4",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--group-size"), "{}", stderr(&out));

    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--two-phase-samples-per-group",
        "-2",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("two_phase_samples_per_group"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_guides_tool_calling_settings_are_accepted() {
    // The guide disables thinking for tool calling with these values; they
    // must parse and validate (the run then fails on the missing model).
    let out = mlx_grpo(&[
        "train",
        "--model",
        "no-such-model",
        "--data",
        "d.jsonl",
        "--enforce-thinking",
        "false",
        "--two-phase-samples-per-group",
        "-1",
        "--train",
        "--train-type",
        "lora",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(!err.contains("not supported"), "{err}");
}

#[test]
fn a_missing_data_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("absent.jsonl");
    let out = mlx_grpo(&["train", "--model", "m", "--data", data.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("absent.jsonl"), "{}", stderr(&out));
}

#[test]
fn malformed_jsonl_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bad.jsonl");
    write(
        &data,
        "{\"prompt\": \"p\", \"answer\": \"f(x=1)\"}\n{\"answer\": \"f(x=1)\"}\n",
    );
    let out = mlx_grpo(&["data", "validate", data.to_str().unwrap(), "--strict"]);
    assert!(!out.status.success());
    let err = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("bad.jsonl:2"), "{err}");
    assert!(err.contains("prompt"), "{err}");
}

#[test]
fn unknown_config_file_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.yaml");
    write(&config, "group-size: 4\nlearning_rat: 0.1\n");
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("learning_rat") && err.contains("learning_rate"),
        "{err}"
    );
}

#[test]
fn wandb_without_its_package_says_what_to_install_before_any_work() {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let has_wandb = Command::new(&python)
        .args(["-c", "import wandb"])
        .status()
        .is_ok_and(|s| s.success());
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "absent.jsonl",
        "--wandb-project",
        "p",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    if has_wandb {
        assert!(!err.contains("pip install wandb"), "{err}");
    } else {
        assert!(err.contains("pip install wandb"), "{err}");
    }
}

#[test]
fn eval_takes_a_bfcl_match_mode() {
    let help = mlx_grpo(&["eval", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--match"), "{text}");
    assert!(text.contains("bfcl"), "{text}");
    let bad = mlx_grpo(&["eval", "--match", "fuzzy"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("bfcl"), "{}", stderr(&bad));
}
