//! The parsed form of a tool call: [`ToolCall`] and its typed [`Value`]s.
//!
//! Every input format (Python call syntax, JSON objects, the envelopes of
//! Hermes, Mistral, Llama and Glaive) parses into this one form, so the
//! comparison never needs to know where a call came from. `Display` writes
//! the canonical Python call syntax that the user's guide uses for answers.

use std::fmt::{self, Write as _};

/// One function call: a (possibly dotted) name, positional arguments and
/// keyword arguments, each kept in the order written.
///
/// `Display` writes canonical Python call syntax, which
/// [`extract_function_calls`](crate::extract_function_calls) parses back to
/// an equal call.
///
/// # Example
///
/// ```
/// use grpo_rewards::{ToolCall, Value};
///
/// let call = ToolCall::new("calculate_factorial").arg("n", 5);
/// assert_eq!(call.to_string(), "calculate_factorial(n=5)");
/// assert_eq!(call.get("n"), Some(&Value::Int(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCall {
    /// The function name as written, dots included (`math.factorial`).
    pub name: String,
    /// Positional arguments, in order. JSON forms never produce these.
    pub positional: Vec<Value>,
    /// Keyword arguments as `(name, value)`, in the order written.
    pub args: Vec<(String, Value)>,
}

impl ToolCall {
    /// A call to `name` with no arguments; add some with [`ToolCall::arg`].
    ///
    /// ```
    /// let call = grpo_rewards::ToolCall::new("get_time");
    /// assert_eq!(call.to_string(), "get_time()");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        ToolCall {
            name: name.into(),
            positional: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds the keyword argument `name=value` (builder style).
    ///
    /// ```
    /// use grpo_rewards::ToolCall;
    ///
    /// let call = ToolCall::new("get_weather").arg("city", "Paris").arg("days", 3);
    /// assert_eq!(call.to_string(), r#"get_weather(city="Paris", days=3)"#);
    /// ```
    #[must_use]
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.args.push((name.into(), value.into()));
        self
    }

    /// Adds a positional argument (builder style).
    ///
    /// ```
    /// use grpo_rewards::ToolCall;
    ///
    /// let call = ToolCall::new("pow").positional(2).positional(10);
    /// assert_eq!(call.to_string(), "pow(2, 10)");
    /// ```
    #[must_use]
    pub fn positional(mut self, value: impl Into<Value>) -> Self {
        self.positional.push(value.into());
        self
    }

    /// The value of keyword argument `name`, if given (the first one when
    /// a name repeats).
    ///
    /// ```
    /// use grpo_rewards::{ToolCall, Value};
    ///
    /// let call = ToolCall::new("f").arg("x", true);
    /// assert_eq!(call.get("x"), Some(&Value::Bool(true)));
    /// assert_eq!(call.get("y"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The call as a JSON object `{"name": …, "arguments": {…}}`, the shape
    /// the Hermes and OpenAI formats use.
    ///
    /// Positional arguments, which JSON objects cannot express, are written
    /// under the keys `"0"`, `"1"`, … of `arguments` before the keyword ones.
    ///
    /// ```
    /// use grpo_rewards::ToolCall;
    ///
    /// let call = ToolCall::new("get_weather").arg("city", "Paris");
    /// assert_eq!(
    ///     call.to_json().to_string(),
    ///     r#"{"name":"get_weather","arguments":{"city":"Paris"}}"#
    /// );
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let mut arguments = serde_json::Map::new();
        for (i, v) in self.positional.iter().enumerate() {
            arguments.insert(i.to_string(), v.to_json());
        }
        for (k, v) in &self.args {
            arguments.insert(k.clone(), v.to_json());
        }
        let mut object = serde_json::Map::new();
        object.insert("name".into(), serde_json::Value::String(self.name.clone()));
        object.insert("arguments".into(), serde_json::Value::Object(arguments));
        serde_json::Value::Object(object)
    }
}

impl fmt::Display for ToolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_char('(')?;
        let mut first = true;
        for v in &self.positional {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{v}")?;
        }
        for (k, v) in &self.args {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{k}={v}")?;
        }
        f.write_char(')')
    }
}

/// A typed argument value.
///
/// Python tuples become lists; dictionary keys are strings (a number, bool
/// or `None` key is stored as its canonical text, as `json.dumps` does).
/// Integers beyond `i64` are stored as floats. Structural equality (`==`)
/// is strict: `Int(5) != Float(5.0)`; the lenient comparison that rewards
/// use lives in [`compare_function_calls`](crate::compare_function_calls).
///
/// # Example
///
/// ```
/// use grpo_rewards::Value;
///
/// let v = Value::List(vec![Value::Int(1), Value::from("two"), Value::Null]);
/// assert_eq!(v.to_string(), r#"[1, "two", None]"#);
/// assert_eq!(v.kind(), "list");
///
/// // Conversions from Rust values, as the builder methods of `ToolCall` use.
/// assert_eq!(Value::from(true), Value::Bool(true));
/// assert_eq!(Value::from(5), Value::Int(5));
/// assert_eq!(Value::from(2.5), Value::Float(2.5));
/// assert_eq!(Value::from(String::from("x")), Value::Str("x".into()));
/// assert_eq!(Value::from(vec![Value::Null]), Value::List(vec![Value::Null]));
/// assert_eq!(Value::from(grpo_rewards::ToolCall::new("g")).kind(), "call");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `None`, `null`.
    #[default]
    Null,
    /// `True`/`False`, `true`/`false`.
    Bool(bool),
    /// An integer literal that fits in `i64`.
    Int(i64),
    /// A float literal, or an integer too large for `i64`.
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// A list or tuple.
    List(Vec<Value>),
    /// A dictionary or JSON object, keys in the order written.
    Dict(Vec<(String, Value)>),
    /// A call used as a value, as in `f(x=g(1))`.
    Call(Box<ToolCall>),
}

impl Value {
    /// The type's name as Python spells it, used in mismatch reports.
    ///
    /// ```
    /// use grpo_rewards::Value;
    ///
    /// assert_eq!(Value::Float(1.5).kind(), "float");
    /// assert_eq!(Value::from("x").kind(), "str");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Call(_) => "call",
        }
    }

    /// The value as JSON. A nested call becomes its
    /// [`ToolCall::to_json`] object; a non-finite float becomes `null`,
    /// since JSON has no such numbers.
    ///
    /// ```
    /// use grpo_rewards::Value;
    ///
    /// let v = Value::Dict(vec![("a".into(), Value::Float(2.5))]);
    /// assert_eq!(v.to_json().to_string(), r#"{"a":2.5}"#);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Dict(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Call(call) => call.to_json(),
        }
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts JSON to a value: integral numbers that fit in `i64` become
    /// [`Value::Int`], every other number [`Value::Float`].
    ///
    /// ```
    /// use grpo_rewards::Value;
    ///
    /// let json = serde_json::json!({"n": 5, "x": 0.5, "tags": ["a"]});
    /// assert_eq!(
    ///     Value::from(&json).to_string(),
    ///     r#"{"n": 5, "x": 0.5, "tags": ["a"]}"#
    /// );
    /// ```
    fn from(json: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from).collect()),
            J::Object(map) => Value::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl From<ToolCall> for Value {
    fn from(call: ToolCall) -> Self {
        Value::Call(Box::new(call))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write_float(f, *x),
            Value::Str(s) => write_str_literal(f, s),
            Value::List(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Value::Dict(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_str_literal(f, k)?;
                    write!(f, ": {v}")?;
                }
                f.write_char('}')
            }
            Value::Call(call) => write!(f, "{call}"),
        }
    }
}

/// Writes a float so that it reads back as the same float, and as a float
/// rather than an int: `5.0`, `1e-7`, `1e999` for infinity (Python reads
/// that literal as `inf`).
fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("float(\"nan\")")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "1e999" } else { "-1e999" })
    } else {
        // `{:?}` is the shortest text that round-trips and always carries
        // a `.` or an exponent.
        write!(f, "{x:?}")
    }
}

/// Writes a double-quoted string literal valid in both Python and JSON.
fn write_str_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut plain_from = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c.is_control() => "",
            _ => continue,
        };
        f.write_str(&s[plain_from..i])?;
        if escape.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escape)?;
        }
        plain_from = i + c.len_utf8();
    }
    f.write_str(&s[plain_from..])?;
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_canonical_python() {
        let call = ToolCall::new("m.f")
            .positional(1)
            .arg("s", "a\"b\\c\n\u{1}")
            .arg("x", 5.0)
            .arg("l", vec![Value::Null, Value::Bool(false)])
            .arg("d", Value::Dict(vec![("k".into(), Value::Int(-2))]))
            .arg("c", ToolCall::new("g").arg("y", 1e-7));
        assert_eq!(
            call.to_string(),
            r#"m.f(1, s="a\"b\\c\n\u0001", x=5.0, l=[None, False], d={"k": -2}, c=g(y=1e-7))"#
        );
    }

    #[test]
    fn non_finite_floats_have_a_readable_form() {
        assert_eq!(Value::Float(f64::INFINITY).to_string(), "1e999");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "-1e999");
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
    }

    #[test]
    #[cfg_attr(
        not(feature = "preserve_order"),
        ignore = "needs serde_json's preserve_order"
    )]
    fn json_keeps_positional_arguments_under_index_keys() {
        let call = ToolCall::new("f").positional("a").arg("k", 1);
        assert_eq!(
            call.to_json().to_string(),
            r#"{"name":"f","arguments":{"0":"a","k":1}}"#
        );
    }
}
