//! Learning-rate schedules: constant, linear warmup, cosine decay to a floor.
//!
//! The schedule is a pure function of the optimizer step, so a resumed run
//! only needs the step number to continue with the same learning rate.
//!
//! ```text
//! warmup (s < W):       lr(s) = peak * (s + 1) / W
//! constant (s >= W):    lr(s) = peak
//! cosine (s >= W):      t = min(s - W, D)
//!                       lr(s) = floor + (peak - floor) * (1 + cos(pi * t / D)) / 2
//! ```
//!
//! `s` counts optimizer steps from 0. The warmup ramp ends *at* the peak on
//! its last step and never yields 0, so no step is wasted. The cosine form is
//! SGDR's (Loshchilov & Hutter, arXiv 1608.03983, eq. 5) without restarts;
//! after `D` decay steps the rate stays at the floor.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What happens to the learning rate after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decay {
    /// Stay at the peak learning rate.
    Constant,
    /// Half a cosine from the peak down to `floor` over `decay_steps` steps,
    /// then `floor`.
    Cosine {
        /// Steps over which the rate falls, counted from the end of warmup;
        /// usually the total number of steps minus the warmup steps.
        decay_steps: usize,
        /// The final learning rate; between 0 and the peak.
        floor: f32,
    },
}

/// A learning-rate schedule: a peak rate, an optional linear warmup, and a
/// decay.
///
/// # Example
///
/// ```
/// use grpo::schedule::{Decay, LrSchedule};
///
/// let schedule = LrSchedule {
///     peak: 1e-5,
///     warmup_steps: 10,
///     decay: Decay::Cosine { decay_steps: 90, floor: 1e-6 },
/// };
/// schedule.validate()?;
/// assert_eq!(schedule.lr_at(9), 1e-5);
/// assert_eq!(schedule.lr_at(100), 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// The learning rate reached at the end of warmup (`--learning-rate`).
    pub peak: f32,
    /// Steps of linear warmup; 0 for none.
    pub warmup_steps: usize,
    /// What follows the warmup.
    pub decay: Decay,
}

impl LrSchedule {
    /// A schedule that always returns `lr`.
    pub fn constant(lr: f32) -> Self {
        Self {
            peak: lr,
            warmup_steps: 0,
            decay: Decay::Constant,
        }
    }

    /// Checks that the rates are finite and ordered: `peak >= 0` and
    /// `0 <= floor <= peak`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        if !(self.peak.is_finite() && self.peak >= 0.0) {
            return Err(Error::InvalidParameter {
                field: "learning_rate",
                value: f64::from(self.peak),
                allowed: "a finite number >= 0",
            });
        }
        if let Decay::Cosine { floor, .. } = self.decay {
            if !(floor.is_finite() && floor >= 0.0 && floor <= self.peak) {
                return Err(Error::InvalidParameter {
                    field: "lr_floor",
                    value: f64::from(floor),
                    allowed: "a number between 0 and the peak learning rate",
                });
            }
        }
        Ok(())
    }

    /// The learning rate for optimizer step `step` (counted from 0).
    pub fn lr_at(&self, step: usize) -> f32 {
        if step < self.warmup_steps {
            // Computed in f64 so long warmups do not lose the last bits.
            return (f64::from(self.peak) * (step + 1) as f64 / self.warmup_steps as f64) as f32;
        }
        match self.decay {
            Decay::Constant => self.peak,
            Decay::Cosine { decay_steps, floor } => {
                let t = step - self.warmup_steps;
                if t >= decay_steps {
                    return floor;
                }
                let progress = t as f64 / decay_steps as f64;
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                let (peak, floor) = (f64::from(self.peak), f64::from(floor));
                (floor + (peak - floor) * cosine) as f32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(warmup_steps: usize, decay_steps: usize) -> LrSchedule {
        LrSchedule {
            peak: 1.0,
            warmup_steps,
            decay: Decay::Cosine {
                decay_steps,
                floor: 0.1,
            },
        }
    }

    #[test]
    fn constant_is_constant() {
        let s = LrSchedule::constant(3e-4);
        for step in [0, 1, 10, 1_000_000] {
            assert_eq!(s.lr_at(step), 3e-4);
        }
    }

    #[test]
    fn warmup_ramps_linearly_to_the_peak() {
        let s = LrSchedule {
            peak: 2.0,
            warmup_steps: 4,
            decay: Decay::Constant,
        };
        let lrs: Vec<f32> = (0..6).map(|i| s.lr_at(i)).collect();
        assert_eq!(lrs, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn cosine_hits_peak_midpoint_and_floor() {
        let s = cosine(0, 10);
        assert_eq!(s.lr_at(0), 1.0);
        // Halfway: floor + (peak - floor) / 2.
        assert!((s.lr_at(5) - 0.55).abs() < 1e-7);
        // Two tenths of the way: floor + (peak - floor) * (1 + cos(0.2 pi)) / 2.
        let expected = 0.1 + 0.9 * 0.5 * (1.0 + (0.2 * std::f64::consts::PI).cos());
        assert!((f64::from(s.lr_at(2)) - expected).abs() < 1e-7);
        assert_eq!(s.lr_at(10), 0.1);
        assert_eq!(s.lr_at(500), 0.1);
    }

    #[test]
    fn cosine_starts_after_warmup_and_never_increases() {
        let s = cosine(5, 20);
        assert_eq!(s.lr_at(4), 1.0);
        assert_eq!(s.lr_at(5), 1.0);
        let lrs: Vec<f32> = (5..40).map(|i| s.lr_at(i)).collect();
        assert!(lrs.windows(2).all(|w| w[1] <= w[0]), "{lrs:?}");
        assert!(lrs.iter().all(|&lr| (0.1..=1.0).contains(&lr)));
        assert_eq!(s.lr_at(25), 0.1);
    }

    #[test]
    fn zero_decay_steps_goes_straight_to_the_floor() {
        assert_eq!(cosine(2, 0).lr_at(2), 0.1);
        assert_eq!(cosine(2, 0).lr_at(1), 1.0);
    }

    #[test]
    fn validate_rejects_bad_rates() {
        assert!(cosine(0, 10).validate().is_ok());
        assert!(LrSchedule::constant(f32::NAN).validate().is_err());
        assert!(LrSchedule::constant(-1e-5).validate().is_err());
        let mut s = cosine(0, 10);
        s.decay = Decay::Cosine {
            decay_steps: 10,
            floor: 2.0,
        };
        let err = s.validate().unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidParameter {
                    field: "lr_floor",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn serde_round_trip() {
        let s = cosine(3, 7);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"kind\":\"cosine\""), "{json}");
        assert_eq!(serde_json::from_str::<LrSchedule>(&json).unwrap(), s);
    }
}
