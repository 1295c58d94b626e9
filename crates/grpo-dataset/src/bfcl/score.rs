//! Checking one model output as BFCL does.

use grpo_rewards::{
    extract_function_calls, CompareOptions, ParamKey, Reference, ToolCall, Verdict,
};

use super::{Check, Shape};

/// BFCL's verdict on one output, with the reason when it is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Whether the output is right (BFCL's `valid`).
    pub valid: bool,
    /// Why it is wrong, named as BFCL's score files name it where the two
    /// correspond (`ast_decoder:decoder_failed`,
    /// `simple_function_checker:wrong_count`, `value_error`, …); `None`
    /// when right.
    pub error_type: Option<&'static str>,
    /// What was found, in words.
    pub reason: String,
    /// The calls decoded from the output, in Python call syntax.
    pub decoded: Vec<String>,
}

impl Outcome {
    fn right(reason: impl Into<String>, decoded: Vec<String>) -> Self {
        Self {
            valid: true,
            error_type: None,
            reason: reason.into(),
            decoded,
        }
    }

    fn wrong(error_type: &'static str, reason: impl Into<String>, decoded: Vec<String>) -> Self {
        Self {
            valid: false,
            error_type: Some(error_type),
            reason: reason.into(),
            decoded,
        }
    }
}

/// Scores one output of a category checked as `check`:
///
/// - [`Check::Irrelevance`]: right iff no call is decoded (prose, an empty
///   reply, or a call that does not parse).
/// - [`Check::Relevance`]: right iff at least one call is decoded; which
///   one is not checked, as BFCL has no possible answer for these.
/// - [`Check::Ast`]: the calls must match `reference` under `options`
///   (use [`CompareOptions::bfcl`]): the right number of calls (one for
///   simple and multiple, as many as expected for parallel, in any order),
///   each with the right function and allowed values, required parameters
///   given and no unknown ones.
///
/// ```
/// use grpo_dataset::bfcl::{score, Check, Shape};
/// use grpo_rewards::{CompareOptions, Reference};
///
/// let reference = Reference::from_answer("get_weather(city='Paris')")?;
/// let bfcl = CompareOptions::bfcl();
/// let check = Check::Ast(Shape::Simple);
/// assert!(score(check, "get_weather(city='paris')", &reference, &bfcl).valid);
/// let wrong = score(check, "get_weather(city='Rome')", &reference, &bfcl);
/// assert_eq!(wrong.error_type, Some("value_error"));
/// assert!(score(Check::Irrelevance, "I cannot help with that.", &reference, &bfcl).valid);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score(
    check: Check,
    output: &str,
    reference: &Reference,
    options: &CompareOptions,
) -> Outcome {
    let parsed = extract_function_calls(output);
    let calls = parsed.calls;
    let decoded: Vec<String> = calls.iter().map(ToString::to_string).collect();
    let why_none = || match parsed.errors.first() {
        Some(e) => format!("no call decoded ({e})"),
        None => "no call decoded".to_owned(),
    };
    match check {
        Check::Irrelevance if calls.is_empty() => Outcome::right("no call decoded", decoded),
        Check::Irrelevance => {
            let reason = format!("called {} although no function applies", decoded.join(", "));
            Outcome::wrong("irrelevance_error:decoder_success", reason, decoded)
        }
        Check::Relevance if calls.is_empty() => {
            Outcome::wrong("relevance_error:decoder_failed", why_none(), decoded)
        }
        Check::Relevance => {
            let reason = format!("called {}", decoded.join(", "));
            Outcome::right(reason, decoded)
        }
        Check::Ast(_) if calls.is_empty() => {
            Outcome::wrong("ast_decoder:decoder_failed", why_none(), decoded)
        }
        Check::Ast(shape) => ast(shape, &calls, decoded, reference, options),
    }
}

/// BFCL's error type for a wrong number of calls, by its checker's name.
fn wrong_count(shape: Shape) -> &'static str {
    match shape {
        Shape::Simple => "simple_function_checker:wrong_count",
        Shape::Multiple => "multiple_function_checker:wrong_count",
        Shape::Parallel | Shape::ParallelMultiple => {
            "parallel_function_checker_no_order:wrong_count"
        }
    }
}

fn ast(
    shape: Shape,
    calls: &[ToolCall],
    decoded: Vec<String>,
    reference: &Reference,
    options: &CompareOptions,
) -> Outcome {
    let expected = reference.calls();
    let want = if shape.is_parallel() {
        expected.len()
    } else {
        1
    };
    if calls.len() != want {
        let reason = format!("{} calls, expected {want}", calls.len());
        return Outcome::wrong(wrong_count(shape), reason, decoded);
    }
    let comparison = reference.compare(calls, options);
    if comparison.exact_match == 1.0 {
        return Outcome::right("matches the possible answer", decoded);
    }
    for m in &comparison.calls {
        let name = &expected[m.expected].name;
        let Some(p) = m.predicted else {
            let error_type = if shape.is_parallel() {
                "parallel_function_checker_no_order:cannot_find_match"
            } else {
                "simple_function_checker:wrong_func_name"
            };
            let reason = format!("no call to `{name}` (called {})", decoded.join(", "));
            return Outcome::wrong(error_type, reason, decoded);
        };
        let call = &calls[p];
        for check in &m.params {
            let value = || match &check.key {
                ParamKey::Name(n) => call.get(n).map(|v| format!("={v}")),
                ParamKey::Position(i) => call.positional.get(*i).map(|v| format!("={v}")),
            };
            let key = &check.key;
            let (error_type, reason) = match check.verdict {
                Verdict::Correct | Verdict::Omitted => continue,
                Verdict::Missing => (
                    "simple_function_checker:missing_required",
                    format!("`{name}`: parameter `{key}` is missing"),
                ),
                Verdict::Unexpected => (
                    "simple_function_checker:unexpected_param",
                    format!("`{name}`: unexpected parameter `{key}`"),
                ),
                Verdict::WrongType { expected, got } => (
                    "type_error",
                    format!(
                        "`{name}`: `{key}{}` is {got}, expected {expected}",
                        value().unwrap_or_default()
                    ),
                ),
                Verdict::WrongValue => (
                    "value_error",
                    format!(
                        "`{name}`: `{key}{}` is not an allowed value",
                        value().unwrap_or_default()
                    ),
                ),
            };
            return Outcome::wrong(error_type, reason, decoded);
        }
    }
    // Every expected call is right, so something extra was called (only
    // possible when the possible answer repeats a call).
    let extra: Vec<&str> = comparison
        .extra
        .iter()
        .map(|&i| decoded[i].as_str())
        .collect();
    let reason = format!("extra call {}", extra.join(", "));
    Outcome::wrong(wrong_count(shape), reason, decoded)
}
