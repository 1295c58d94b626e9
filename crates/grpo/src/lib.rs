//! Group Relative Policy Optimization for tool calling.
//!
//! GRPO (DeepSeekMath, arXiv 2402.03300) trains a policy without a value
//! model: for each prompt it samples a group of completions, scores them, and
//! uses each completion's reward relative to its group as the advantage of a
//! PPO-style clipped objective. This crate holds the algorithm's pieces;
//! `docs/grpo.md` derives the formulas and cites their sources.
//!
//! # Overview
//!
//! - [`advantages::group_relative`]: rewards to group-relative advantages,
//!   plus the count of zero-variance groups.
//! - [`loss::grpo_loss`]: the clipped surrogate with optional k3 KL penalty
//!   and the [`loss::LossType`] aggregations (GRPO, BNPO, Dr. GRPO, DAPO), on
//!   `mlx_rs::Array`s.
//! - [`schedule::LrSchedule`]: constant, warmup and cosine learning rates.
//! - [`checkpoint`]: crash-safe checkpoint directories and
//!   [`checkpoint::TrainerState`].
//! - Training strategies (`docs/strategies.md`): [`thinking`] (reasoning
//!   blocks, `--enforce-thinking`), [`two_phase`] (recovery of samples cut
//!   inside their reasoning), [`curriculum`] (answer scaffolding) and
//!   [`phases`] (progressive rewards in one run).
//!
//! # Example
//!
//! One step's arithmetic, from rewards to a loss and its gradient with
//! respect to the log-probs:
//!
//! ```
//! use grpo::advantages::{group_relative, AdvantageConfig};
//! use grpo::loss::{grpo_loss, LossConfig, LossInputs};
//! use mlx_rs::{transforms::value_and_grad, Array};
//!
//! // One prompt, a group of two completions of three tokens each.
//! let adv = group_relative(&[1.0, 0.0], 2, &AdvantageConfig::default())?;
//! let advantages = Array::from_slice(&adv.values, &[2]);
//! let mask = Array::from_slice(&[1.0f32, 1.0, 1.0, 1.0, 1.0, 0.0], &[2, 3]);
//! let config = LossConfig { beta: 0.0, ..LossConfig::default() };
//!
//! let loss_fn = |args: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
//!     let inputs = LossInputs {
//!         logprobs: &args[0],
//!         old_logprobs: None,
//!         ref_logprobs: None,
//!         advantages: &advantages,
//!         mask: &mask,
//!         total_tokens: None,
//!     };
//!     Ok(grpo_loss(&inputs, &config)?.into_arrays())
//! };
//! let logprobs = Array::from_slice(&[-0.5f32, -1.0, -2.0, -0.1, -0.3, -9.0], &[2, 3]);
//! let (values, grads) = value_and_grad(loss_fn)(&[logprobs])?;
//! mlx_rs::transforms::eval(values.iter().chain(&grads))?;
//! // The better completion's tokens are pushed up, the worse one's down,
//! // and the masked token gets no gradient.
//! let g = grads[0].as_slice::<f32>();
//! assert!(g[0] < 0.0 && g[3] > 0.0 && g[5] == 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod advantages;
pub mod checkpoint;
pub mod config;
pub mod curriculum;
pub mod data_parallel;
mod error;
pub mod eval;
mod grpo_iteration;
mod grpo_metrics;
pub mod importance_sampling;
mod learner;
pub mod loss;
pub mod loss_variant;
pub mod metrics;
mod micro_batch;
pub mod multi_turn;
pub mod observer;
pub mod optimizer;
mod parts;
pub mod phases;
pub mod reward_errors;
pub mod rollout;
mod rollout_log;
mod sampled;
mod sampling;
pub mod scale_rewards;
pub mod schedule;
mod sft_iteration;
mod streams;
pub mod tasks;
pub mod thinking;
pub mod tool_use;
pub mod trainer;
pub mod trajectory;
pub mod turn_tally;
pub mod two_phase;
pub mod update;
pub mod watchdog;

pub use error::{Error, Result};
