//! Tool schemas: parameter names in declaration order, and defaults.

use crate::call::Value;
use crate::error::{Error, Result};

/// What a tool schema says about one function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub(crate) name: String,
    /// Parameter names in declaration order, with their defaults.
    pub(crate) params: Vec<(String, Option<Value>)>,
    /// The names the schema lists under `required`.
    pub(crate) required: Vec<String>,
}

impl Tool {
    pub(crate) fn default_of(&self, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| d.as_ref())
    }

    /// Whether the schema lists `name` as required.
    pub(crate) fn requires(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

/// The value under `key`.
fn get<'a>(entries: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Reads one tool schema (see [`Reference::with_tools`](crate::Reference::with_tools)),
/// in the crate's [`Value`] form, whose dicts keep the order written.
pub(super) fn parse_tool(index: usize, tool: &Value) -> Result<Tool> {
    let invalid = |field, expected| Error::InvalidTool {
        index,
        field,
        expected,
    };
    let Value::Dict(object) = tool else {
        return Err(invalid("tool", "a JSON object"));
    };
    let mut object: &[(String, Value)] = object;
    if let Some(Value::Dict(inner)) = get(object, "function") {
        object = inner;
    }
    let name = match get(object, "name") {
        Some(Value::Str(name)) => name.clone(),
        _ => return Err(invalid("name", "a string")),
    };
    let parameters = match get(object, "parameters") {
        None | Some(Value::Null) => None,
        Some(Value::Dict(p)) => Some(p),
        Some(_) => return Err(invalid("parameters", "a JSON object")),
    };
    let required = match parameters.and_then(|p| get(p, "required")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::List(names)) => names
            .iter()
            .map(|n| match n {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or(invalid("parameters.required", "a list of names"))?,
        Some(_) => return Err(invalid("parameters.required", "a list of names")),
    };
    let properties = match parameters {
        None => None,
        Some(p) => match get(p, "properties") {
            Some(Value::Dict(props)) => Some(props),
            Some(_) => return Err(invalid("parameters.properties", "a JSON object")),
            // JSON Schema without properties, or the guide's form where
            // parameters map straight to their descriptions.
            None if matches!(get(p, "type"), Some(Value::Str(t)) if t == "object") => None,
            None => Some(p),
        },
    };
    let params = properties
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let default = match schema {
                Value::Dict(entries) => get(entries, "default").cloned(),
                _ => None,
            };
            (name.clone(), default)
        })
        .collect();
    Ok(Tool {
        name,
        params,
        required,
    })
}

#[cfg(test)]
mod tests {
    use crate::reference::{ParamKey, Reference};
    use serde_json::json;

    #[test]
    #[cfg_attr(
        not(feature = "preserve_order"),
        ignore = "needs serde_json's preserve_order"
    )]
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
    fn required_parameters_are_never_optional() {
        let tools = [json!({"name": "f", "parameters": {
            "type": "object",
            "properties": {"a": {"type": "string", "default": "x"}, "b": {"type": "integer", "default": 1}},
            "required": ["a"]
        }})];
        let r = Reference::from_answer("f(a='x', b=1)")
            .unwrap()
            .with_tools(&tools)
            .unwrap();
        assert!(!r.calls[0].params[0].optional, "a is required");
        assert!(r.calls[0].params[1].optional, "b is not");
        let r = Reference::default()
            .with_possible_answers(&json!([{"f": {"a": ["x", ""]}}]))
            .unwrap()
            .with_tools(&tools)
            .unwrap();
        assert!(!r.calls[0].params[0].optional, "required wins over \"\"");
        let err = Reference::default()
            .with_tools(&[json!({"name": "f", "parameters": {"type": "object", "required": [1]}})])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tool 0: `parameters.required` must be a list of names"
        );
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
