//! Typed equality of values, and the options that tune it.

use crate::call::Value;

/// How numbers compare.
///
/// ```
/// use grpo_rewards::{compare_with, CompareOptions, NumberMode, ToolCall};
///
/// let predicted = [ToolCall::new("f").arg("n", 5.0)];
/// let expected = [ToolCall::new("f").arg("n", 5)];
/// let strict = CompareOptions { numbers: NumberMode::Strict, ..CompareOptions::default() };
/// assert_eq!(compare_with(&predicted, &expected, &CompareOptions::default()).exact_match, 1.0);
/// assert_eq!(compare_with(&predicted, &expected, &strict).exact_match, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberMode {
    /// An int equals a float of the same value: `5 == 5.0`.
    #[default]
    Lenient,
    /// Ints and floats never compare equal.
    Strict,
    /// A predicted int equals an expected float of the same value, but a
    /// predicted float never equals an expected int, as the Berkeley
    /// Function Calling Leaderboard's checker has it (`5` for `5.0` is
    /// right, `5.0` for `5` is a type error).
    ///
    /// ```
    /// use grpo_rewards::{compare_with, CompareOptions, NumberMode, ToolCall};
    ///
    /// let bfcl = CompareOptions { numbers: NumberMode::IntAsFloat, ..CompareOptions::default() };
    /// let int = [ToolCall::new("f").arg("x", 5)];
    /// let float = [ToolCall::new("f").arg("x", 5.0)];
    /// assert_eq!(compare_with(&int, &float, &bfcl).exact_match, 1.0);
    /// assert_eq!(compare_with(&float, &int, &bfcl).exact_match, 0.0);
    /// ```
    IntAsFloat,
}

/// How strings compare.
///
/// ```
/// use grpo_rewards::{compare_with, CompareOptions, StringMode, ToolCall};
///
/// let predicted = [ToolCall::new("f").arg("city", "new york")];
/// let expected = [ToolCall::new("f").arg("city", "New-York")];
/// let normalized = CompareOptions { strings: StringMode::Normalized, ..CompareOptions::default() };
/// assert_eq!(compare_with(&predicted, &expected, &CompareOptions::default()).exact_match, 0.0);
/// assert_eq!(compare_with(&predicted, &expected, &normalized).exact_match, 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringMode {
    /// Strings must be identical.
    #[default]
    Exact,
    /// Case, whitespace and ASCII punctuation are ignored.
    Normalized,
    /// The Berkeley Function Calling Leaderboard's `standardize_string`:
    /// lower-cased, with spaces and the characters `,./-_*^` removed, and
    /// `'` read as `"`. Other punctuation and whitespace still count.
    ///
    /// ```
    /// use grpo_rewards::{compare_with, CompareOptions, StringMode, ToolCall};
    ///
    /// let bfcl = CompareOptions { strings: StringMode::Bfcl, ..CompareOptions::default() };
    /// let expected = [ToolCall::new("f").arg("date", "April 1, 2024")];
    /// let close = [ToolCall::new("f").arg("date", "april 1 2024")];
    /// let other = [ToolCall::new("f").arg("date", "April 1 (2024)")];
    /// assert_eq!(compare_with(&close, &expected, &bfcl).exact_match, 1.0);
    /// assert_eq!(compare_with(&other, &expected, &bfcl).exact_match, 0.0);
    /// ```
    Bfcl,
}

/// Options for comparing values: the defaults the rewards use, or
/// [`CompareOptions::bfcl`] for numbers comparable with the Berkeley
/// Function Calling Leaderboard.
///
/// ```
/// use grpo_rewards::{CompareOptions, NumberMode, StringMode};
///
/// let options = CompareOptions::default();
/// assert_eq!(options.numbers, NumberMode::Lenient);
/// assert_eq!(options.strings, StringMode::Exact);
/// assert_eq!("bfcl".parse::<CompareOptions>()?, CompareOptions::bfcl());
/// assert_eq!("default".parse::<CompareOptions>()?, options);
/// assert!("fuzzy".parse::<CompareOptions>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompareOptions {
    /// How ints and floats compare.
    pub numbers: NumberMode,
    /// How strings compare.
    pub strings: StringMode,
}

impl CompareOptions {
    /// The names [`FromStr`](std::str::FromStr) accepts: `default` and
    /// `bfcl`.
    pub const NAMES: [&'static str; 2] = ["default", "bfcl"];

    /// The checking of the Berkeley Function Calling Leaderboard's AST
    /// checker: strings under [`StringMode::Bfcl`], numbers under
    /// [`NumberMode::IntAsFloat`]. Tuples are read as lists in every mode.
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, NumberMode, StringMode};
    ///
    /// let bfcl = CompareOptions::bfcl();
    /// assert_eq!((bfcl.numbers, bfcl.strings), (NumberMode::IntAsFloat, StringMode::Bfcl));
    /// ```
    pub fn bfcl() -> Self {
        CompareOptions {
            numbers: NumberMode::IntAsFloat,
            strings: StringMode::Bfcl,
        }
    }
}

impl std::str::FromStr for CompareOptions {
    type Err = String;

    /// `default` or `bfcl`.
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "default" => Ok(CompareOptions::default()),
            "bfcl" => Ok(CompareOptions::bfcl()),
            other => Err(format!(
                "unknown match mode `{other}` (known: {})",
                CompareOptions::NAMES.join(", ")
            )),
        }
    }
}

/// Whether predicted `a` equals expected `b` under `options`: typed
/// (`"5" != 5`), lists in order, dicts key by key in any order, calls by
/// name and arguments.
pub(crate) fn values_match(a: &Value, b: &Value, options: &CompareOptions) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(i), Value::Float(x)) => {
            options.numbers != NumberMode::Strict && int_equals_float(*i, *x)
        }
        (Value::Float(x), Value::Int(i)) => {
            options.numbers == NumberMode::Lenient && int_equals_float(*i, *x)
        }
        (Value::Str(x), Value::Str(y)) => match options.strings {
            StringMode::Exact => x == y,
            StringMode::Normalized => normalized(x).eq(normalized(y)),
            StringMode::Bfcl => bfcl_standardized(x).eq(bfcl_standardized(y)),
        },
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_match(a, b, options))
        }
        (Value::Dict(x), Value::Dict(y)) => entries_match(x, y, options),
        (Value::Call(x), Value::Call(y)) => {
            x.name == y.name
                && x.positional.len() == y.positional.len()
                && x.positional
                    .iter()
                    .zip(&y.positional)
                    .all(|(a, b)| values_match(a, b, options))
                && entries_match(&x.args, &y.args, options)
        }
        _ => false,
    }
}

/// Whether predicted `v` matches the allowed value `allowed` of a possible
/// answer: equal to it, or, when `allowed` is in the Berkeley Function
/// Calling Leaderboard's nested form, matching what that form describes.
///
/// BFCL writes the allowed values of a dict-valued parameter as dicts of
/// lists of allowed values, recursively: `{"min": [300000], "max": [400000,
/// ""]}` is a dict whose `min` is 300000 and whose `max` is 400000 or
/// absent (`""`), and no other key. A list of such dicts is a list whose
/// items match them in order. The literal reading is tried first, so a
/// dict that really holds lists still matches itself.
pub(crate) fn allowed_match(v: &Value, allowed: &Value, options: &CompareOptions) -> bool {
    values_match(v, allowed, options) || pattern_match(v, allowed, options)
}

/// Whether `entries` is a nested possible answer: a non-empty dict whose
/// every value is a non-empty list of alternatives.
fn is_dict_pattern(entries: &[(String, Value)]) -> bool {
    !entries.is_empty()
        && entries
            .iter()
            .all(|(_, v)| matches!(v, Value::List(alternatives) if !alternatives.is_empty()))
}

/// Whether `v` is a nested possible answer, or a list holding one.
fn is_pattern(v: &Value) -> bool {
    match v {
        Value::Dict(entries) => is_dict_pattern(entries),
        Value::List(items) => items.iter().any(is_pattern),
        _ => false,
    }
}

fn pattern_match(v: &Value, pattern: &Value, options: &CompareOptions) -> bool {
    match (v, pattern) {
        (Value::Dict(got), Value::Dict(wanted)) if is_dict_pattern(wanted) => {
            let known = got.iter().all(|(k, _)| wanted.iter().any(|(w, _)| w == k));
            known
                && wanted.iter().all(|(key, alternatives)| {
                    let Value::List(alternatives) = alternatives else {
                        return false;
                    };
                    match got.iter().find(|(k, _)| k == key) {
                        Some((_, given)) => alternatives
                            .iter()
                            .any(|a| allowed_match(given, a, options)),
                        None => alternatives
                            .iter()
                            .any(|a| matches!(a, Value::Str(s) if s.is_empty())),
                    }
                })
        }
        (Value::List(got), Value::List(wanted)) if wanted.iter().any(is_pattern) => {
            got.len() == wanted.len()
                && got
                    .iter()
                    .zip(wanted)
                    .all(|(g, w)| allowed_match(g, w, options))
        }
        _ => false,
    }
}

/// Exact equality of an int and a float, without rounding the int.
fn int_equals_float(i: i64, x: f64) -> bool {
    // Every f64 in [-2^63, 2^63) with no fraction converts to i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x) && x as i64 == i
}

/// Same keys (in any order) with matching values.
fn entries_match(x: &[(String, Value)], y: &[(String, Value)], options: &CompareOptions) -> bool {
    x.len() == y.len()
        && x.iter().all(|(k, a)| {
            y.iter()
                .find(|(k2, _)| k2 == k)
                .is_some_and(|(_, b)| values_match(a, b, options))
        })
}

/// The characters that normalized string comparison looks at.
fn normalized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .flat_map(char::to_lowercase)
}

/// BFCL's `standardize_string`: spaces and `,./-_*^` removed, lower-cased,
/// `'` as `"`.
fn bfcl_standardized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| !matches!(c, ' ' | ',' | '.' | '/' | '-' | '_' | '*' | '^'))
        .flat_map(char::to_lowercase)
        .map(|c| if c == '\'' { '"' } else { c })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::ToolCall;

    fn opts() -> CompareOptions {
        CompareOptions::default()
    }

    #[test]
    fn typed_value_equality() {
        let o = opts();
        assert!(values_match(&Value::Int(5), &Value::Float(5.0), &o));
        assert!(!values_match(&Value::Int(5), &Value::Float(5.5), &o));
        assert!(!values_match(&Value::from("5"), &Value::Int(5), &o));
        assert!(!values_match(&Value::Bool(true), &Value::Int(1), &o));
        assert!(!values_match(&Value::Null, &Value::from(""), &o));
        assert!(!values_match(
            &Value::Int(i64::MAX),
            &Value::Float(9.223_372_036_854_776e18),
            &o
        ));
        let l12 = Value::List(vec![Value::Int(1), Value::Int(2)]);
        let l21 = Value::List(vec![Value::Int(2), Value::Int(1)]);
        assert!(!values_match(&l12, &l21, &o), "lists are ordered");
        let d1 = Value::Dict(vec![
            ("a".into(), Value::Int(1)),
            ("b".into(), Value::Int(2)),
        ]);
        let d2 = Value::Dict(vec![
            ("b".into(), Value::Float(2.0)),
            ("a".into(), Value::Int(1)),
        ]);
        let d3 = Value::Dict(vec![("a".into(), Value::Int(1))]);
        assert!(values_match(&d1, &d2, &o), "dicts compare key by key");
        assert!(!values_match(&d1, &d3, &o));
        let c1 = Value::from(ToolCall::new("g").arg("x", 1).arg("y", 2));
        let c2 = Value::from(ToolCall::new("g").arg("y", 2).arg("x", 1.0));
        assert!(values_match(&c1, &c2, &o));
    }

    #[test]
    fn nested_possible_answers_expand_recursively() {
        let o = opts();
        let json = |j: serde_json::Value| Value::from(&j);
        let budget = json(serde_json::json!({"min": [300000], "max": [400000, ""]}));
        assert!(allowed_match(
            &json(serde_json::json!({"min": 300000, "max": 400000})),
            &budget,
            &o
        ));
        assert!(allowed_match(
            &json(serde_json::json!({"min": 300000.0})),
            &budget,
            &o
        ));
        assert!(
            !allowed_match(&json(serde_json::json!({"max": 400000})), &budget, &o),
            "min is required"
        );
        assert!(!allowed_match(
            &json(serde_json::json!({"min": 300000, "cap": 1})),
            &budget,
            &o
        ));
        assert!(!allowed_match(
            &json(serde_json::json!({"min": 1})),
            &budget,
            &o
        ));
        assert!(!values_match(
            &json(serde_json::json!({"min": 300000})),
            &budget,
            &o
        ));
        // Deeper levels, and lists of such dicts.
        let trips = json(serde_json::json!([
            {"city": ["Paris", "Paris, France"], "dates": [{"from": ["2024-05-01"], "to": ["2024-05-03", ""]}]},
            {"city": ["Rome"], "dates": [""]}
        ]));
        let good = json(serde_json::json!([
            {"city": "Paris, France", "dates": {"from": "2024-05-01"}},
            {"city": "Rome"}
        ]));
        assert!(allowed_match(&good, &trips, &o));
        let swapped = json(
            serde_json::json!([{"city": "Rome"}, {"city": "Paris", "dates": {"from": "2024-05-01"}}]),
        );
        assert!(!allowed_match(&swapped, &trips, &o), "lists stay ordered");
        // A literal dict of lists still matches itself.
        let literal = json(serde_json::json!({"tags": ["a", "b"]}));
        assert!(allowed_match(&literal, &literal, &o));
    }

    #[test]
    fn bfcl_mode() {
        let o = CompareOptions::bfcl();
        let s = |x: &str| Value::from(x);
        assert!(values_match(
            &s("San Francisco, CA"),
            &s("san francisco ca"),
            &o
        ));
        assert!(values_match(&s("2x^2 - 1"), &s("2x2-1"), &o));
        assert!(values_match(&s("it's"), &s("it\"s"), &o));
        assert!(!values_match(&s("Paris!"), &s("Paris"), &o), "! is kept");
        assert!(!values_match(&s("a\tb"), &s("ab"), &o), "only spaces go");
        assert!(values_match(&Value::Int(5), &Value::Float(5.0), &o));
        assert!(!values_match(&Value::Float(5.0), &Value::Int(5), &o));
        let strings = |v: &[&str]| Value::List(v.iter().map(|x| s(x)).collect());
        assert!(values_match(
            &strings(&["New York"]),
            &strings(&["newyork"]),
            &o
        ));
    }

    #[test]
    fn normalized_strings() {
        let o = CompareOptions {
            strings: StringMode::Normalized,
            ..opts()
        };
        assert!(values_match(
            &Value::from("San Francisco, CA"),
            &Value::from("san francisco ca"),
            &o
        ));
        assert!(values_match(&Value::from("ÉTÉ"), &Value::from("été"), &o));
        assert!(!values_match(&Value::from("abc"), &Value::from("abd"), &o));
    }
}
