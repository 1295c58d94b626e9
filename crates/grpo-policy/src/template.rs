//! Hugging Face chat templates, rendered as Python `transformers` renders them.
//!
//! A chat template is a Jinja program shipped with the tokenizer that turns a
//! list of messages (and optionally tool schemas) into the prompt text the
//! model was trained on. transformers renders it with Jinja2 in a sandbox
//! configured in `transformers/utils/chat_template_utils.py`; this module
//! reproduces that configuration with [minijinja]:
//!
//! - `trim_blocks` and `lstrip_blocks` on, trailing newline dropped;
//! - `{% break %}` / `{% continue %}`;
//! - `tojson` is Python's `json.dumps(x, ensure_ascii=False, indent=None,
//!   separators=None, sort_keys=False)` (not Jinja's HTML-safe one);
//! - `raise_exception(msg)` fails the render with the template's message;
//! - `strftime_now(fmt)` formats the local time;
//! - Python string, list and dict methods (`.strip()`, `.split()`,
//!   `.startswith()`, `.items()`, `.get()`, …) through minijinja-contrib's
//!   `pycompat`;
//! - messages are normalised first as transformers does: keys whose value is
//!   `null` are dropped, and `reasoning_content` / `thinking` / `reasoning`
//!   are copied under each other's names.

mod pyjson;

use std::fmt::Write as _;
use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, ErrorKind};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// The name templates get when a tokenizer has only one.
pub const DEFAULT_TEMPLATE_NAME: &str = "default";

/// The template transformers picks when tools are given and the tokenizer has
/// a template under this name.
pub const TOOL_USE_TEMPLATE_NAME: &str = "tool_use";

/// The inputs of one render: what transformers passes to `template.render`.
#[derive(Debug, Clone, Default)]
pub struct ChatContext<'a> {
    /// The conversation: JSON objects with at least `role`, usually
    /// `content`, and for assistant turns possibly `tool_calls`.
    pub messages: &'a [Json],
    /// Tool schemas (`{"type": "function", "function": {...}}`); `None` is
    /// passed to the template as `none`, as transformers does.
    pub tools: Option<&'a [Json]>,
    /// Retrieval documents, for templates that support them.
    pub documents: Option<&'a [Json]>,
    /// Append the header that starts an assistant turn.
    pub add_generation_prompt: bool,
    /// Further template variables: the tokenizer's special tokens
    /// (`bos_token`, `eos_token`, …) and options such as `enable_thinking` or
    /// `date_string`. The fields above take precedence over these.
    pub variables: Map<String, Json>,
}

/// One compiled chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    name: String,
    source: String,
    env: Environment<'static>,
}

impl ChatTemplate {
    /// Compiles `source`; `name` is used in error messages and for selection
    /// among several templates.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Result<Self> {
        Self::compile(name.into(), source.into(), "inline".into())
    }

    /// Compiles a template read from `file`, which syntax errors name.
    pub(crate) fn from_origin(
        name: impl Into<String>,
        source: impl Into<String>,
        file: &Path,
    ) -> Result<Self> {
        Self::compile(name.into(), source.into(), file.display().to_string())
    }

    fn compile(name: String, source: String, origin: String) -> Result<Self> {
        let mut env = environment();
        env.add_template_owned(TEMPLATE_KEY, source.clone())
            .map_err(|source| Error::TemplateSyntax {
                name: name.clone(),
                origin,
                source,
            })?;
        Ok(ChatTemplate { name, source, env })
    }

    /// The template's name (`default`, `tool_use`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Jinja source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the conversation in `context` to prompt text.
    ///
    /// # Errors
    /// [`Error::InvalidChat`] when the conversation is empty or a message or
    /// tool is not a JSON object; [`Error::TemplateRender`] when the template
    /// raises an exception or misuses a value.
    pub fn render(&self, context: &ChatContext<'_>) -> Result<String> {
        let messages = normalize_messages(context.messages)?;
        let tools = context.tools.map(check_objects("tool")).transpose()?;
        let documents = context
            .documents
            .map(check_objects("document"))
            .transpose()?;

        let mut vars: Vec<(String, Value)> = context
            .variables
            .iter()
            .map(|(key, value)| (key.clone(), to_value(value)))
            .collect();
        vars.push(("messages".into(), to_value(&Json::Array(messages))));
        vars.push((
            "tools".into(),
            tools.map_or(Value::from(()), |t| to_value(&Json::Array(t))),
        ));
        vars.push((
            "documents".into(),
            documents.map_or(Value::from(()), |d| to_value(&Json::Array(d))),
        ));
        vars.push((
            "add_generation_prompt".into(),
            Value::from(context.add_generation_prompt),
        ));
        // Later entries win, as keyword arguments do in `template.render(**kwargs)`.
        let ctx = Value::from_pairs(vars);

        let render_error = |source| Error::TemplateRender {
            name: self.name.clone(),
            source,
        };
        let template = self.env.get_template(TEMPLATE_KEY).map_err(render_error)?;
        template.render(ctx).map_err(render_error)
    }
}

/// A tokenizer's chat templates: one, or several by name as in
/// `"chat_template": [{"name": ..., "template": ...}]`.
#[derive(Debug, Clone)]
pub struct ChatTemplates {
    templates: Vec<ChatTemplate>,
}

impl ChatTemplates {
    /// Wraps compiled templates; an empty list means "no template".
    pub fn new(templates: Vec<ChatTemplate>) -> Self {
        ChatTemplates { templates }
    }

    /// The template names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.templates.iter().map(ChatTemplate::name).collect()
    }

    /// Whether there is no template at all.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Picks the template transformers' `get_chat_template` picks: the one
    /// named `name` if given; otherwise a single template, or `tool_use` when
    /// tools are given and it exists, or `default`.
    ///
    /// Returns `Ok(None)` when there are no templates.
    pub fn select(&self, name: Option<&str>, with_tools: bool) -> Result<Option<&ChatTemplate>> {
        if self.templates.is_empty() {
            return Ok(None);
        }
        let find = |wanted: &str| self.templates.iter().find(|t| t.name == wanted);
        let chosen = match name {
            Some(wanted) => find(wanted),
            None if self.templates.len() == 1 => self.templates.first(),
            None => with_tools
                .then(|| find(TOOL_USE_TEMPLATE_NAME))
                .flatten()
                .or_else(|| find(DEFAULT_TEMPLATE_NAME)),
        };
        match chosen {
            Some(template) => Ok(Some(template)),
            None => Err(Error::UnknownChatTemplate {
                name: name.unwrap_or(DEFAULT_TEMPLATE_NAME).to_owned(),
                known: self.names().into_iter().map(str::to_owned).collect(),
            }),
        }
    }
}

const TEMPLATE_KEY: &str = "chat";

/// The Jinja environment transformers' `_compile_jinja_template` builds.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    // Floats print as Python's `repr` (`1e-05`, not `0.00001`).
    env.set_formatter(|out, state, value| {
        if value.kind() == ValueKind::Number && !value.is_integer() {
            if let Ok(x) = f64::try_from(value.clone()) {
                return out.write_str(&pyjson::float_repr(x)).map_err(|_| {
                    minijinja::Error::new(ErrorKind::WriteFailure, "cannot write the output")
                });
            }
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("tojson", pyjson::tojson);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime_now);
    // Jinja2 calls anything with a length and `__getitem__` a sequence:
    // strings and dicts too, which templates rely on.
    env.add_test("sequence", |v: &Value| {
        v.is_undefined()
            || matches!(
                v.kind(),
                ValueKind::Seq | ValueKind::String | ValueKind::Map
            )
    });
    env
}

fn raise_exception(message: String) -> std::result::Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

/// `datetime.now().strftime(format)`, in local time.
fn strftime_now(format: &str) -> std::result::Result<String, minijinja::Error> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    let invalid = || {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("invalid strftime format `{format}`"),
        )
    };
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(invalid());
    }
    let mut out = String::new();
    write!(
        out,
        "{}",
        chrono::Local::now().format_with_items(items.into_iter())
    )
    .map_err(|_| invalid())?;
    Ok(out)
}

fn to_value(json: &Json) -> Value {
    Value::from(minijinja::value::Serde(json))
}

/// transformers' `_normalize_chat_messages` and `_alias_reasoning_fields`.
fn normalize_messages(messages: &[Json]) -> Result<Vec<Json>> {
    if messages.is_empty() {
        return Err(Error::InvalidChat {
            what: "the conversation has no messages".into(),
        });
    }
    messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            let Json::Object(fields) = message else {
                return Err(Error::InvalidChat {
                    what: format!("message {i} is {}, not a JSON object", json_kind(message)),
                });
            };
            let fields: Map<String, Json> = fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let reasoning = ["reasoning_content", "thinking", "reasoning"]
                .iter()
                .find_map(|key| fields.get(*key))
                .cloned();
            let Some(reasoning) = reasoning else {
                return Ok(Json::Object(fields));
            };
            let mut aliased = Map::new();
            aliased.insert("thinking".into(), reasoning.clone());
            aliased.extend(fields);
            aliased.insert("reasoning_content".into(), reasoning);
            Ok(Json::Object(aliased))
        })
        .collect()
}

fn check_objects(what: &'static str) -> impl Fn(&[Json]) -> Result<Vec<Json>> {
    move |items| {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Json::Object(_) => Ok(item.clone()),
                other => Err(Error::InvalidChat {
                    what: format!("{what} {i} is {}, not a JSON object", json_kind(other)),
                }),
            })
            .collect()
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(source: &str, messages: &[Json]) -> Result<String> {
        let context = ChatContext {
            messages,
            ..Default::default()
        };
        ChatTemplate::new("test", source)?.render(&context)
    }

    #[test]
    fn null_fields_are_dropped_and_reasoning_is_aliased() {
        let messages = [json!({"role": "assistant", "content": null, "reasoning": "hmm"})];
        let out = render("{{ messages[0] | tojson }}", &messages).unwrap();
        assert_eq!(
            out,
            r#"{"thinking": "hmm", "role": "assistant", "reasoning": "hmm", "reasoning_content": "hmm"}"#
        );
    }

    #[test]
    fn raise_exception_carries_the_template_message() {
        let err = render(
            "{{ raise_exception('only user turns, got ' + messages[0].role) }}",
            &[json!({"role": "x"})],
        )
        .unwrap_err();
        assert!(matches!(err, Error::TemplateRender { .. }));
        assert!(err.to_string().contains("only user turns, got x"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_template() {
        let err = ChatTemplate::new("tool_use", "{% if %}").unwrap_err();
        assert!(
            matches!(err, Error::TemplateSyntax { ref name, .. } if name == "tool_use"),
            "{err}"
        );
    }

    #[test]
    fn empty_conversations_and_non_object_messages_are_rejected() {
        assert!(matches!(render("x", &[]), Err(Error::InvalidChat { .. })));
        let err = render("x", &[json!("hello")]).unwrap_err();
        assert!(err.to_string().contains("message 0 is a string"), "{err}");
    }

    #[test]
    fn strftime_now_formats_today_and_rejects_bad_formats() {
        let out = render("{{ strftime_now('%Y') }}", &[json!({"role": "user"})]).unwrap();
        assert_eq!(out.len(), 4);
        assert!(out.chars().all(|c| c.is_ascii_digit()), "{out}");
        assert!(render("{{ strftime_now('%Q') }}", &[json!({"role": "user"})]).is_err());
    }

    #[test]
    fn selection_follows_get_chat_template() {
        let t = |name: &str| ChatTemplate::new(name, name.to_owned()).unwrap();
        let several = ChatTemplates::new(vec![t("default"), t("tool_use"), t("rag")]);
        assert_eq!(
            several.select(None, false).unwrap().unwrap().name(),
            "default"
        );
        assert_eq!(
            several.select(None, true).unwrap().unwrap().name(),
            "tool_use"
        );
        assert_eq!(
            several.select(Some("rag"), true).unwrap().unwrap().name(),
            "rag"
        );
        let err = several.select(Some("nope"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no chat template named `nope` (known: default, tool_use, rag)"
        );

        let no_default = ChatTemplates::new(vec![t("a"), t("b")]);
        assert!(no_default.select(None, false).is_err());
        assert!(ChatTemplates::new(vec![])
            .select(None, false)
            .unwrap()
            .is_none());
    }
}
