//! [`FinalAnswer`]: the expected last answer of a multi-turn task (the
//! number or words the model reports after reading its tools' results),
//! and how a message is matched against it.

use serde_json::{json, Value};

/// How a message is compared with the expected final answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnswerMatch {
    /// The message, trimmed, equals the answer, trimmed.
    Exact,
    /// Equal after lowercasing, turning punctuation into spaces and
    /// collapsing whitespace (`"Paris."` matches `"paris"`).
    Normalized,
    /// The last number in the message is within `tolerance` of the answer:
    /// `|x - y| <= tolerance * max(1, |y|)`, absolute near zero and
    /// relative for large values. Prose around the number is allowed.
    Numeric {
        /// The allowed difference, as a fraction (absolute below 1).
        tolerance: f64,
    },
}

const MATCH_WORDS: &str = "`match` must be \"exact\", \"normalized\" or \"numeric\"";

/// The tolerance of a numeric answer given as a bare JSON number.
pub const DEFAULT_TOLERANCE: f64 = 1e-6;

/// The expected final answer of a task.
///
/// In a record it is the optional field `final_answer`: a string (matched
/// [`AnswerMatch::Normalized`]), a number (matched
/// [`AnswerMatch::Numeric`] with [`DEFAULT_TOLERANCE`]), or an object
/// `{"value": "720", "match": "exact" | "normalized" | "numeric",
/// "tolerance": 0.01}`.
///
/// ```
/// use grpo_rewards::FinalAnswer;
/// use serde_json::json;
///
/// let answer = FinalAnswer::from_json(&json!({"value": "720", "match": "numeric"}))?;
/// assert!(answer.matches("The factorial of 6 is 720."));
/// assert!(!answer.matches("It is 721."));
/// let city = FinalAnswer::from_json(&json!("Paris"))?;
/// assert!(city.matches("<think>Its capital.</think>paris."));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FinalAnswer {
    /// The answer as written in the record.
    pub value: String,
    /// How messages are compared with it.
    pub matching: AnswerMatch,
}

impl FinalAnswer {
    /// Reads the record form (see the type's docs). The error says what
    /// to write instead.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        match json {
            Value::String(s) => Ok(FinalAnswer {
                value: s.clone(),
                matching: AnswerMatch::Normalized,
            }),
            Value::Number(n) => Ok(FinalAnswer {
                value: n.to_string(),
                matching: AnswerMatch::Numeric {
                    tolerance: DEFAULT_TOLERANCE,
                },
            }),
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| !["value", "match", "tolerance"].contains(&k.as_str())) {
                    return Err(format!("unknown key `{key}`; the keys are value, match and tolerance"));
                }
                let (value, numeric_value) = match map.get("value") {
                    Some(Value::String(s)) => (s.clone(), false),
                    Some(Value::Number(n)) => (n.to_string(), true),
                    _ => return Err("`value` must be a string or a number".into()),
                };
                let tolerance = match map.get("tolerance") {
                    None => None,
                    Some(t) => match t.as_f64() {
                        Some(t) if t.is_finite() && t >= 0.0 => Some(t),
                        _ => return Err("`tolerance` must be a number ≥ 0".into()),
                    },
                };
                let how = match map.get("match") {
                    None => None,
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(_) => return Err(MATCH_WORDS.into()),
                };
                let numeric = |t: Option<f64>| AnswerMatch::Numeric {
                    tolerance: t.unwrap_or(DEFAULT_TOLERANCE),
                };
                let matching = match (how, tolerance) {
                    (Some("exact"), None) => AnswerMatch::Exact,
                    (Some("normalized"), None) => AnswerMatch::Normalized,
                    (None, None) if !numeric_value => AnswerMatch::Normalized,
                    (Some("numeric") | None, t) => numeric(t),
                    (Some("exact" | "normalized"), Some(_)) => {
                        return Err("`tolerance` applies only to \"match\": \"numeric\"".into())
                    }
                    _ => return Err(MATCH_WORDS.into()),
                };
                if matches!(matching, AnswerMatch::Numeric { .. }) && parse_number(&value).is_none() {
                    return Err(format!("a numeric answer needs a number as `value`, not {value:?}"));
                }
                Ok(FinalAnswer { value, matching })
            }
            other => Err(format!(
                "expected a string, a number or {{\"value\", \"match\", \"tolerance\"}}, not {other}"
            )),
        }
    }

    /// The record form: the shortest one that reads back the same.
    pub fn to_json(&self) -> Value {
        match self.matching {
            AnswerMatch::Normalized => json!(self.value),
            AnswerMatch::Exact => json!({"value": self.value, "match": "exact"}),
            AnswerMatch::Numeric { tolerance } => {
                json!({"value": self.value, "match": "numeric", "tolerance": tolerance})
            }
        }
    }

    /// Whether `message` (an assistant's last message; a `<think>` block
    /// before `</think>` is ignored) gives this answer.
    pub fn matches(&self, message: &str) -> bool {
        let message = message
            .rsplit_once("</think>")
            .map_or(message, |(_, after)| after);
        match self.matching {
            AnswerMatch::Exact => message.trim() == self.value.trim(),
            AnswerMatch::Normalized => {
                let expected = normalize(&self.value);
                !expected.is_empty() && normalize(message) == expected
            }
            AnswerMatch::Numeric { tolerance } => {
                match (last_number(message), parse_number(&self.value)) {
                    (Some(x), Some(y)) => (x - y).abs() <= tolerance * y.abs().max(1.0),
                    _ => false,
                }
            }
        }
    }
}

/// Lowercase words separated by single spaces; punctuation is a separator.
fn normalize(text: &str) -> String {
    let lowered: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A number as written in an answer: `720`, `-3.5`, `1,234.5`, `1e3`.
fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The last number in `text` (sign, digits with `,` groups, decimals).
fn last_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    while end > 0 {
        // The last digit before `end`.
        let last = bytes[..end].iter().rposition(u8::is_ascii_digit)?;
        let mut start = last;
        while start > 0 {
            let c = bytes[start - 1];
            let grouped = c == b','
                && start >= 2
                && bytes[start - 2].is_ascii_digit()
                && bytes.get(start).is_some_and(u8::is_ascii_digit);
            if c.is_ascii_digit() || c == b'.' || grouped {
                start -= 1;
            } else {
                break;
            }
        }
        if start > 0 && bytes[start - 1] == b'-' {
            start -= 1;
        }
        if let Some(x) = parse_number(text[start..=last].trim_start_matches('.')) {
            return Some(x);
        }
        end = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: Value) -> FinalAnswer {
        FinalAnswer::from_json(&json).unwrap()
    }

    #[test]
    fn numeric_answers_take_the_last_number_within_the_tolerance() {
        let a = answer(json!(720));
        assert!(a.matches("720"));
        assert!(a.matches("The factorial of 6 is 720."));
        assert!(a.matches("Computing 6! first... the result: 720"));
        assert!(!a.matches("It is 720 or maybe 721"));
        assert!(!a.matches("no number here"));
        let loose = answer(json!({"value": "22.63", "match": "numeric", "tolerance": 0.01}));
        assert!(loose.matches("Each pays 22.6 dollars"));
        assert!(!loose.matches("Each pays 22 dollars"));
        assert!(answer(json!({"value": "1234.5", "match": "numeric"})).matches("total: 1,234.5"));
        assert!(answer(json!(-3)).matches("It fell by -3"));
    }

    #[test]
    fn normalized_answers_ignore_case_punctuation_and_reasoning() {
        let a = answer(json!("New York"));
        assert!(a.matches("new york."));
        assert!(a.matches("<think>The user asks where.</think>\n  New   York!"));
        assert!(!a.matches("I think New York"));
        let exact = answer(json!({"value": "New York", "match": "exact"}));
        assert!(exact.matches(" New York\n"));
        assert!(!exact.matches("new york"));
    }

    #[test]
    fn the_record_form_round_trips_and_bad_forms_are_explained() {
        for json in [
            json!("Paris"),
            json!({"value": "x", "match": "exact"}),
            json!({"value": "2.5", "match": "numeric", "tolerance": 0.1}),
        ] {
            assert_eq!(answer(json.clone()).to_json(), json);
        }
        let err = |j: Value| FinalAnswer::from_json(&j).unwrap_err();
        assert!(err(json!({"value": "abc", "match": "numeric"})).contains("needs a number"));
        assert!(err(json!({"value": "1", "match": "fuzzy"})).contains("`match` must be"));
        assert!(err(json!({"value": "1", "match": "exact", "tolerance": 1})).contains("only to"));
        assert!(err(json!({"val": "1"})).contains("unknown key `val`"));
        assert!(err(json!([1])).contains("expected a string"));
    }
}
