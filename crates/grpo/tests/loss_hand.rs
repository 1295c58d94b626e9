//! The loss and its gradient on tensors small enough to work out by hand,
//! plus the errors malformed inputs produce.

use grpo::loss::{grpo_loss, LossConfig, LossInputs, LossType};
use grpo::Error;
use mlx_rs::{array, Array};

use crate::loss_run::{assert_close, loss_and_grad, matrix, Case};

const TOL: f64 = 1e-6;

/// Two completions, two tokens, clipping active on both sides:
///
/// ```text
/// log ratios [[0.1, 0.5], [0.0, -0.5]], A = [2, -1], eps = 0.2, eps_high = 0.3
/// row 0 tok 0: r = e^0.1 in [0.8, 1.3]       S = -2 e^0.1   dS/dlogp = -2 e^0.1
/// row 0 tok 1: r = e^0.5 > 1.3, A > 0        S = -2 * 1.3   dS/dlogp = 0 (clipped high)
/// row 1 tok 0: r = 1                         S = 1          dS/dlogp = 1
/// row 1 tok 1: r = e^-0.5 < 0.8, A < 0       S = 0.8        dS/dlogp = 0 (clipped low)
/// ```
fn clipped_case(loss_type: LossType) -> Case {
    let logprobs = matrix(&[vec![-1.0, -2.0], vec![-0.5, -1.5]]);
    let old = matrix(&[vec![-1.1, -2.5], vec![-0.5, -1.0]]);
    Case {
        logprobs,
        old_logprobs: Some(old),
        ref_logprobs: None,
        advantages: array!([2.0f32, -1.0]),
        mask: matrix(&[vec![1.0, 1.0], vec![1.0, 1.0]]),
        total_tokens: None,
        config: LossConfig {
            epsilon: 0.2,
            epsilon_high: Some(0.3),
            beta: 0.0,
            loss_type,
            max_completion_length: 4,
        },
    }
}

#[test]
fn clipped_surrogate_matches_hand_computation_for_each_aggregation() {
    let e01 = 0.1f64.exp();
    let tokens = [-2.0 * e01, -2.6, 1.0, 0.8];
    let dtokens = [-2.0 * e01, 0.0, 1.0, 0.0];
    // Per-token weight of each aggregation: every row has 2 counted tokens,
    // 4 in all, b = 2 and max_completion_length = 4.
    for (loss_type, weight) in [
        (LossType::Grpo, 1.0 / (2.0 * 2.0)),
        (LossType::Bnpo, 1.0 / 4.0),
        (LossType::DrGrpo, 1.0 / (2.0 * 4.0)),
        (LossType::Dapo, 1.0 / 4.0),
    ] {
        let got = loss_and_grad(&clipped_case(loss_type));
        let want: f64 = tokens.iter().sum::<f64>() * weight;
        assert_close(
            &format!("{loss_type} loss"),
            got.loss.into(),
            want,
            1e-6,
            TOL,
        );
        for (i, (&g, d)) in got.grad.iter().zip(dtokens).enumerate() {
            assert_close(
                &format!("{loss_type} grad[{i}]"),
                g.into(),
                d * weight,
                1e-6,
                TOL,
            );
        }
        let m = got.metrics;
        let ratio_mean = (e01 + 0.5f64.exp() + 1.0 + (-0.5f64).exp()) / 4.0;
        assert_close("ratio_mean", m.ratio_mean.into(), ratio_mean, 1e-6, TOL);
        assert_eq!(m.clip_fraction_low, 0.25);
        assert_eq!(m.clip_fraction_high, 0.25);
        assert_eq!(m.clip_fraction, 0.5);
        assert_eq!(m.kl, None);
    }
}

#[test]
fn symmetric_epsilon_clips_the_high_side_earlier() {
    // With eps_high = eps = 0.2, row 0 token 1 is clipped at 1.2, not 1.3.
    let mut case = clipped_case(LossType::Bnpo);
    case.config.epsilon_high = None;
    let got = loss_and_grad(&case);
    let want = (-2.0 * 0.1f64.exp() - 2.0 * 1.2 + 1.0 + 0.8) / 4.0;
    assert_close("loss", got.loss.into(), want, 1e-6, TOL);
}

/// One completion of three tokens at its first update (ratio 1), with a
/// reference policy and a masked third token whose log-prob is NaN:
///
/// ```text
/// d = ref - logp = [0.3, -0.2], A = 0.5, beta = 0.1
/// L_t = -A + beta (e^d - d - 1)          dL_t/dlogp = -A + beta (1 - e^d)
/// ```
fn kl_case(loss_type: LossType) -> Case {
    Case {
        logprobs: matrix(&[vec![-1.0, -0.25, f32::NAN]]),
        old_logprobs: None,
        ref_logprobs: Some(matrix(&[vec![-0.7, -0.45, 0.0]])),
        advantages: array!([0.5f32]),
        mask: array!([[true, true, false]]),
        total_tokens: None,
        config: LossConfig {
            epsilon: 0.2,
            epsilon_high: None,
            beta: 0.1,
            loss_type,
            max_completion_length: 4,
        },
    }
}

#[test]
fn kl_penalty_matches_hand_computation_and_ignores_masked_nan() {
    let k3 = |d: f64| d.exp() - d - 1.0;
    let d = [0.3f64, -0.2];
    for (loss_type, weight) in [
        (LossType::Grpo, 0.5),
        (LossType::Bnpo, 0.5),
        (LossType::DrGrpo, 0.25),
    ] {
        let got = loss_and_grad(&kl_case(loss_type));
        let want: f64 = d.iter().map(|&d| -0.5 + 0.1 * k3(d)).sum::<f64>() * weight;
        assert_close(
            &format!("{loss_type} loss"),
            got.loss.into(),
            want,
            1e-5,
            TOL,
        );
        for (i, d) in d.into_iter().enumerate() {
            let want = (-0.5 + 0.1 * (1.0 - d.exp())) * weight;
            assert_close(&format!("grad[{i}]"), got.grad[i].into(), want, 1e-5, TOL);
        }
        assert_eq!(
            got.grad[2], 0.0,
            "the masked NaN token gets exactly no gradient"
        );
        let kl = got
            .metrics
            .kl
            .expect("kl is reported when ref_logprobs are given");
        assert_close("kl", kl.into(), (k3(0.3) + k3(-0.2)) / 2.0, 1e-5, TOL);
        assert_eq!(got.metrics.ratio_mean, 1.0);
        assert_eq!(got.metrics.clip_fraction, 0.0);
    }
}

#[test]
fn beta_zero_reports_kl_but_leaves_it_out_of_the_loss() {
    let mut case = kl_case(LossType::Bnpo);
    case.config.beta = 0.0;
    let got = loss_and_grad(&case);
    assert_eq!(got.loss, -0.5);
    assert_eq!(got.grad[..2], [-0.25, -0.25]);
    assert!(got.metrics.kl.is_some_and(|kl| kl > 0.0));
}

fn inputs<'a>(logprobs: &'a Array, advantages: &'a Array, mask: &'a Array) -> LossInputs<'a> {
    LossInputs {
        logprobs,
        old_logprobs: None,
        ref_logprobs: None,
        advantages,
        mask,
        total_tokens: None,
    }
}

#[test]
fn malformed_inputs_are_errors_that_name_the_input() {
    let no_kl = LossConfig {
        beta: 0.0,
        ..LossConfig::default()
    };
    let lp = matrix(&[vec![-1.0, -1.0]]);
    let adv = array!([1.0f32]);
    let mask = matrix(&[vec![1.0, 1.0]]);

    let wrong_mask = matrix(&[vec![1.0, 1.0, 1.0]]);
    let err = grpo_loss(&inputs(&lp, &adv, &wrong_mask), &no_kl).unwrap_err();
    assert!(matches!(err, Error::Shape { input: "mask", .. }), "{err}");

    let two_advantages = array!([1.0f32, 2.0]);
    let err = grpo_loss(&inputs(&lp, &two_advantages, &mask), &no_kl).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                input: "advantages",
                ..
            }
        ),
        "{err}"
    );

    let flat = array!([-1.0f32, -1.0]);
    let err = grpo_loss(&inputs(&flat, &adv, &mask), &no_kl).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                input: "logprobs",
                ..
            }
        ),
        "{err}"
    );

    let half = lp.as_dtype(mlx_rs::Dtype::Float16).unwrap();
    let err = grpo_loss(&inputs(&half, &adv, &mask), &no_kl).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Dtype {
                input: "logprobs",
                ..
            }
        ),
        "{err}"
    );

    let err = grpo_loss(&inputs(&lp, &adv, &mask), &LossConfig::default()).unwrap_err();
    assert!(matches!(err, Error::MissingRefLogprobs { .. }), "{err}");
    assert!(err.to_string().contains("ref_logprobs"), "{err}");

    let mut slice = inputs(&lp, &adv, &mask);
    slice.total_tokens = Some(0.0);
    let err = grpo_loss(&slice, &no_kl).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                field: "total_tokens",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_configs_are_rejected() {
    let bad = [
        (
            "epsilon",
            LossConfig {
                epsilon: 1.0,
                ..LossConfig::default()
            },
        ),
        (
            "epsilon",
            LossConfig {
                epsilon: -0.1,
                ..LossConfig::default()
            },
        ),
        (
            "epsilon_high",
            LossConfig {
                epsilon_high: Some(f32::NAN),
                ..LossConfig::default()
            },
        ),
        (
            "beta",
            LossConfig {
                beta: -1.0,
                ..LossConfig::default()
            },
        ),
        (
            "max_completion_length",
            LossConfig {
                loss_type: LossType::DrGrpo,
                max_completion_length: 0,
                ..LossConfig::default()
            },
        ),
    ];
    for (field, config) in bad {
        let err = config.validate().unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { field: f, .. } if f == field),
            "{err}"
        );
    }
    assert!(LossConfig::default().validate().is_ok());
}

#[test]
fn loss_type_names_round_trip() {
    for t in LossType::ALL {
        assert_eq!(t.name().parse::<LossType>().unwrap(), t);
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
    }
    let err = "ppo".parse::<LossType>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown loss type `ppo` (known: grpo, bnpo, dr_grpo, dapo)"
    );
}

#[test]
fn gradients_never_flow_through_old_or_ref_logprobs() {
    // Passing the differentiated log-probs themselves as `old` and `ref` must
    // give the same gradient as a detached copy: only `logprobs` is the
    // policy being trained.
    let advantages = array!([1.5f32, -0.5]);
    let mask = matrix(&[vec![1.0, 1.0], vec![1.0, 0.0]]);
    let config = LossConfig {
        beta: 0.1,
        ..LossConfig::default()
    };
    let grad_with = |same_array: bool| {
        let f = |args: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
            let detached = mlx_rs::stop_gradient(&args[0])?;
            let other = if same_array { &args[0] } else { &detached };
            let reference = other.add(Array::from_f32(0.25))?;
            let inputs = LossInputs {
                logprobs: &args[0],
                old_logprobs: Some(other),
                ref_logprobs: Some(&reference),
                advantages: &advantages,
                mask: &mask,
                total_tokens: None,
            };
            Ok(vec![grpo_loss(&inputs, &config)?.loss])
        };
        let logprobs = matrix(&[vec![-0.3, -1.2], vec![-2.0, -0.7]]);
        let (_, grads) = mlx_rs::transforms::value_and_grad(f)(&[logprobs]).unwrap();
        grads[0].as_slice::<f32>().to_vec()
    };
    let detached = grad_with(false);
    // Ratio 1 and ref - logp = 0.25:
    // dL/dlogp = (-A + beta (1 - e^0.25)) / (row tokens * b).
    let kl = 0.1 * (1.0 - 0.25f64.exp());
    let want = [(-1.5 + kl) / 4.0, (-1.5 + kl) / 4.0, (0.5 + kl) / 2.0, 0.0];
    for (i, (&g, w)) in detached.iter().zip(want).enumerate() {
        assert_close(&format!("grad[{i}]"), g.into(), w, 1e-6, TOL);
    }
    assert_eq!(grad_with(true), detached);
}
