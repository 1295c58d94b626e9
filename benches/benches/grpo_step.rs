//! Seconds per GRPO iteration, and rollout and training tokens per second,
//! on the embedded tiny model: batch 2 prompts × group 4 × up to 64 tokens
//! (and the default run's 8 × 8), LoRA on every block.
//!
//! `cargo bench -p grpo-benches --bench grpo_step`

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use grpo::config::TrainConfig;
use grpo::metrics::StepMetrics;
use grpo::observer::Observer;
use grpo::trainer::{Objective, Trainer};
use grpo_dataset::{load, LoadOptions};
use grpo_policy::policy::Policy;

struct Collect(Vec<StepMetrics>);

impl Observer for Collect {
    fn on_step(&mut self, m: &StepMetrics) {
        self.0.push(m.clone());
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn run(batch: usize, group: usize, iters: usize) {
    let data = load(
        &grpo_dataset::split_file(&fixtures().join("tool-calling"), "train"),
        &LoadOptions::default(),
    )
    .expect("the embedded data set")
    .examples;
    let policy = Policy::load(fixtures().join("tiny-tool-caller").to_str().unwrap())
        .expect("the embedded model");
    let out = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        adapter_path: out.path().to_path_buf(),
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
    };
    let mut trainer = Trainer::new(config, policy, &data, None, false, Objective::Grpo).unwrap();
    let mut seen = Collect(Vec::new());
    trainer.run(&mut seen, &AtomicBool::new(false)).unwrap();
    // The first iteration pays for allocation and thread start-up.
    let steady = &seen.0[1..];
    let n = steady.len() as f32;
    let mean = |f: fn(&StepMetrics) -> f32| steady.iter().map(f).sum::<f32>() / n;
    println!(
        "batch {batch} × group {group} × ≤64 tokens: {:.2} s/iteration | rollout {:.0} tok/s | training {:.0} tok/s | mean completion {:.1} tokens ({} iterations after warm-up)",
        mean(|m| m.step_s),
        mean(|m| m.rollout_tokens_per_s),
        mean(|m| m.train_tokens_per_s),
        mean(|m| m.completion_length),
        steady.len()
    );
}

fn main() {
    run(2, 4, 6);
    run(8, 8, 4);
}
