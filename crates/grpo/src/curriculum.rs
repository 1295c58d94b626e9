//! Curriculum scaffolding: the first part of the reference answer is given
//! at the start of each completion, and the model writes the rest.
//!
//! At iteration `k` (from 1) the scaffold holds a fraction
//!
//! ```text
//! ratio(k) = start + (end − start) · min(k − 1, steps) / steps
//! ```
//!
//! of the answer's tokens (rounded to the nearest token), so the first
//! iteration uses `--curriculum-start-ratio`, iteration `steps + 1` and every
//! later one `--curriculum-end-ratio`. Early on the model only has to finish
//! answers (and learn where they stop); by the end it writes them whole.
//!
//! The answer's tokens are those supervised fine-tuning teaches (the
//! assistant turn after the prompt), without the end-of-turn token: even a
//! ratio of 1 leaves the model to end the turn. Every sample of a group gets
//! the same scaffold. The scaffold is appended to the prompt for generation,
//! so it does not count against `--max-completion-length`; the rollout then
//! holds it as the first tokens of each completion, where it is marked as
//! given: those tokens carry no loss (mask 0), while the rewards score the
//! whole answer, scaffold and generated text together.

use crate::error::{Error, Result};

/// The scaffold schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curriculum {
    /// Fraction of the answer given at the first iteration.
    pub start_ratio: f32,
    /// Fraction given from iteration `steps + 1` on.
    pub end_ratio: f32,
    /// Iterations over which the fraction moves.
    pub steps: usize,
}

impl Curriculum {
    /// Checks that the ratios are fractions and the schedule has a length.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("curriculum_start_ratio", self.start_ratio),
            ("curriculum_end_ratio", self.end_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidParameter {
                    field,
                    value: v.into(),
                    allowed: "a fraction of the answer, 0 <= ratio <= 1",
                });
            }
        }
        if self.steps == 0 {
            return Err(Error::InvalidParameter {
                field: "curriculum_steps",
                value: 0.0,
                allowed: "an integer >= 1",
            });
        }
        Ok(())
    }

    /// The scaffold fraction at `iteration` (from 1).
    ///
    /// ```
    /// use grpo::curriculum::Curriculum;
    ///
    /// let c = Curriculum { start_ratio: 1.0, end_ratio: 0.0, steps: 4 };
    /// let ratios: Vec<f32> = (1..=6).map(|k| c.ratio_at(k)).collect();
    /// assert_eq!(ratios, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]);
    /// ```
    pub fn ratio_at(&self, iteration: usize) -> f32 {
        let done = iteration.saturating_sub(1).min(self.steps) as f64;
        let t = done / self.steps.max(1) as f64;
        let (a, b) = (f64::from(self.start_ratio), f64::from(self.end_ratio));
        (a + (b - a) * t) as f32
    }

    /// The scaffold of an answer at `ratio`: its first
    /// `round(ratio · len)` tokens, where `answer` holds the answer's tokens
    /// without the end-of-turn token.
    ///
    /// ```
    /// use grpo::curriculum::Curriculum;
    ///
    /// assert_eq!(Curriculum::scaffold(&[7, 8, 9, 10], 0.5), [7, 8]);
    /// assert_eq!(Curriculum::scaffold(&[7, 8, 9], 0.0), [] as [u32; 0]);
    /// ```
    pub fn scaffold(answer: &[u32], ratio: f32) -> &[u32] {
        let n = (f64::from(ratio.clamp(0.0, 1.0)) * answer.len() as f64).round() as usize;
        &answer[..n.min(answer.len())]
    }

    /// The scaffold of each prompt of `batch` at `iteration`, where
    /// `targets[i]` is prompt `i`'s answer as supervised fine-tuning
    /// teaches it (ending with the end-of-turn token, which is never given).
    ///
    /// ```
    /// use grpo::curriculum::Curriculum;
    ///
    /// let c = Curriculum { start_ratio: 1.0, end_ratio: 0.0, steps: 2 };
    /// let targets = [vec![5, 6, 0], vec![7, 8, 9, 10, 0]];
    /// assert_eq!(c.scaffolds(&targets, &[1, 0], 1), [vec![7, 8, 9, 10], vec![5, 6]]);
    /// assert_eq!(c.scaffolds(&targets, &[1], 2), [vec![7, 8]]);
    /// ```
    pub fn scaffolds(
        &self,
        targets: &[Vec<u32>],
        batch: &[usize],
        iteration: usize,
    ) -> Vec<Vec<u32>> {
        let ratio = self.ratio_at(iteration);
        batch
            .iter()
            .map(|&i| {
                let answer = &targets[i];
                let answer = &answer[..answer.len().saturating_sub(1)];
                Self::scaffold(answer, ratio).to_vec()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_follows_the_schedule_then_stays() {
        let c = Curriculum {
            start_ratio: 0.2,
            end_ratio: 0.8,
            steps: 3,
        };
        for (k, want) in [(1, 0.2), (2, 0.4), (3, 0.6), (4, 0.8), (100, 0.8)] {
            assert!((c.ratio_at(k) - want).abs() < 1e-6, "iteration {k}");
        }
        // Rising and falling schedules both reach the end ratio exactly.
        let c = Curriculum {
            start_ratio: 1.0,
            end_ratio: 0.0,
            steps: 500,
        };
        assert_eq!(c.ratio_at(501), 0.0);
        assert_eq!(c.ratio_at(251), 0.5);
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = Curriculum {
            start_ratio: 1.5,
            end_ratio: 0.0,
            steps: 10,
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("curriculum_start_ratio"));
        let bad = Curriculum {
            start_ratio: 1.0,
            end_ratio: 0.0,
            steps: 0,
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("curriculum_steps"));
    }

    #[test]
    fn scaffolds_round_to_the_nearest_token() {
        let answer = [1, 2, 3];
        assert_eq!(Curriculum::scaffold(&answer, 0.5), [1, 2]);
        assert_eq!(Curriculum::scaffold(&answer, 0.1), [] as [u32; 0]);
        assert_eq!(Curriculum::scaffold(&answer, 1.0), [1, 2, 3]);
        assert_eq!(Curriculum::scaffold(&[], 1.0), [] as [u32; 0]);
    }
}
