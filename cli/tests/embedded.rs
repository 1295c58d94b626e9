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
