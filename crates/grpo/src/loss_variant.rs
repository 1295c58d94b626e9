//! The loss variants beyond [`LossConfig`](crate::loss::LossConfig): GSPO's
//! sequence-level ratio and TRL's high-entropy token selection.

use mlx_rs::Array;

use crate::error::{Error, Result};
use crate::importance_sampling::ImportanceSamplingLevel;

/// How [`grpo_loss_with`](crate::loss::grpo_loss_with) departs from the
/// plain per-token loss. Kept apart from `LossConfig` and `LossInputs`,
/// whose fields are public and built literally by callers. The default
/// changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct LossVariant<'a> {
    /// One ratio per token (default) or per completion (GSPO).
    pub importance_sampling_level: ImportanceSamplingLevel,
    /// The fraction of counted tokens with the highest entropy that carry
    /// the policy loss (TRL's `top_entropy_quantile`, after "Beyond the
    /// 80/20 Rule", arXiv 2506.01939): the surrogate of a token whose
    /// entropy is below the batch's `1 - top_entropy_quantile` quantile is
    /// zeroed, while the KL term and every normaliser still count it. 1
    /// keeps every token; below 1 needs `entropy`.
    pub top_entropy_quantile: f32,
    /// `[b, t]` entropy of the policy at each completion position (nats,
    /// from the temperature-scaled logits), under stop-gradient. Needed
    /// when `top_entropy_quantile < 1`; otherwise only reported.
    pub entropy: Option<&'a Array>,
}

impl Default for LossVariant<'_> {
    fn default() -> Self {
        Self {
            importance_sampling_level: ImportanceSamplingLevel::Token,
            top_entropy_quantile: 1.0,
            entropy: None,
        }
    }
}

impl LossVariant<'_> {
    /// Checks the quantile and that entropies come with it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a quantile outside `[0, 1]` or one
    /// below 1 without `entropy`.
    pub fn validate(&self) -> Result<()> {
        let q = self.top_entropy_quantile;
        if !(q.is_finite() && (0.0..=1.0).contains(&q)) {
            return Err(Error::InvalidParameter {
                field: "top_entropy_quantile",
                value: q.into(),
                allowed: "0 <= top_entropy_quantile <= 1 (1: every token)",
            });
        }
        if q < 1.0 && self.entropy.is_none() {
            return Err(Error::InvalidParameter {
                field: "top_entropy_quantile",
                value: q.into(),
                allowed: "1 when no per-token entropy is given",
            });
        }
        Ok(())
    }
}
