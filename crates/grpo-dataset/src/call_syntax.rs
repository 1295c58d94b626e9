//! Rendering calls in the guide's Python call syntax: `name(key=value, …)`.
//!
//! Converters and the generator get arguments as JSON; answers are written
//! the way the guide writes them, so every source ends up in one form. The
//! text comes from `grpo_rewards::ToolCall`'s `Display`, the canonical form
//! that the rewards' parser reads back to the same call.

use grpo_rewards::{ToolCall, Value};

/// Renders one call with its keyword arguments in the given order.
pub fn render_call<'a>(
    name: &str,
    args: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
) -> String {
    ToolCall {
        name: name.to_owned(),
        positional: Vec::new(),
        args: args
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_python_literals_that_parse_back() {
        let args = [
            ("n", json!(5)),
            ("x", json!(2.5)),
            ("s", json!("say \"hi\"\n")),
            ("flag", json!(true)),
            ("none", json!(null)),
            ("xs", json!([1, "a", false])),
            ("d", json!({"k": [1.0]})),
        ];
        let text = render_call("f", args.iter().map(|(k, v)| (*k, v)));
        assert_eq!(
            text,
            r#"f(n=5, x=2.5, s="say \"hi\"\n", flag=True, none=None, xs=[1, "a", False], d={"k": [1.0]})"#
        );
        let parsed = grpo_rewards::extract_function_calls(&text);
        assert!(parsed.errors.is_empty());
        assert_eq!(parsed.calls.len(), 1);
        assert_eq!(parsed.calls[0].to_string(), text);
    }

    #[test]
    fn no_arguments() {
        assert_eq!(render_call("get_time", []), "get_time()");
    }
}
