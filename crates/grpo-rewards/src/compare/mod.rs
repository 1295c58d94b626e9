//! [`compare_function_calls`]: how close predicted calls are to the
//! expected ones, with a verdict for every parameter.
//!
//! The rules (each has an example in the crate docs):
//!
//! - Calls pair up one-to-one, in any order, by an optimal assignment that
//!   maximises the total parameter credit (`assign.rs`). A duplicate call
//!   is an extra call.
//! - Parameter credit of a pair = correct parameters / parameters counted,
//!   where every expected parameter counts unless it is optional and left
//!   out, and every unexpected predicted parameter counts (and is wrong),
//!   unless it equals its schema default. A pair with nothing to count
//!   (`f()` against `f()`) gets 1.
//! - `function_score`: F1 of the multisets of function names.
//! - `params_score`: sum of pair credits / max(#predicted, #expected).
//! - `exact_match`: 1 iff every expected call pairs with a fully correct
//!   predicted call and nothing extra was called.
//! - `overall` = 0.4·function + 0.4·params + 0.2·exact.
//! - No call expected: exact, function and params are 1 iff nothing was
//!   called.

mod params;
mod values;

use crate::assign::max_weight_assignment;
use crate::call::ToolCall;
use crate::reference::{ExpectedCall, ParamKey, Reference};
use params::param_credit;

pub(crate) use values::{allowed_match, values_match};
pub use values::{CompareOptions, NumberMode, StringMode};

/// The verdict on one parameter of a paired call.
///
/// ```
/// use grpo_rewards::{compare_function_calls, ToolCall, Verdict};
///
/// let predicted = [ToolCall::new("f").arg("a", "5").arg("c", 1)];
/// let expected = [ToolCall::new("f").arg("a", 5).arg("b", 2)];
/// let verdicts: Vec<_> = compare_function_calls(&predicted, &expected).calls[0]
///     .params
///     .iter()
///     .map(|p| (p.key.to_string(), p.verdict))
///     .collect();
/// assert_eq!(
///     verdicts,
///     [
///         ("a".to_string(), Verdict::WrongType { expected: "int", got: "str" }),
///         ("b".to_string(), Verdict::Missing),
///         ("c".to_string(), Verdict::Unexpected),
///     ]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The value matches an allowed value.
    Correct,
    /// Optional and left out (or given its schema default): not counted.
    Omitted,
    /// Required but left out.
    Missing,
    /// Given but not expected (or given twice).
    Unexpected,
    /// Given with a type no allowed value has (`"5"` for `5`).
    WrongType {
        /// The type of the (first) allowed value.
        expected: &'static str,
        /// The type given.
        got: &'static str,
    },
    /// Given with the right type but a wrong value.
    WrongValue,
}

/// One parameter's verdict.
///
/// ```
/// use grpo_rewards::{compare_function_calls, ToolCall, Verdict};
///
/// let calls = [ToolCall::new("f").arg("x", 1)];
/// let check = &compare_function_calls(&calls, &calls).calls[0].params[0];
/// assert_eq!((check.key.to_string(), check.verdict), ("x".into(), Verdict::Correct));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamCheck {
    /// The parameter.
    pub key: ParamKey,
    /// What was found.
    pub verdict: Verdict,
}

/// How one expected call fared.
///
/// ```
/// use grpo_rewards::{compare_function_calls, ToolCall};
///
/// let predicted = [ToolCall::new("g"), ToolCall::new("f").arg("x", 2)];
/// let expected = [ToolCall::new("f").arg("x", 1)];
/// let m = &compare_function_calls(&predicted, &expected).calls[0];
/// assert_eq!((m.expected, m.predicted), (0, Some(1)));
/// assert_eq!(m.score, 0.0);
/// assert!(!m.is_correct());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CallMatch {
    /// Index of the expected call.
    pub expected: usize,
    /// Index of the predicted call paired with it: same function name;
    /// `None` when no predicted call was left for it.
    pub predicted: Option<usize>,
    /// Parameter credit in [0, 1]; 0 when unpaired.
    pub score: f32,
    /// Verdicts: expected parameters in order, then unexpected ones.
    pub params: Vec<ParamCheck>,
}

impl CallMatch {
    /// Whether the expected call was paired with a fully correct call.
    ///
    /// ```
    /// use grpo_rewards::{compare_function_calls, ToolCall};
    ///
    /// let calls = [ToolCall::new("f")];
    /// assert!(compare_function_calls(&calls, &calls).calls[0].is_correct());
    /// ```
    pub fn is_correct(&self) -> bool {
        self.predicted.is_some() && self.score == 1.0
    }
}

/// The result of comparing predicted calls with expected ones. All scores
/// are in [0, 1].
///
/// ```
/// use grpo_rewards::{compare_function_calls, extract_function_calls};
///
/// let predicted = extract_function_calls("f(a=1)\nf(a=1)").calls;
/// let expected = extract_function_calls("f(a=1)").calls;
/// let c = compare_function_calls(&predicted, &expected);
/// assert_eq!(c.exact_match, 0.0, "the duplicate is an extra call");
/// assert!((c.function_score - 2.0 / 3.0).abs() < 1e-6);
/// assert_eq!(c.params_score, 0.5);
/// assert_eq!(c.extra, [1]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// 1 iff every expected call pairs with a fully correct predicted call
    /// and no extra call was made.
    pub exact_match: f32,
    /// F1 of the multisets of function names.
    pub function_score: f32,
    /// Sum of paired calls' parameter credit / max(#predicted, #expected).
    pub params_score: f32,
    /// 0.4·function + 0.4·params + 0.2·exact.
    pub overall: f32,
    /// One entry per expected call, in order.
    pub calls: Vec<CallMatch>,
    /// Indices of predicted calls paired with no expected call.
    pub extra: Vec<usize>,
}

/// Compares predicted calls with expected ones under the default options
/// (lenient numbers, exact strings). The expected calls' parameters are all
/// required; for alternatives, optional parameters and schemas use a
/// [`Reference`].
///
/// ```
/// use grpo_rewards::{compare_function_calls, extract_function_calls};
///
/// let predicted = extract_function_calls("g(y=2)\nf(x=1)").calls;
/// let expected = extract_function_calls("f(x=1)\ng(y=2)").calls;
/// let c = compare_function_calls(&predicted, &expected);
/// assert_eq!(c.exact_match, 1.0, "order does not matter");
/// assert_eq!(c.overall, 1.0);
/// ```
pub fn compare_function_calls(predicted: &[ToolCall], expected: &[ToolCall]) -> Comparison {
    compare_with(predicted, expected, &CompareOptions::default())
}

/// [`compare_function_calls`] with explicit options.
///
/// ```
/// use grpo_rewards::{compare_with, CompareOptions, ToolCall};
///
/// let calls = [ToolCall::new("f").arg("x", 1)];
/// assert_eq!(compare_with(&calls, &calls, &CompareOptions::default()).overall, 1.0);
/// ```
pub fn compare_with(
    predicted: &[ToolCall],
    expected: &[ToolCall],
    options: &CompareOptions,
) -> Comparison {
    compare(predicted, &Reference::from_calls(expected), options, true)
}

/// A tie-break that prefers pairing calls with the same name even when
/// their parameters earn nothing, small enough never to outweigh credit.
const SAME_NAME_BONUS: f64 = 1e-9;

/// The comparison behind every public entry point; `details` fills
/// [`Comparison::calls`] and [`Comparison::extra`].
pub(crate) fn compare(
    predicted: &[ToolCall],
    reference: &Reference,
    options: &CompareOptions,
    details: bool,
) -> Comparison {
    let expected = reference.calls();
    let (n, m) = (expected.len(), predicted.len());
    if n == 0 {
        let score = if m == 0 { 1.0 } else { 0.0 };
        return Comparison {
            exact_match: score,
            function_score: score,
            params_score: score,
            overall: score,
            calls: Vec::new(),
            extra: if details {
                (0..m).collect()
            } else {
                Vec::new()
            },
        };
    }

    let function_score = 2.0 * name_overlap(predicted, expected) as f64 / (n + m) as f64;

    // Credit for every same-name pair, then the best pairing.
    let mut credits = vec![None; n * m];
    let mut weights = vec![0.0; n * m];
    for (i, e) in expected.iter().enumerate() {
        for (j, p) in predicted.iter().enumerate() {
            if p.name == e.name {
                let credit = param_credit(
                    p,
                    e,
                    reference.tool(&e.name),
                    options,
                    reference.nested(),
                    None,
                );
                weights[i * m + j] = credit.score() + SAME_NAME_BONUS;
                credits[i * m + j] = Some(credit);
            }
        }
    }
    let pairing = max_weight_assignment(&weights, n, m);

    let mut credit_sum = 0.0;
    let mut all_correct = n == m;
    let mut calls = Vec::with_capacity(if details { n } else { 0 });
    let mut paired = vec![false; if details { m } else { 0 }];
    for (i, j) in pairing.into_iter().enumerate() {
        let pair = j.and_then(|j| credits[i * m + j].map(|c| (j, c)));
        let score = pair.map_or(0.0, |(_, c)| c.score());
        credit_sum += score;
        all_correct &= pair.is_some_and(|(_, c)| c.correct == c.counted);
        if details {
            let mut params = Vec::new();
            if let Some((j, _)) = pair {
                paired[j] = true;
                let tool = reference.tool(&expected[i].name);
                param_credit(
                    &predicted[j],
                    &expected[i],
                    tool,
                    options,
                    reference.nested(),
                    Some(&mut params),
                );
            }
            calls.push(CallMatch {
                expected: i,
                predicted: pair.map(|(j, _)| j),
                score: score as f32,
                params,
            });
        }
    }
    let exact_match = if all_correct { 1.0 } else { 0.0 };
    let params_score = credit_sum / n.max(m) as f64;
    let overall = 0.4 * function_score + 0.4 * params_score + 0.2 * exact_match;
    Comparison {
        exact_match: exact_match as f32,
        function_score: function_score as f32,
        params_score: params_score as f32,
        overall: (overall as f32).min(1.0),
        calls,
        extra: (0..paired.len()).filter(|&j| !paired[j]).collect(),
    }
}

/// Size of the intersection of the two multisets of function names.
fn name_overlap(predicted: &[ToolCall], expected: &[ExpectedCall]) -> usize {
    let mut taken = vec![false; predicted.len()];
    let mut overlap = 0;
    for e in expected {
        let found = predicted
            .iter()
            .enumerate()
            .position(|(j, p)| !taken[j] && p.name == e.name);
        if let Some(j) = found {
            taken[j] = true;
            overlap += 1;
        }
    }
    overlap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_would_fail_this() {
        // Expected f(a=1) and f(a=1, b=2); a greedy pass pairs the first
        // expected call with f(a=1, b=2) (1 of 2 parameters right either
        // way), leaving f(a=1) against f(a=1, b=2).
        let expected = [
            ToolCall::new("f").arg("a", 1),
            ToolCall::new("f").arg("a", 1).arg("b", 2),
        ];
        let predicted = [
            ToolCall::new("f").arg("a", 1).arg("b", 2),
            ToolCall::new("f").arg("a", 1),
        ];
        let c = compare_function_calls(&predicted, &expected);
        assert_eq!(c.exact_match, 1.0);
        assert_eq!(c.calls[0].predicted, Some(1));
        assert_eq!(c.calls[1].predicted, Some(0));
    }

    #[test]
    fn params_credit_divides_by_the_larger_call_count() {
        let expected = [ToolCall::new("f").arg("a", 1).arg("b", 2)];
        let predicted = [
            ToolCall::new("f").arg("a", 1).arg("b", 3),
            ToolCall::new("g"),
        ];
        let c = compare_function_calls(&predicted, &expected);
        assert_eq!(c.params_score, 0.25);
        assert!((c.function_score - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(c.exact_match, 0.0);
        assert!((c.overall - (0.4 * 2.0 / 3.0 + 0.4 * 0.25)).abs() < 1e-6);
        assert_eq!(c.extra, [1]);
    }

    #[test]
    fn wrong_function_gets_no_param_credit() {
        let expected = [ToolCall::new("f").arg("a", 1)];
        let predicted = [ToolCall::new("g").arg("a", 1)];
        let c = compare_function_calls(&predicted, &expected);
        assert_eq!(
            (c.function_score, c.params_score, c.exact_match),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(c.calls[0].predicted, None);
        assert_eq!(c.extra, [0]);
    }

    #[test]
    fn irrelevance() {
        let none: [ToolCall; 0] = [];
        let c = compare_function_calls(&none, &none);
        assert_eq!(
            (c.exact_match, c.function_score, c.params_score, c.overall),
            (1.0, 1.0, 1.0, 1.0)
        );
        let c = compare_function_calls(&[ToolCall::new("f")], &none);
        assert_eq!(
            (c.exact_match, c.function_score, c.params_score, c.overall),
            (0.0, 0.0, 0.0, 0.0)
        );
        let c = compare_function_calls(&none, &[ToolCall::new("f")]);
        assert_eq!(c.overall, 0.0);
    }

    #[test]
    fn positional_arguments_compare_by_position_without_a_schema() {
        let expected = [ToolCall::new("pow").positional(2).positional(10)];
        let same = [ToolCall::new("pow").positional(2.0).positional(10)];
        let swapped = [ToolCall::new("pow").positional(10).positional(2)];
        assert_eq!(compare_function_calls(&same, &expected).exact_match, 1.0);
        assert_eq!(
            compare_function_calls(&swapped, &expected).params_score,
            0.0
        );
    }

    #[test]
    fn repeated_keyword_is_unexpected() {
        let expected = [ToolCall::new("f").arg("a", 1)];
        let predicted = [ToolCall::new("f").arg("a", 1).arg("a", 2)];
        let c = compare_function_calls(&predicted, &expected);
        assert_eq!(c.params_score, 0.5);
        assert_eq!(c.calls[0].params[1].verdict, Verdict::Unexpected);
    }
}
