//! The named rewards, as pure functions of one [`Evaluation`].
//!
//! Adding a built-in reward means adding a [`Reward`] variant, a row in
//! `TABLE` (its name, written nowhere else) and a match arm in
//! [`Reward::score`]; everything a reward may need (the raw completion,
//! the parse, the comparison, the reference) is in the [`Evaluation`].
//! Rewards defined outside the crate are [`CustomReward`](crate::CustomReward)s.

use std::fmt;
use std::str::FromStr;

use crate::compare::Comparison;
use crate::error::Error;
use crate::parse::ParseResult;
use crate::reference::Reference;

/// Every built-in reward with its `--reward-functions` name: the one place
/// the names are written.
const TABLE: [(Reward, &str); 8] = [
    (Reward::Exact, "tool_call_exact"),
    (Reward::Function, "tool_call_function"),
    (Reward::Params, "tool_call_params"),
    (Reward::Overall, "tool_call_overall"),
    (Reward::Parseable, "tool_call_parseable"),
    (Reward::Format, "tool_call_format"),
    (Reward::Concise, "tool_call_concise"),
    (Reward::FinalAnswer, "final_answer"),
];

/// The names [`RewardSet::new`](crate::RewardSet::new) accepts, in
/// [`Reward::ALL`] order.
///
/// ```
/// assert!(grpo_rewards::KNOWN_REWARDS.contains(&"tool_call_exact"));
/// ```
pub const KNOWN_REWARDS: &[&str] = &{
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].1;
        i += 1;
    }
    names
};

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
    /// `tool_call_concise`: 1 while the text outside the calls (reasoning
    /// blocks excluded) stays within a small allowance, falling linearly to
    /// 0 as it grows (see [`prose_chars`]): the guide's "negative reward for
    /// verbose outputs". Group advantages only see differences, so this
    /// score with a positive weight penalises verbosity exactly as a
    /// negative-valued penalty would.
    Concise,
    /// `final_answer`: 1 when the output gives the row's `final_answer`
    /// ([`FinalAnswer::matches`](crate::FinalAnswer::matches)), else 0;
    /// 0 for rows without one (or with a malformed one), so a group of
    /// such rows gets no advantage from it.
    FinalAnswer,
}

impl Reward {
    /// Every reward, in [`KNOWN_REWARDS`] order.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Reward::ALL.len(), grpo_rewards::KNOWN_REWARDS.len());
    /// ```
    pub const ALL: [Reward; TABLE.len()] = {
        let mut all = [Reward::Exact; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// The `--reward-functions` name.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Reward::Format.name(), "tool_call_format");
    /// ```
    pub const fn name(self) -> &'static str {
        let mut i = 0;
        while i < TABLE.len() {
            if TABLE[i].0 as u8 == self as u8 {
                return TABLE[i].1;
            }
            i += 1;
        }
        ""
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
                    indicator(abstains(p))
                }
            }
            Reward::Concise => conciseness(prose_chars(eval.completion), eval.reference),
            Reward::FinalAnswer => {
                let expected = eval.reference.row().and_then(|row| row.get("final_answer"));
                match expected.map(crate::FinalAnswer::from_json) {
                    Some(Ok(answer)) => indicator(answer.matches(eval.completion)),
                    _ => 0.0,
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

/// Prose characters [`Reward::Concise`] lets pass when calls are expected:
/// a short lead-in such as "Sure:" costs nothing.
pub const FREE_PROSE_WITH_CALLS: usize = 16;
/// Prose characters [`Reward::Concise`] lets pass when no call is expected,
/// where a short plain-text reply is the right answer.
pub const FREE_PROSE_WITHOUT_CALLS: usize = 200;
/// Prose characters beyond the allowance at which [`Reward::Concise`]
/// reaches 0.
pub const PROSE_FOR_ZERO: usize = 200;
/// Lines a call may span before [`prose_chars`] stops waiting for it to
/// close; bounds the work of one completion to a constant times its length.
const MAX_CALL_LINES: usize = 32;

/// `tool_call_concise` of a completion with `prose` prose characters.
fn conciseness(prose: usize, reference: &Reference) -> f32 {
    let free = if reference.expects_call() {
        FREE_PROSE_WITH_CALLS
    } else {
        FREE_PROSE_WITHOUT_CALLS
    };
    let excess = prose.saturating_sub(free) as f32;
    1.0 - (excess / PROSE_FOR_ZERO as f32).min(1.0)
}

/// Non-whitespace characters of `text` outside its calls, their envelopes,
/// code fences, end-of-turn tokens and `<think>` reasoning: the prose a
/// verbose model adds around its calls.
///
/// The text is read in chunks of whole lines: a chunk is one line, extended
/// line by line while it ends inside a call, an envelope or a fence (up to
/// 32 lines), and it is prose when the parser does not find it clean. A
/// line that mentions a call inside a sentence is prose, as it is for the
/// parser; a call cut off by the end of the text is not (that is
/// truncation, which `tool_call_format` scores).
///
/// ```
/// use grpo_rewards::prose_chars;
///
/// assert_eq!(prose_chars("<think>long reasoning</think>\nf(x=1)"), 0);
/// assert_eq!(prose_chars("Sure!\nf(x=1)\nDone."), "Sure!Done.".len());
/// assert_eq!(prose_chars("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>"), 0);
/// ```
pub fn prose_chars(text: &str) -> usize {
    let body = without_reasoning(text);
    let mut starts: Vec<usize> = vec![0];
    starts.extend(body.match_indices('\n').map(|(i, _)| i + 1));
    if starts.last() == Some(&body.len()) {
        starts.pop();
    }
    let end_of = |line: usize| starts.get(line + 1).copied().unwrap_or(body.len());
    let mut prose = 0;
    let mut line = 0;
    while line < starts.len() {
        let mut last = line;
        loop {
            let chunk = &body[starts[line]..end_of(last)];
            let parsed = crate::parse::extract_function_calls(chunk);
            let open = parsed.truncated
                || parsed
                    .errors
                    .iter()
                    .any(|e| matches!(e.kind, crate::parse::ParseErrorKind::Unclosed { .. }));
            let more = last + 1 < starts.len();
            if open && more && last - line + 1 < MAX_CALL_LINES {
                last += 1;
                continue;
            }
            let cut_by_the_end = parsed.truncated && !more;
            let mut is_prose = !parsed.clean && !cut_by_the_end;
            if is_prose && more && last == line && parsed.calls.is_empty() {
                // A call whose name stands on a line of its own, its
                // arguments on the next (GLM-4): the two lines are one call.
                let joined =
                    crate::parse::extract_function_calls(&body[starts[line]..end_of(line + 1)]);
                if joined.clean && !joined.calls.is_empty() {
                    last = line + 1;
                    is_prose = false;
                }
            }
            if is_prose {
                prose += chunk.chars().filter(|c| !c.is_whitespace()).count();
            }
            break;
        }
        line = last + 1;
    }
    prose
}

/// `text` without its `<think>` blocks (an unclosed one runs to the end; a
/// `</think>` with no opening ends a block the prompt opened).
fn without_reasoning(text: &str) -> String {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    let mut rest = text;
    if let Some(close) = rest.find(CLOSE) {
        if !rest[..close].contains(OPEN) {
            rest = &rest[close + CLOSE.len()..];
        }
    }
    let mut out = String::with_capacity(rest.len());
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&rest[..open]);
        out.push('\n');
        let inside = &rest[open + OPEN.len()..];
        rest = inside
            .find(CLOSE)
            .map_or("", |c| &inside[c + CLOSE.len()..]);
    }
    out.push_str(rest);
    out
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
    /// let broken = Evaluation::new("get_weather(city=\"Paris", &reference, &Default::default());
    /// assert_eq!(broken.comparison.exact_match, 0.0, "a broken call is not an abstention");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        completion: &'a str,
        reference: &'a Reference,
        options: &crate::compare::CompareOptions,
    ) -> Self {
        let parsed = crate::parse::extract_function_calls(completion);
        let mut comparison = crate::compare::compare(&parsed.calls, reference, options, false);
        if !reference.expects_call() && !abstains(&parsed) {
            // A broken call is an attempt to call, not an abstention: without
            // this, garbage such as `f(x=[1, 2)` would score as a perfect
            // "no tool applies" answer, and a policy learns to emit it.
            comparison.exact_match = 0.0;
            comparison.function_score = 0.0;
            comparison.params_score = 0.0;
            comparison.overall = 0.0;
        }
        Evaluation {
            completion,
            parsed,
            comparison,
            reference,
        }
    }
}

/// Whether an output declines to call: no call and no broken or truncated
/// call attempt (each of which leaves a parse error).
fn abstains(p: &ParseResult) -> bool {
    p.calls.is_empty() && p.errors.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rewards that score a "no tool applies" answer.
    const ABSTENTION_SCORED: [Reward; 5] = [
        Reward::Exact,
        Reward::Function,
        Reward::Params,
        Reward::Overall,
        Reward::Format,
    ];

    #[test]
    fn broken_calls_are_not_abstentions() {
        let nothing = Reference::from_answer("").unwrap();
        let opts = Default::default();
        // Outputs a policy produced for irrelevant requests: attempts to
        // call that do not parse.
        for garbage in [
            "calculate_average(numbers=[87, 97, 91)",
            "calculate_average(numbers=[20,\u{fffd}\")",
            "get_weather(city=\"Par",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {",
        ] {
            let eval = Evaluation::new(garbage, &nothing, &opts);
            for r in ABSTENTION_SCORED {
                assert_eq!(r.score(&eval), 0.0, "{r} of {garbage:?}");
            }
        }
        for reply in [
            "",
            "No tool can answer that.",
            "I can't look up lottery numbers.",
        ] {
            let eval = Evaluation::new(reply, &nothing, &opts);
            for r in ABSTENTION_SCORED {
                assert_eq!(r.score(&eval), 1.0, "{r} of {reply:?}");
            }
        }
    }

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
        // exact, function, params, overall, parseable, format, concise,
        // final_answer (0: these rows have none)
        assert_eq!(
            scores("get_weather(city='Paris')", ""),
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(
            scores("No tool fits this request.", ""),
            [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
        );
        assert_eq!(
            scores("<tool_call>{\"name\": ", ""),
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
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

    #[test]
    fn concise_counts_only_the_prose_around_calls() {
        let concise = |completion: &str, answer: &str| scores(completion, answer)[6];
        // Calls in any envelope, reasoning and end-of-turn tokens are free.
        assert_eq!(prose_chars("f(x=1)\ng(y='a')<|im_end|>"), 0);
        assert_eq!(
            prose_chars(
                "<think>\nThe user wants f.\nSo I call it.\n</think>\n```python\nf(x=1)\n```"
            ),
            0
        );
        assert_eq!(
            prose_chars("[\n  {\"name\": \"f\",\n   \"arguments\": {\"x\": 1}}\n]"),
            0,
            "a call spanning lines is one chunk"
        );
        // A call inside a sentence is prose, as the parser reads it.
        assert_eq!(
            prose_chars("I would call f(x=1) here."),
            "Iwouldcallf(x=1)here.".len()
        );
        // Truncation is not verbosity.
        assert_eq!(prose_chars("f(x=1)\ng(y='a"), 0);
        assert_eq!(concise("Sure:\nf(x=1)", "f(x=1)"), 1.0);
        let rambling = format!("{}\nf(x=1)", "This is a very long explanation. ".repeat(20));
        assert_eq!(concise(&rambling, "f(x=1)"), 0.0);
        let some = format!(
            "{}\nf(x=1)",
            "a".repeat(FREE_PROSE_WITH_CALLS + PROSE_FOR_ZERO / 2)
        );
        assert!((concise(&some, "f(x=1)") - 0.5).abs() < 1e-6);
        // With nothing to call, a short reply is the answer and costs nothing.
        assert_eq!(concise("No listed function can book a flight.", ""), 1.0);
    }

    #[test]
    fn concise_work_stays_linear_on_unclosed_envelopes() {
        let text = "<tool_call>\n".repeat(20_000);
        // Each chunk stops waiting after MAX_CALL_LINES lines.
        assert!(prose_chars(&text) > 0);
    }

    #[test]
    fn final_answer_scores_the_rows_final_answer_and_nothing_else() {
        let row = |v: serde_json::Value| {
            let mut row = serde_json::Map::new();
            row.insert("final_answer".into(), v);
            Reference::from_answer("calculate_factorial(n=6)")
                .unwrap()
                .with_row(row)
        };
        let score = |completion: &str, reference: &Reference| {
            Reward::FinalAnswer.score(&Evaluation::new(completion, reference, &Default::default()))
        };
        let numeric = row(serde_json::json!(720));
        assert_eq!(score("The factorial of 6 is 720.", &numeric), 1.0);
        assert_eq!(score("It is 721.", &numeric), 0.0);
        assert_eq!(score("calculate_factorial(n=6)", &numeric), 0.0);
        let words = row(serde_json::json!("Paris"));
        assert_eq!(score("paris!", &words), 1.0);
        // No row, no field, or a malformed one: nothing to match.
        let bare = Reference::from_answer("f()").unwrap();
        assert_eq!(score("720", &bare), 0.0);
        let malformed = row(serde_json::json!({"value": "x", "match": "numeric"}));
        assert_eq!(score("x", &malformed), 0.0);
        assert_eq!(
            "final_answer".parse::<Reward>().unwrap(),
            Reward::FinalAnswer
        );
    }
}
