//! Group-relative advantages: how much better each completion did than its
//! siblings for the same prompt.
//!
//! GRPO replaces PPO's learned value baseline with the mean reward of the
//! group of completions sampled for one prompt (DeepSeekMath, arXiv
//! 2402.03300, §4.1.2 "Outcome Supervision RL with GRPO"). For the `G`
//! rewards `r_1..r_G` of one group:
//!
//! ```text
//! A_i = r_i - mean(r)                      (scale_by_std = false)
//! A_i = (r_i - mean(r)) / (std(r) + eps)   (scale_by_std = true, the default)
//! ```
//!
//! `std` is the **sample** standard deviation (Bessel's `G - 1` divisor, as
//! `torch.std` computes it in TRL's `GRPOTrainer`) and `eps` defaults to
//! `1e-4`. Dr. GRPO (arXiv 2503.20783, §3.1) shows the division by `std`
//! up-weights groups whose rewards barely differ, and recommends turning it
//! off; [`AdvantageConfig::scale_by_std`] is that switch.
//!
//! A group whose rewards are all equal carries no learning signal: its
//! advantages are set to exactly `0.0` (not to a rounding residue of
//! `r - mean(r)`) and it is counted in [`AdvantageStats::zero_variance_groups`].
//!
//! Rows are prompt-major: the reward of completion `j` of prompt `p` is at
//! `p * group_size + j`. The arithmetic runs in `f64` and is returned as
//! `f32`. No MLX here, so this is testable anywhere.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How advantages are normalised within a group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvantageConfig {
    /// Divide the mean-centred rewards by the group's sample standard
    /// deviation plus [`std_epsilon`](Self::std_epsilon). On by default, as in
    /// DeepSeekMath; Dr. GRPO turns it off.
    pub scale_by_std: bool,
    /// Added to the standard deviation before dividing, so a group whose
    /// rewards differ by a hair does not get huge advantages. Default `1e-4`.
    pub std_epsilon: f32,
}

impl Default for AdvantageConfig {
    fn default() -> Self {
        Self {
            scale_by_std: true,
            std_epsilon: 1e-4,
        }
    }
}

/// Summary of the rewards a batch of advantages was derived from, for the
/// training log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvantageStats {
    /// Number of groups (prompts) in the batch.
    pub groups: usize,
    /// Groups whose rewards were all equal; their advantages are zero, so
    /// they do not move the policy. Many of them mean the task is too easy or
    /// too hard for the current policy.
    pub zero_variance_groups: usize,
    /// Mean reward over every completion of the batch.
    pub reward_mean: f32,
    /// Sample standard deviation of the rewards over the whole batch (0 for
    /// fewer than two completions).
    pub reward_std: f32,
    /// Mean over groups of the within-group sample standard deviation: the
    /// spread that actually drives learning.
    pub mean_group_std: f32,
}

/// Advantages of one batch, one per completion, plus their statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// One advantage per row, in the rows' prompt-major order.
    pub values: Vec<f32>,
    /// Statistics of the rewards they came from.
    pub stats: AdvantageStats,
}

/// Group-relative advantages of `rewards`, grouped by `group_size`
/// consecutive rows (prompt-major).
///
/// # Errors
///
/// [`Error::GroupSize`] when `group_size` is 0 or does not divide
/// `rewards.len()`; [`Error::NonFiniteReward`] for a NaN or infinite reward;
/// [`Error::InvalidParameter`] for a negative or non-finite `std_epsilon`.
///
/// # Example
///
/// ```
/// use grpo::advantages::{group_relative, AdvantageConfig};
///
/// // Two prompts, two completions each; the second group is all-equal.
/// let config = AdvantageConfig { scale_by_std: false, ..AdvantageConfig::default() };
/// let adv = group_relative(&[1.0, 0.0, 0.5, 0.5], 2, &config)?;
/// assert_eq!(adv.values, [0.5, -0.5, 0.0, 0.0]);
/// assert_eq!(adv.stats.zero_variance_groups, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn group_relative(
    rewards: &[f32],
    group_size: usize,
    config: &AdvantageConfig,
) -> Result<Advantages> {
    centred(rewards, group_size, config, false)
}

/// Group-centred advantages divided by the standard deviation of the
/// whole batch (TRL's `scale_rewards="batch"`):
///
/// ```text
/// A_i = (r_i - mean_g(r)) / (std_batch(r) + eps)
/// ```
///
/// with `std_batch` the sample standard deviation of every reward of
/// `rewards` and `eps` = [`AdvantageConfig::std_epsilon`]
/// (`scale_by_std` is not read). Constant groups still get exactly 0.
///
/// # Errors
///
/// As [`group_relative`].
///
/// ```
/// use grpo::advantages::{batch_scaled, AdvantageConfig};
///
/// // Batch [1, 0, 3, 3]: mean 1.75, sample std sqrt(6.75 / 3) = 1.5; the
/// // second group is constant.
/// let adv = batch_scaled(&[1.0, 0.0, 3.0, 3.0], 2, &AdvantageConfig::default())?;
/// let a = (0.5 / (1.5 + 1e-4)) as f32;
/// assert_eq!(adv.values, [a, -a, 0.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn batch_scaled(
    rewards: &[f32],
    group_size: usize,
    config: &AdvantageConfig,
) -> Result<Advantages> {
    centred(rewards, group_size, config, true)
}

/// Rewards minus their group's mean, divided by the group's std
/// (`config.scale_by_std`), by the batch's (`batch_std`) or by nothing.
fn centred(
    rewards: &[f32],
    group_size: usize,
    config: &AdvantageConfig,
    batch_std: bool,
) -> Result<Advantages> {
    if group_size == 0 || !rewards.len().is_multiple_of(group_size) {
        return Err(Error::GroupSize {
            rows: rewards.len(),
            group_size,
        });
    }
    if !(config.std_epsilon.is_finite() && config.std_epsilon >= 0.0) {
        return Err(Error::InvalidParameter {
            field: "std_epsilon",
            value: f64::from(config.std_epsilon),
            allowed: "a finite number >= 0",
        });
    }
    if let Some((row, &value)) = rewards.iter().enumerate().find(|(_, r)| !r.is_finite()) {
        return Err(Error::NonFiniteReward { row, value });
    }

    let batch_scale = batch_std.then(|| {
        let (_, std) = mean_and_sample_std(rewards);
        1.0 / (std + f64::from(config.std_epsilon))
    });
    let mut values = Vec::with_capacity(rewards.len());
    let mut zero_variance_groups = 0;
    let mut group_std_sum = 0.0;
    for group in rewards.chunks_exact(group_size) {
        let (mean, std) = mean_and_sample_std(group);
        group_std_sum += std;
        if is_constant(group) {
            zero_variance_groups += 1;
            values.extend(std::iter::repeat_n(0.0, group.len()));
            continue;
        }
        let scale = match batch_scale {
            Some(scale) => scale,
            None if config.scale_by_std => 1.0 / (std + f64::from(config.std_epsilon)),
            None => 1.0,
        };
        values.extend(
            group
                .iter()
                .map(|&r| ((f64::from(r) - mean) * scale) as f32),
        );
    }

    let groups = rewards.len() / group_size;
    let (reward_mean, reward_std) = mean_and_sample_std(rewards);
    let stats = AdvantageStats {
        groups,
        zero_variance_groups,
        reward_mean: reward_mean as f32,
        reward_std: reward_std as f32,
        mean_group_std: if groups == 0 {
            0.0
        } else {
            (group_std_sum / groups as f64) as f32
        },
    };
    Ok(Advantages { values, stats })
}

/// True when every reward of the group is the same number, compared exactly:
/// only then is the group's signal truly absent.
pub(crate) fn is_constant(group: &[f32]) -> bool {
    group.windows(2).all(|w| w[0] == w[1])
}

/// Mean and sample standard deviation (divisor `n - 1`) in `f64`; the
/// deviation is 0 for fewer than two values and the mean is 0 for none.
fn mean_and_sample_std(values: &[f32]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let squares: f64 = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum();
    (mean, (squares / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UNSCALED: AdvantageConfig = AdvantageConfig {
        scale_by_std: false,
        std_epsilon: 1e-4,
    };

    #[test]
    fn scaled_advantages_match_hand_computation() {
        // Group [1, 0, 0, 1]: mean 0.5, sample std = sqrt(4 * 0.25 / 3).
        let adv = group_relative(&[1.0, 0.0, 0.0, 1.0], 4, &AdvantageConfig::default()).unwrap();
        let std = (1.0f64 / 3.0).sqrt();
        let a = (0.5 / (std + 1e-4)) as f32;
        assert_eq!(adv.values, [a, -a, -a, a]);
        assert_eq!(adv.stats.groups, 1);
        assert_eq!(adv.stats.zero_variance_groups, 0);
        assert_eq!(adv.stats.reward_mean, 0.5);
        assert!((f64::from(adv.stats.reward_std) - std).abs() < 1e-7);
        assert!((f64::from(adv.stats.mean_group_std) - std).abs() < 1e-7);
    }

    #[test]
    fn unscaled_advantages_are_reward_minus_group_mean() {
        let adv = group_relative(&[3.0, 1.0, 2.0, 0.0, 0.0, 0.75], 3, &UNSCALED).unwrap();
        assert_eq!(adv.values, [1.0, -1.0, 0.0, -0.25, -0.25, 0.5]);
        assert_eq!(adv.stats.groups, 2);
        assert_eq!(adv.stats.zero_variance_groups, 0);
    }

    #[test]
    fn equal_rewards_give_exactly_zero_and_are_counted() {
        // 0.1 three times: 0.1 - mean(0.1, 0.1, 0.1) is not 0 in floating
        // point on every path, so zeros must be set, not computed.
        let rewards = [0.1, 0.1, 0.1, 0.7, 0.7, 0.7, 0.0, 1.0, 0.5];
        for config in [AdvantageConfig::default(), UNSCALED] {
            let adv = group_relative(&rewards, 3, &config).unwrap();
            assert_eq!(&adv.values[..6], &[0.0; 6]);
            // [0, 1, 0.5] has mean 0.5: its middle reward sits on the mean.
            assert!(adv.values[6] < 0.0 && adv.values[7] > 0.0 && adv.values[8] == 0.0);
            assert_eq!(adv.stats.zero_variance_groups, 2);
            assert_eq!(adv.stats.groups, 3);
        }
    }

    #[test]
    fn batch_scaled_advantages_match_hand_computation() {
        // Groups [0, 1] and [1, 3]: centred [-0.5, 0.5] and [-1, 1]. The
        // batch's mean is 1.25, its squared deviations sum to 4.75, so its
        // sample std is sqrt(4.75 / 3). One divisor for both groups keeps
        // the second twice the first (group scaling makes both ±0.707).
        let adv = batch_scaled(&[0.0, 1.0, 1.0, 3.0], 2, &AdvantageConfig::default()).unwrap();
        let d = (4.75f64 / 3.0).sqrt() + 1e-4;
        let expect = [-0.5 / d, 0.5 / d, -1.0 / d, 1.0 / d].map(|v| v as f32);
        assert_eq!(adv.values, expect);
        assert_eq!(adv.stats.zero_variance_groups, 0);
        let grouped = group_relative(&[0.0, 1.0, 1.0, 3.0], 2, &AdvantageConfig::default())
            .unwrap()
            .values;
        assert!((grouped[1] - grouped[3]).abs() < 1e-3, "{grouped:?}");
        // Constant groups are exactly 0; errors are group_relative's.
        let adv = batch_scaled(&[0.1, 0.1, 0.0, 1.0], 2, &UNSCALED).unwrap();
        assert_eq!(&adv.values[..2], &[0.0, 0.0]);
        assert_eq!(adv.stats.zero_variance_groups, 1);
        assert!(matches!(
            batch_scaled(&[0.0, f32::INFINITY], 2, &UNSCALED),
            Err(Error::NonFiniteReward { row: 1, .. })
        ));
    }

    #[test]
    fn group_of_one_is_zero_variance() {
        let adv = group_relative(&[0.3, 0.9], 1, &AdvantageConfig::default()).unwrap();
        assert_eq!(adv.values, [0.0, 0.0]);
        assert_eq!(adv.stats.zero_variance_groups, 2);
        assert_eq!(adv.stats.mean_group_std, 0.0);
    }

    #[test]
    fn empty_batch_has_empty_advantages() {
        let adv = group_relative(&[], 4, &AdvantageConfig::default()).unwrap();
        assert!(adv.values.is_empty());
        assert_eq!(adv.stats.groups, 0);
        assert_eq!(adv.stats.reward_mean, 0.0);
    }

    #[test]
    fn bad_group_size_is_an_error() {
        for group_size in [0, 3] {
            let err = group_relative(&[0.0; 4], group_size, &UNSCALED).unwrap_err();
            assert!(matches!(err, Error::GroupSize { rows: 4, group_size: g } if g == group_size));
        }
    }

    #[test]
    fn non_finite_reward_is_an_error_naming_the_row() {
        let err = group_relative(&[0.0, 1.0, f32::NAN, 0.0], 2, &UNSCALED).unwrap_err();
        assert!(matches!(err, Error::NonFiniteReward { row: 2, .. }));
        assert!(err.to_string().contains("row 2"), "{err}");
    }

    #[test]
    fn negative_epsilon_is_an_error() {
        let config = AdvantageConfig {
            scale_by_std: true,
            std_epsilon: -1.0,
        };
        let err = group_relative(&[0.0, 1.0], 2, &config).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidParameter {
                field: "std_epsilon",
                ..
            }
        ));
    }

    /// Batches of 1 to 6 groups of 1 to 8 rewards in [-10, 10]; small
    /// integer-valued rewards appear often so that constant groups occur.
    fn batch() -> impl Strategy<Value = (Vec<f32>, usize)> {
        (1usize..=8, 1usize..=6).prop_flat_map(|(g, n)| {
            let reward = prop_oneof![(0i32..3).prop_map(|r| r as f32), -10.0f32..10.0,];
            (proptest::collection::vec(reward, g * n), Just(g))
        })
    }

    proptest! {
        #[test]
        fn advantages_sum_to_zero_within_each_group(
            (rewards, g) in batch(),
            scale_by_std in any::<bool>(),
        ) {
            let config = AdvantageConfig { scale_by_std, ..AdvantageConfig::default() };
            let adv = group_relative(&rewards, g, &config).unwrap();
            prop_assert_eq!(adv.values.len(), rewards.len());
            for (group, values) in rewards.chunks(g).zip(adv.values.chunks(g)) {
                let sum: f64 = values.iter().map(|&a| f64::from(a)).sum();
                let bound = if scale_by_std { 1e-4 * g as f64 } else { 1e-5 * g as f64 };
                prop_assert!(sum.abs() <= bound, "group {:?} -> {:?} sums to {}", group, values, sum);
            }
        }

        #[test]
        fn constant_groups_are_exactly_zero_and_counted((rewards, g) in batch()) {
            let adv = group_relative(&rewards, g, &AdvantageConfig::default()).unwrap();
            let mut constant = 0;
            for (group, values) in rewards.chunks(g).zip(adv.values.chunks(g)) {
                if group.iter().all(|&r| r == group[0]) {
                    constant += 1;
                    prop_assert!(values.iter().all(|&a| a == 0.0));
                } else {
                    prop_assert!(values.iter().any(|&a| a != 0.0));
                }
            }
            prop_assert_eq!(adv.stats.zero_variance_groups, constant);
        }

        #[test]
        fn advantages_keep_the_order_of_rewards((rewards, g) in batch()) {
            let adv = group_relative(&rewards, g, &AdvantageConfig::default()).unwrap();
            for (group, values) in rewards.chunks(g).zip(adv.values.chunks(g)) {
                for i in 0..g {
                    for j in 0..g {
                        if group[i] > group[j] {
                            prop_assert!(values[i] > values[j]);
                        }
                    }
                }
            }
        }

        #[test]
        fn scaled_advantages_have_unit_sample_std((rewards, g) in batch()) {
            let config = AdvantageConfig { scale_by_std: true, std_epsilon: 0.0 };
            let adv = group_relative(&rewards, g, &config).unwrap();
            for (group, values) in rewards.chunks(g).zip(adv.values.chunks(g)) {
                if group.iter().any(|&r| r != group[0]) {
                    let (_, std) = mean_and_sample_std(values);
                    prop_assert!((std - 1.0).abs() < 1e-5, "std {}", std);
                }
            }
        }
    }
}
