//! [`Reference`]: the expected answer of one example.
//!
//! The simple case is the guide's `answer` string (`calculate_factorial(n=5)`,
//! `""` for "no call expected"). Richer references add, per parameter, a
//! list of allowed values and whether it may be omitted (the Berkeley
//! Function Calling Leaderboard's "possible answer" form), and the tool
//! schemas, which name positional arguments and give defaults.

use std::fmt;

mod possible;
mod tools;

use crate::call::{ToolCall, Value};
use crate::compare::{values_match, CompareOptions, Comparison};
use crate::error::{shorten, AnswerProblem, Error, Result};
use crate::parse::extract_function_calls;
use possible::possible_answers;
use tools::parse_tool;

pub(crate) use tools::Tool;

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
    /// Whether allowed values are in BFCL's nested possible-answer form
    /// (set by [`Reference::with_possible_answers`]).
    nested: bool,
    /// The whole data set row this reference comes from, for rewards that
    /// read other columns ([`Reference::with_row`]).
    row: Option<std::sync::Arc<serde_json::Map<String, serde_json::Value>>>,
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
            nested: false,
            row: None,
        }
    }

    /// Replaces the expected calls with a possible answer in the Berkeley
    /// Function Calling Leaderboard's form: a list of `{function: {param:
    /// [allowed values]}}`, where `""` among the allowed values means the
    /// parameter may be omitted. A value that is not a list is the only
    /// allowed value. `[]` means no call is expected.
    ///
    /// The allowed values of a dict-valued parameter are written the same
    /// way, recursively: `[{"min": [300000], "max": [400000, ""]}]` allows a
    /// dict whose `min` is 300000 and whose `max` is 400000 or absent (and
    /// no other key); a list of such dicts allows a list whose items match
    /// them in order. A predicted value equal to the written value itself
    /// is accepted too.
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, extract_function_calls, Reference};
    /// use serde_json::json;
    ///
    /// let r = Reference::default().with_possible_answers(&json!([
    ///     {"find_home": {"budget": [{"min": [300000], "max": [400000, ""]}]}}
    /// ]))?;
    /// let options = CompareOptions::default();
    /// for output in ["find_home(budget={'min': 300000, 'max': 400000})", "find_home(budget={'min': 300000})"] {
    ///     assert_eq!(r.compare(&extract_function_calls(output).calls, &options).exact_match, 1.0);
    /// }
    /// let wrong = extract_function_calls("find_home(budget={'min': 300000, 'max': 500000})").calls;
    /// assert_eq!(r.compare(&wrong, &options).exact_match, 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        self.nested = true;
        self.apply_tools();
        Ok(self)
    }

    /// Keeps the whole data set row this reference comes from (every
    /// column, as JSON), for rewards that read columns beyond the answer:
    /// a [`BatchReward`](crate::BatchReward) sees it through
    /// [`Reference::row`]. It takes no part in comparisons.
    ///
    /// ```
    /// use grpo_rewards::Reference;
    ///
    /// let row = serde_json::json!({"answer": "f()", "difficulty": 3});
    /// let r = Reference::from_answer("f()")?.with_row(row.as_object().unwrap().clone());
    /// assert_eq!(r.row().unwrap()["difficulty"], 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_row(mut self, row: serde_json::Map<String, serde_json::Value>) -> Self {
        self.row = Some(std::sync::Arc::new(row));
        self
    }

    /// The data set row given by [`Reference::with_row`], if any.
    pub fn row(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.row.as_deref()
    }

    /// Adds tool schemas (JSON Schema function definitions, OpenAI's
    /// `{"type": "function", "function": {…}}` or bare `{"name", "parameters"}`,
    /// including the guide's form where `parameters` maps names directly to
    /// their descriptions). The schema names positional arguments in
    /// declaration order, and a value equal to a parameter's `default`
    /// counts as leaving the parameter out, unless the schema lists the
    /// parameter as `required`: a required parameter must be given, even
    /// when its default is the expected value.
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
    ///
    /// The schema's properties are read in the order `serde_json` keeps
    /// them: declaration order with its `preserve_order` feature (this
    /// crate's default `preserve_order` feature turns it on), sorted
    /// without. [`Reference::with_tools_json`] keeps declaration order
    /// either way.
    pub fn with_tools(self, tools: &[serde_json::Value]) -> Result<Self> {
        let tools: Vec<Value> = tools.iter().map(Value::from).collect();
        self.with_tool_values(&tools)
    }

    /// [`Reference::with_tools`] from JSON text: a list of tool schemas or
    /// one schema. The text is read by this crate's own parser
    /// ([`parse_literal`](crate::parse_literal)), so properties keep the
    /// order written whatever `serde_json`'s features.
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, extract_function_calls, Reference};
    ///
    /// let tools = r#"[{"name": "pow", "parameters": {"type": "object",
    ///     "properties": {"exp": {"type": "number"}, "base": {"type": "number"}}}}]"#;
    /// let r = Reference::from_answer("pow(base=2, exp=10)")?.with_tools_json(tools)?;
    /// let calls = extract_function_calls("pow(10, 2)").calls;
    /// assert_eq!(r.compare(&calls, &CompareOptions::default()).exact_match, 1.0);
    /// assert!(Reference::default().with_tools_json("[{").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_tools_json(self, tools: &str) -> Result<Self> {
        let parsed = crate::parse::parse_literal(tools).map_err(|_| Error::InvalidTool {
            index: 0,
            field: "tools",
            expected: "JSON: a list of tool schemas or one schema",
        })?;
        match parsed {
            Value::List(items) => self.with_tool_values(&items),
            one => self.with_tool_values(&[one]),
        }
    }

    fn with_tool_values(mut self, tools: &[Value]) -> Result<Self> {
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

    /// Whether allowed values are read in BFCL's nested form.
    pub(crate) fn nested(&self) -> bool {
        self.nested
    }

    /// The schema of function `name`, if one was given.
    pub(crate) fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Names positional expected parameters from the schema, and makes a
    /// parameter optional when its schema default is among its allowed
    /// values (leaving it out then means the same), unless the schema
    /// requires it; a required parameter is never optional.
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
                    if tool.requires(name) {
                        param.optional = false;
                        continue;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
