//! Turning a parsed [`ToolCall`] into the JSON arguments of `tools/call`,
//! checked against the tool's schema.
//!
//! The check is deliberately shallow (names, not types): it catches what a
//! model gets wrong most often, with a message it can act on, and leaves
//! type checks to the server, whose own error text goes back just the same.

use grpo_rewards::ToolCall;
use serde_json::{Map, Value};

use crate::tool_info::ToolInfo;

/// The call's arguments as a JSON object: keyword arguments by name,
/// positional ones under the schema's properties in declaration order.
///
/// Errors name the problem the way the model should read it.
pub(crate) fn call_arguments(
    call: &ToolCall,
    tool: &ToolInfo,
) -> Result<Map<String, Value>, String> {
    let declared: Vec<&String> = tool.properties().map(|(name, _)| name).collect();
    let mut arguments = Map::new();
    for (i, value) in call.positional.iter().enumerate() {
        let Some(name) = declared.get(i) else {
            return Err(format!(
                "`{}` takes at most {} positional argument(s), {} were given",
                tool.name,
                declared.len(),
                call.positional.len()
            ));
        };
        arguments.insert((*name).clone(), value.to_json());
    }
    for (name, value) in &call.args {
        if arguments.contains_key(name) {
            return Err(format!("`{}` got argument `{name}` twice", tool.name));
        }
        arguments.insert(name.clone(), value.to_json());
    }
    if !tool.accepts_unlisted() {
        if let Some(unknown) = arguments.keys().find(|k| !declared.contains(k)) {
            return Err(format!(
                "`{}` has no parameter `{unknown}`; its parameters are: {}",
                tool.name,
                list(&declared)
            ));
        }
    }
    let missing: Vec<&str> = tool
        .required()
        .filter(|r| !arguments.contains_key(*r))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "`{}` is missing required argument(s): {}",
            tool.name,
            missing.join(", ")
        ));
    }
    Ok(arguments)
}

fn list(names: &[&String]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool() -> ToolInfo {
        let schema = json!({
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "round": {"type": "boolean"}},
            "required": ["a", "b"]
        });
        ToolInfo {
            name: "add".into(),
            description: String::new(),
            input_schema: schema.as_object().unwrap().clone(),
            server: "calc".into(),
        }
    }

    #[test]
    fn positional_arguments_take_the_declared_names_in_order() {
        let call = ToolCall::new("add")
            .positional(2)
            .positional(3)
            .arg("round", true);
        let args = call_arguments(&call, &tool()).unwrap();
        assert_eq!(Value::Object(args), json!({"a": 2, "b": 3, "round": true}));
    }

    #[test]
    fn wrong_names_missing_ones_and_extra_positionals_are_explained() {
        let err =
            call_arguments(&ToolCall::new("add").arg("a", 1).arg("c", 2), &tool()).unwrap_err();
        assert_eq!(
            err,
            "`add` has no parameter `c`; its parameters are: a, b, round"
        );
        let err = call_arguments(&ToolCall::new("add").arg("a", 1), &tool()).unwrap_err();
        assert_eq!(err, "`add` is missing required argument(s): b");
        let call = ToolCall::new("add")
            .positional(1)
            .positional(2)
            .positional(3)
            .positional(4);
        let err = call_arguments(&call, &tool()).unwrap_err();
        assert!(err.contains("at most 3 positional"), "{err}");
        let err =
            call_arguments(&ToolCall::new("add").positional(1).arg("a", 1), &tool()).unwrap_err();
        assert_eq!(err, "`add` got argument `a` twice");
    }
}
