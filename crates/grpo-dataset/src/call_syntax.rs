//! Rendering calls in the guide's Python call syntax: `name(key=value, …)`.
//!
//! Converters get arguments as JSON; answers are written the way the guide
//! writes them, so every source ends up in one form. Strings are written
//! with double quotes and JSON escapes, which Python reads unchanged;
//! `true`/`false`/`null` become `True`/`False`/`None`.

use std::fmt::Write as _;

use serde_json::Value;

/// Renders one call with its keyword arguments in the given order.
pub fn render_call<'a>(name: &str, args: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let mut out = String::with_capacity(name.len() + 32);
    out.push_str(name);
    out.push('(');
    for (i, (key, value)) in args.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(key);
        out.push('=');
        write_python_value(&mut out, value);
    }
    out.push(')');
    out
}

/// Appends a JSON value as a Python literal.
pub fn write_python_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_python_value(out, v);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_python_literals() {
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
    }

    #[test]
    fn no_arguments() {
        assert_eq!(render_call("get_time", []), "get_time()");
    }
}
