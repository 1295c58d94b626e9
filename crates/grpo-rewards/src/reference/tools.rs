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

/// Reads one tool schema (see [`Reference::with_tools`](crate::Reference::with_tools)).
pub(super) fn parse_tool(index: usize, tool: &serde_json::Value) -> Result<Tool> {
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
    let required = match object.get("parameters") {
        Some(J::Object(p)) => match p.get("required") {
            None | Some(J::Null) => Vec::new(),
            Some(J::Array(names)) => names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or(invalid("parameters.required", "a list of names"))?,
            Some(_) => return Err(invalid("parameters.required", "a list of names")),
        },
        _ => Vec::new(),
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
