//! Properties of the loss over random small batches.

use grpo::loss::{LossConfig, LossType};
use mlx_rs::Array;
use proptest::prelude::*;

use crate::loss_run::{loss_and_grad, Case};

/// A random batch: `b` rows of `t` tokens, log-probs, a perturbation for the
/// old policy, a reference, advantages and a 0/1 mask.
#[derive(Debug, Clone)]
struct Batch {
    b: usize,
    t: usize,
    logprobs: Vec<f32>,
    old_shift: Vec<f32>,
    ref_shift: Vec<f32>,
    advantages: Vec<f32>,
    mask: Vec<bool>,
}

fn batch() -> impl Strategy<Value = Batch> {
    (1usize..=5, 1usize..=7).prop_flat_map(|(b, t)| {
        let n = b * t;
        (
            proptest::collection::vec(-5.0f32..-0.01, n),
            proptest::collection::vec(-1.0f32..1.0, n),
            proptest::collection::vec(-1.0f32..1.0, n),
            proptest::collection::vec(-2.0f32..2.0, b),
            proptest::collection::vec(any::<bool>(), n),
        )
            .prop_map(
                move |(logprobs, old_shift, ref_shift, advantages, mask)| Batch {
                    b,
                    t,
                    logprobs,
                    old_shift,
                    ref_shift,
                    advantages,
                    mask,
                },
            )
    })
}

fn loss_type() -> impl Strategy<Value = LossType> {
    proptest::sample::select(LossType::ALL.to_vec())
}

impl Batch {
    fn array(&self, values: &[f32]) -> Array {
        Array::from_slice(values, &[self.b as i32, self.t as i32])
    }

    fn shifted(&self, shift: &[f32]) -> Array {
        let v: Vec<f32> = self
            .logprobs
            .iter()
            .zip(shift)
            .map(|(l, s)| l + s)
            .collect();
        self.array(&v)
    }

    fn row_counts(&self) -> Vec<f64> {
        self.mask
            .chunks(self.t)
            .map(|row| row.iter().filter(|&&m| m).count() as f64)
            .collect()
    }

    /// Minus the mean advantage, aggregated like the loss aggregates tokens.
    fn minus_mean_advantage(&self, loss_type: LossType, max_len: usize) -> f64 {
        let counts = self.row_counts();
        let adv = self.advantages.iter().map(|&a| f64::from(a));
        let weighted: f64 = adv.clone().zip(&counts).map(|(a, n)| a * n).sum();
        let tokens: f64 = counts.iter().sum();
        let b = self.b as f64;
        -match loss_type {
            LossType::Grpo => {
                adv.zip(&counts)
                    .filter(|(_, &n)| n > 0.0)
                    .map(|(a, _)| a)
                    .sum::<f64>()
                    / b
            }
            LossType::Bnpo | LossType::Dapo => weighted / tokens.max(1.0),
            LossType::DrGrpo => weighted / (b * max_len as f64),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ratio_one_and_no_kl_gives_minus_the_aggregated_mean_advantage(
        batch in batch(),
        loss_type in loss_type(),
        max_len in 7usize..32,
    ) {
        let config = LossConfig { beta: 0.0, loss_type, max_completion_length: max_len, ..LossConfig::default() };
        let mask: Vec<f32> = batch.mask.iter().map(|&m| f32::from(u8::from(m))).collect();
        let got = loss_and_grad(&Case {
            logprobs: batch.array(&batch.logprobs),
            old_logprobs: None,
            ref_logprobs: None,
            advantages: Array::from_slice(&batch.advantages, &[batch.b as i32]),
            mask: batch.array(&mask),
            total_tokens: None,
            config,
        });
        let want = batch.minus_mean_advantage(loss_type, max_len);
        prop_assert!((f64::from(got.loss) - want).abs() < 1e-5, "loss {} want {}", got.loss, want);
        prop_assert_eq!(got.metrics.ratio_mean, if batch.mask.iter().any(|&m| m) { 1.0 } else { 0.0 });
        prop_assert_eq!(got.metrics.clip_fraction, 0.0);
    }

    #[test]
    fn masked_tokens_carry_exactly_zero_gradient(
        batch in batch(),
        loss_type in loss_type(),
        beta in prop_oneof![Just(0.0f32), 0.0f32..0.5],
        garbage in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(-1e4f32)],
    ) {
        // Padding log-probs are garbage; they must not reach loss or gradient.
        let logprobs: Vec<f32> = batch.logprobs.iter().zip(&batch.mask)
            .map(|(&l, &m)| if m { l } else { garbage })
            .collect();
        let config = LossConfig {
            epsilon: 0.2,
            epsilon_high: Some(0.28),
            beta,
            loss_type,
            max_completion_length: 8,
        };
        let got = loss_and_grad(&Case {
            logprobs: batch.array(&logprobs),
            old_logprobs: Some(batch.shifted(&batch.old_shift)),
            ref_logprobs: Some(batch.shifted(&batch.ref_shift)),
            advantages: Array::from_slice(&batch.advantages, &[batch.b as i32]),
            mask: Array::from_slice(&batch.mask, &[batch.b as i32, batch.t as i32]),
            total_tokens: None,
            config,
        });
        prop_assert!(got.loss.is_finite(), "loss {}", got.loss);
        for (i, (&g, &m)) in got.grad.iter().zip(&batch.mask).enumerate() {
            if m {
                prop_assert!(g.is_finite(), "grad[{}] = {}", i, g);
            } else {
                prop_assert_eq!(g, 0.0, "masked grad[{}]", i);
            }
        }
        let m = got.metrics;
        prop_assert!((0.0..=1.0).contains(&m.clip_fraction));
        prop_assert!((m.clip_fraction - m.clip_fraction_low - m.clip_fraction_high).abs() < 1e-6);
        prop_assert!(m.kl.is_some_and(|kl| kl >= 0.0), "k3 is non-negative: {:?}", m.kl);
    }
}
