//! The GRPO policy loss: per-token clipped importance ratio, an optional k3
//! KL penalty to a reference policy, and a choice of aggregation.
//!
//! For completion `i` and completion token `t` with mask `m_it`:
//!
//! ```text
//! r_it  = exp(logp_it - old_it)                                   importance ratio
//! S_it  = -min(r_it * A_i, clip(r_it, 1 - eps, 1 + eps_high) * A_i)
//! KL_it = exp(ref_it - logp_it) - (ref_it - logp_it) - 1          k3 estimator
//! L_it  = S_it + beta * KL_it                                     (no KL term when beta = 0)
//! ```
//!
//! `S` is PPO's clipped surrogate applied per token with the group-relative
//! advantage `A_i` of the whole completion (DeepSeekMath, arXiv 2402.03300,
//! §4.1.1 eq. 3); `eps_high > eps` is DAPO's "clip-higher" (arXiv
//! 2503.14476, §3.1). The k3 estimator is Schulman's unbiased, non-negative
//! estimate of KL(π_θ ‖ π_ref) (DeepSeekMath eq. 4). `old` is the policy
//! that sampled the completions: with one update per generation batch it
//! equals the current log-probs with gradients stopped, so `r = 1` while its
//! gradient is `∇logp`.
//!
//! The per-token losses are aggregated by [`LossType`]; `docs/grpo.md` holds
//! the derivations. Everything runs in float32 and stays lazy: the caller
//! evaluates the loss, its gradient and the [`LossMetrics`] in one `eval`.

use std::fmt;
use std::str::FromStr;

use mlx_rs::{ops, stop_gradient, Array, Dtype};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::importance_sampling::ImportanceSamplingLevel;
use crate::loss_variant::LossVariant;

/// How per-token losses `L_it` (with mask `m_it`, `B` rows) become one scalar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// Mean over tokens within each completion, then mean over completions:
    /// `(1/B) Σ_i (Σ_t m_it L_it / Σ_t m_it)` (DeepSeekMath eq. 3). Long
    /// completions weigh each token less, which Dr. GRPO (arXiv 2503.20783,
    /// §3.1) identifies as a length bias.
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(help = "Token mean per completion, then mean over completions")
    )]
    Grpo,
    /// Mean over all completion tokens of this batch:
    /// `Σ_it m_it L_it / Σ_it m_it` (TRL's `bnpo`, batch-normalised policy
    /// optimization). Every token weighs the same.
    #[cfg_attr(feature = "clap", value(help = "Token mean over the batch"))]
    Bnpo,
    /// Sum over tokens divided by a constant, the batch size times the
    /// generation budget: `Σ_it m_it L_it / (B · max_completion_length)`
    /// (Dr. GRPO, arXiv 2503.20783, §3.1). No length bias and a normaliser
    /// that does not depend on the samples.
    #[cfg_attr(
        feature = "clap",
        value(
            name = "dr_grpo",
            help = "Token sum over batch size × max completion length (Dr. GRPO)"
        )
    )]
    DrGrpo,
    /// DAPO's token-level loss (arXiv 2503.14476, §3.3):
    /// `Σ_it m_it L_it / N`, where `N` is the number of completion tokens of
    /// the *whole generation batch*. It equals [`LossType::Bnpo`] unless the
    /// batch is split into slices and [`LossInputs::total_tokens`] is set.
    #[cfg_attr(
        feature = "clap",
        value(help = "Token mean over the whole generation batch (DAPO)")
    )]
    Dapo,
}

impl LossType {
    /// Every loss type, in the order the CLI lists them.
    pub const ALL: [LossType; 4] = [Self::Grpo, Self::Bnpo, Self::DrGrpo, Self::Dapo];

    /// The name used by `--loss-type` and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Grpo => "grpo",
            Self::Bnpo => "bnpo",
            Self::DrGrpo => "dr_grpo",
            Self::Dapo => "dapo",
        }
    }
}

impl fmt::Display for LossType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LossType {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::UnknownLossType {
                name: name.to_owned(),
                known: "grpo, bnpo, dr_grpo, dapo",
            })
    }
}

/// Hyper-parameters of the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    /// Lower clip range: ratios below `1 - epsilon` stop pulling a negative
    /// advantage further. Default 0.2 (PPO's value).
    pub epsilon: f32,
    /// Upper clip range: ratios above `1 + epsilon_high` stop pushing a
    /// positive advantage further. `None` means the same as `epsilon`.
    pub epsilon_high: Option<f32>,
    /// Weight of the KL penalty to the reference policy; 0 turns it off and
    /// no reference log-probs are needed. Default 0.1, the guide's value.
    pub beta: f32,
    /// How per-token losses are aggregated.
    pub loss_type: LossType,
    /// The generation budget in tokens (`--max-completion-length`), the
    /// normaliser of [`LossType::DrGrpo`]. Default 256.
    pub max_completion_length: usize,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.2,
            epsilon_high: None,
            beta: 0.1,
            loss_type: LossType::Grpo,
            max_completion_length: 256,
        }
    }
}

impl LossConfig {
    /// The upper clip range, `epsilon_high` or else `epsilon`.
    pub fn epsilon_high(&self) -> f32 {
        self.epsilon_high.unwrap_or(self.epsilon)
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field, value: f64, allowed| {
            Err(Error::InvalidParameter {
                field,
                value,
                allowed,
            })
        };
        if !(self.epsilon.is_finite() && (0.0..1.0).contains(&self.epsilon)) {
            return invalid("epsilon", self.epsilon.into(), "0 <= epsilon < 1");
        }
        let high = self.epsilon_high();
        if !(high.is_finite() && high >= 0.0) {
            return invalid("epsilon_high", high.into(), "a finite number >= 0");
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return invalid("beta", self.beta.into(), "a finite number >= 0");
        }
        if self.loss_type == LossType::DrGrpo && self.max_completion_length == 0 {
            return invalid(
                "max_completion_length",
                0.0,
                "at least 1 (it normalises the dr_grpo loss)",
            );
        }
        Ok(())
    }
}

/// The tensors the loss reads. All log-probs are float32 and refer to the
/// completion tokens, already conditioned on the prompt.
///
/// # Shapes
///
/// `logprobs`, `old_logprobs`, `ref_logprobs`, `mask`: `[b, t]`;
/// `advantages`: `[b]`. Rows are completions, columns completion tokens.
#[derive(Debug, Clone, Copy)]
pub struct LossInputs<'a> {
    /// Log-probs of the sampled tokens under the current policy; the loss is
    /// differentiated with respect to these.
    pub logprobs: &'a Array,
    /// Log-probs under the policy that sampled the completions. `None` uses
    /// `logprobs` itself (one update per generation batch). Gradients never
    /// flow through them.
    pub old_logprobs: Option<&'a Array>,
    /// Log-probs under the reference policy; required when `beta > 0`, and
    /// when given with `beta = 0` the KL is still reported as a metric.
    /// Gradients never flow through them.
    pub ref_logprobs: Option<&'a Array>,
    /// One advantage per completion (see [`crate::advantages`]).
    pub advantages: &'a Array,
    /// Non-zero for tokens that count: completion tokens that are not
    /// padding (and, if chosen, not in a truncated completion). Any dtype.
    pub mask: &'a Array,
    /// The [`LossType::Dapo`] normaliser: completion tokens in the whole
    /// generation batch when this call sees only a slice of it. `None` uses
    /// this call's mask sum.
    pub total_tokens: Option<f32>,
}

/// A scalar loss plus its metrics, all lazy.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// The scalar loss to differentiate.
    pub loss: Array,
    /// Diagnostics over the counted tokens.
    pub metrics: LossMetrics,
}

/// Diagnostics of one loss evaluation, as lazy scalars to be evaluated with
/// the training step. Every mean is over the tokens the mask counts.
#[derive(Debug, Clone)]
pub struct LossMetrics {
    /// Mean importance ratio `r`; 1 on the first update of a batch.
    pub ratio_mean: Array,
    /// Fraction of tokens with `r < 1 - eps` and `A < 0` (clipped low).
    pub clip_fraction_low: Array,
    /// Fraction of tokens with `r > 1 + eps_high` and `A > 0` (clipped high).
    pub clip_fraction_high: Array,
    /// Fraction of tokens clipped on either side.
    pub clip_fraction: Array,
    /// Mean k3 KL to the reference policy, when reference log-probs were
    /// given.
    pub kl: Option<Array>,
}

/// [`LossMetrics`] read back as numbers after evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossMetricValues {
    /// See [`LossMetrics::ratio_mean`].
    pub ratio_mean: f32,
    /// See [`LossMetrics::clip_fraction_low`].
    pub clip_fraction_low: f32,
    /// See [`LossMetrics::clip_fraction_high`].
    pub clip_fraction_high: f32,
    /// See [`LossMetrics::clip_fraction`].
    pub clip_fraction: f32,
    /// See [`LossMetrics::kl`].
    pub kl: Option<f32>,
}

impl LossMetrics {
    /// The lazy arrays, to pass to `mlx_rs::transforms::eval` together with
    /// the loss and the updated parameters.
    pub fn arrays(&self) -> Vec<&Array> {
        let mut arrays = vec![
            &self.ratio_mean,
            &self.clip_fraction_low,
            &self.clip_fraction_high,
            &self.clip_fraction,
        ];
        arrays.extend(&self.kl);
        arrays
    }

    /// Reads the values (evaluating whatever is not evaluated yet).
    ///
    /// # Errors
    ///
    /// [`Error::Conversion`] if evaluation fails.
    pub fn values(&self) -> Result<LossMetricValues> {
        let read = |a: &Array| a.try_item_exact::<f32>();
        Ok(LossMetricValues {
            ratio_mean: read(&self.ratio_mean)?,
            clip_fraction_low: read(&self.clip_fraction_low)?,
            clip_fraction_high: read(&self.clip_fraction_high)?,
            clip_fraction: read(&self.clip_fraction)?,
            kl: self.kl.as_ref().map(read).transpose()?,
        })
    }
}

/// What each array of [`LossOutput::into_arrays`] is a mean over, in its
/// order, for combining the outputs of passes over parts of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputMean {
    /// The loss: its normaliser depends on the loss type.
    Loss,
    /// Ratio and clip statistics: over tokens, or over completions with
    /// one ratio per completion.
    Ratio,
    /// Over the tokens the mask counts (the KL).
    Tokens,
}

impl LossOutput {
    /// What each array of [`into_arrays`](Self::into_arrays) is a mean
    /// over; the KL's entry applies only when there is one.
    pub(crate) const ARRAY_MEANS: [OutputMean; 6] = [
        OutputMean::Loss,
        OutputMean::Ratio,
        OutputMean::Ratio,
        OutputMean::Ratio,
        OutputMean::Ratio,
        OutputMean::Tokens,
    ];

    /// Flattens into `[loss, ratio_mean, clip_low, clip_high, clip, kl?]`,
    /// the shape `value_and_grad` closures return: only element 0 is
    /// differentiated, the rest ride along as auxiliary outputs.
    pub fn into_arrays(self) -> Vec<Array> {
        let m = self.metrics;
        let mut arrays = vec![
            self.loss,
            m.ratio_mean,
            m.clip_fraction_low,
            m.clip_fraction_high,
            m.clip_fraction,
        ];
        arrays.extend(m.kl);
        arrays
    }

    /// The inverse of [`into_arrays`](Self::into_arrays), for the values a
    /// `value_and_grad` closure returned.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] when there are not 5 or 6 arrays.
    pub fn from_arrays(arrays: Vec<Array>) -> Result<Self> {
        let count = arrays.len();
        let mut it = arrays.into_iter();
        match (it.next(), it.next(), it.next(), it.next(), it.next()) {
            (Some(loss), Some(ratio_mean), Some(low), Some(high), Some(clip)) if count <= 6 => {
                Ok(Self {
                    loss,
                    metrics: LossMetrics {
                        ratio_mean,
                        clip_fraction_low: low,
                        clip_fraction_high: high,
                        clip_fraction: clip,
                        kl: it.next(),
                    },
                })
            }
            _ => Err(Error::Shape {
                input: "loss outputs",
                expected: "5 or 6 arrays (loss, 4 metrics, optional kl)".into(),
                got: vec![count as i32],
            }),
        }
    }
}

/// The GRPO loss of one batch of completions, with its metrics.
///
/// Masked tokens are excluded before any arithmetic (`where`, not a product),
/// so padding with arbitrary or non-finite log-probs contributes neither to
/// the loss nor to the gradient.
///
/// # Shapes
///
/// See [`LossInputs`]; `b >= 1`. The loss and every metric are `[]` scalars.
///
/// # Errors
///
/// [`Error::InvalidParameter`] for an invalid config or `total_tokens`,
/// [`Error::Shape`] / [`Error::Dtype`] for malformed inputs,
/// [`Error::MissingRefLogprobs`] when `beta > 0` without reference
/// log-probs, [`Error::Mlx`] when MLX fails.
///
/// # Example
///
/// ```
/// use grpo::loss::{grpo_loss, LossConfig, LossInputs};
/// use mlx_rs::{array, transforms::eval};
///
/// let logprobs = array!([[-1.0f32, -0.5], [-2.0, -0.1]]);
/// let advantages = array!([1.0f32, -1.0]);
/// let mask = array!([[1.0f32, 1.0], [1.0, 0.0]]);
/// let config = LossConfig { beta: 0.0, ..LossConfig::default() };
/// let out = grpo_loss(
///     &LossInputs {
///         logprobs: &logprobs,
///         old_logprobs: None,
///         ref_logprobs: None,
///         advantages: &advantages,
///         mask: &mask,
///         total_tokens: None,
///     },
///     &config,
/// )?;
/// eval([&out.loss].into_iter().chain(out.metrics.arrays()))?;
/// // Ratio 1 everywhere: the loss is minus the mean advantage.
/// assert_eq!(out.loss.item_exact::<f32>(), 0.0);
/// assert_eq!(out.metrics.values()?.ratio_mean, 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn grpo_loss(inputs: &LossInputs<'_>, config: &LossConfig) -> Result<LossOutput> {
    grpo_loss_with(inputs, config, &LossVariant::default())
}

/// [`grpo_loss`] with a [`LossVariant`]: GSPO's sequence-level ratio
/// (`importance_sampling_level = sequence`) and the high-entropy token
/// selection (`top_entropy_quantile < 1`), as TRL's `GRPOTrainer` computes
/// them:
///
/// ```text
/// sequence:  s_i = exp(Σ_t m_it (logp_it − old_it) / max(Σ_t m_it, 1))
///            S_it = −min(s_i A_i, clip(s_i, 1 − ε, 1 + ε_high) A_i)
/// entropy:   S_it ← S_it · [H_it >= quantile_{1−q}(H over counted tokens)]
/// ```
///
/// The KL term and the aggregation are the plain loss's. With the
/// sequence level, the ratio and clip metrics are means over completions
/// (TRL's `masked_batch_mean` of a `[b, 1]` tensor), not over tokens.
///
/// # Errors
///
/// As [`grpo_loss`], plus those of [`LossVariant::validate`] and a
/// [`Error::Shape`] for an `entropy` not shaped like `logprobs`.
pub fn grpo_loss_with(
    inputs: &LossInputs<'_>,
    config: &LossConfig,
    variant: &LossVariant<'_>,
) -> Result<LossOutput> {
    config.validate()?;
    variant.validate()?;
    let b = check_inputs(inputs)?;
    if let Some(entropy) = variant.entropy {
        if entropy.shape() != inputs.logprobs.shape() {
            return Err(Error::Shape {
                input: "entropy",
                expected: format!("{:?}, the shape of logprobs", inputs.logprobs.shape()),
                got: entropy.shape().to_vec(),
            });
        }
    }
    if config.beta > 0.0 && inputs.ref_logprobs.is_none() {
        return Err(Error::MissingRefLogprobs { beta: config.beta });
    }
    let logprobs = inputs.logprobs;
    let keep = inputs.mask.ne(Array::from_f32(0.0))?; // [b, t] bool
    let mask = keep.as_dtype(Dtype::Float32)?; // [b, t]
    let zero = Array::from_f32(0.0);

    let old = match inputs.old_logprobs {
        Some(old) => stop_gradient(old)?,
        None => stop_gradient(logprobs)?,
    };
    let log_ratio = ops::select(&keep, logprobs.subtract(&old)?, &zero)?; // [b, t]
    let sequence = variant.importance_sampling_level == ImportanceSamplingLevel::Sequence;
    let log_ratio = if sequence {
        // The mean log-ratio of each completion's counted tokens: [b, 1].
        let counts = ops::maximum(mask.sum_axis(1, true)?, Array::from_f32(1.0))?;
        log_ratio.sum_axis(1, true)?.divide(&counts)?
    } else {
        log_ratio
    };
    let ratio = log_ratio.exp()?; // [b, t], or [b, 1] per sequence
    let advantages = inputs.advantages.expand_dims(1)?; // [b, 1]
    let (low, high) = (1.0 - config.epsilon, 1.0 + config.epsilon_high());
    let clipped = ops::clip(&ratio, (low, high))?;
    let surrogate = ops::minimum(ratio.multiply(&advantages)?, clipped.multiply(&advantages)?)?;
    let mut per_token = ops::broadcast_to(surrogate.negative()?, logprobs.shape())?; // [b, t]
    if variant.top_entropy_quantile < 1.0 {
        let entropy = variant.entropy.expect("checked by validate");
        let high_entropy = high_entropy_mask(entropy, &keep, variant.top_entropy_quantile)?;
        per_token = ops::select(&high_entropy, &per_token, &zero)?;
    }

    let kl = match inputs.ref_logprobs {
        Some(reference) => {
            let diff = ops::select(&keep, stop_gradient(reference)?.subtract(logprobs)?, &zero)?;
            let k3 = diff
                .exp()?
                .subtract(&diff)?
                .subtract(Array::from_f32(1.0))?; // [b, t]
            if config.beta > 0.0 {
                per_token = per_token.add(k3.multiply(Array::from_f32(config.beta))?)?;
            }
            Some(k3)
        }
        None => None,
    };

    let masked = ops::select(&keep, &per_token, &zero)?; // [b, t]
    let token_count = ops::maximum(mask.sum(None)?, Array::from_f32(1.0))?;
    let loss = match config.loss_type {
        LossType::Grpo => {
            let row_counts = ops::maximum(mask.sum_axis(1, None)?, Array::from_f32(1.0))?; // [b]
            masked.sum_axis(1, None)?.divide(&row_counts)?.mean(None)?
        }
        LossType::Bnpo => masked.sum(None)?.divide(&token_count)?,
        LossType::DrGrpo => {
            let normaliser = b as f32 * config.max_completion_length as f32;
            masked.sum(None)?.divide(Array::from_f32(normaliser))?
        }
        LossType::Dapo => match inputs.total_tokens {
            Some(n) => masked.sum(None)?.divide(Array::from_f32(n))?,
            None => masked.sum(None)?.divide(&token_count)?,
        },
    };

    let masked_mean = |x: &Array| -> Result<Array> {
        let x = ops::select(&keep, x, &zero)?;
        Ok(x.sum(None)?.divide(&token_count)?)
    };
    // The ratio's statistics: over tokens, or over completions when there
    // is one ratio per completion.
    let ratio_mean = |x: &Array| -> Result<Array> {
        if sequence {
            Ok(x.mean(None)?)
        } else {
            masked_mean(x)
        }
    };
    let negative = advantages.lt(&zero)?; // [b, 1]
    let positive = advantages.gt(&zero)?;
    let is_low = ratio.lt(Array::from_f32(low))?.logical_and(&negative)?; // [b, t]
    let is_high = ratio.gt(Array::from_f32(high))?.logical_and(&positive)?;
    let is_clipped = is_low.logical_or(&is_high)?;
    let fraction = |x: &Array| ratio_mean(&x.as_dtype(Dtype::Float32)?);
    let metrics = LossMetrics {
        ratio_mean: ratio_mean(&ratio)?,
        clip_fraction_low: fraction(&is_low)?,
        clip_fraction_high: fraction(&is_high)?,
        clip_fraction: fraction(&is_clipped)?,
        kl: kl.as_ref().map(masked_mean).transpose()?,
    };
    Ok(LossOutput { loss, metrics })
}

/// TRL's `get_high_entropy_mask`: counted tokens whose entropy is at least
/// the `1 - top` quantile of the counted tokens' entropies (linear
/// interpolation, as `torch.quantile`), under stop-gradient. Computed on
/// the device, without reading the entropies back: the counted values are
/// sorted first (the others become +inf and sort last).
fn high_entropy_mask(entropy: &Array, keep: &Array, top: f32) -> Result<Array> {
    let entropy = stop_gradient(entropy)?;
    let flat_keep = keep.reshape(&[-1])?;
    let sorted = ops::sort(ops::select(
        &flat_keep,
        entropy.reshape(&[-1])?,
        Array::from_f32(f32::INFINITY),
    )?)?;
    let n = flat_keep.as_dtype(Dtype::Float32)?.sum(None)?;
    let last = ops::maximum(n.subtract(Array::from_f32(1.0))?, Array::from_f32(0.0))?;
    let position = last.multiply(Array::from_f32(1.0 - top))?;
    let (below, above) = (ops::floor(&position)?, ops::ceil(&position)?);
    let at = |p: &Array| -> Result<Array> { Ok(sorted.take(p.as_dtype(Dtype::Int32)?)?) };
    let (v_below, v_above) = (at(&below)?, at(&above)?);
    let threshold = v_below.add(
        v_above
            .subtract(&v_below)?
            .multiply(position.subtract(&below)?)?,
    )?;
    Ok(entropy.ge(&threshold)?.logical_and(keep)?)
}

/// Checks shapes and dtypes; returns the number of rows `b`.
fn check_inputs(inputs: &LossInputs<'_>) -> Result<i32> {
    let shape = inputs.logprobs.shape();
    let &[b, _t] = shape else {
        return Err(Error::Shape {
            input: "logprobs",
            expected: "[b, t]: one row per completion".into(),
            got: shape.to_vec(),
        });
    };
    if b < 1 {
        return Err(Error::Shape {
            input: "logprobs",
            expected: "[b, t] with at least one row".into(),
            got: shape.to_vec(),
        });
    }
    let same_as_logprobs = [
        ("old_logprobs", inputs.old_logprobs),
        ("ref_logprobs", inputs.ref_logprobs),
        ("mask", Some(inputs.mask)),
    ];
    for (input, array) in same_as_logprobs {
        if let Some(array) = array {
            if array.shape() != shape {
                return Err(Error::Shape {
                    input,
                    expected: format!("{shape:?}, the shape of logprobs"),
                    got: array.shape().to_vec(),
                });
            }
        }
    }
    if inputs.advantages.shape() != [b] {
        return Err(Error::Shape {
            input: "advantages",
            expected: format!("[{b}]: one advantage per row of logprobs"),
            got: inputs.advantages.shape().to_vec(),
        });
    }
    let float32 = [
        ("logprobs", Some(inputs.logprobs)),
        ("old_logprobs", inputs.old_logprobs),
        ("ref_logprobs", inputs.ref_logprobs),
        ("advantages", Some(inputs.advantages)),
    ];
    for (input, array) in float32 {
        if let Some(array) = array {
            if array.dtype() != Dtype::Float32 {
                return Err(Error::Dtype {
                    input,
                    got: array.dtype(),
                });
            }
        }
    }
    if let Some(n) = inputs.total_tokens {
        if !(n.is_finite() && n > 0.0) {
            return Err(Error::InvalidParameter {
                field: "total_tokens",
                value: n.into(),
                allowed: "a finite number > 0",
            });
        }
    }
    Ok(b)
}
