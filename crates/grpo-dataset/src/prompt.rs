//! The guide's prompt shape: system text, the function list as JSON, and the
//! user query, separated by blank lines; building it and reading it back.

use std::ops::Range;

use serde_json::Value;

/// The system text of the guide's prompts.
pub const SYSTEM_TEXT: &str =
    "You are a helpful assistant with access to the following functions. Use them if required.";

/// How the function list is laid out inside a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// Indented by two spaces, one key per line, as in the guide.
    #[default]
    Pretty,
    /// One line without spaces: fewer tokens for small models.
    Compact,
}

/// Builds a prompt in the guide's shape:
/// `SYSTEM_TEXT`, a blank line, the tools as a JSON list, a blank line, the query.
///
/// Known keys come first in a fixed, readable order (`name`,
/// `description`, `type`, `parameters`, …); the others, parameter names
/// among them, keep the order of the source object.
pub fn build_prompt(tools: &[Value], query: &str, style: JsonStyle) -> String {
    let mut out = String::with_capacity(SYSTEM_TEXT.len() + query.len() + 256 * tools.len());
    out.push_str(SYSTEM_TEXT);
    out.push_str("\n\n");
    write_tools(&mut out, tools, style);
    out.push_str("\n\n");
    out.push_str(query);
    out
}

/// The function list as JSON text, keys in the order [`build_prompt`] uses.
pub fn render_tools(tools: &[Value], style: JsonStyle) -> String {
    let mut out = String::new();
    write_tools(&mut out, tools, style);
    out
}

fn write_tools(out: &mut String, tools: &[Value], style: JsonStyle) {
    let list = Value::Array(tools.to_vec());
    write_value(out, &list, style, 0);
}

/// Keys that come first, in this order; a person reads a function's name
/// and purpose before its parameters.
const KEY_ORDER: [&str; 9] = [
    "function",
    "name",
    "description",
    "type",
    "parameters",
    "properties",
    "required",
    "enum",
    "default",
];

fn key_rank(key: &str) -> usize {
    KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len())
}

fn write_value(out: &mut String, value: &Value, style: JsonStyle, depth: usize) {
    let pretty = style == JsonStyle::Pretty;
    match value {
        // Lists of scalars (enum words, defaults) stay on one line even when
        // pretty: one line per word would cost tokens and say nothing more.
        Value::Array(items) if pretty && items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&item.to_string());
            }
            out.push(']');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, depth + 1);
                }
                write_value(out, item, style, depth + 1);
            }
            if pretty {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            // Stable: keys of equal rank (parameter names) keep the source's
            // order, which maps positional arguments to names.
            keys.sort_by_key(|k| key_rank(k));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, depth + 1);
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(if pretty { ": " } else { ":" });
                write_value(out, &map[key], style, depth + 1);
            }
            if pretty {
                newline(out, depth);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// The name of a function object: `{"name": …}` or the OpenAI wrapper
/// `{"type": "function", "function": {"name": …}}`.
pub fn tool_name(tool: &Value) -> Option<&str> {
    tool.get("name")
        .or_else(|| tool.get("function").and_then(|f| f.get("name")))
        .and_then(Value::as_str)
}

/// Where the function list sits in a prompt, and its parsed entries.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsInPrompt {
    /// Byte range of the JSON list in the prompt.
    pub span: Range<usize>,
    /// The function objects.
    pub tools: Vec<Value>,
}

/// Finds the function list in a prompt: the first JSON array whose entries
/// are all function objects (see [`tool_name`]). Returns `None` when the
/// prompt has no such list.
pub fn find_tools(prompt: &str) -> Option<ToolsInPrompt> {
    // A few candidates suffice: in the guide's shape the list is the first
    // `[` after the system text; later ones are only tried for prompts whose
    // system text itself has brackets.
    const MAX_CANDIDATES: usize = 8;
    let bytes = prompt.as_bytes();
    let mut tried = 0;
    let mut from = 0;
    while tried < MAX_CANDIDATES {
        let start = from + memchr_byte(b'[', &bytes[from..])?;
        tried += 1;
        from = start + 1;
        let mut stream =
            serde_json::Deserializer::from_str(&prompt[start..]).into_iter::<Vec<Value>>();
        if let Some(Ok(tools)) = stream.next() {
            if !tools.is_empty() && tools.iter().all(|t| tool_name(t).is_some()) {
                let end = start + stream.byte_offset();
                return Some(ToolsInPrompt {
                    span: start..end,
                    tools,
                });
            }
        }
    }
    None
}

/// The user query of a prompt in the guide's shape: the text after the
/// function list, trimmed; the whole prompt when it has no list.
pub fn query_of(prompt: &str) -> &str {
    match find_tools(prompt) {
        Some(found) => prompt[found.span.end..].trim(),
        None => prompt.trim(),
    }
}

fn memchr_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn factorial() -> Value {
        json!({
            "name": "calculate_factorial",
            "description": "Calculates the factorial of a non-negative integer.",
            "parameters": {"n": {"description": "The non-negative integer.", "type": "int"}}
        })
    }

    #[test]
    fn builds_the_guide_prompt_byte_for_byte() {
        let expected = "You are a helpful assistant with access to the following functions. Use them if required.

[
  {
    \"name\": \"calculate_factorial\",
    \"description\": \"Calculates the factorial of a non-negative integer.\",
    \"parameters\": {
      \"n\": {
        \"description\": \"The non-negative integer.\",
        \"type\": \"int\"
      }
    }
  }
]

What is the factorial of 7?";
        assert_eq!(
            build_prompt(
                &[factorial()],
                "What is the factorial of 7?",
                JsonStyle::Pretty
            ),
            expected
        );
    }

    #[test]
    fn compact_style_is_one_line() {
        let text = render_tools(&[factorial()], JsonStyle::Compact);
        assert!(!text.contains('\n'));
        assert!(text.starts_with(r#"[{"name":"calculate_factorial","description":"#));
    }

    #[test]
    fn finds_tools_and_query_back() {
        for style in [JsonStyle::Pretty, JsonStyle::Compact] {
            let prompt = build_prompt(&[factorial()], "Factorial of [5]?", style);
            let found = find_tools(&prompt).unwrap();
            assert_eq!(found.tools, vec![factorial()]);
            assert_eq!(query_of(&prompt), "Factorial of [5]?");
        }
    }

    #[test]
    fn skips_brackets_that_are_not_function_lists() {
        let prompt = format!(
            "Note [1]: be brief. Tools: {} then [x]",
            render_tools(&[factorial()], JsonStyle::Compact)
        );
        assert_eq!(find_tools(&prompt).unwrap().tools.len(), 1);
        assert_eq!(find_tools("no list [1, 2] here"), None);
        assert_eq!(find_tools("broken [ {"), None);
    }

    #[test]
    fn openai_wrapped_tools_have_names() {
        let t = json!({"type": "function", "function": {"name": "f"}});
        assert_eq!(tool_name(&t), Some("f"));
        assert_eq!(tool_name(&json!({"description": "x"})), None);
    }
}
