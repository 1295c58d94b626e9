//! The loss, its gradient and its metrics against an independent NumPy
//! implementation: `golden/loss_reference.py` wrote `golden/loss_golden.json`.

use grpo::loss::{LossConfig, LossType};
use mlx_rs::Array;
use serde::Deserialize;

use crate::loss_run::{assert_close, loss_and_grad, matrix, Case};

/// Float32 results against float64 references: a few ulps of the inputs.
const RTOL: f64 = 2e-5;
const ATOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<GoldenCase>,
}

#[derive(Deserialize)]
struct GoldenCase {
    name: String,
    loss_type: LossType,
    epsilon: f32,
    epsilon_high: Option<f32>,
    beta: f32,
    max_completion_length: usize,
    total_tokens: Option<f32>,
    logprobs: Vec<Vec<f32>>,
    old_logprobs: Option<Vec<Vec<f32>>>,
    ref_logprobs: Option<Vec<Vec<f32>>>,
    advantages: Vec<f32>,
    mask: Vec<Vec<f32>>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    loss: f64,
    grad: Vec<Vec<f64>>,
    ratio_mean: f64,
    clip_fraction_low: f64,
    clip_fraction_high: f64,
    clip_fraction: f64,
    kl: Option<f64>,
}

fn golden() -> Golden {
    let text = include_str!("golden/loss_golden.json");
    serde_json::from_str(text).expect("golden/loss_golden.json parses")
}

#[test]
fn golden_file_covers_every_loss_type_clipping_kl_and_masking() {
    let cases = golden().cases;
    for t in LossType::ALL {
        assert!(cases.iter().any(|c| c.loss_type == t && c.beta == 0.0));
        assert!(cases.iter().any(|c| c.loss_type == t && c.beta > 0.0));
    }
    assert!(cases.iter().any(|c| c.expected.clip_fraction_low > 0.0));
    assert!(cases.iter().any(|c| c.expected.clip_fraction_high > 0.0));
    assert!(cases
        .iter()
        .any(|c| c.mask.iter().flatten().any(|&m| m == 0.0)));
    assert!(cases.iter().any(|c| c.old_logprobs.is_none()));
    assert!(cases.iter().any(|c| c.total_tokens.is_some()));
}

#[test]
fn loss_gradient_and_metrics_match_numpy() {
    for case in golden().cases {
        let name = &case.name;
        let got = loss_and_grad(&Case {
            logprobs: matrix(&case.logprobs),
            old_logprobs: case.old_logprobs.as_deref().map(matrix),
            ref_logprobs: case.ref_logprobs.as_deref().map(matrix),
            advantages: Array::from_slice(&case.advantages, &[case.advantages.len() as i32]),
            mask: matrix(&case.mask),
            total_tokens: case.total_tokens,
            config: LossConfig {
                epsilon: case.epsilon,
                epsilon_high: case.epsilon_high,
                beta: case.beta,
                loss_type: case.loss_type,
                max_completion_length: case.max_completion_length,
            },
        });
        let want = &case.expected;
        assert_close(
            &format!("{name}: loss"),
            got.loss.into(),
            want.loss,
            RTOL,
            ATOL,
        );
        let want_grad: Vec<f64> = want.grad.iter().flatten().copied().collect();
        assert_eq!(got.grad.len(), want_grad.len(), "{name}: gradient size");
        for (i, (&g, &w)) in got.grad.iter().zip(&want_grad).enumerate() {
            assert_close(&format!("{name}: grad[{i}]"), g.into(), w, RTOL, ATOL);
            if w == 0.0 {
                assert_eq!(g, 0.0, "{name}: grad[{i}] must be exactly zero");
            }
        }
        let m = got.metrics;
        assert_close(
            &format!("{name}: ratio_mean"),
            m.ratio_mean.into(),
            want.ratio_mean,
            RTOL,
            ATOL,
        );
        assert_close(
            &format!("{name}: clip low"),
            m.clip_fraction_low.into(),
            want.clip_fraction_low,
            RTOL,
            ATOL,
        );
        assert_close(
            &format!("{name}: clip high"),
            m.clip_fraction_high.into(),
            want.clip_fraction_high,
            RTOL,
            ATOL,
        );
        assert_close(
            &format!("{name}: clip"),
            m.clip_fraction.into(),
            want.clip_fraction,
            RTOL,
            ATOL,
        );
        match (m.kl, want.kl) {
            (Some(g), Some(w)) => assert_close(&format!("{name}: kl"), g.into(), w, RTOL, ATOL),
            (None, None) => {}
            (g, w) => panic!("{name}: kl {g:?}, want {w:?}"),
        }
    }
}
