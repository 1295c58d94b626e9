//! [`Reference`]: the expected answer of one example.
//!
//! The simple case is the guide's `answer` string (`calculate_factorial(n=5)`,
//! `""` for "no call expected"). Richer references add, per parameter, a
//! list of allowed values and whether it may be omitted (the Berkeley
//! Function Calling Leaderboard's "possible answer" form), and the tool
//! schemas, which name positional arguments and give defaults.

use std::fmt;

use crate::call::{ToolCall, Value};
use crate::compare::{values_match, CompareOptions, Comparison};
use crate::error::{shorten, AnswerProblem, Error, Result};
use crate::parse::extract_function_calls;

/// Where an argument sits in a call: its name, or its position when no
/// schema names it. Displays as the name, or `#0`, `#1`, ….
///
/// ```
/// use grpo_rewards::ParamKey;
///
/// assert_eq!(ParamKey::Name("city".into()).to_string(), "city");
/// assert_eq!(ParamKey::Position(0).to_string(), "#0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParamKey {
    /// A keyword argument, or a positional one named by a schema.
    Name(String),
    /// A positional argument no schema names (0-based).
    Position(usize),
}

impl ParamKey {
    /// Whether this key is the keyword `name`.
    pub(crate) fn is_name(&self, name: &str) -> bool {
        matches!(self, ParamKey::Name(n) if n == name)
    }
}

impl fmt::Display for ParamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamKey::Name(n) => f.write_str(n),
            ParamKey::Position(i) => write!(f, "#{i}"),
        }
    }
}

/// One expected parameter: the values it may take and whether it may be
/// left out.
///
/// ```
/// use grpo_rewards::{ParamKey, Reference, Value};
///
/// let reference = Reference::from_answer("f(n=5)")?;
/// let param = &reference.calls()[0].params[0];
/// assert_eq!(param.key, ParamKey::Name("n".into()));
/// assert_eq!(param.allowed, [Value::Int(5)]);
/// assert!(!param.optional);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedParam {
    /// The parameter's name or position.
    pub key: ParamKey,
    /// Accepted values; a predicted value matching any one is correct.
    pub allowed: Vec<Value>,
    /// Whether the parameter may be omitted.
    pub optional: bool,
}

/// One expected call: a function name and its expected parameters.
///
/// ```
/// let reference = grpo_rewards::Reference::from_answer("get_time()")?;
/// assert_eq!(reference.calls()[0].name, "get_time");
/// assert!(reference.calls()[0].params.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedCall {
    /// The function name.
    pub name: String,
    /// The parameters, in the order written.
    pub params: Vec<ExpectedParam>,
}

/// What a tool schema says about one function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub(crate) name: String,
    /// Parameter names in declaration order, with their defaults.
    pub(crate) params: Vec<(String, Option<Value>)>,
}

impl Tool {
    pub(crate) fn default_of(&self, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| d.as_ref())
    }
}

/// The expected answer of one example: the expected calls (none when no
/// tool applies), with optional alternatives per parameter and optional
/// tool schemas.
///
/// Build it once per example and score every completion against it.
///
/// # Example
///
/// ```
/// use grpo_rewards::{CompareOptions, extract_function_calls, Reference};
///
/// let reference = Reference::from_answer("calculate_factorial(n=5)")?;
/// let predicted = extract_function_calls("calculate_factorial(n=5.0)").calls;
/// let comparison = reference.compare(&predicted, &CompareOptions::default());
/// assert_eq!(comparison.exact_match, 1.0, "5 == 5.0 in the default lenient mode");
///
/// assert!(!Reference::from_answer("")?.expects_call());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reference {
    calls: Vec<ExpectedCall>,
    tools: Vec<Tool>,
}

impl Reference {
    /// Reads the guide's `answer` string: calls in any format the parser
    /// reads, one per line in the guide. Blank (or `[]`) means no call is
    /// expected. Anything else that is not cleanly calls is an error.
    ///
    /// ```
    /// use grpo_rewards::Reference;
    ///
    /// let r = Reference::from_answer("calculate_factorial(n=5)\ncalculate_factorial(n=7)")?;
    /// assert_eq!(r.calls().len(), 2);
    /// assert!(Reference::from_answer("calculate_factorial(n=").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_answer(answer: &str) -> Result<Self> {
        let parsed = extract_function_calls(answer);
        let invalid = |problem| Error::InvalidAnswer {
            answer: shorten(answer, 80),
            problem,
        };
        if let Some(error) = parsed.errors.into_iter().next() {
            return Err(invalid(AnswerProblem::Syntax(error)));
        }
        if !parsed.clean {
            return Err(invalid(AnswerProblem::Prose));
        }
        Ok(Reference::from_calls(&parsed.calls))
    }

    /// A reference expecting exactly `calls`, every parameter required.
    ///
    /// ```
    /// use grpo_rewards::{Reference, ToolCall};
    ///
    /// let r = Reference::from_calls(&[ToolCall::new("f").arg("x", 1)]);
    /// assert_eq!(r.calls()[0].params.len(), 1);
    /// ```
    pub fn from_calls(calls: &[ToolCall]) -> Self {
        let calls = calls
            .iter()
            .map(|c| {
                let positional = c.positional.iter().enumerate().map(|(i, v)| ExpectedParam {
                    key: ParamKey::Position(i),
                    allowed: vec![v.clone()],
                    optional: false,
                });
                let mut params: Vec<ExpectedParam> = positional.collect();
                for (k, v) in &c.args {
                    // A repeated keyword is a syntax error in Python; the
                    // first one is the one that counts.
                    if !params.iter().any(|p| p.key.is_name(k)) {
                        params.push(ExpectedParam {
                            key: ParamKey::Name(k.clone()),
                            allowed: vec![v.clone()],
                            optional: false,
                        });
                    }
                }
                ExpectedCall {
                    name: c.name.clone(),
                    params,
                }
            })
            .collect();
        Reference {
            calls,
            tools: Vec::new(),
        }
    }

    /// Replaces the expected calls with a possible answer in the Berkeley
    /// Function Calling Leaderboard's form: a list of `{function: {param:
    /// [allowed values]}}`, where `""` among the allowed values means the
    /// parameter may be omitted. A value that is not a list is the only
    /// allowed value. `[]` means no call is expected.
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, extract_function_calls, Reference};
    /// use serde_json::json;
    ///
    /// let r = Reference::from_answer("calculate_area(base=10, height=5)")?
    ///     .with_possible_answers(&json!([
    ///         {"calculate_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
    ///     ]))?;
    /// let options = CompareOptions::default();
    /// for output in ["calculate_area(base=10, height=5)", "calculate_area(base=10, height=5, unit='units')"] {
    ///     let calls = extract_function_calls(output).calls;
    ///     assert_eq!(r.compare(&calls, &options).exact_match, 1.0);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_possible_answers(mut self, possible: &serde_json::Value) -> Result<Self> {
        self.calls = possible_answers(possible)?;
        self.apply_tools();
        Ok(self)
    }

    /// Adds tool schemas (JSON Schema function definitions, OpenAI's
    /// `{"type": "function", "function": {…}}` or bare `{"name", "parameters"}`,
    /// including the guide's form where `parameters` maps names directly to
    /// their descriptions). The schema names positional arguments in
    /// declaration order, and a value equal to a parameter's `default`
    /// counts as leaving the parameter out.
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, extract_function_calls, Reference};
    /// use serde_json::json;
    ///
    /// let tools = [json!({
    ///     "name": "get_weather",
    ///     "parameters": {"type": "object", "properties": {
    ///         "city": {"type": "string"},
    ///         "unit": {"type": "string", "default": "celsius"}
    ///     }}
    /// })];
    /// let r = Reference::from_answer("get_weather(city='Paris')")?.with_tools(&tools)?;
    /// let calls = extract_function_calls("get_weather('Paris', unit='celsius')").calls;
    /// assert_eq!(r.compare(&calls, &CompareOptions::default()).exact_match, 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_tools(mut self, tools: &[serde_json::Value]) -> Result<Self> {
        self.tools = tools
            .iter()
            .enumerate()
            .map(|(index, tool)| parse_tool(index, tool))
            .collect::<Result<_>>()?;
        self.apply_tools();
        Ok(self)
    }

    /// The expected calls.
    ///
    /// ```
    /// let r = grpo_rewards::Reference::from_answer("f()\ng()")?;
    /// assert_eq!(r.calls().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["f", "g"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn calls(&self) -> &[ExpectedCall] {
        &self.calls
    }

    /// Whether any call is expected (false for irrelevance examples, where
    /// no tool applies).
    ///
    /// ```
    /// assert!(grpo_rewards::Reference::from_answer("f()")?.expects_call());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expects_call(&self) -> bool {
        !self.calls.is_empty()
    }

    /// Compares predicted calls with this reference, with per-call and
    /// per-parameter details (see [`compare_function_calls`](crate::compare_function_calls)
    /// for the rules).
    ///
    /// ```
    /// use grpo_rewards::{extract_function_calls, CompareOptions, Reference, Verdict};
    ///
    /// let reference = Reference::from_answer("get_weather(city='Paris')")?;
    /// let predicted = extract_function_calls("get_weather(city='Rome')").calls;
    /// let comparison = reference.compare(&predicted, &CompareOptions::default());
    /// assert_eq!(comparison.calls[0].params[0].verdict, Verdict::WrongValue);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compare(&self, predicted: &[ToolCall], options: &CompareOptions) -> Comparison {
        crate::compare::compare(predicted, self, options, true)
    }

    /// The schema of function `name`, if one was given.
    pub(crate) fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Names positional expected parameters from the schema, and makes a
    /// parameter optional when its schema default is among its allowed
    /// values (leaving it out then means the same).
    fn apply_tools(&mut self) {
        if self.tools.is_empty() {
            return;
        }
        let lenient = CompareOptions::default();
        for call in &mut self.calls {
            let Some(tool) = self.tools.iter().find(|t| t.name == call.name) else {
                continue;
            };
            for param in &mut call.params {
                if let ParamKey::Position(i) = param.key {
                    if let Some((name, _)) = tool.params.get(i) {
                        param.key = ParamKey::Name(name.clone());
                    }
                }
                if let ParamKey::Name(name) = &param.key {
                    if let Some(default) = tool.default_of(name) {
                        if param
                            .allowed
                            .iter()
                            .any(|v| values_match(v, default, &lenient))
                        {
                            param.optional = true;
                        }
                    }
                }
            }
        }
    }
}

/// Reads a BFCL possible answer (see [`Reference::with_possible_answers`]).
fn possible_answers(v: &serde_json::Value) -> Result<Vec<ExpectedCall>> {
    use serde_json::Value as J;
    let invalid = |path: String, expected, got: &J| Error::InvalidPossibleAnswer {
        path,
        expected,
        got: shorten(&got.to_string(), 60),
    };
    // (path for messages, function name, parameters)
    let entries: Vec<(String, &String, &J)> = match v {
        J::Array(items) => {
            let mut entries = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let J::Object(map) = item else {
                    return Err(invalid(format!("[{i}]"), "an object {function: {…}}", item));
                };
                entries.extend(map.iter().map(|(k, v)| (format!("[{i}].{k}"), k, v)));
            }
            entries
        }
        J::Object(map) => map.iter().map(|(k, v)| (k.clone(), k, v)).collect(),
        other => return Err(invalid(String::new(), "a list of calls", other)),
    };
    let mut calls = Vec::with_capacity(entries.len());
    for (path, name, params) in entries {
        let J::Object(params) = params else {
            return Err(invalid(path, "an object of parameters", params));
        };
        let mut call = ExpectedCall {
            name: name.clone(),
            params: Vec::with_capacity(params.len()),
        };
        for (key, allowed) in params {
            let (allowed, optional) = match allowed {
                J::Array(values) if values.is_empty() => {
                    let path = format!("{path}.{key}");
                    return Err(invalid(path, "a non-empty list of allowed values", allowed));
                }
                J::Array(values) => (
                    values.iter().map(Value::from).collect(),
                    values.iter().any(|v| v.as_str() == Some("")),
                ),
                single => (vec![Value::from(single)], false),
            };
            call.params.push(ExpectedParam {
                key: ParamKey::Name(key.clone()),
                allowed,
                optional,
            });
        }
        calls.push(call);
    }
    Ok(calls)
}

/// Reads one tool schema (see [`Reference::with_tools`]).
fn parse_tool(index: usize, tool: &serde_json::Value) -> Result<Tool> {
    use serde_json::Value as J;
    let invalid = |field, expected| Error::InvalidTool {
        index,
        field,
        expected,
    };
    let mut object = tool.as_object().ok_or(invalid("tool", "a JSON object"))?;
    if let Some(J::Object(inner)) = object.get("function") {
        object = inner;
    }
    let name = match object.get("name") {
        Some(J::String(name)) => name.clone(),
        _ => return Err(invalid("name", "a string")),
    };
    let properties = match object.get("parameters") {
        None | Some(J::Null) => None,
        Some(J::Object(p)) => match p.get("properties") {
            Some(J::Object(props)) => Some(props),
            Some(_) => return Err(invalid("parameters.properties", "a JSON object")),
            // JSON Schema without properties, or the guide's form where
            // parameters map straight to their descriptions.
            None if p.get("type").is_some_and(|t| t == "object") => None,
            None => Some(p),
        },
        Some(_) => return Err(invalid("parameters", "a JSON object")),
    };
    let params = properties
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.clone(), schema.get("default").map(Value::from)))
        .collect();
    Ok(Tool { name, params })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers() {
        let r = Reference::from_answer("f(1, a='x', a=2)").unwrap();
        let keys: Vec<String> = r.calls[0]
            .params
            .iter()
            .map(|p| p.key.to_string())
            .collect();
        assert_eq!(keys, ["#0", "a"]);
        assert_eq!(r.calls[0].params[1].allowed, [Value::from("x")]);
        assert!(!Reference::from_answer("  \n").unwrap().expects_call());
        assert!(!Reference::from_answer("[]").unwrap().expects_call());
        let err = Reference::from_answer("f(x=1) because").unwrap_err();
        assert_eq!(
            err.to_string(),
            "answer \"f(x=1) because\" is not a clean tool call: it holds text other than calls"
        );
        let err = Reference::from_answer("<tool_call>oops</tool_call>").unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidAnswer {
                problem: AnswerProblem::Syntax(_),
                ..
            }
        ));
    }

    #[test]
    fn possible_answers_forms() {
        let r = Reference::default()
            .with_possible_answers(&json!([
                {"f": {"a": [1, 2], "b": ["", "x"], "c": "only"}},
                {"g": {}}
            ]))
            .unwrap();
        assert_eq!(r.calls.len(), 2);
        let a = &r.calls[0].params[0];
        assert_eq!(a.allowed, [Value::Int(1), Value::Int(2)]);
        assert!(!a.optional);
        assert!(r.calls[0].params[1].optional);
        assert_eq!(r.calls[0].params[2].allowed, [Value::from("only")]);
        assert_eq!(r.calls[1].name, "g");
        assert!(!Reference::default()
            .with_possible_answers(&json!([]))
            .unwrap()
            .expects_call());
        let r = Reference::default()
            .with_possible_answers(&json!({"h": {"x": [true]}}))
            .unwrap();
        assert_eq!(r.calls[0].name, "h");
    }

    #[test]
    fn possible_answer_errors_name_the_path() {
        let cases = [
            (
                json!(5),
                "possible answer at : expected a list of calls, got 5",
            ),
            (
                json!([{"f": {"a": []}}]),
                "possible answer at [0].f.a: expected a non-empty list of allowed values, got []",
            ),
            (
                json!([{"f": 3}]),
                "possible answer at [0].f: expected an object of parameters, got 3",
            ),
            (
                json!(["f"]),
                "possible answer at [0]: expected an object {function: {…}}, got \"f\"",
            ),
        ];
        for (v, message) in cases {
            let err = Reference::default().with_possible_answers(&v).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn tools_name_positions_and_mark_defaults_optional() {
        let tools = [
            json!({"type": "function", "function": {"name": "f", "parameters": {
                "type": "object",
                "properties": {"b": {"type": "integer"}, "a": {"type": "string", "default": "x"}}
            }}}),
            json!({"name": "calculate_factorial", "parameters": {"n": {"type": "int"}}}),
            json!({"name": "noargs", "parameters": {"type": "object"}}),
        ];
        let r = Reference::from_answer("f(1, 'x')\ncalculate_factorial(5)")
            .unwrap()
            .with_tools(&tools)
            .unwrap();
        let f = &r.calls[0];
        assert_eq!(f.params[0].key, ParamKey::Name("b".into()));
        assert_eq!(f.params[1].key, ParamKey::Name("a".into()));
        assert!(!f.params[0].optional);
        assert!(f.params[1].optional, "'x' is the default of a");
        assert_eq!(r.calls[1].params[0].key, ParamKey::Name("n".into()));
        assert_eq!(r.tool("noargs").map(|t| t.params.len()), Some(0));
    }

    #[test]
    fn tool_errors() {
        let cases = [
            (json!(3), "tool 0: `tool` must be a JSON object"),
            (json!({"parameters": {}}), "tool 0: `name` must be a string"),
            (
                json!({"name": "f", "parameters": []}),
                "tool 0: `parameters` must be a JSON object",
            ),
        ];
        for (tool, message) in cases {
            let err = Reference::default().with_tools(&[tool]).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
    }
}
