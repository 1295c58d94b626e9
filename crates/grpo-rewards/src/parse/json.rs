//! JSON call shapes mapped to [`ToolCall`]s.
//!
//! The value grammar reads JSON into [`Value::Dict`]s; this module decides
//! which dicts are calls:
//!
//! - `{"name": "f", "arguments": {…}}`, with `function`, `tool` or
//!   `tool_name` for the name and `parameters` or `args` for the arguments;
//!   arguments may also be a JSON string (OpenAI) or a list (positional);
//! - OpenAI's `{"type": "function", "function": {"name": …, "arguments": "…"}}`;
//! - `{"tool_calls": [ … ]}`, and lists of any of these.
//!
//! The name must be a call name (dotted identifiers, `-` allowed after the
//! first character). A dict with keys beyond these (other than `id`, `type`, `index`,
//! `call_id`) is data, not a call: `{"name": "Ada", "age": 36}` is not a
//! call to `Ada`.

use crate::call::{ToolCall, Value};
use crate::parse::python::{is_call_name, unescape_name, value, ws};
use crate::parse::{Format, Formats};

const NAME_KEYS: [&str; 4] = ["name", "function", "tool", "tool_name"];
const ARGS_KEYS: [&str; 3] = ["arguments", "parameters", "args"];
const IGNORED_KEYS: [&str; 4] = ["id", "type", "index", "call_id"];

/// Appends the calls that the top-level item `v` holds and notes its
/// format. Returns `false` (leaving `out` as it was) when `v` is not a call,
/// a call shape, or a list of those.
pub(crate) fn push_item_calls(v: Value, out: &mut Vec<ToolCall>, formats: &mut Formats) -> bool {
    let start = out.len();
    let ok = match v {
        Value::List(items) => items
            .into_iter()
            .all(|item| push_one(item, out, formats, true)),
        other => push_one(other, out, formats, true),
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

fn push_one(v: Value, out: &mut Vec<ToolCall>, formats: &mut Formats, top: bool) -> bool {
    match v {
        Value::Call(call) => {
            formats.insert(Format::Python);
            out.push(*call);
            true
        }
        Value::Dict(entries) => {
            if top && is_tool_calls_message(&entries) {
                let Some(Value::List(items)) = take(entries, "tool_calls") else {
                    return false;
                };
                return items
                    .into_iter()
                    .all(|item| push_one(item, out, formats, false));
            }
            match call_from_shape(entries) {
                Some(call) => {
                    formats.insert(Format::Json);
                    out.push(call);
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Whether `entries` is `{"tool_calls": [...]}`, possibly with the `role`
/// and `content` of a chat message or ignored keys beside it.
fn is_tool_calls_message(entries: &[(String, Value)]) -> bool {
    let mut found = false;
    for (k, v) in entries {
        match k.as_str() {
            "tool_calls" if matches!(v, Value::List(_)) => found = true,
            "role" | "content" => {}
            k if IGNORED_KEYS.contains(&k) => {}
            _ => return false,
        }
    }
    found
}

/// The value under `key`, consuming the entries.
fn take(entries: Vec<(String, Value)>, key: &str) -> Option<Value> {
    entries.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Whether a dict's entries are a call shape (or a `tool_calls` message)
/// rather than data.
pub(crate) fn is_call_shape(entries: &[(String, Value)]) -> bool {
    is_tool_calls_message(entries) || call_from_shape(entries.to_vec()).is_some()
}

/// Reads one call shape; `None` when the dict is not one.
fn call_from_shape(entries: Vec<(String, Value)>) -> Option<ToolCall> {
    let mut name = None;
    let mut args = None;
    let mut nested = None;
    for (k, v) in entries {
        let key = k.as_str();
        if NAME_KEYS.contains(&key) && name.is_none() && nested.is_none() {
            match v {
                Value::Str(s) if is_call_name(&s) => name = Some(unescape_name(&s)),
                // OpenAI: {"type": "function", "function": {...}}.
                Value::Dict(inner) if key == "function" => nested = Some(inner),
                _ => return None,
            }
        } else if ARGS_KEYS.contains(&key) && args.is_none() {
            args = Some(v);
        } else if !IGNORED_KEYS.contains(&key) {
            return None;
        }
    }
    if let Some(inner) = nested {
        if name.is_some() || args.is_some() {
            return None;
        }
        return call_from_shape(inner);
    }
    let mut call = ToolCall::new(name?);
    match args {
        None | Some(Value::Null) => {}
        Some(Value::Dict(entries)) => call.args = entries,
        Some(Value::List(items)) => call.positional = items,
        Some(Value::Str(text)) => call.args = arguments_from_text(&text)?,
        Some(_) => return None,
    }
    Some(call)
}

/// Arguments given as a JSON string (`"arguments": "{\"a\": 1}"`): the
/// string must hold one dict and nothing else; an empty string means no
/// arguments.
fn arguments_from_text(text: &str) -> Option<Vec<(String, Value)>> {
    let body = ws(text);
    if body.is_empty() {
        return Some(Vec::new());
    }
    match value(body, 1) {
        Ok((rest, Value::Dict(entries))) if ws(rest).is_empty() => Some(entries),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(text: &str) -> Option<Vec<ToolCall>> {
        let (rest, v) = value(text, 0).ok()?;
        assert!(rest.is_empty());
        let mut out = Vec::new();
        let mut formats = Formats::default();
        push_item_calls(v, &mut out, &mut formats).then_some(out)
    }

    #[test]
    fn shapes() {
        let expected = vec![ToolCall::new("f").arg("a", 1)];
        for text in [
            r#"{"name": "f", "arguments": {"a": 1}}"#,
            r#"{"function": "f", "parameters": {"a": 1}}"#,
            r#"{"tool": "f", "args": {"a": 1}, "id": "x"}"#,
            r#"{"name": "f", "arguments": "{\"a\": 1}"}"#,
            r#"{"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}"#,
            r#"{"tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}"#,
            r#"{"role": "assistant", "content": null, "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}"#,
            r#"[{"name": "f", "arguments": {"a": 1}}]"#,
            "{'name': 'f', 'arguments': '{\"a\": 1}'}",
        ] {
            assert_eq!(calls(text), Some(expected.clone()), "{text}");
        }
        assert_eq!(
            calls(r#"{"name": "f", "arguments": ""}"#),
            Some(vec![ToolCall::new("f")])
        );
        assert_eq!(
            calls(r#"{"name": "f", "arguments": [1, "x"]}"#),
            Some(vec![ToolCall::new("f").positional(1).positional("x")])
        );
    }

    #[test]
    fn data_is_not_a_call() {
        for text in [
            r#"{"name": "Ada", "age": 36}"#,
            r#"{"arguments": {"a": 1}}"#,
            r#"{"name": 5}"#,
            r#"{"name": "two words"}"#,
            r#"{"name": ""}"#,
            r#"{"name": "f", "arguments": "not json"}"#,
            r#"{"name": "f", "arguments": 3}"#,
            r#"[{"name": "f"}, 3]"#,
            r#"{"tool_calls": [{"tool_calls": []}]}"#,
            "[1, 2]",
            "5",
        ] {
            assert_eq!(calls(text), None, "{text}");
        }
    }
}
