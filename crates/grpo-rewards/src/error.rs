//! The crate's error type.
//!
//! Errors are for bad configuration and bad references (reward names,
//! weights, expected answers, tool schemas). A model completion that does
//! not parse is never an error: it is data, and scores 0.

use crate::parse::ParseError;
use crate::score::KNOWN_REWARDS;

/// A bad reward configuration or expected answer.
///
/// ```
/// use grpo_rewards::{Error, RewardSet};
///
/// let err = RewardSet::new(&["tool_call_exactt"], None).unwrap_err();
/// assert!(matches!(err, Error::UnknownReward { .. }));
/// assert!(err.to_string().starts_with("unknown reward `tool_call_exactt` (known: tool_call_exact,"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // Reward configuration.
    /// A reward name that is not in [`KNOWN_REWARDS`].
    #[error("unknown reward `{name}` (known: {})", KNOWN_REWARDS.join(", "))]
    UnknownReward {
        /// The name given.
        name: String,
    },
    /// The same reward named twice.
    #[error("reward `{name}` is listed twice; list each reward once")]
    DuplicateReward {
        /// The repeated name.
        name: String,
    },
    /// An empty list of reward names.
    #[error("no reward functions given (known: {})", KNOWN_REWARDS.join(", "))]
    NoRewards,
    /// A weight list whose length differs from the reward list's.
    #[error(
        "{got} reward weights given for {expected} reward functions; give one weight per reward"
    )]
    WeightCount {
        /// Number of reward functions.
        expected: usize,
        /// Number of weights.
        got: usize,
    },
    /// A weight that is NaN or infinite.
    #[error("reward weight {index} is {value}; weights must be finite")]
    NonFiniteWeight {
        /// Position in the weight list.
        index: usize,
        /// The weight.
        value: f32,
    },

    // Expected answers.
    /// An `answer` string that is not a clean list of calls.
    #[error("answer {answer:?} is not a clean tool call: {problem}")]
    InvalidAnswer {
        /// The answer (its first 80 characters).
        answer: String,
        /// Why it was rejected.
        problem: AnswerProblem,
    },
    /// A malformed possible-answer (BFCL) value.
    #[error("possible answer at {path}: expected {expected}, got {got}")]
    InvalidPossibleAnswer {
        /// Where in the value, as `[0].calculate_area.base`.
        path: String,
        /// What is allowed there.
        expected: &'static str,
        /// What was found (its JSON, shortened).
        got: String,
    },
    /// A malformed tool schema.
    #[error("tool {index}: `{field}` must be {expected}")]
    InvalidTool {
        /// Position in the tool list.
        index: usize,
        /// The offending field.
        field: &'static str,
        /// What is allowed there.
        expected: &'static str,
    },

    // Batches.
    /// A batch whose completion and reference counts differ.
    #[error(
        "{completions} completions but {references} references; give one reference per completion"
    )]
    BatchLength {
        /// Number of completions.
        completions: usize,
        /// Number of references.
        references: usize,
    },
    /// A [`BatchReward`](crate::BatchReward) that failed, or returned
    /// the wrong number of scores or a score that is not finite.
    #[error("reward `{name}`: {message}")]
    CustomReward {
        /// The reward's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

/// Why an `answer` string was rejected.
///
/// ```
/// use grpo_rewards::{AnswerProblem, Error, Reference};
///
/// let err = Reference::from_answer("call f please").unwrap_err();
/// assert!(matches!(err, Error::InvalidAnswer { problem: AnswerProblem::Prose, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// Text other than calls (answers hold calls only; `""` means none).
    #[error("it holds text other than calls")]
    Prose,
    /// A call that could not be read.
    #[error("{0}")]
    Syntax(ParseError),
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// fn reference(answer: &str) -> grpo_rewards::Result<grpo_rewards::Reference> {
///     grpo_rewards::Reference::from_answer(answer)
/// }
/// assert!(reference("f(x=1)").is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first `max` characters of `s`, with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}
