//! The embedded default end to end: `mlx-grpo train` with no model or data
//! trains the fixture model, and `mlx-grpo eval` scores the base model, the
//! model with the adapters written, and the fused model, the last two alike.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn mlx_grpo(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mlx-grpo"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "mlx-grpo {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `mlx-grpo eval --json` on the first 16 test examples.
fn eval(extra: &[&str]) -> Value {
    let mut args = vec!["eval", "--limit", "16", "--max-tokens", "48", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_slice(&mlx_grpo(&args).stdout).expect("eval --json prints JSON")
}

fn answers(report: &Value) -> Vec<(u64, String)> {
    report["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["index"].as_u64().unwrap(),
                m["got"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn train_with_no_arguments_trains_the_embedded_model_and_eval_scores_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let adapters = dir.path().join("adapters");
    let adapters = adapters.to_str().unwrap();
    let out = mlx_grpo(&[
        "train",
        "--iters",
        "2",
        "--batch-size",
        "2",
        "--group-size",
        "4",
        "--steps-per-report",
        "1",
        "--val-examples",
        "8",
        "--adapter-path",
        adapters,
    ]);
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("Iteration 2/2"), "{log}");
    assert!(log.contains("Mean Reward"), "{log}");
    // Validation before the first iteration, and the run's effect on the
    // held-out split as its last lines: overall and per kind, each rate
    // before → after.
    assert!(
        log.contains("Validation before training: exact match"),
        "{log}"
    );
    let table: Vec<&str> = log
        .lines()
        .skip_while(|l| {
            !l.starts_with("Held-out validation, before (iteration 0) → after (iteration 2)")
        })
        .collect();
    assert!(
        table.len() >= 4,
        "no before → after table at the end:\n{log}"
    );
    for column in ["exact", "function", "params", "parse rate", "format"] {
        assert!(table[1].contains(column), "{}", table[1]);
    }
    assert!(table[2].trim_start().starts_with("all"), "{}", table[2]);
    assert!(table[2].contains(" → "), "{}", table[2]);
    let evals: Vec<Value> = std::fs::read_to_string(Path::new(adapters).join("eval.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let iterations: Vec<u64> = evals
        .iter()
        .map(|e| e["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, [0, 2]);
    let kinds = evals[0]["by_kind"].as_object().unwrap();
    assert!(!kinds.is_empty());
    for kind in kinds.keys() {
        assert!(
            table
                .iter()
                .any(|l| l.trim_start().starts_with(kind.as_str())),
            "{kind} has no row:\n{}",
            table.join("\n")
        );
    }
    for f in [
        "adapters.safetensors",
        "adapter_config.json",
        "metrics.jsonl",
        "training.png",
    ] {
        assert!(
            Path::new(adapters).join(f).is_file(),
            "{f} missing in {adapters}"
        );
    }

    let base = eval(&[]);
    assert_eq!(base["all"]["total"], 16);
    let with_adapters = eval(&["--adapter-path", adapters]);
    assert_eq!(with_adapters["all"]["total"], 16);

    let fused = dir.path().join("fused");
    let fused = fused.to_str().unwrap();
    mlx_grpo(&["fuse", "--adapter-path", adapters, "--save-path", fused]);
    let fused_report = eval(&["--model", fused]);
    assert_eq!(fused_report["all"], with_adapters["all"]);
    assert_eq!(answers(&fused_report), answers(&with_adapters));
}
