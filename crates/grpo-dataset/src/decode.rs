//! Decoding one JSONL line into an [`Example`], naming the field at fault.
//!
//! serde's derived code reports a wrong type as "invalid type: integer `5`,
//! expected a string at line 1 column 20", which does not say which field.
//! The hand-written visitor below records the field it was reading when
//! decoding failed, so the issue can name it; it also avoids serde's
//! `flatten` buffering, which matters for load throughput.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::issue::{Defect as Fault, IssueKind};
use crate::record::{Example, Message};

/// Decodes one line (without its newline).
pub(crate) fn decode_line(text: &str) -> Result<Example, Fault> {
    let fault = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = ExampleSeed { fault: &fault }
        .deserialize(&mut de)
        .and_then(|ex| de.end().map(|()| ex));
    result.map_err(|err| match fault.get() {
        Some((field, kind)) => Fault {
            field: Some(field),
            kind: if err.is_syntax() || err.is_eof() {
                IssueKind::NotJson
            } else {
                kind
            },
            detail: strip_position(&err.to_string()).to_owned(),
        },
        None => Fault {
            field: None,
            kind: IssueKind::NotJson,
            detail: format!(
                "not a JSON object: {} (column {})",
                strip_position(&err.to_string()),
                err.column()
            ),
        },
    })
}

/// serde_json appends " at line L column C"; the line is always 1 here and
/// the issue carries the file's line, so the suffix only adds noise.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// The fields this crate knows, for the key visitor.
#[derive(Clone, Copy)]
enum Field {
    Prompt,
    Answer,
    Type,
    GroundTruth,
    GroundTruthText,
    PossibleBoxedAnswers,
    IsMultiAnswer,
    Confidence,
    Source,
    Tools,
    PossibleAnswers,
    Messages,
    FinalAnswer,
}

impl Field {
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "prompt" => Self::Prompt,
            "answer" => Self::Answer,
            "type" => Self::Type,
            "ground_truth" => Self::GroundTruth,
            "ground_truth_text" => Self::GroundTruthText,
            "possible_boxed_answers" => Self::PossibleBoxedAnswers,
            "is_multi_answer" => Self::IsMultiAnswer,
            "confidence" => Self::Confidence,
            "source" => Self::Source,
            "tools" => Self::Tools,
            "possible_answers" => Self::PossibleAnswers,
            "messages" => Self::Messages,
            "final_answer" => Self::FinalAnswer,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Prompt => "prompt",
            Self::Answer => "answer",
            Self::Type => "type",
            Self::GroundTruth => "ground_truth",
            Self::GroundTruthText => "ground_truth_text",
            Self::PossibleBoxedAnswers => "possible_boxed_answers",
            Self::IsMultiAnswer => "is_multi_answer",
            Self::Confidence => "confidence",
            Self::Source => "source",
            Self::Tools => "tools",
            Self::PossibleAnswers => "possible_answers",
            Self::Messages => "messages",
            Self::FinalAnswer => "final_answer",
        }
    }
}

/// A record key: a known field, or any other name (kept in `extra`).
enum Key {
    Known(Field),
    Other(String),
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Field::from_key(v).map_or_else(|| Key::Other(v.to_owned()), Key::Known))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

struct ExampleSeed<'a> {
    fault: &'a Cell<Option<(&'static str, IssueKind)>>,
}

impl<'de> DeserializeSeed<'de> for ExampleSeed<'_> {
    type Value = Example;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Example, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ExampleSeed<'_> {
    type Value = Example;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with `prompt` and `answer`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Example, A::Error> {
        let mut ex = Example::default();
        let mut seen = [false; 13];
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            let field = match key {
                Key::Known(field) => field,
                Key::Other(name) => {
                    let value: Value = map.next_value()?;
                    extra.insert(name, value);
                    continue;
                }
            };
            let name = field.name();
            let slot = &mut seen[field as usize];
            if *slot {
                self.fault.set(Some((name, IssueKind::DuplicateField)));
                // Consume the value so the error is about the field, not syntax.
                map.next_value::<IgnoredAny>()?;
                return Err(de::Error::custom("appears twice in the record"));
            }
            *slot = true;
            self.fault.set(Some((name, IssueKind::WrongType)));
            match field {
                Field::Prompt => ex.prompt = map.next_value()?,
                Field::Answer => ex.answer = map.next_value()?,
                Field::Type => ex.record_type = map.next_value()?,
                Field::GroundTruth => ex.ground_truth = map.next_value()?,
                Field::GroundTruthText => ex.ground_truth_text = map.next_value()?,
                Field::PossibleBoxedAnswers => {
                    ex.possible_boxed_answers =
                        map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
                }
                Field::IsMultiAnswer => ex.is_multi_answer = map.next_value()?,
                Field::Confidence => ex.confidence = map.next_value()?,
                Field::Source => {
                    ex.source = map.next_value::<Option<String>>()?.unwrap_or_default()
                }
                Field::Tools => ex.tools = map.next_value()?,
                Field::PossibleAnswers => {
                    ex.possible_answers =
                        map.next_value::<Option<Value>>()?.filter(|v| !v.is_null());
                }
                Field::Messages => ex.messages = map.next_value::<Option<Vec<Message>>>()?,
                Field::FinalAnswer => {
                    ex.final_answer = map.next_value::<Option<Value>>()?.filter(|v| !v.is_null());
                }
            }
            self.fault.set(None);
        }
        for field in [Field::Prompt, Field::Answer] {
            if !seen[field as usize] {
                self.fault
                    .set(Some((field.name(), IssueKind::MissingField)));
                return Err(de::Error::custom(
                    "missing; every record needs `prompt` and `answer` (an empty answer means no function applies)",
                ));
            }
        }
        ex.extra = extra;
        Ok(ex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_guide_record_with_defaults_and_extra() {
        let ex = decode_line(
            r#"{"prompt":"p","answer":"f(n=5)","ground_truth":"f","kind":"single","nested":{"a":[1]}}"#,
        )
        .unwrap();
        assert_eq!(ex.prompt, "p");
        assert_eq!(ex.record_type, "tool_call");
        assert_eq!(ex.confidence, 1.0);
        assert_eq!(ex.ground_truth.as_deref(), Some("f"));
        assert_eq!(ex.extra["kind"], "single");
        assert_eq!(ex.extra["nested"]["a"][0], 1);
    }

    #[test]
    fn final_answer_is_read_and_written_back() {
        let line = r#"{"prompt":"p","answer":"calculate_factorial(n=6)","final_answer":{"value":"720","match":"numeric","tolerance":0.5}}"#;
        let ex = decode_line(line).unwrap();
        let expected = ex.expected_final_answer().unwrap().unwrap();
        assert!(expected.matches("6! is 720.2"));
        assert!(ex.extra.is_empty());
        let again = decode_line(&ex.to_json_line()).unwrap();
        assert_eq!(again.final_answer, ex.final_answer);
        assert!(
            decode_line(r#"{"prompt":"p","answer":"","final_answer":null}"#)
                .unwrap()
                .final_answer
                .is_none()
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let f = decode_line(r#"{"prompt":"p","answer":"","confidence":"high"}"#).unwrap_err();
        assert_eq!(f.field, Some("confidence"));
        assert_eq!(f.kind, IssueKind::WrongType);
        assert!(f.detail.contains("expected f64"), "{}", f.detail);
        assert!(!f.detail.contains("at line"), "{}", f.detail);
    }

    #[test]
    fn missing_prompt_is_reported_as_missing() {
        let f = decode_line(r#"{"answer":"f()"}"#).unwrap_err();
        assert_eq!((f.field, f.kind), (Some("prompt"), IssueKind::MissingField));
    }

    #[test]
    fn duplicate_field_is_reported() {
        let f = decode_line(r#"{"prompt":"a","prompt":"b","answer":""}"#).unwrap_err();
        assert_eq!(
            (f.field, f.kind),
            (Some("prompt"), IssueKind::DuplicateField)
        );
    }

    #[test]
    fn syntax_errors_and_non_objects_are_not_json() {
        for line in [
            "{prompt:1}",
            "[1,2]",
            "42",
            r#"{"prompt":"a","answer":""} x"#,
        ] {
            let f = decode_line(line).unwrap_err();
            assert_eq!((f.field, f.kind), (None, IssueKind::NotJson), "{line}");
        }
    }

    #[test]
    fn truncated_value_names_its_field() {
        let f = decode_line(r#"{"prompt":"#).unwrap_err();
        assert_eq!((f.field, f.kind), (Some("prompt"), IssueKind::NotJson));
    }

    #[test]
    fn syntax_error_inside_a_known_field_still_names_it() {
        let f = decode_line(r#"{"prompt":"a","tools":[{"name":}]}"#).unwrap_err();
        assert_eq!((f.field, f.kind), (Some("tools"), IssueKind::NotJson));
    }
}
