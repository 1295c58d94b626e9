//! The trainer end to end on a tiny model: the files a run leaves, Ctrl-C,
//! and a resumed run repeating the uninterrupted one exactly.

use std::sync::atomic::{AtomicBool, Ordering};

use grpo::metrics::IterationMetrics;
use grpo::observer::Observer;
use grpo::trainer::{Objective, Outcome, TrainSummary, Trainer};

use crate::common::{quick_config, tasks, tiny_model};

/// Records metrics and raises the stop flag after a given iteration.
struct StopAfter<'a> {
    at: usize,
    flag: &'a AtomicBool,
    seen: Vec<IterationMetrics>,
}

impl Observer for StopAfter<'_> {
    fn on_iteration(&mut self, m: &IterationMetrics) {
        self.seen.push(m.clone());
        if m.iteration == self.at {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

/// Runs `t` to its last iteration; its summary and every step's metrics.
fn run_to_end(t: &mut Trainer) -> (TrainSummary, Vec<IterationMetrics>) {
    let flag = AtomicBool::new(false);
    let mut obs = StopAfter {
        at: usize::MAX,
        flag: &flag,
        seen: Vec::new(),
    };
    let summary = t.run(&mut obs, &flag).unwrap();
    (summary, obs.seen)
}

fn losses(dir: &std::path::Path) -> Vec<(usize, f32, Option<f32>)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let m: IterationMetrics = serde_json::from_str(l).unwrap();
            (m.iteration, m.loss, m.grpo.map(|g| g.mean_reward))
        })
        .collect()
}

#[test]
fn a_run_leaves_adapters_checkpoints_and_logs() {
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = tiny_model(model.path());
    let data = tasks(12);
    let mut trainer = Trainer::new(
        quick_config(out.path()),
        policy,
        &data,
        Some(&data[..4]),
        false,
        Objective::Grpo,
    )
    .unwrap();
    let (summary, seen) = run_to_end(&mut trainer);
    assert_eq!(summary.outcome, Outcome::Finished);
    assert_eq!(summary.iterations_done, 4);
    assert_eq!(seen.len(), 4);
    for m in &seen {
        let g = m.grpo.as_ref().expect("GRPO measurements");
        assert!(m.loss.is_finite() && g.kl.is_some(), "{m:?}");
        assert_eq!(g.groups, 2);
        assert_eq!(g.rewards.len(), 2);
    }
    let dir = out.path();
    for f in [
        "adapters.safetensors",
        "adapter_config.json",
        "metrics.jsonl",
        "rollouts.jsonl",
        "eval.jsonl",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert!(dir
        .join("checkpoints/iteration-2/optimizer.safetensors")
        .is_file());
    assert!(dir
        .join("checkpoints/iteration-4/trainer_state.json")
        .is_file());
    // Validation before the first iteration (the baseline) and at the end,
    // overall and per kind.
    let evals = grpo::eval::EvalLine::read_log(&dir.join("eval.jsonl")).unwrap();
    let iterations: Vec<usize> = evals.iter().map(|e| e.iteration).collect();
    assert_eq!(iterations, [0, 4]);
    for e in &evals {
        assert_eq!(e.examples, 4);
        assert_eq!(e.by_kind["single"].examples, 4);
        assert_eq!(e.by_kind["single"].exact_match, e.exact_match);
    }
    // Every completion of every iteration is logged.
    let rollouts = std::fs::read_to_string(dir.join("rollouts.jsonl")).unwrap();
    assert_eq!(rollouts.lines().count(), 4 * 2 * 4);
    assert_eq!(losses(dir).len(), 4);
}

#[test]
fn an_interrupted_run_resumes_where_it_stopped_with_identical_losses() {
    interrupted_and_resumed(tasks(12), None, |c| c);
}

#[test]
fn a_run_with_a_kind_mix_resumes_identically_too() {
    let mixed = grpo_dataset::synth::generate(&grpo_dataset::synth::SynthConfig {
        n: 12,
        seed: 5,
        mix: "single=0.5,irrelevance=0.5".parse().unwrap(),
        json_style: grpo_dataset::prompt::JsonStyle::Compact,
        ..Default::default()
    })
    .unwrap();
    let mix = [
        ("single".to_string(), 0.5),
        ("irrelevance".to_string(), 0.5),
    ];
    interrupted_and_resumed(mixed, Some(mix.into_iter().collect()), |c| c);
}

#[test]
fn a_run_with_dynamic_sampling_resumes_identically_too() {
    // The extra rounds draw prompts from the data stream, whose position
    // the checkpoint must then hold.
    interrupted_and_resumed(tasks(12), None, |c| grpo::config::TrainConfig {
        dynamic_sampling: 2,
        reward_functions: vec!["tool_call_concise".into()],
        ..c
    });
}

/// A run stopped after iteration 3 and resumed logs what the uninterrupted
/// run logs: the same losses and rewards, and the same validations (the
/// resumed run does not redo the one before the first iteration).
fn interrupted_and_resumed(
    data: Vec<grpo_dataset::Example>,
    kind_mix: Option<std::collections::BTreeMap<String, f64>>,
    tweak: fn(grpo::config::TrainConfig) -> grpo::config::TrainConfig,
) {
    let model = tempfile::tempdir().unwrap();
    tiny_model(model.path());
    let load = || grpo_policy::policy::Policy::load(model.path().to_str().unwrap()).unwrap();
    let config = |dir: &std::path::Path| {
        tweak(grpo::config::TrainConfig {
            kind_mix: kind_mix.clone(),
            steps_per_eval: 2,
            ..quick_config(dir)
        })
    };
    let val = Some(&data[..4]);

    let whole = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(
        config(whole.path()),
        load(),
        &data,
        val,
        false,
        Objective::Grpo,
    )
    .unwrap();
    run_to_end(&mut t);

    let split = tempfile::tempdir().unwrap();
    let flag = AtomicBool::new(false);
    let mut t = Trainer::new(
        config(split.path()),
        load(),
        &data,
        val,
        false,
        Objective::Grpo,
    )
    .unwrap();
    let summary = t
        .run(
            &mut StopAfter {
                at: 3,
                flag: &flag,
                seen: vec![],
            },
            &flag,
        )
        .unwrap();
    assert_eq!(summary.outcome, Outcome::Interrupted);
    assert_eq!(summary.iterations_done, 3);
    assert!(
        split.path().join("checkpoints/iteration-3").is_dir(),
        "Ctrl-C saves a checkpoint"
    );

    let mut t = Trainer::new(
        config(split.path()),
        load(),
        &data,
        val,
        true,
        Objective::Grpo,
    )
    .unwrap();
    assert_eq!(t.info().start_iteration, 3);
    let (summary, _) = run_to_end(&mut t);
    assert_eq!(summary.outcome, Outcome::Finished);
    assert_eq!(losses(whole.path()), losses(split.path()));
    let evals = |dir: &std::path::Path| std::fs::read_to_string(dir.join("eval.jsonl")).unwrap();
    assert_eq!(evals(whole.path()), evals(split.path()));
    let iterations: Vec<usize> = grpo::eval::EvalLine::read_log(&split.path().join("eval.jsonl"))
        .unwrap()
        .iter()
        .map(|e| e.iteration)
        .collect();
    assert_eq!(iterations, [0, 2, 4]);
}

#[test]
fn resuming_without_a_checkpoint_says_so() {
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = tiny_model(model.path());
    let err = Trainer::new(
        quick_config(out.path()),
        policy,
        &tasks(4),
        None,
        true,
        Objective::Grpo,
    )
    .err()
    .expect("no checkpoint to resume from")
    .to_string();
    assert!(err.contains("no checkpoint to resume from"), "{err}");
}

#[test]
fn empty_training_data_is_refused_before_any_file_is_written() {
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let policy = tiny_model(model.path());
    let err = Trainer::new(
        quick_config(&run),
        policy,
        &[],
        None,
        false,
        Objective::Grpo,
    )
    .err()
    .expect("nothing to train on");
    assert!(
        matches!(
            err,
            grpo::Error::InvalidData {
                what: "training data",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no examples"), "{err}");
    assert!(
        !run.exists(),
        "no run directory for a run that cannot start"
    );
}

#[test]
fn sft_lowers_the_answer_loss() {
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = tiny_model(model.path());
    let data = tasks(4);
    let config = grpo::config::TrainConfig {
        iters: 12,
        batch_size: 4,
        learning_rate: 1e-2,
        train_type: grpo_policy::adapters::FineTuneType::Full,
        ..quick_config(out.path())
    };
    let mut t = Trainer::new(config, policy, &data, None, false, Objective::Sft).unwrap();
    let (_, seen) = run_to_end(&mut t);
    let first = seen.first().unwrap().loss;
    let last = seen.last().unwrap().loss;
    assert!(last < 0.7 * first, "SFT loss went from {first} to {last}");
    // SFT samples nothing and is not rewarded: no GRPO measurements, in
    // the observer or in metrics.jsonl.
    assert!(seen.iter().all(|m| m.grpo.is_none()), "{seen:?}");
    let logged = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap();
    for line in logged.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["mean_reward", "parseable_fraction", "ratio_mean", "groups"] {
            assert!(v.get(key).is_none(), "{key} in {line}");
        }
        assert!(v["loss"].as_f64().is_some(), "{line}");
    }
}

#[test]
fn gradient_checkpointing_changes_memory_not_results() {
    let data = tasks(8);
    let model = tempfile::tempdir().unwrap();
    tiny_model(model.path());
    let mut runs = Vec::new();
    for checkpointing in [false, true] {
        let out = tempfile::tempdir().unwrap();
        let config = grpo::config::TrainConfig {
            iters: 2,
            grad_checkpoint: checkpointing,
            lora_dropout: 0.1,
            ..quick_config(out.path())
        };
        let policy = grpo_policy::policy::Policy::load(model.path().to_str().unwrap()).unwrap();
        let mut t = Trainer::new(config, policy, &data, None, false, Objective::Grpo).unwrap();
        run_to_end(&mut t);
        runs.push(losses(out.path()));
    }
    for (a, b) in runs[0].iter().zip(&runs[1]) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn micro_batches_change_memory_not_results() {
    use grpo::importance_sampling::ImportanceSamplingLevel;
    use grpo::loss::LossType;
    let data = tasks(12);
    let model = tempfile::tempdir().unwrap();
    tiny_model(model.path());
    // Every loss type's normaliser, and one ratio per completion; three
    // prompts in slices of two and one, two updates per rollout so that
    // ratios and clipping move, a KL term, and completions of varied
    // length whose rewards differ.
    let variants = [
        (LossType::Grpo, ImportanceSamplingLevel::Token),
        (LossType::Bnpo, ImportanceSamplingLevel::Token),
        (LossType::DrGrpo, ImportanceSamplingLevel::Token),
        (LossType::Dapo, ImportanceSamplingLevel::Token),
        (LossType::Grpo, ImportanceSamplingLevel::Sequence),
    ];
    for (loss_type, importance_sampling_level) in variants {
        let mut runs = Vec::new();
        for micro_batch_size in [0, 2] {
            let out = tempfile::tempdir().unwrap();
            let config = grpo::config::TrainConfig {
                iters: 2,
                batch_size: 3,
                num_iterations: 2,
                loss_type,
                importance_sampling_level,
                micro_batch_size,
                max_completion_length: 24,
                reward_functions: vec!["tool_call_concise".into()],
                ..quick_config(out.path())
            };
            let policy = grpo_policy::policy::Policy::load(model.path().to_str().unwrap()).unwrap();
            let mut t = Trainer::new(config, policy, &data, None, false, Objective::Grpo).unwrap();
            let (_, seen) = run_to_end(&mut t);
            runs.push(seen);
        }
        let what = format!("{loss_type:?}, {importance_sampling_level:?}");
        assert_eq!(runs[0].len(), 2, "{what}");
        for (a, b) in runs[0].iter().zip(&runs[1]) {
            let (ga, gb) = (a.grpo.as_ref().unwrap(), b.grpo.as_ref().unwrap());
            let close = |x: f32, y: f32| (x - y).abs() <= 1e-5 * (1.0 + x.abs());
            assert!(
                a.loss != 0.0,
                "{what}: a loss that does not move tests nothing"
            );
            assert!(
                close(a.loss, b.loss),
                "{what}: loss {} vs {}",
                a.loss,
                b.loss
            );
            assert!(
                close(ga.ratio_mean, gb.ratio_mean),
                "{what}: {ga:?} vs {gb:?}"
            );
            assert!(
                close(ga.clip_fraction, gb.clip_fraction),
                "{what}: {ga:?} vs {gb:?}"
            );
            assert!(
                close(ga.kl.unwrap(), gb.kl.unwrap()),
                "{what}: {ga:?} vs {gb:?}"
            );
            assert!(
                close(ga.entropy.unwrap(), gb.entropy.unwrap()),
                "{what}: {ga:?} vs {gb:?}"
            );
            assert!(close(a.grad_norm, b.grad_norm), "{what}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn a_full_fine_tune_measures_kl_against_its_starting_weights() {
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = tiny_model(model.path());
    let config = grpo::config::TrainConfig {
        iters: 3,
        beta: 0.1,
        learning_rate: 1e-2,
        train_type: grpo_policy::adapters::FineTuneType::Full,
        // Random text of varying length: rewards that differ within groups,
        // so that the policy moves.
        max_completion_length: 24,
        reward_functions: vec!["tool_call_concise".into()],
        ..quick_config(out.path())
    };
    let mut t = Trainer::new(config, policy, &tasks(8), None, false, Objective::Grpo).unwrap();
    let (_, seen) = run_to_end(&mut t);
    let kl: Vec<f32> = seen
        .iter()
        .map(|m| m.grpo.as_ref().and_then(|g| g.kl).unwrap())
        .collect();
    // Step 1 samples from the starting weights: no divergence yet. After
    // updates the policy has moved away from them, and the KL shows it
    // (it stayed 0 when the policy was its own reference).
    assert!(kl[0].abs() < 1e-6, "{kl:?}");
    assert!(kl[2] > 1e-6, "{kl:?}");
}

#[test]
fn the_grpo_variants_train_and_log_the_entropy() {
    use grpo::importance_sampling::ImportanceSamplingLevel;
    use grpo::scale_rewards::ScaleRewards;
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = tiny_model(model.path());
    let vocab = policy.model.config().vocab_size as f32;
    let data = tasks(12);
    let config = grpo::config::TrainConfig {
        importance_sampling_level: ImportanceSamplingLevel::Sequence,
        scale_rewards: ScaleRewards::Batch,
        top_entropy_quantile: 0.5,
        // A second update on the same rollouts, where ratios differ from 1.
        num_iterations: 2,
        ..quick_config(out.path())
    };
    config.validate().unwrap();
    let mut trainer = Trainer::new(config, policy, &data, None, false, Objective::Grpo).unwrap();
    let (summary, seen) = run_to_end(&mut trainer);
    assert_eq!(summary.outcome, Outcome::Finished);
    for m in &seen {
        let g = m.grpo.as_ref().expect("GRPO measurements");
        assert!(m.loss.is_finite() && g.ratio_mean.is_finite(), "{m:?}");
        let e = g.entropy.expect("the entropy of every GRPO iteration");
        assert!(e > 0.0 && e <= vocab.ln() + 1e-3, "{m:?}");
    }
    let logged = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap();
    for line in logged.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["entropy"].as_f64().is_some(), "{line}");
    }
}

#[test]
fn dynamic_sampling_trains_on_groups_that_differ_within_its_rounds() {
    let model = tempfile::tempdir().unwrap();
    tiny_model(model.path());
    let load = || grpo_policy::policy::Policy::load(model.path().to_str().unwrap()).unwrap();
    let data = tasks(40);
    let run = |rewards: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let config = grpo::config::TrainConfig {
            dynamic_sampling: 3,
            batch_size: 4,
            reward_functions: rewards.iter().map(|r| r.to_string()).collect(),
            ..quick_config(out.path())
        };
        let mut t = Trainer::new(config, load(), &data, None, false, Objective::Grpo).unwrap();
        let (summary, seen) = run_to_end(&mut t);
        assert_eq!(summary.outcome, Outcome::Finished);
        let logged = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap();
        for line in logged.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["sampled_groups"].as_u64().is_some(), "{line}");
        }
        seen
    };

    // A random model never calls: every group is constant, so each
    // iteration spends its three extra rounds (2 x 4 missing groups, at
    // most a batch: 4 + 4 + 4 more) and trains on its first batch.
    for m in run(&["tool_call_parseable"]) {
        assert_eq!(m.strategy.sampled_groups, Some(16), "{m:?}");
        let g = m.grpo.as_ref().unwrap();
        assert_eq!((g.groups, g.zero_variance_groups), (4, 4), "{m:?}");
    }
    // Rewards on the length of the prose differ within most groups: the
    // groups trained on all carry a signal, and a constant group was
    // replaced whenever more groups were sampled than trained.
    let seen = run(&["tool_call_concise"]);
    for m in &seen {
        let sampled = m.strategy.sampled_groups.unwrap();
        let g = m.grpo.as_ref().unwrap();
        assert_eq!(g.zero_variance_groups, 0, "{m:?}");
        assert!(g.groups <= 4 && (4..=16).contains(&sampled), "{m:?}");
        if sampled == 4 {
            assert_eq!(g.groups, 4, "{m:?}");
        }
    }
}

#[test]
fn with_lora_dropout_the_updates_of_an_iteration_share_their_masks() {
    // Several updates per rollout with adapter dropout, resumed after two
    // iterations (so the adapters are no longer zero and dropout changes
    // the output) with a learning rate too small to move the weights:
    // every ratio must then be 1. With a mask of its own for the
    // old-policy pass and for each update, the ratios would be those of
    // two different dropped-out networks.
    let model = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    tiny_model(model.path());
    let load = || grpo_policy::policy::Policy::load(model.path().to_str().unwrap()).unwrap();
    let data = tasks(12);
    let config = |iters: usize, learning_rate: f32| grpo::config::TrainConfig {
        num_iterations: 3,
        lora_dropout: 0.5,
        iters,
        learning_rate,
        // Rewards that differ within groups, so that the adapters move.
        reward_functions: vec!["tool_call_concise".into()],
        ..quick_config(out.path())
    };
    let mut t = Trainer::new(config(2, 1e-2), load(), &data, None, false, Objective::Grpo).unwrap();
    run_to_end(&mut t);
    let mut t = Trainer::new(config(4, 1e-12), load(), &data, None, true, Objective::Grpo).unwrap();
    let (_, seen) = run_to_end(&mut t);
    assert_eq!(seen.len(), 2);
    for m in &seen {
        let g = m.grpo.as_ref().unwrap();
        assert!((g.ratio_mean - 1.0).abs() < 1e-5, "{m:?}");
        assert_eq!(g.clip_fraction, 0.0, "{m:?}");
    }
}
