//! Batched group generation and completion log-probabilities agree with
//! plain one-sequence-at-a-time computation.

use grpo_policy::batch::PromptBatch;
use grpo_policy::config::TransformerConfig;
use grpo_policy::generate::{generate, FinishReason, GenerateOptions};
use grpo_policy::logprobs::{completion_logprobs, token_logprobs, CompletionBatch};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, random, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::sample::Sampler;

use crate::common::{max_abs_diff, tiny_config, to_vec};

fn model() -> Transformer {
    let config = TransformerConfig::from_json(&tiny_config("qwen2")).unwrap();
    Transformer::random(config, 11).unwrap()
}

/// Greedy continuation of one prompt, recomputing the whole sequence at
/// every step (no cache, no batching).
fn naive_greedy(m: &Transformer, prompt: &[u32], n: usize) -> Vec<u32> {
    let mut seq = prompt.to_vec();
    for _ in 0..n {
        let mut cache = m.new_cache();
        let x = Array::from_slice(&seq, &[1, seq.len() as i32]);
        let mask = AttentionMask::padded_causal(&[0], 0, seq.len() as i32);
        let logits = m
            .forward(&x, &mut cache, &mask, &Mode::inference())
            .unwrap();
        let last = to_vec(&logits.index((0, -1)));
        let best = (0..last.len())
            .max_by(|&a, &b| last[a].total_cmp(&last[b]))
            .unwrap();
        seq.push(best as u32);
    }
    seq[prompt.len()..].to_vec()
}

fn prompts() -> Vec<Vec<u32>> {
    vec![vec![5, 9, 14], vec![3, 1, 4, 1, 5, 9, 2, 6], vec![77]]
}

#[test]
fn batched_greedy_equals_one_sequence_at_a_time() {
    let m = model();
    let opts = GenerateOptions {
        group_size: 2,
        max_tokens: 6,
        sampler: Sampler::greedy(),
        eos: &[],
        stop: None,
    };
    let g = generate(
        &m,
        &prompts(),
        &opts,
        &random::key(0).unwrap(),
        &Mode::inference(),
    )
    .unwrap();
    assert_eq!(g.tokens.len(), 6);
    for (p, prompt) in prompts().iter().enumerate() {
        let want = naive_greedy(&m, prompt, 6);
        for j in 0..2 {
            assert_eq!(g.tokens[p * 2 + j], want, "prompt {p} sample {j}");
            assert_eq!(g.finish[p * 2 + j], FinishReason::Length);
        }
    }
}

#[test]
fn prompts_of_equal_and_different_lengths_prefill_like_one_at_a_time() {
    let m = model();
    // Two pairs of equal length (prefilled together) and one alone.
    let prompts = vec![
        vec![5, 9, 14],
        vec![8, 8, 1, 2, 3],
        vec![7, 7, 2],
        vec![3, 1, 4, 1, 5, 9, 2, 6],
        vec![1, 2, 3, 4, 5],
    ];
    let opts = GenerateOptions {
        group_size: 2,
        max_tokens: 5,
        sampler: Sampler::greedy(),
        eos: &[],
        stop: None,
    };
    let g = generate(
        &m,
        &prompts,
        &opts,
        &random::key(0).unwrap(),
        &Mode::inference(),
    )
    .unwrap();
    for (p, prompt) in prompts.iter().enumerate() {
        let want = naive_greedy(&m, prompt, 5);
        assert_eq!(g.tokens[p * 2], want, "prompt {p}");
        assert_eq!(g.tokens[p * 2 + 1], want, "prompt {p}");
    }
}

#[test]
fn rows_stop_at_eos_and_stop_conditions_without_disturbing_others() {
    let m = model();
    let free = naive_greedy(&m, &prompts()[1], 8);
    // End the second prompt's rows at its third greedy token; the others run on.
    let eos = [free[2]];
    let stop = |t: &[u32]| t.len() == 5;
    let opts = GenerateOptions {
        group_size: 3,
        max_tokens: 8,
        sampler: Sampler::greedy(),
        eos: &eos,
        stop: Some(&stop),
    };
    let g = generate(
        &m,
        &prompts(),
        &opts,
        &random::key(0).unwrap(),
        &Mode::inference(),
    )
    .unwrap();
    for j in 0..3 {
        let row = 3 + j;
        let cut = free.iter().position(|&t| t == eos[0]).unwrap();
        assert_eq!(g.tokens[row], free[..=cut].to_vec());
        assert_eq!(g.finish[row], FinishReason::Eos);
    }
    for p in [0, 2] {
        let want = naive_greedy(&m, &prompts()[p], 8);
        for j in 0..3 {
            let row = p * 3 + j;
            let cut = want
                .iter()
                .position(|&t| t == eos[0])
                .map_or(5, |c| (c + 1).min(5));
            assert_eq!(g.tokens[row], want[..cut].to_vec(), "row {row}");
        }
    }
}

#[test]
fn sampled_groups_differ_and_are_reproducible_from_the_key() {
    let m = model();
    let opts = GenerateOptions {
        group_size: 4,
        max_tokens: 8,
        sampler: Sampler::with_temperature(1.0),
        eos: &[],
        stop: None,
    };
    let key = random::key(42).unwrap();
    let a = generate(&m, &prompts(), &opts, &key, &Mode::inference()).unwrap();
    let b = generate(&m, &prompts(), &opts, &key, &Mode::inference()).unwrap();
    assert_eq!(a, b);
    let group: std::collections::HashSet<_> = a.tokens[..4].iter().collect();
    assert!(
        group.len() > 1,
        "a group of 4 samples at temperature 1 came out identical"
    );
}

#[test]
fn completion_logprobs_match_full_sequence_logprobs_and_sampling() {
    let m = model();
    let group = 2;
    let opts = GenerateOptions {
        group_size: group,
        max_tokens: 5,
        sampler: Sampler::with_temperature(0.7),
        eos: &[],
        stop: None,
    };
    let g = generate(
        &m,
        &prompts(),
        &opts,
        &random::key(3).unwrap(),
        &Mode::inference(),
    )
    .unwrap();
    let batch = PromptBatch::new(&prompts()).unwrap();
    let completions = CompletionBatch::new(&g.tokens);
    let lp = completion_logprobs(&m, &batch, &completions, group, 0.7, &Mode::inference()).unwrap();
    assert_eq!(lp.shape(), &[6, 5]);
    for (row, tokens) in g.tokens.iter().enumerate() {
        let prompt = &prompts()[row / group];
        let seq: Vec<u32> = prompt.iter().chain(tokens).copied().collect();
        let x = Array::from_slice(&seq, &[1, seq.len() as i32]);
        let mut cache = m.new_cache();
        let mask = AttentionMask::padded_causal(&[0], 0, seq.len() as i32);
        let logits = m
            .forward(&x, &mut cache, &mask, &Mode::inference())
            .unwrap();
        let start = prompt.len() as i32 - 1;
        let end = seq.len() as i32 - 1;
        let targets = Array::from_slice(&seq[prompt.len()..], &[1, tokens.len() as i32]);
        let want = token_logprobs(&logits.index((.., start..end)), &targets, 0.7).unwrap();
        let got = to_vec(&lp.index(row as i32));
        assert!(max_abs_diff(&got, &to_vec(&want)) < 1e-4, "row {row}");
        assert!(
            max_abs_diff(&got, &g.logprobs[row]) < 1e-4,
            "row {row} vs sampling"
        );
    }
}

#[test]
fn sampled_rows_that_stop_early_keep_their_own_logprobs() {
    // A third of the vocabulary ends a row, so rows stop at varied steps and
    // the batch is compacted several times while others run on.
    let m = model();
    let eos: Vec<u32> = (0..128).filter(|t| t % 3 == 0).collect();
    let group = 4;
    let opts = GenerateOptions {
        group_size: group,
        max_tokens: 8,
        sampler: Sampler::with_temperature(1.0),
        eos: &eos,
        stop: None,
    };
    let g = generate(
        &m,
        &prompts(),
        &opts,
        &random::key(5).unwrap(),
        &Mode::inference(),
    )
    .unwrap();
    let lengths: std::collections::BTreeSet<usize> = g.tokens.iter().map(Vec::len).collect();
    assert!(
        lengths.len() > 2,
        "rows stopped at too few lengths: {lengths:?}"
    );
    for (row, tokens) in g.tokens.iter().enumerate() {
        let ends_in_eos = eos.contains(tokens.last().unwrap());
        let want = if ends_in_eos {
            FinishReason::Eos
        } else {
            FinishReason::Length
        };
        assert_eq!(g.finish[row], want, "row {row}");
        assert!(tokens[..tokens.len() - 1].iter().all(|t| !eos.contains(t)));
    }
    let batch = PromptBatch::new(&prompts()).unwrap();
    let completions = CompletionBatch::new(&g.tokens);
    let lp = completion_logprobs(&m, &batch, &completions, group, 1.0, &Mode::inference()).unwrap();
    for (row, tokens) in g.tokens.iter().enumerate() {
        let got = to_vec(&lp.index(row as i32));
        let diff = max_abs_diff(&got[..tokens.len()], &g.logprobs[row]);
        assert!(diff < 1e-4, "row {row}: {diff}");
    }
}
