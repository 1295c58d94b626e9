//! GSPO's sequence-level ratio and the high-entropy token selection
//! (`LossVariant`), on tensors small enough to work out by hand.

use grpo::importance_sampling::ImportanceSamplingLevel;
use grpo::loss::{grpo_loss_with, LossConfig, LossInputs, LossMetricValues, LossOutput, LossType};
use grpo::loss_variant::LossVariant;
use grpo::Error;
use mlx_rs::{array, error::Exception, transforms::value_and_grad, Array};

use crate::loss_run::{assert_close, matrix};

const TOL: f64 = 1e-6;

struct Run {
    loss: f64,
    grad: Vec<f64>,
    metrics: LossMetricValues,
}

struct Inputs {
    logprobs: Array,
    old: Option<Array>,
    reference: Option<Array>,
    advantages: Array,
    mask: Array,
}

fn run(inputs: &Inputs, config: &LossConfig, variant: &LossVariant<'_>) -> Run {
    let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let loss_inputs = LossInputs {
            logprobs: &args[0],
            old_logprobs: inputs.old.as_ref(),
            ref_logprobs: inputs.reference.as_ref(),
            advantages: &inputs.advantages,
            mask: &inputs.mask,
            total_tokens: None,
        };
        Ok(grpo_loss_with(&loss_inputs, config, variant)?.into_arrays())
    };
    let (values, grads) = value_and_grad(f)(std::slice::from_ref(&inputs.logprobs)).unwrap();
    mlx_rs::transforms::eval(values.iter().chain(&grads)).unwrap();
    let out = LossOutput::from_arrays(values).unwrap();
    Run {
        loss: out.loss.item_exact::<f32>().into(),
        grad: grads[0]
            .as_slice::<f32>()
            .iter()
            .map(|&g| g.into())
            .collect(),
        metrics: out.metrics.values().unwrap(),
    }
}

fn config(loss_type: LossType, beta: f32) -> LossConfig {
    LossConfig {
        epsilon: 0.2,
        epsilon_high: Some(0.3),
        beta,
        loss_type,
        max_completion_length: 4,
    }
}

const SEQUENCE: LossVariant<'static> = LossVariant {
    importance_sampling_level: ImportanceSamplingLevel::Sequence,
    top_entropy_quantile: 1.0,
    entropy: None,
};

fn grads_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(&format!("{what} grad[{i}]"), *g, *w, 1e-5, TOL);
    }
}

/// ```text
/// log ratios [[0.1, -0.1], [0.2, (-0.5, masked)]], A = [2, -1]
/// s_0 = exp((0.1 - 0.1) / 2) = 1, s_1 = exp(0.2 / 1) = e^0.2, both in [0.8, 1.3]
/// S = [[-2, -2], [e^0.2, -]]; ∂s_i/∂logp_i,t = s_i / n_i
/// ```
#[test]
fn sequence_ratio_matches_hand_computation() {
    let inputs = Inputs {
        logprobs: matrix(&[vec![-1.0, -2.0], vec![-0.5, -1.5]]),
        old: Some(matrix(&[vec![-1.1, -1.9], vec![-0.7, -1.0]])),
        reference: None,
        advantages: array!([2.0f32, -1.0]),
        mask: matrix(&[vec![1.0, 1.0], vec![1.0, 0.0]]),
    };
    let e02 = 0.2f64.exp();
    // grpo: mean over rows of each row's token mean.
    let got = run(&inputs, &config(LossType::Grpo, 0.0), &SEQUENCE);
    assert_close("grpo loss", got.loss, 0.5 * (-2.0 + e02), 1e-6, TOL);
    grads_close("grpo", &got.grad, &[-0.5, -0.5, 0.5 * e02, 0.0]);
    // bnpo: every counted token weighs 1/3.
    let got = run(&inputs, &config(LossType::Bnpo, 0.0), &SEQUENCE);
    assert_close("bnpo loss", got.loss, (-4.0 + e02) / 3.0, 1e-6, TOL);
    grads_close("bnpo", &got.grad, &[-2.0 / 3.0, -2.0 / 3.0, e02 / 3.0, 0.0]);
    // The ratio's mean is over completions, as TRL reports it.
    assert_close(
        "ratio_mean",
        got.metrics.ratio_mean.into(),
        (1.0 + e02) / 2.0,
        1e-6,
        TOL,
    );
    assert_eq!(got.metrics.clip_fraction, 0.0);
}

/// ```text
/// log ratios [0.9, 0.1], A = 1: s = exp(0.5) > 1.3, the whole completion
/// is clipped (S = -1.3 per token, no gradient), though token 1's own
/// ratio e^0.1 is inside the range, which the token level keeps.
/// ```
#[test]
fn a_sequence_is_clipped_whole() {
    let inputs = Inputs {
        logprobs: matrix(&[vec![-1.0, -2.0]]),
        old: Some(matrix(&[vec![-1.9, -2.1]])),
        reference: None,
        advantages: array!([1.0f32]),
        mask: matrix(&[vec![1.0, 1.0]]),
    };
    let got = run(&inputs, &config(LossType::Grpo, 0.0), &SEQUENCE);
    assert_close("loss", got.loss, -1.3, 1e-6, TOL);
    grads_close("sequence", &got.grad, &[0.0, 0.0]);
    assert_eq!(got.metrics.clip_fraction_high, 1.0);
    assert_eq!(got.metrics.clip_fraction, 1.0);
    assert_close(
        "ratio_mean",
        got.metrics.ratio_mean.into(),
        0.5f64.exp(),
        1e-6,
        TOL,
    );

    let token = run(
        &inputs,
        &config(LossType::Grpo, 0.0),
        &LossVariant::default(),
    );
    let e01 = 0.1f64.exp();
    assert_close("token loss", token.loss, (-1.3 - e01) / 2.0, 1e-6, TOL);
    grads_close("token", &token.grad, &[0.0, -e01 / 2.0]);
    assert_eq!(token.metrics.clip_fraction_high, 0.5);
}

/// ```text
/// entropies [[0.1, 0.9, 0.5], [0.3, 0.7, (5.0, masked)]], top 40 %:
/// counted sorted [0.1, 0.3, 0.5, 0.7, 0.9], the 0.6 quantile at position
/// 0.6 · 4 = 2.4 is 0.5 + 0.4 · 0.2 = 0.58: tokens (0, 1) and (1, 1) keep
/// their surrogate (-A_i with ratio 1); the masked 5.0 is not counted.
/// ```
#[test]
fn top_entropy_quantile_keeps_the_high_entropy_tokens_only() {
    let entropy = matrix(&[vec![0.1, 0.9, 0.5], vec![0.3, 0.7, 5.0]]);
    let variant = LossVariant {
        top_entropy_quantile: 0.4,
        entropy: Some(&entropy),
        ..LossVariant::default()
    };
    let lp = -1.0f32;
    let inputs = Inputs {
        logprobs: matrix(&[vec![lp; 3], vec![lp; 3]]),
        old: None,
        reference: Some(matrix(&[vec![lp - 0.5; 3], vec![lp - 0.5; 3]])),
        advantages: array!([1.0f32, -2.0]),
        mask: matrix(&[vec![1.0, 1.0, 1.0], vec![1.0, 1.0, 0.0]]),
    };
    // Without KL: row 0 keeps 1 of 3 tokens, row 1 1 of 2; the row means
    // still divide by every counted token.
    let got = run(&inputs, &config(LossType::Grpo, 0.0), &variant);
    assert_close("loss", got.loss, 0.5 * (-1.0 / 3.0 + 2.0 / 2.0), 1e-6, TOL);
    grads_close("no kl", &got.grad, &[0.0, -1.0 / 6.0, 0.0, 0.0, 0.5, 0.0]);
    // The KL term applies to every counted token: ref - logp = -0.5.
    let (k3, dk3) = ((-0.5f64).exp() - 0.5, 1.0 - (-0.5f64).exp());
    let beta = 0.1;
    let got = run(&inputs, &config(LossType::Grpo, beta as f32), &variant);
    assert_close("kl loss", got.loss, 1.0 / 3.0 + beta * k3, 1e-5, TOL);
    let (r0, r1) = (0.5 / 3.0, 0.5 / 2.0);
    grads_close(
        "kl",
        &got.grad,
        &[
            r0 * beta * dk3,
            r0 * (-1.0 + beta * dk3),
            r0 * beta * dk3,
            r1 * beta * dk3,
            r1 * (2.0 + beta * dk3),
            0.0,
        ],
    );
    // Quantile 1 keeps every token: the plain loss.
    let all = LossVariant {
        top_entropy_quantile: 1.0,
        ..variant
    };
    let got = run(&inputs, &config(LossType::Grpo, 0.0), &all);
    assert_close("all tokens", got.loss, 0.5 * (-1.0 + 2.0), 1e-6, TOL);
}

#[test]
fn variant_errors_name_the_setting() {
    let logprobs = matrix(&[vec![-1.0, -1.0]]);
    let advantages = array!([1.0f32]);
    let mask = matrix(&[vec![1.0, 1.0]]);
    let inputs = LossInputs {
        logprobs: &logprobs,
        old_logprobs: None,
        ref_logprobs: None,
        advantages: &advantages,
        mask: &mask,
        total_tokens: None,
    };
    let config = config(LossType::Grpo, 0.0);
    for q in [0.5, 1.5, f32::NAN] {
        let variant = LossVariant {
            top_entropy_quantile: q,
            ..LossVariant::default()
        };
        let err = grpo_loss_with(&inputs, &config, &variant).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidParameter {
                    field: "top_entropy_quantile",
                    ..
                }
            ),
            "{q}: {err}"
        );
    }
    let wrong = matrix(&[vec![0.5, 0.5, 0.5]]);
    let variant = LossVariant {
        top_entropy_quantile: 0.5,
        entropy: Some(&wrong),
        ..LossVariant::default()
    };
    let err = grpo_loss_with(&inputs, &config, &variant).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                input: "entropy",
                ..
            }
        ),
        "{err}"
    );
}
