//! Parse tool calls in every common format and score them against expected
//! calls: the rewards of mlx-grpo, usable on their own.
//!
//! ```
//! use grpo_rewards::{Reference, RewardSet};
//!
//! let rewards = RewardSet::new(&["tool_call_exact", "tool_call_function"], None)?;
//! let reference = Reference::from_answer("calculate_factorial(n=5)")?;
//! let scores = rewards.score("calculate_factorial(n=5)", &reference);
//! assert_eq!(scores.total, 2.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod assign;
mod call;
mod compare;
mod error;
mod parse;
mod reference;
mod registry;
mod score;

pub use call::{ToolCall, Value};
pub use compare::{
    compare_function_calls, compare_with, CallMatch, CompareOptions, Comparison, NumberMode,
    ParamCheck, StringMode, Verdict,
};
pub use error::{AnswerProblem, Error, Result};
pub use parse::{
    extract_function_calls, Format, Formats, ParseError, ParseErrorKind, ParseResult, Reasoning,
    MAX_DEPTH, MAX_INPUT_BYTES,
};
pub use reference::{ExpectedCall, ExpectedParam, ParamKey, Reference};
pub use registry::{BatchScores, RewardSet, Scores};
pub use score::{Evaluation, Reward, KNOWN_REWARDS};
