//! Continued rows (`generate_continuable`, `continue_rows`) sample what one
//! pass over the whole conversation samples: a row's cache is kept when it
//! stops, its new tokens run after it, and rows of different lengths share
//! a batch with their positions still contiguous.

use grpo_policy::config::TransformerConfig;
use grpo_policy::generate::{continue_rows, generate, generate_continuable, GenerateOptions};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, random, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::sample::Sampler;

use crate::common::{tiny_config, to_vec};

/// Greedy continuation of `seq` by recomputing it whole at every step, with
/// the log-probability of each chosen token.
fn naive_greedy(m: &Transformer, prompt: &[u32], n: usize) -> (Vec<u32>, Vec<f32>) {
    let mut seq = prompt.to_vec();
    let mut logprobs = Vec::new();
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
        let max = last[best];
        let lse = max + last.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
        logprobs.push(last[best] - lse);
        seq.push(best as u32);
    }
    (seq[prompt.len()..].to_vec(), logprobs)
}

/// Rows stop at different lengths: after `2 + first % 4` tokens.
fn uneven_stop(tokens: &[u32]) -> bool {
    tokens.len() >= 2 + (tokens[0] % 4) as usize
}

fn continues_like_one_pass(model_type: &str) {
    let config = TransformerConfig::from_json(&tiny_config(model_type)).unwrap();
    let m = Transformer::random(config, 5).unwrap();
    let prompts = vec![vec![5u32, 9, 14], vec![3, 1, 4, 1, 5, 9, 2, 6], vec![77]];
    let first = GenerateOptions {
        group_size: 2,
        max_tokens: 6,
        sampler: Sampler::greedy(),
        eos: &[],
        stop: Some(&uneven_stop),
    };
    let key = random::key(1).unwrap();
    let (turn1, caches) =
        generate_continuable(&m, &prompts, &first, &key, &Mode::inference()).unwrap();
    // Keeping the caches changes nothing about the generation itself.
    let plain = generate(&m, &prompts, &first, &key, &Mode::inference()).unwrap();
    assert_eq!(turn1, plain);
    let lengths: Vec<usize> = turn1.tokens.iter().map(Vec::len).collect();
    assert_eq!(caches.len(), 6);

    // Row r gets its last token and then r + 1 more ("tool results").
    let new_tokens: Vec<Vec<u32>> = turn1
        .tokens
        .iter()
        .enumerate()
        .map(|(r, t)| {
            let mut n = vec![*t.last().unwrap()];
            n.extend((0..=r as u32).map(|j| 20 + j));
            n
        })
        .collect();
    let next = GenerateOptions {
        group_size: 1,
        max_tokens: 4,
        sampler: Sampler::greedy(),
        eos: &[],
        stop: Some(&uneven_stop),
    };
    let (turn2, caches2) =
        continue_rows(&m, caches, &new_tokens, &next, &key, &Mode::inference()).unwrap();

    // A third turn from the second's caches, all rows the same width.
    let third: Vec<Vec<u32>> = turn2
        .tokens
        .iter()
        .map(|t| vec![*t.last().unwrap(), 40, 41])
        .collect();
    let last = GenerateOptions { stop: None, ..next };
    let (turn3, _) = continue_rows(&m, caches2, &third, &last, &key, &Mode::inference()).unwrap();

    for row in 0..6 {
        let prompt = &prompts[row / 2];
        let mut seq = prompt.clone();
        seq.extend(&turn1.tokens[row]);
        seq.extend(&new_tokens[row][1..]);
        let (want2, lp2) = naive_greedy(&m, &seq, turn2.tokens[row].len());
        assert_eq!(turn2.tokens[row], want2, "{model_type} row {row}, turn 2");
        for (a, b) in turn2.logprobs[row].iter().zip(&lp2) {
            assert!((a - b).abs() < 1e-4, "{model_type} row {row}: {a} vs {b}");
        }
        seq.extend(&turn2.tokens[row]);
        seq.extend(&third[row][1..]);
        let (want3, lp3) = naive_greedy(&m, &seq, 4);
        assert_eq!(turn3.tokens[row], want3, "{model_type} row {row}, turn 3");
        for (a, b) in turn3.logprobs[row].iter().zip(&lp3) {
            assert!((a - b).abs() < 1e-4, "{model_type} row {row}: {a} vs {b}");
        }
    }
    // The stop rule made the rows uneven, which is what needs the shift.
    assert!(lengths.iter().any(|&l| l != lengths[0]), "{lengths:?}");
}

#[test]
fn continued_rows_sample_what_one_pass_over_the_conversation_samples() {
    continues_like_one_pass("qwen2");
}

#[test]
fn continued_rows_agree_with_one_pass_under_scaled_rope() {
    // llama3 rope scaling: per-pair frequencies, which the shift must use.
    continues_like_one_pass("llama");
}

#[test]
fn continuing_needs_a_new_token_for_every_row() {
    let config = TransformerConfig::from_json(&tiny_config("qwen2")).unwrap();
    let m = Transformer::random(config, 5).unwrap();
    let opts = GenerateOptions {
        group_size: 1,
        max_tokens: 2,
        sampler: Sampler::greedy(),
        eos: &[],
        stop: None,
    };
    let key = random::key(1).unwrap();
    let (_, caches) =
        generate_continuable(&m, &[vec![1, 2]], &opts, &key, &Mode::inference()).unwrap();
    let err = continue_rows(&m, caches, &[vec![]], &opts, &key, &Mode::inference()).unwrap_err();
    assert!(err.to_string().contains("at least one new token"), "{err}");
}
