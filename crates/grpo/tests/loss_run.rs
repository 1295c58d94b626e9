//! Runs the loss and its gradient with respect to `logprobs` for the tests.

use grpo::loss::{grpo_loss, LossConfig, LossInputs, LossMetricValues, LossOutput};
use mlx_rs::{error::Exception, transforms::value_and_grad, Array};

/// The owned inputs of one loss evaluation.
pub struct Case {
    pub logprobs: Array,
    pub old_logprobs: Option<Array>,
    pub ref_logprobs: Option<Array>,
    pub advantages: Array,
    pub mask: Array,
    pub total_tokens: Option<f32>,
    pub config: LossConfig,
}

/// What one evaluation produced, read back as numbers.
pub struct Evaluated {
    pub loss: f32,
    pub grad: Vec<f32>,
    pub metrics: LossMetricValues,
}

/// `[b, t]` float32 array from rows.
pub fn matrix(rows: &[Vec<f32>]) -> Array {
    let t = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Array::from_slice(&flat, &[rows.len() as i32, t as i32])
}

/// The loss, its gradient with respect to `logprobs` and the metrics, from
/// one `value_and_grad` call and one `eval`, as the trainer does it.
pub fn loss_and_grad(case: &Case) -> Evaluated {
    let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let inputs = LossInputs {
            logprobs: &args[0],
            old_logprobs: case.old_logprobs.as_ref(),
            ref_logprobs: case.ref_logprobs.as_ref(),
            advantages: &case.advantages,
            mask: &case.mask,
            total_tokens: case.total_tokens,
        };
        Ok(grpo_loss(&inputs, &case.config)?.into_arrays())
    };
    let (values, grads) = value_and_grad(f)(std::slice::from_ref(&case.logprobs))
        .expect("the loss of a well-formed case evaluates");
    mlx_rs::transforms::eval(values.iter().chain(&grads)).expect("eval succeeds");
    let out = LossOutput::from_arrays(values).expect("into_arrays output round-trips");
    Evaluated {
        loss: out.loss.item_exact::<f32>(),
        grad: grads[0].as_slice::<f32>().to_vec(),
        metrics: out.metrics.values().expect("metrics are f32 scalars"),
    }
}

/// Asserts `got` is within `atol + rtol * |want|` of `want`.
pub fn assert_close(what: &str, got: f64, want: f64, rtol: f64, atol: f64) {
    assert!(
        (got - want).abs() <= atol + rtol * want.abs(),
        "{what}: got {got}, want {want}"
    );
}
