//! Benchmarks of mlx-grpo; see `benches/`. What several bench targets share.

use std::path::{Path, PathBuf};

use grpo::config::TrainConfig;

/// The workspace root, where `fixtures/` and `models/` are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// This process's user + system CPU seconds (Linux `/proc`; 0 elsewhere).
pub fn cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, in clock ticks (100 per second on
    // Linux).
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The SmolLM2 GRPO workload both the `grpo_step` and `step_breakdown`
/// benches measure (the side-by-side harness's settings): 2 prompts ×
/// group 4 × up to 64 tokens, T 0.7, top-p 0.95, top-k 20, LoRA r8 (α 16)
/// on every block, β 0.1, learning rate 1e-5, one reward.
pub fn smollm2_workload(adapter_path: &Path) -> TrainConfig {
    TrainConfig {
        adapter_path: adapter_path.to_path_buf(),
        batch_size: 2,
        group_size: 4,
        max_completion_length: 64,
        temperature: 0.7,
        top_p: 0.95,
        top_k: 20,
        beta: 0.1,
        learning_rate: 1e-5,
        lora_layers: -1,
        lora_rank: 8,
        lora_alpha: 16.0,
        lora_dropout: 0.0,
        reward_functions: vec!["tool_call_function".into()],
        ..TrainConfig::default()
    }
}
