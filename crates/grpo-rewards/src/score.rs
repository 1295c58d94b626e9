//! The named rewards, as pure functions of one [`Evaluation`].
//!
//! Adding a reward means adding a [`Reward`] variant, its name in
//! [`KNOWN_REWARDS`] and [`Reward::ALL`], and a match arm in
//! [`Reward::score`]; everything a reward may need (the raw completion,
//! the parse, the comparison, the reference) is in the [`Evaluation`].

use std::fmt;
use std::str::FromStr;

use crate::compare::Comparison;
use crate::error::Error;
use crate::parse::ParseResult;
use crate::reference::Reference;

/// The names [`RewardSet::new`](crate::RewardSet::new) accepts, in
/// [`Reward::ALL`] order.
///
/// ```
/// assert!(grpo_rewards::KNOWN_REWARDS.contains(&"tool_call_exact"));
/// ```
pub const KNOWN_REWARDS: &[&str] = &[
    "tool_call_exact",
    "tool_call_function",
    "tool_call_params",
    "tool_call_overall",
    "tool_call_parseable",
    "tool_call_format",
];

/// A reward function, by its `--reward-functions` name.
///
/// ```
/// use grpo_rewards::Reward;
///
/// let reward: Reward = "tool_call_params".parse()?;
/// assert_eq!(reward, Reward::Params);
/// assert_eq!(reward.to_string(), "tool_call_params");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reward {
    /// `tool_call_exact`: 1 for an exact match of the whole set of calls,
    /// else 0 ([`Comparison::exact_match`]).
    Exact,
    /// `tool_call_function`: F1 of the function names, so calling every
    /// tool does not pay ([`Comparison::function_score`]).
    Function,
    /// `tool_call_params`: parameter credit on calls to the right function
    /// ([`Comparison::params_score`]).
    Params,
    /// `tool_call_overall`: 0.4·function + 0.4·params + 0.2·exact
    /// ([`Comparison::overall`]).
    Overall,
    /// `tool_call_parseable`: 1 if the output holds any parseable call (the
    /// guide's meaning). It pays for calling a tool when none applies;
    /// prefer [`Reward::Format`].
    Parseable,
    /// `tool_call_format`: when calls are expected, 1 iff the output is
    /// clean (only calls, their envelopes, reasoning and whitespace, nothing
    /// truncated) and holds at least one call; when no call is expected, 1
    /// iff the output calls nothing and holds no broken call (a plain-text
    /// reply is the right format then).
    Format,
}

impl Reward {
    /// Every reward, in [`KNOWN_REWARDS`] order.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Reward::ALL.len(), grpo_rewards::KNOWN_REWARDS.len());
    /// ```
    pub const ALL: [Reward; 6] = [
        Reward::Exact,
        Reward::Function,
        Reward::Params,
        Reward::Overall,
        Reward::Parseable,
        Reward::Format,
    ];

    /// The `--reward-functions` name.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Reward::Format.name(), "tool_call_format");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Reward::Exact => "tool_call_exact",
            Reward::Function => "tool_call_function",
            Reward::Params => "tool_call_params",
            Reward::Overall => "tool_call_overall",
            Reward::Parseable => "tool_call_parseable",
            Reward::Format => "tool_call_format",
        }
    }

    /// The reward of one completion, in [0, 1].
    ///
    /// ```
    /// use grpo_rewards::{Evaluation, Reference, Reward};
    ///
    /// let reference = Reference::from_answer("f(x=1)")?;
    /// let eval = Evaluation::new("Sure!\nf(x=1)", &reference, &Default::default());
    /// assert_eq!(Reward::Exact.score(&eval), 1.0);
    /// assert_eq!(Reward::Format.score(&eval), 0.0, "the prose line is not clean");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score(self, eval: &Evaluation<'_>) -> f32 {
        let c = &eval.comparison;
        let indicator = |b: bool| if b { 1.0 } else { 0.0 };
        match self {
            Reward::Exact => c.exact_match,
            Reward::Function => c.function_score,
            Reward::Params => c.params_score,
            Reward::Overall => c.overall,
            Reward::Parseable => indicator(!eval.parsed.calls.is_empty()),
            Reward::Format => {
                let p = &eval.parsed;
                if eval.reference.expects_call() {
                    indicator(p.clean && !p.truncated && !p.calls.is_empty())
                } else {
                    indicator(p.calls.is_empty() && p.errors.is_empty())
                }
            }
        }
    }
}

impl fmt::Display for Reward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reward {
    type Err = Error;

    /// Parses a reward name; an unknown name is an error listing the known
    /// ones.
    fn from_str(name: &str) -> Result<Self, Error> {
        Reward::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| Error::UnknownReward {
                name: name.to_owned(),
            })
    }
}

/// Everything a reward may look at for one completion: the text, its
/// parse, its comparison with the reference, and the reference.
///
/// ```
/// use grpo_rewards::{Evaluation, Reference};
///
/// let reference = Reference::from_answer("f(x=1)")?;
/// let eval = Evaluation::new("f(x=2)", &reference, &Default::default());
/// assert_eq!(eval.parsed.calls.len(), 1);
/// assert_eq!(eval.comparison.function_score, 1.0);
/// assert_eq!(eval.comparison.params_score, 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Evaluation<'a> {
    /// The completion's text.
    pub completion: &'a str,
    /// What the parser found in it.
    pub parsed: ParseResult,
    /// Its calls compared with the reference. Scores only: the per-call
    /// details ([`Comparison::calls`]) are left empty, since no reward uses
    /// them; call [`Reference::compare`] for those.
    pub comparison: Comparison,
    /// The expected answer.
    pub reference: &'a Reference,
}

impl<'a> Evaluation<'a> {
    /// Parses `completion` and compares its calls with `reference`.
    ///
    /// ```
    /// use grpo_rewards::{Evaluation, Reference};
    ///
    /// let reference = Reference::from_answer("")?;
    /// let eval = Evaluation::new("No tool can answer that.", &reference, &Default::default());
    /// assert_eq!(eval.comparison.exact_match, 1.0, "nothing called, nothing expected");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        completion: &'a str,
        reference: &'a Reference,
        options: &crate::compare::CompareOptions,
    ) -> Self {
        let parsed = crate::parse::extract_function_calls(completion);
        let comparison = crate::compare::compare(&parsed.calls, reference, options, false);
        Evaluation {
            completion,
            parsed,
            comparison,
            reference,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_known_list() {
        let names: Vec<&str> = Reward::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names, KNOWN_REWARDS);
        for r in Reward::ALL {
            assert_eq!(r.name().parse::<Reward>(), Ok(r));
        }
        assert_eq!(
            "exact".parse::<Reward>(),
            Err(Error::UnknownReward {
                name: "exact".into()
            })
        );
    }

    fn scores(completion: &str, answer: &str) -> Vec<f32> {
        let reference = Reference::from_answer(answer).unwrap();
        let eval = Evaluation::new(completion, &reference, &Default::default());
        Reward::ALL.iter().map(|r| r.score(&eval)).collect()
    }

    #[test]
    fn parseable_pays_for_calling_when_nothing_applies_but_format_does_not() {
        // exact, function, params, overall, parseable, format
        assert_eq!(
            scores("get_weather(city='Paris')", ""),
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(
            scores("No tool fits this request.", ""),
            [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
        );
        assert_eq!(
            scores("<tool_call>{\"name\": ", ""),
            [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn format_wants_clean_complete_calls_when_calls_are_expected() {
        assert_eq!(scores("f(x=1)", "f(x=1)")[5], 1.0);
        assert_eq!(scores("<think>easy</think>\nf(x=2)", "f(x=1)")[5], 1.0);
        assert_eq!(scores("Here you go: f(x=1)", "f(x=1)")[5], 0.0);
        assert_eq!(scores("I cannot help.", "f(x=1)")[5], 0.0);
        assert_eq!(
            scores("<tool_call>{\"name\": \"f\"}", "f()")[5],
            0.0,
            "unclosed"
        );
    }
}
