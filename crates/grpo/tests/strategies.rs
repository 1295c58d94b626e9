//! The training strategies on a tiny random model with the 512-token
//! fixture tokenizer: curriculum scaffolding, two-phase recovery,
//! `--enforce-thinking` and progressive phases across a resume.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use grpo::advantages::AdvantageConfig;
use grpo::config::TrainConfig;
use grpo::curriculum::Curriculum;
use grpo::loss::{LossConfig, LossType};
use grpo::metrics::IterationMetrics;
use grpo::observer::Observer;
use grpo::phases::Phase;
use grpo::rollout::{self, PromptSet, Rollout, RolloutConfig};
use grpo::thinking::{Block, Thinking};
use grpo::trainer::{Objective, Trainer};
use grpo::two_phase::{self, Recovery};
use grpo_dataset::{load, Example, LoadOptions};
use grpo_policy::config::TransformerConfig;
use grpo_policy::generate::{FinishReason, Generation};
use grpo_policy::mlx_rs::{random, Array};
use grpo_policy::models::transformer::Transformer;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_policy::tokenizer::Tokenizer;
use grpo_rewards::{Reference, RewardSet};
use serde_json::json;

use crate::loss_run::{loss_and_grad, Case};

const ANSWER: &str = "calculate_factorial(n=5)";

/// A 2-layer, hidden-64 Qwen2 with random weights and the fixture
/// tokenizer (ChatML template, `<|im_end|>` ends a turn).
fn policy() -> Policy {
    // As `common::tiny_model`: one BLAS thread count for the whole binary.
    grpo_policy::blas::pin_threads();
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../grpo-policy/tests/data/tokenizer/fixture");
    let config = TransformerConfig::from_json(&json!({
        "model_type": "qwen2",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 96,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "vocab_size": 512,
        "max_position_embeddings": 1024,
        "rope_theta": 10000.0,
        "tie_word_embeddings": true,
    }))
    .unwrap();
    Policy {
        model: Transformer::random(config, 7).unwrap(),
        tokenizer: Tokenizer::from_dir(&dir).unwrap(),
        dir,
        adapters: None,
    }
}

fn prompt(policy: &Policy) -> Vec<u32> {
    policy
        .prompt_tokens("Tools: calculate_factorial(n). What is 5!?")
        .unwrap()
}

fn rollout_config<'a>(rewards: &'a RewardSet, thinking: &'a Thinking) -> RolloutConfig<'a> {
    RolloutConfig {
        group_size: 2,
        max_tokens: 3,
        sampler: Sampler::with_temperature(1.0),
        rewards,
        advantages: AdvantageConfig::default(),
        thinking,
        recovery: None,
    }
}

fn collect(
    policy: &Policy,
    prompts: &[Vec<u32>],
    reference: &Reference,
    scaffolds: &[Vec<u32>],
    config: RolloutConfig<'_>,
) -> Rollout {
    let references = vec![reference; prompts.len()];
    rollout::collect(
        policy,
        PromptSet {
            tokens: prompts,
            references: &references,
            scaffolds,
        },
        config,
        &random::key(3).unwrap(),
    )
    .unwrap()
}

#[test]
fn scaffold_tokens_are_given_outside_the_budget_and_carry_no_gradient() {
    let policy = policy();
    let prompt = prompt(&policy);
    let answer = policy.answer_tokens(&prompt, ANSWER).unwrap();
    let scaffold = Curriculum::scaffold(&answer[..answer.len() - 1], 0.5).to_vec();
    assert!(scaffold.len() >= 2);
    let rewards = RewardSet::new(&["tool_call_function"], None).unwrap();
    let thinking = Thinking::default();
    let reference = Reference::from_answer(ANSWER).unwrap();
    let r = collect(
        &policy,
        &[prompt],
        &reference,
        std::slice::from_ref(&scaffold),
        rollout_config(&rewards, &thinking),
    );
    let given = scaffold.len();
    let scaffold_text = policy.tokenizer.decode(&scaffold, true).unwrap();
    for row in 0..r.rows() {
        assert_eq!(&r.tokens[row][..given], scaffold.as_slice());
        assert_eq!(r.forced[row], vec![0..given]);
        assert!(
            r.tokens[row].len() - given <= 3,
            "the scaffold costs no budget"
        );
        assert!(
            r.texts[row].starts_with(&scaffold_text),
            "rewards see the whole answer"
        );
    }
    assert_eq!(r.sampled_tokens(), r.total_tokens() - 2 * given);

    // The trainer's loss mask is 0 on the scaffold, so its tokens get no
    // gradient while the sampled ones do.
    let mask = r.sampled_mask();
    let len = mask.shape()[1] as usize;
    let case = Case {
        logprobs: Array::from_slice(&vec![-1.0f32; 2 * len], &[2, len as i32]),
        old_logprobs: None,
        ref_logprobs: None,
        advantages: Array::from_slice(&[1.0f32, -1.0], &[2]),
        mask,
        total_tokens: None,
        config: LossConfig {
            beta: 0.0,
            loss_type: LossType::Grpo,
            ..LossConfig::default()
        },
    };
    let grad = loss_and_grad(&case).grad;
    for row in 0..2 {
        let g = &grad[row * len..(row + 1) * len];
        assert!(g[..given].iter().all(|v| *v == 0.0), "row {row}: {g:?}");
        assert!(
            g[given..r.tokens[row].len()].iter().all(|v| *v != 0.0),
            "row {row}: {g:?}"
        );
    }
}

#[test]
fn a_recovered_sample_has_a_scorable_answer() {
    let policy = policy();
    // A template that opens the reasoning block in the prompt (as Qwen3's
    // does): a random model never closes it within the budget.
    let mut opened = prompt(&policy);
    opened.extend(policy.tokenizer.encode("<think>\n", false).unwrap());
    let rewards = RewardSet::new(&["tool_call_exact"], None).unwrap();
    let thinking = Thinking::default();
    let reference = Reference::from_answer(ANSWER).unwrap();
    let key = random::key(5).unwrap();
    let config = RolloutConfig {
        group_size: 3,
        recovery: Some(Recovery {
            samples_per_group: 2,
            answer_tokens: 4,
            key: &key,
        }),
        ..rollout_config(&rewards, &thinking)
    };
    let r = collect(&policy, &[opened.clone()], &reference, &[], config);
    let recovered: Vec<usize> = (0..3).filter(|&row| r.recovered[row]).collect();
    assert_eq!(recovered.len(), 2, "at most 2 per group, and all 3 ran out");
    for &row in &recovered {
        let forced = r.forced[row][0].clone();
        assert_eq!(forced.start, 3, "forced right where the budget ran out");
        let end = policy
            .tokenizer
            .decode(&r.tokens[row][forced.clone()], false)
            .unwrap();
        assert_eq!(end, "</think>");
        assert!(r.tokens[row].len() - forced.end <= 4);
        assert_eq!(thinking.block(&r.texts[row], true), Block::Leading);
    }
    let unrecovered = (0..3).find(|row| !r.recovered[*row]).unwrap();
    assert_eq!(thinking.block(&r.texts[unrecovered], true), Block::Unclosed);

    // With an answer after the forced end, the sample scores like any other.
    let mut sampled = grpo::rollout::Sampled {
        tokens: vec![r.tokens[unrecovered].clone()],
        logprobs: vec![vec![0.0; r.tokens[unrecovered].len()]],
        finish: vec![FinishReason::Length],
        forced: vec![Vec::new()],
        recovered: vec![false],
    };
    let score = |tokens: &[u32]| {
        let text = policy.tokenizer.decode(tokens, true).unwrap();
        rewards
            .score(&thinking.scored_text(&text, true), &reference)
            .total
    };
    assert_eq!(score(&sampled.tokens[0]), 0.0, "no answer inside the block");
    let think_end = policy.tokenizer.encode("</think>", false).unwrap();
    let answer = policy
        .tokenizer
        .encode(&format!("\n{ANSWER}"), false)
        .unwrap();
    two_phase::recover(&mut sampled, &[0], &think_end, &[opened], 1, |contexts| {
        assert_eq!(contexts.len(), 1);
        Ok(Generation {
            tokens: vec![answer.clone()],
            logprobs: vec![vec![-0.5; answer.len()]],
            finish: vec![FinishReason::Eos],
        })
    })
    .unwrap();
    assert_eq!(score(&sampled.tokens[0]), 1.0);
}

#[test]
fn enforce_thinking_takes_the_rewards_of_completions_without_reasoning() {
    let policy = policy();
    let prompts = vec![prompt(&policy)];
    // Nothing to call: random text calls nothing, which tool_call_format pays.
    let reference = Reference::from_answer("").unwrap();
    let rewards = RewardSet::new(&["tool_call_format"], None).unwrap();
    let free = Thinking::default();
    let r = collect(
        &policy,
        &prompts,
        &reference,
        &[],
        rollout_config(&rewards, &free),
    );
    assert!(r.rewards.iter().any(|v| *v > 0.0), "{:?}", r.texts);
    let enforced = Thinking {
        enforce: true,
        ..Thinking::default()
    };
    let r = collect(
        &policy,
        &prompts,
        &reference,
        &[],
        rollout_config(&rewards, &enforced),
    );
    assert_eq!(r.reasoned, [false, false]);
    assert_eq!(r.rewards, [0.0, 0.0]);
    assert_eq!(r.reward_columns, [[0.0, 0.0]]);
}

/// Writes a small training set and loads it.
fn examples(dir: &Path) -> Vec<Example> {
    let path = dir.join("train.jsonl");
    let line = |q: &str, answer: &str| {
        json!({
            "prompt": format!("Tools: calculate_factorial(n). {q}"),
            "answer": answer,
            "type": "tool_call",
            "ground_truth": "calculate_factorial",
            "ground_truth_text": "calculate_factorial",
            "possible_boxed_answers": ["calculate_factorial"],
            "is_multi_answer": false,
            "confidence": 1.0,
            "source": "test",
        })
        .to_string()
    };
    let text = [
        line("What is 5!?", "calculate_factorial(n=5)"),
        line("And 7!?", "calculate_factorial(n=7)"),
    ]
    .join("\n");
    std::fs::write(&path, text).unwrap();
    load(
        &path,
        &LoadOptions {
            strict: true,
            ..LoadOptions::default()
        },
    )
    .unwrap()
    .examples
}

fn base_config(dir: &Path) -> TrainConfig {
    TrainConfig {
        adapter_path: dir.join("adapters"),
        lora_layers: -1,
        lora_rank: 2,
        batch_size: 1,
        group_size: 2,
        max_completion_length: 3,
        temperature: 1.0,
        beta: 0.0,
        save_every: 100,
        steps_per_report: 1,
        steps_per_eval: 100,
        log_rollouts_every: 1,
        ..TrainConfig::default()
    }
}

/// Records what a run reports, and asks it to stop after `stop_after`.
struct Recorder<'a> {
    steps: Vec<IterationMetrics>,
    announcements: Vec<String>,
    stop: &'a AtomicBool,
    stop_after: Option<usize>,
}

impl Observer for Recorder<'_> {
    fn on_iteration(&mut self, m: &IterationMetrics) {
        self.steps.push(m.clone());
        if Some(m.iteration) == self.stop_after {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
    fn on_warning(&mut self, message: &str) {
        self.announcements.push(message.to_string());
    }
}

fn run(
    config: &TrainConfig,
    data: &[Example],
    resume: bool,
    stop_after: Option<usize>,
) -> Recorder<'static> {
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::SeqCst);
    let mut trainer = Trainer::new(
        config.clone(),
        policy(),
        data,
        None,
        resume,
        Objective::Grpo,
    )
    .unwrap();
    let mut recorder = Recorder {
        steps: Vec::new(),
        announcements: Vec::new(),
        stop: &STOP,
        stop_after,
    };
    trainer.run(&mut recorder, &STOP).unwrap();
    recorder
}

#[test]
fn the_phase_of_each_iteration_holds_across_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = examples(dir.path());
    let phase = |iters, reward: &str, lr| Phase {
        iters,
        reward_functions: vec![reward.into()],
        reward_weights: None,
        learning_rate: Some(lr),
    };
    let config = TrainConfig {
        iters: 3,
        phases: vec![
            phase(1, "tool_call_function", 1e-3),
            phase(2, "tool_call_exact", 5e-4),
        ],
        ..base_config(dir.path())
    };
    let first = run(&config, &data, false, Some(1));
    assert_eq!(first.steps.len(), 1, "stopped after iteration 1");
    assert_eq!(first.steps[0].strategy.phase, Some(1));
    assert_eq!(first.steps[0].learning_rate, 1e-3);
    assert_eq!(
        first.announcements,
        ["phase 1/2 (iterations 1-1): rewards tool_call_function 1; learning rate 1e-3"]
    );

    let resumed = run(&config, &data, true, None);
    let phases: Vec<_> = resumed
        .steps
        .iter()
        .map(|m| (m.iteration, m.strategy.phase))
        .collect();
    assert_eq!(phases, [(2, Some(2)), (3, Some(2))]);
    assert!(resumed.steps.iter().all(|m| m.learning_rate == 5e-4));
    assert_eq!(
        resumed.announcements[0],
        "phase 2/2 (iterations 2-3): rewards tool_call_exact 1; learning rate 5e-4"
    );
    // Every phase's rewards are measured throughout.
    let names: Vec<&str> = resumed.steps[0]
        .grpo
        .as_ref()
        .expect("GRPO measurements")
        .rewards
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["tool_call_function", "tool_call_exact"]);
}

#[test]
fn a_curriculum_run_reports_its_ratio_and_gives_the_scaffold() {
    let dir = tempfile::tempdir().unwrap();
    let data = examples(dir.path());
    let config = TrainConfig {
        iters: 3,
        curriculum_enabled: true,
        curriculum_start_ratio: 1.0,
        curriculum_end_ratio: 0.0,
        curriculum_steps: 2,
        two_phase_samples_per_group: 2,
        ..base_config(dir.path())
    };
    let rec = run(&config, &data, false, None);
    let ratios: Vec<Option<f32>> = rec
        .steps
        .iter()
        .map(|m| m.strategy.scaffold_ratio)
        .collect();
    assert_eq!(ratios, [Some(1.0), Some(0.5), Some(0.0)]);
    assert!(rec.steps.iter().all(|m| m.strategy.recovered == Some(0)));
    let rollouts = std::fs::read_to_string(config.adapter_path.join("rollouts.jsonl")).unwrap();
    let first: Vec<serde_json::Value> = rollouts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["iteration"] == 1)
        .collect();
    assert_eq!(first.len(), 2);
    for line in first {
        let expected = line["expected"].as_str().unwrap();
        let completion = line["completion"].as_str().unwrap();
        assert!(completion.starts_with(expected), "{completion:?}");
    }
}
