//! The embedded default: a tiny tool-calling model and its data set, shipped
//! in `fixtures/` so that `mlx-grpo train` works offline with no arguments.

use std::path::PathBuf;

/// The `fixtures/` directory: `$MLX_GRPO_FIXTURES`, else the one of the
/// source tree this binary was built from.
pub fn fixtures() -> PathBuf {
    std::env::var_os("MLX_GRPO_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures")))
}

/// The tiny model (Hugging Face layout).
pub fn model() -> PathBuf {
    fixtures().join("tiny-tool-caller")
}

/// The data set's split `name` (`train`, `valid`, `test`): `NAME.jsonl`, or
/// `NAME.jsonl.gz` where only that exists (the training split ships
/// compressed).
pub fn data(name: &str) -> PathBuf {
    grpo_dataset::split_file(&fixtures().join("tool-calling"), name)
}

/// The settings of the default GRPO run (`grpo.yaml`) or warm start
/// (`sft.yaml`).
pub fn run_config(name: &str) -> PathBuf {
    model().join(format!("{name}.yaml"))
}
