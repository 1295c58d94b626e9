//! The entropy pass gives the log-probs of `completion_logprobs` and the
//! entropy of each position's sampling distribution, as one sequence at a
//! time computes them.

use grpo_policy::batch::PromptBatch;
use grpo_policy::config::TransformerConfig;
use grpo_policy::entropy::{completion_logprobs_and_entropy, token_entropy};
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;

use crate::common::{max_abs_diff, tiny_config, to_vec};

#[test]
fn entropy_pass_matches_logprobs_and_one_sequence_at_a_time() {
    let config = TransformerConfig::from_json(&tiny_config("qwen2")).unwrap();
    let vocab = config.vocab_size as f32;
    let m = Transformer::random(config, 11).unwrap();
    let prompts = vec![vec![5, 9, 14], vec![3, 1, 4, 1, 5, 9, 2, 6]];
    let group = 2;
    // Ragged rows: padding must not leak into the counted positions.
    let rows: Vec<Vec<u32>> = vec![vec![7, 8, 9, 10], vec![2], vec![11, 12], vec![4, 4, 4]];
    let batch = PromptBatch::new(&prompts).unwrap();
    let completions = CompletionBatch::new(&rows);
    let t = 0.7;
    let (lp, h) =
        completion_logprobs_and_entropy(&m, &batch, &completions, group, t, &Mode::inference())
            .unwrap();
    let plain =
        completion_logprobs(&m, &batch, &completions, group, t, &Mode::inference()).unwrap();
    assert_eq!(to_vec(&lp), to_vec(&plain), "the same log-probs");
    assert_eq!(h.shape(), lp.shape());
    for (row, tokens) in rows.iter().enumerate() {
        let prompt = &prompts[row / group];
        let seq: Vec<u32> = prompt.iter().chain(tokens).copied().collect();
        let x = Array::from_slice(&seq, &[1, seq.len() as i32]);
        let mut cache = m.new_cache();
        let mask = AttentionMask::padded_causal(&[0], 0, seq.len() as i32);
        let logits = m
            .forward(&x, &mut cache, &mask, &Mode::inference())
            .unwrap();
        let (start, end) = (prompt.len() as i32 - 1, seq.len() as i32 - 1);
        let want = to_vec(&token_entropy(&logits.index((.., start..end)), t).unwrap());
        let got = to_vec(&h.index(row as i32));
        let got = &got[..tokens.len()];
        assert!(
            max_abs_diff(got, &want) < 1e-4,
            "row {row}: {got:?} vs {want:?}"
        );
        assert!(
            got.iter().all(|&e| (0.0..=vocab.ln() + 1e-4).contains(&e)),
            "row {row}: {got:?}"
        );
    }
}
