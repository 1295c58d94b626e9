//! Progressive training in one run: a `phases:` list in the configuration,
//! each with its iterations, reward functions, weights and optionally a
//! learning rate, applied in order (the guide's Strategy 2 without manual
//! phase switching).
//!
//! ```yaml
//! phases:
//!   - {iters: 100, reward_functions: [tool_call_function, tool_call_parseable], reward_weights: [0.8, 0.2]}
//!   - {iters: 200, reward_functions: [tool_call_function, tool_call_params], reward_weights: [0.5, 0.5]}
//!   - {iters: 200, reward_functions: [tool_call_exact, tool_call_overall], reward_weights: [0.7, 0.3], learning_rate: 5.0e-6}
//! ```
//!
//! The phase is a function of the iteration number, so a resumed run
//! continues in the phase it stopped in with nothing extra saved. Every
//! reward named by any phase is scored throughout (weight 0 outside its
//! phases), so `metrics.jsonl` and the plot keep the same columns from the
//! first iteration to the last and show, say, exact matches rising while
//! phase 1 pays only for function names.

use grpo_rewards::RewardSet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schedule::{Decay, LrSchedule};

/// One phase of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Iterations of this phase.
    pub iters: usize,
    /// Reward functions of this phase.
    pub reward_functions: Vec<String>,
    /// One weight per reward function (default 1 each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_weights: Option<Vec<f32>>,
    /// Peak learning rate of this phase (default: the run's
    /// `learning_rate`); warmup and decay still follow the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f32>,
}

/// The phases of a run, resolved: which iterations each covers and the
/// weights of every reward in each.
#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    phases: Vec<Phase>,
    /// Every reward named by a phase, in order of first mention.
    names: Vec<String>,
    /// `weights[phase][reward]` over `names` (0 where a phase does not use it).
    weights: Vec<Vec<f32>>,
}

impl PhasePlan {
    /// Resolves `phases`; each must have iterations, known rewards with
    /// matching weights, and a valid learning rate.
    ///
    /// ```
    /// use grpo::phases::{Phase, PhasePlan};
    ///
    /// let phase = |iters, reward: &str| Phase {
    ///     iters,
    ///     reward_functions: vec![reward.into()],
    ///     reward_weights: None,
    ///     learning_rate: None,
    /// };
    /// let plan = PhasePlan::new(&[phase(2, "tool_call_function"), phase(3, "tool_call_exact")])?;
    /// assert_eq!(plan.total_iters(), 5);
    /// assert_eq!([1, 2, 3, 5].map(|k| plan.at(k)), [0, 0, 1, 1]);
    /// assert_eq!(plan.rewards(1)?.weights(), [0.0, 1.0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(phases: &[Phase]) -> Result<Self> {
        let mut names: Vec<String> = Vec::new();
        for (i, p) in phases.iter().enumerate() {
            let bad = |message: String| Error::InvalidConfig {
                field: "phases",
                message: format!("phase {}: {message}", i + 1),
            };
            if p.iters == 0 {
                return Err(bad("iters must be an integer >= 1".into()));
            }
            RewardSet::new(&p.reward_functions, p.reward_weights.as_deref())
                .map_err(|e| bad(e.to_string()))?;
            if let Some(lr) = p.learning_rate {
                if !(lr.is_finite() && lr >= 0.0) {
                    return Err(bad(format!(
                        "learning_rate = {lr} (allowed: a finite number >= 0)"
                    )));
                }
            }
            for name in &p.reward_functions {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        let weights = phases
            .iter()
            .map(|p| {
                names
                    .iter()
                    .map(|n| match p.reward_functions.iter().position(|f| f == n) {
                        Some(j) => p.reward_weights.as_ref().map_or(1.0, |w| w[j]),
                        None => 0.0,
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            phases: phases.to_vec(),
            names,
            weights,
        })
    }

    /// Number of phases.
    pub fn len(&self) -> usize {
        self.phases.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty()
    }

    /// Iterations of all phases together.
    pub fn total_iters(&self) -> usize {
        self.phases.iter().map(|p| p.iters).sum()
    }

    /// The phase (from 0) that `iteration` (from 1) belongs to; iterations
    /// past the last phase stay in it.
    pub fn at(&self, iteration: usize) -> usize {
        let mut end = 0;
        for (i, p) in self.phases.iter().enumerate() {
            end += p.iters;
            if iteration <= end {
                return i;
            }
        }
        self.phases.len().saturating_sub(1)
    }

    /// The first and last iteration of phase `index`.
    pub fn span(&self, index: usize) -> (usize, usize) {
        let before: usize = self.phases[..index].iter().map(|p| p.iters).sum();
        (before + 1, before + self.phases[index].iters)
    }

    /// The rewards scored during phase `index`: every reward of the plan,
    /// weighted as that phase says.
    pub fn rewards(&self, index: usize) -> Result<RewardSet> {
        Ok(RewardSet::new(&self.names, Some(&self.weights[index]))?)
    }

    /// The learning rate phase `index` sets, if any.
    pub fn learning_rate(&self, index: usize) -> Option<f32> {
        self.phases[index].learning_rate
    }

    /// The learning-rate schedule during phase `index`: `run`'s, with the
    /// phase's peak rate when it sets one (and then a cosine floor of
    /// `min_learning_rate`, or the phase's peak if that is lower).
    ///
    /// ```
    /// use grpo::phases::{Phase, PhasePlan};
    /// use grpo::schedule::{Decay, LrSchedule};
    ///
    /// let plan = PhasePlan::new(&[Phase {
    ///     iters: 4,
    ///     reward_functions: vec!["tool_call_exact".into()],
    ///     reward_weights: None,
    ///     learning_rate: Some(1e-6),
    /// }])?;
    /// let run = LrSchedule { peak: 1e-5, warmup_steps: 0, decay: Decay::Constant };
    /// assert_eq!(plan.schedule(0, run, 0.0).peak, 1e-6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schedule(&self, index: usize, run: LrSchedule, min_learning_rate: f32) -> LrSchedule {
        let mut schedule = run;
        if let Some(peak) = self.learning_rate(index) {
            schedule.peak = peak;
            if let Decay::Cosine { floor, .. } = &mut schedule.decay {
                *floor = min_learning_rate.min(peak);
            }
        }
        schedule
    }

    /// The log line announcing phase `index`.
    pub fn describe(&self, index: usize) -> String {
        let p = &self.phases[index];
        let (first, last) = self.span(index);
        let rewards: Vec<String> = p
            .reward_functions
            .iter()
            .enumerate()
            .map(|(j, n)| {
                let w = p.reward_weights.as_ref().map_or(1.0, |w| w[j]);
                format!("{n} {w}")
            })
            .collect();
        let lr = p
            .learning_rate
            .map_or_else(String::new, |lr| format!("; learning rate {lr:e}"));
        format!(
            "phase {}/{} (iterations {first}-{last}): rewards {}{lr}",
            index + 1,
            self.len(),
            rewards.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(iters: usize, rewards: &[&str], weights: Option<Vec<f32>>) -> Phase {
        Phase {
            iters,
            reward_functions: rewards.iter().map(|s| s.to_string()).collect(),
            reward_weights: weights,
            learning_rate: None,
        }
    }

    /// The guide's Strategy 2.
    fn guide() -> PhasePlan {
        PhasePlan::new(&[
            phase(
                100,
                &["tool_call_function", "tool_call_parseable"],
                Some(vec![0.8, 0.2]),
            ),
            phase(
                200,
                &["tool_call_function", "tool_call_params"],
                Some(vec![0.5, 0.5]),
            ),
            phase(
                200,
                &["tool_call_exact", "tool_call_overall"],
                Some(vec![0.7, 0.3]),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn iterations_map_to_phases_in_order() {
        let plan = guide();
        assert_eq!(plan.total_iters(), 500);
        for (k, want) in [(1, 0), (100, 0), (101, 1), (300, 1), (301, 2), (500, 2)] {
            assert_eq!(plan.at(k), want, "iteration {k}");
        }
        assert_eq!(plan.span(1), (101, 300));
    }

    #[test]
    fn every_reward_is_scored_with_its_phase_weight() {
        let plan = guide();
        let names = [
            "tool_call_function",
            "tool_call_parseable",
            "tool_call_params",
            "tool_call_exact",
            "tool_call_overall",
        ];
        for i in 0..3 {
            assert_eq!(plan.rewards(i).unwrap().names(), names);
        }
        assert_eq!(
            plan.rewards(0).unwrap().weights(),
            [0.8, 0.2, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            plan.rewards(2).unwrap().weights(),
            [0.0, 0.0, 0.0, 0.7, 0.3]
        );
        assert_eq!(
            plan.describe(1),
            "phase 2/3 (iterations 101-300): rewards tool_call_function 0.5, tool_call_params 0.5"
        );
    }

    #[test]
    fn bad_phases_are_named() {
        let err = PhasePlan::new(&[
            phase(10, &["tool_call_exact"], None),
            phase(10, &["tool_call_exact"], Some(vec![1.0, 2.0])),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("phase 2") && err.contains("weight"), "{err}");
        let err = PhasePlan::new(&[phase(0, &["tool_call_exact"], None)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phase 1: iters"), "{err}");
        let err = PhasePlan::new(&[phase(5, &["nope"], None)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown reward `nope`"), "{err}");
    }
}
