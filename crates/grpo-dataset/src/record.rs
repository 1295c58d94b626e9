//! One record of the tool-calling JSONL format: the guide's fields, the
//! documented extensions, and every other field kept as it was.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The `type` every record of the guide's format carries.
pub const TOOL_CALL_TYPE: &str = "tool_call";

/// One tool-calling task: a prompt and the expected calls.
///
/// The first nine fields are the guide's. `tools`, `possible_answers` and
/// `messages` are this crate's documented extensions; any other field of a
/// record is kept in [`Example::extra`] and written back unchanged, so a
/// round trip through this type loses nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// System text, the function list (as JSON) and the user query.
    pub prompt: String,
    /// The expected calls in Python call syntax, one per line, e.g.
    /// `calculate_factorial(n=5)`. Empty means no listed function applies.
    pub answer: String,
    /// The record type (`"tool_call"`), JSON key `type`.
    pub record_type: String,
    /// The primary function the answer calls.
    pub ground_truth: Option<String>,
    /// A readable form of the ground truth; in the guide, the function name.
    pub ground_truth_text: Option<String>,
    /// The names of all functions listed in the prompt.
    pub possible_boxed_answers: Vec<String>,
    /// Whether the answer calls more than one distinct function.
    pub is_multi_answer: bool,
    /// How sure the source is of the answer, in `[0, 1]`.
    pub confidence: f64,
    /// Where the record comes from (`"synthetic"`, `"xlam"`, …).
    pub source: String,
    /// Extension: the function list as JSON objects. Filled from the prompt
    /// at load when the record has none (see [`Example::tools_from_prompt`]),
    /// so chat templates that take tools natively can use it.
    pub tools: Option<Vec<Value>>,
    /// Extension: allowed values per parameter, in the Berkeley Function
    /// Calling Leaderboard form `[{"fn": {"param": [v1, v2]}}]`.
    pub possible_answers: Option<Value>,
    /// Extension: the conversation, when the task is multi-turn.
    pub messages: Option<Vec<Message>>,
    /// Extension: the answer the model should give last, after reading its
    /// tools' results, in the form [`grpo_rewards::FinalAnswer::from_json`]
    /// reads (a string, a number, or `{"value", "match", "tolerance"}`);
    /// see [`Example::expected_final_answer`].
    pub final_answer: Option<Value>,
    /// True when `tools` was extracted from the prompt text rather than read
    /// from the record; such tools are not written back, since the prompt
    /// already holds them.
    pub tools_from_prompt: bool,
    /// Every field this type does not know, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Default for Example {
    fn default() -> Self {
        Self {
            prompt: String::new(),
            answer: String::new(),
            record_type: TOOL_CALL_TYPE.to_owned(),
            ground_truth: None,
            ground_truth_text: None,
            possible_boxed_answers: Vec::new(),
            is_multi_answer: false,
            confidence: 1.0,
            source: String::new(),
            tools: None,
            possible_answers: None,
            messages: None,
            final_answer: None,
            tools_from_prompt: false,
            extra: Map::new(),
        }
    }
}

impl Example {
    /// The expected answer, as the rewards read it: its calls, with the
    /// per-parameter alternatives (`possible_answers`) and the function
    /// schemas (`tools`) when the record has them.
    ///
    /// # Errors
    ///
    /// When the answer, the possible answers or the schemas cannot be read.
    pub fn reference(&self) -> Result<grpo_rewards::Reference, grpo_rewards::Error> {
        // An answering turn expects no call: its reply is words.
        let calls = if self.is_answer_turn() {
            ""
        } else {
            &self.answer
        };
        let mut r = grpo_rewards::Reference::from_answer(calls)?;
        if let Some(possible) = &self.possible_answers {
            r = r.with_possible_answers(possible)?;
        }
        if let Some(tools) = &self.tools {
            r = r.with_tools(tools)?;
        }
        // The whole row, for rewards that read other columns.
        if let Ok(serde_json::Value::Object(row)) = serde_json::to_value(self) {
            r = r.with_row(row);
        }
        Ok(r)
    }

    /// The expected final answer (the `final_answer` field), read; `None`
    /// when the record has none, `Some(Err(why))` when it is malformed
    /// (which [`validate`](crate::validate()) reports).
    pub fn expected_final_answer(&self) -> Option<Result<grpo_rewards::FinalAnswer, String>> {
        self.final_answer
            .as_ref()
            .map(grpo_rewards::FinalAnswer::from_json)
    }

    /// Whether this is an irrelevance task: no listed function applies.
    pub fn is_irrelevance(&self) -> bool {
        self.answer.trim().is_empty()
    }

    /// Whether this record is the turn that answers from tool results:
    /// its `messages` end with a `tool` message, so its `answer` is the
    /// assistant's reply in words, not calls (what
    /// [`synth::answer_turn`](crate::synth::answer_turn) writes).
    pub fn is_answer_turn(&self) -> bool {
        self.messages
            .as_ref()
            .and_then(|m| m.last())
            .is_some_and(|m| m.role == "tool")
    }

    /// The source's id of the record (the optional `id` field, kept in
    /// [`Example::extra`]; `source_id` as older BFCL conversions wrote it).
    pub fn id(&self) -> Option<&str> {
        ["id", "source_id"]
            .iter()
            .find_map(|k| self.extra.get(*k).and_then(Value::as_str))
    }

    /// The source's category of the record (the optional `category` field,
    /// kept in [`Example::extra`]), e.g. a BFCL category such as
    /// `live_multiple`.
    pub fn category(&self) -> Option<&str> {
        self.extra.get("category").and_then(Value::as_str)
    }

    /// The record as one line of JSON, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        // Serializing strings, numbers and maps into a String cannot fail.
        serde_json::to_string(self).expect("an Example always serializes to JSON")
    }
}

impl Serialize for Example {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("prompt", &self.prompt)?;
        map.serialize_entry("answer", &self.answer)?;
        map.serialize_entry("type", &self.record_type)?;
        if let Some(v) = &self.ground_truth {
            map.serialize_entry("ground_truth", v)?;
        }
        if let Some(v) = &self.ground_truth_text {
            map.serialize_entry("ground_truth_text", v)?;
        }
        map.serialize_entry("possible_boxed_answers", &self.possible_boxed_answers)?;
        map.serialize_entry("is_multi_answer", &self.is_multi_answer)?;
        map.serialize_entry("confidence", &self.confidence)?;
        map.serialize_entry("source", &self.source)?;
        if let (Some(v), false) = (&self.tools, self.tools_from_prompt) {
            map.serialize_entry("tools", v)?;
        }
        if let Some(v) = &self.possible_answers {
            map.serialize_entry("possible_answers", v)?;
        }
        if let Some(v) = &self.messages {
            map.serialize_entry("messages", v)?;
        }
        if let Some(v) = &self.final_answer {
            map.serialize_entry("final_answer", v)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One turn of a conversation, in the OpenAI chat shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text of the turn; `null` and content-part lists are read as text.
    #[serde(default, deserialize_with = "content_text")]
    pub content: String,
    /// The calls an assistant turn makes, as given by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<Value>>,
    /// Every other key of the turn (`name`, `tool_call_id`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A turn with `role` and `content` and nothing else.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            ..Self::default()
        }
    }
}

/// Reads `content` given as a string, `null`, or a list of
/// `{"type": "text", "text": …}` parts (joined).
fn content_text<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(de)? {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts {
                match part.get("text").and_then(Value::as_str) {
                    Some(t) => text.push_str(t),
                    None => {
                        return Err(D::Error::custom(
                            "expected content parts with a `text` string",
                        ))
                    }
                }
            }
            Ok(text)
        }
        other => Err(D::Error::custom(format!(
            "expected content as a string, null or a list of text parts, got {}",
            crate::json_type_name(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_guide_fields_then_extensions_then_extra() {
        let mut ex = Example {
            prompt: "p".into(),
            answer: "f(x=1)".into(),
            ground_truth: Some("f".into()),
            source: "s".into(),
            ..Example::default()
        };
        ex.extra.insert("kind".into(), Value::from("single"));
        assert_eq!(
            ex.to_json_line(),
            r#"{"prompt":"p","answer":"f(x=1)","type":"tool_call","ground_truth":"f","possible_boxed_answers":[],"is_multi_answer":false,"confidence":1.0,"source":"s","kind":"single"}"#
        );
    }

    #[test]
    fn tools_taken_from_the_prompt_are_not_written_back() {
        let ex = Example {
            tools: Some(vec![serde_json::json!({"name": "f"})]),
            tools_from_prompt: true,
            ..Example::default()
        };
        assert!(!ex.to_json_line().contains("\"tools\""));
    }

    #[test]
    fn message_content_accepts_null_and_parts() {
        let m: Message = serde_json::from_str(r#"{"role":"user","content":null}"#).unwrap();
        assert_eq!(m.content, "");
        let m: Message = serde_json::from_str(
            r#"{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"name":"x"}"#,
        )
        .unwrap();
        assert_eq!(m.content, "ab");
        assert_eq!(m.extra["name"], "x");
    }
}
