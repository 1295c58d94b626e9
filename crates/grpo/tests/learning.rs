//! Proof that GRPO here teaches tool calling: from the embedded SFT model,
//! the embedded default run (every kind of prompt, irrelevance included)
//! raises held-out exact match over every kind by a clear margin, and the
//! same run with the reward negated (so every advantage flips sign) lowers
//! it.
//! The adapter trained loads in Python mlx-lm and gives the same greedy
//! answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use grpo::config::TrainConfig;
use grpo::eval::{evaluate, EvalOptions};
use grpo::observer::Observer;
use grpo::tasks::TaskSet;
use grpo::trainer::{Objective, Trainer};
use grpo_dataset::{load, Example, LoadOptions};
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn model_dir() -> PathBuf {
    fixtures().join("tiny-tool-caller")
}

/// A split of the embedded data (the training split ships as `.jsonl.gz`).
fn examples(split: &str) -> Vec<Example> {
    let path = grpo_dataset::split_file(&fixtures().join("tool-calling"), split);
    load(&path, &LoadOptions::default()).unwrap().examples
}

/// Held-out examples scored before and after.
const HELD_OUT: usize = 300;

fn exact_match(policy: &Policy, test: &[Example]) -> f64 {
    let tasks = TaskSet::prepare(policy, test, "test data").unwrap();
    let report = evaluate(
        policy,
        &tasks.eval_examples(HELD_OUT),
        &EvalOptions {
            batch_size: 64,
            max_tokens: 48,
            sampler: Sampler::greedy(),
            seed: 0,
        },
        |_, _| {},
    )
    .unwrap();
    report.exact_match()
}

struct Quiet;
impl Observer for Quiet {}

/// The run's settings: the embedded default's `grpo.yaml`, shortened.
fn config(out: &Path, iters: usize, reward_sign: f32) -> TrainConfig {
    let yaml = std::fs::read_to_string(model_dir().join("grpo.yaml")).unwrap();
    let mut config: TrainConfig = serde_norway::from_str(&yaml).unwrap();
    config.adapter_path = out.to_path_buf();
    config.iters = iters;
    config.save_every = iters;
    config.log_rollouts_every = 0;
    let n = config.reward_functions.len();
    let weights = config
        .reward_weights
        .clone()
        .unwrap_or_else(|| vec![1.0; n]);
    config.reward_weights = Some(weights.iter().map(|w| w * reward_sign).collect());
    config
}

fn train(iters: usize, reward_sign: f32, out: &Path) -> Trainer {
    let policy = Policy::load(model_dir().to_str().unwrap()).unwrap();
    let config = config(out, iters, reward_sign);
    let mut trainer = Trainer::new(
        config,
        policy,
        &examples("train"),
        None,
        false,
        Objective::Grpo,
    )
    .unwrap();
    trainer.run(&mut Quiet, &AtomicBool::new(false)).unwrap();
    trainer
}

/// Greedy answers of `policy`, one prompt at a time.
fn greedy(policy: &Policy, prompts: &[String]) -> Vec<String> {
    let key = grpo_policy::mlx_rs::random::key(0).unwrap();
    prompts
        .iter()
        .map(|p| {
            let tokens = policy.prompt_tokens(p).unwrap();
            let g = policy
                .generate(&[tokens], 1, 64, Sampler::greedy(), &key)
                .unwrap();
            policy.decode(&g.tokens).unwrap().remove(0)
        })
        .collect()
}

/// Greedy answers of Python mlx-lm with the adapter, for `prompts`.
fn mlx_lm_greedy(adapter: &Path, prompts: &[String]) -> Vec<String> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let script = r#"
import json, sys
from mlx_lm import load, generate
from mlx_lm.sample_utils import make_sampler
model, tok = load(sys.argv[1], adapter_path=sys.argv[2])
out = []
for p in json.loads(sys.argv[3]):
    prompt = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True)
    out.append(generate(model, tok, prompt, max_tokens=64, sampler=make_sampler(temp=0.0)))
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(model_dir())
        .arg(adapter)
        .arg(serde_json::to_string(prompts).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn grpo_raises_held_out_exact_match_and_the_sign_flipped_run_lowers_it() {
    let test = examples("test");
    let base = Policy::load(model_dir().to_str().unwrap()).unwrap();
    let before = exact_match(&base, &test);
    assert!(
        (0.10..=0.60).contains(&before),
        "the embedded model should call tools sometimes but not reliably; held-out exact match is {before:.3}"
    );

    let dir = tempfile::tempdir().unwrap();
    let trained = train(ITERS, 1.0, dir.path());
    let after = exact_match(trained.policy(), &test);
    eprintln!(
        "held-out exact match: SFT start {before:.3}, after {ITERS} GRPO iterations {after:.3}"
    );
    assert!(
        after >= before + MARGIN,
        "GRPO moved held-out exact match from {before:.3} to {after:.3} (wanted +{MARGIN})"
    );

    // The adapter loads in Python mlx-lm and answers as here.
    let prompts: Vec<String> = test.iter().take(3).map(|e| e.prompt.clone()).collect();
    assert_eq!(
        greedy(trained.policy(), &prompts),
        mlx_lm_greedy(dir.path(), &prompts)
    );
    drop(trained);

    let flipped_dir = tempfile::tempdir().unwrap();
    let flipped = train(FLIPPED_ITERS, -1.0, flipped_dir.path());
    let worse = exact_match(flipped.policy(), &test);
    eprintln!("held-out exact match after {FLIPPED_ITERS} sign-flipped iterations: {worse:.3}");
    assert!(
        worse <= before - FLIPPED_MARGIN,
        "with the reward negated, exact match went from {before:.3} to {worse:.3} (wanted -{FLIPPED_MARGIN})"
    );
}

/// Iterations of the GRPO run (the embedded default's), and the gain it
/// must show. Measured on this fixture (Linux, MLX CPU), held-out exact
/// match over every kind on the first 300 test examples: 42.3% → 52.3%
/// after 100 iterations (+10.0 points); seeds 1 and 2 of the same run gave
/// +8.0 and +12.7 (one BLAS thread). A 5-point margin leaves room for
/// other machines' floating point.
const ITERS: usize = 100;
const MARGIN: f64 = 0.05;
/// The flipped control: 42.3% → 21.7% after 20 iterations (-20.6 points;
/// -10.3 at seed 1; -7.3 and -6.3 after 10).
const FLIPPED_ITERS: usize = 20;
const FLIPPED_MARGIN: f64 = 0.06;
