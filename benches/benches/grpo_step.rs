//! Seconds per GRPO iteration, rollout and training tokens per second, and
//! MLX's peak memory, through the trainer itself:
//!
//! - the embedded tiny model: batch 2 prompts × group 4 × up to 64 tokens
//!   (and the default run's 8 × 8), LoRA on every block;
//! - SmolLM2-135M-Instruct, float32 and 4-bit, when `scripts/get-model
//!   smollm2` has put them under `models/`: issue 16's workload, 2 prompts ×
//!   group 4 × up to 64 tokens, T 0.7, top-p 0.95, top-k 20, LoRA r8 (α 16)
//!   on q/k/v/o of all 30 blocks, β 0.1, learning rate 1e-5, one reward
//!   (`tool_call_function`), prompts of the embedded data set (about 250
//!   tokens with SmolLM2's template).
//!
//! `cargo bench -p grpo-benches --bench grpo_step [-- WHICH...]` with WHICH
//! among `tiny`, `smollm2`, `smollm2-4bit` (default: all that are present).
//! `GRPO_STEP_ITERS=N` sets the SmolLM2 iterations (default 4, the first
//! one a warm-up that is not counted); `GRPO_STEP_MICRO_BATCH=N` runs them
//! with `micro_batch_size` N (default 0, the whole batch in one pass).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use grpo::config::TrainConfig;
use grpo::metrics::IterationMetrics;
use grpo::observer::Observer;
use grpo::trainer::{Objective, Trainer};
use grpo_benches::{cpu_s, root, smollm2_workload};
use grpo_dataset::{load, LoadOptions};
use grpo_policy::policy::Policy;

/// CPU seconds of each iteration, taken at each report.
struct Timed {
    steps: Vec<IterationMetrics>,
    cpu: Vec<f64>,
    last: f64,
}

impl Observer for Timed {
    fn on_iteration(&mut self, m: &IterationMetrics) {
        let now = cpu_s();
        self.cpu.push(now - self.last);
        self.last = now;
        self.steps.push(m.clone());
    }
}

fn run(label: &str, model: &Path, config: TrainConfig) {
    let data = load(
        &grpo_dataset::split_file(&root().join("fixtures/tool-calling"), "train"),
        &LoadOptions::default(),
    )
    .expect("the embedded data set")
    .examples;
    let policy = Policy::load(model.to_str().unwrap()).expect("the model");
    let (batch, group) = (config.batch_size, config.group_size);
    let tokens = config.max_completion_length;
    let mut trainer = Trainer::new(config, policy, &data, None, false, Objective::Grpo).unwrap();
    let mut seen = Timed {
        steps: Vec::new(),
        cpu: Vec::new(),
        last: cpu_s(),
    };
    trainer.run(&mut seen, &AtomicBool::new(false)).unwrap();
    // The first iteration pays for allocation and thread start-up.
    let steady = &seen.steps[1..];
    let n = steady.len() as f32;
    let mean = |f: fn(&IterationMetrics) -> f32| steady.iter().map(f).sum::<f32>() / n;
    let cpu = seen.cpu[1..].iter().sum::<f64>() / f64::from(n);
    let peak = steady
        .iter()
        .map(|m| m.peak_memory_bytes)
        .max()
        .unwrap_or(0);
    println!(
        "{label}: batch {batch} × group {group} × ≤{tokens} tokens: {:.2} s/iteration ({cpu:.2} s CPU) | rollout {:.0} tok/s | training {:.0} tok/s | MLX peak {:.0} MB | mean completion {:.1} tokens ({} iterations after warm-up)",
        mean(|m| m.iteration_s),
        mean(|m| m.grpo.as_ref().map_or(0.0, |g| g.rollout_tokens_per_s)),
        mean(|m| m.train_tokens_per_s),
        peak as f64 / 1e6,
        mean(|m| m.completion_length),
        steady.len()
    );
}

fn tiny(out: &Path, batch: usize, group: usize, iters: usize) -> TrainConfig {
    TrainConfig {
        adapter_path: out.to_path_buf(),
        iters,
        batch_size: batch,
        group_size: group,
        max_completion_length: 64,
        temperature: 1.0,
        lora_layers: -1,
        save_every: iters,
        steps_per_eval: iters + 1,
        log_rollouts_every: 0,
        ..TrainConfig::default()
    }
}

/// Issue 16's workload (the side-by-side harness's settings).
fn smollm2(out: &Path, iters: usize) -> TrainConfig {
    TrainConfig {
        iters,
        save_every: iters,
        steps_per_eval: iters + 1,
        log_rollouts_every: 0,
        ..smollm2_workload(out)
    }
}

fn main() {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name);
    if wants("tiny") {
        let model = root().join("fixtures/tiny-tool-caller");
        for (batch, group, iters) in [(2, 4, 6), (8, 8, 4)] {
            let out = tempfile::tempdir().unwrap();
            run("tiny", &model, tiny(out.path(), batch, group, iters));
        }
    }
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (iters, micro_batch_size) = (env("GRPO_STEP_ITERS", 4), env("GRPO_STEP_MICRO_BATCH", 0));
    for name in ["smollm2", "smollm2-4bit"] {
        let dir = root().join(format!(
            "models/smollm2-135m-instruct{}",
            name.strip_prefix("smollm2").unwrap_or("")
        ));
        if !wants(name) {
            continue;
        }
        if !dir.join("config.json").exists() {
            println!(
                "{name}: {} is not there (scripts/get-model smollm2)",
                dir.display()
            );
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            micro_batch_size,
            ..smollm2(out.path(), iters.max(2))
        };
        run(name, &dir, config);
    }
}
