//! Berkeley Function Calling Leaderboard: question files with one
//! `{"id", "question", "function"}` per line (`question` as text, a list
//! of messages, or a list of turns of messages) and possible-answer files
//! with `{"id", "ground_truth": [{"fn": {"param": [allowed…]}}]}`.
//!
//! The answer takes, for each parameter, the first allowed value that is
//! not `""` (BFCL's mark for "may be omitted"), recursively inside BFCL's
//! nested dict form, and leaves out a parameter whose only allowed value is
//! `""`; the full allowed sets are kept in `possible_answers`. Each record
//! keeps its BFCL `id` and `category` (from the id, else from the file
//! name). Irrelevance categories have no possible answer and become empty
//! answers. Relevance records (`live_relevance`: any call is right) have
//! none either, and no `answer` can say "any call": they are rejected
//! unless the caller scores them itself (`mlx-grpo eval --bfcl`).
//! Multi-turn tasks are rejected: their ground truth is a sequence of
//! exchanges, which one record cannot hold.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{assemble, context_messages, read_source, Call};
use crate::bfcl::{parse_file_name, Category, Check, Entry};
use crate::error::{Error, Result};
use crate::prompt::JsonStyle;
use crate::record::{Example, Message};
use crate::validate::validate;

/// Reads a question file (and its possible answers) into entries in file
/// order, each with its BFCL id, category and example or rejection reason.
///
/// Without an answer file, only files whose records all belong to
/// categories without answers (irrelevance, relevance) can be read.
pub(crate) fn entries(
    input: &Path,
    answers: Option<&Path>,
    style: JsonStyle,
    keep_relevance: bool,
) -> Result<Vec<Entry>> {
    let records = read_source(input, "bfcl")?;
    let file_category = input
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_file_name)
        .and_then(|(_, name)| Category::from_name(name));
    let category_of = |record: &Value| {
        record
            .get("id")
            .and_then(Value::as_str)
            .and_then(Category::from_id)
            .or(file_category)
    };
    let answers = match answers {
        Some(path) => answers_by_id(read_source(path, "bfcl possible-answer")?),
        None => {
            let needs_answers = records.iter().any(|(_, r)| match r {
                Ok(v) => category_of(v).is_none_or(Category::has_answers),
                Err(_) => false,
            });
            if needs_answers {
                return Err(Error::BadSource {
                    path: input.to_owned(),
                    format: "bfcl",
                    reason: "the possible-answer file is needed too (--answers FILE, or \
                             possible_answer/<same name> beside it)"
                        .into(),
                });
            }
            HashMap::new()
        }
    };
    Ok(records
        .into_iter()
        .map(|(location, record)| {
            let id = record
                .as_ref()
                .ok()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let category = record.as_ref().ok().and_then(category_of);
            let example = record.and_then(|v| {
                let ex = convert(&v, category, &answers, style, keep_relevance)?;
                validate(&ex).map_err(|d| format!("converted record is invalid: {d}"))?;
                Ok(ex)
            });
            Entry {
                location,
                id,
                category,
                example,
            }
        })
        .collect())
}

/// Possible answers keyed by id; records without an id are ignored here
/// and their questions are rejected as unanswered.
fn answers_by_id(
    records: Vec<(String, std::result::Result<Value, String>)>,
) -> HashMap<String, Value> {
    records
        .into_iter()
        .filter_map(|(_, v)| v.ok())
        .filter_map(|v| {
            let id = v.get("id")?.as_str()?.to_owned();
            let gt = v.get("ground_truth")?.clone();
            Some((id, gt))
        })
        .collect()
}

fn convert(
    record: &Value,
    category: Option<Category>,
    answers: &HashMap<String, Value>,
    style: JsonStyle,
    keep_relevance: bool,
) -> std::result::Result<Example, String> {
    let id = record.get("id").and_then(Value::as_str).ok_or("no `id`")?;
    let tools = match record.get("function") {
        Some(Value::Array(list)) => list.clone(),
        Some(obj @ Value::Object(_)) => vec![obj.clone()],
        _ => return Err("no `function` list".into()),
    };
    let turns = question_turns(record.get("question").ok_or("no `question`")?)?;
    let last_user = turns
        .iter()
        .rposition(|m| m.role == "user")
        .ok_or("the question has no user message")?;
    let query = turns[last_user].content.clone();
    let check = category.map(Category::check);
    let (calls, possible) = match answers.get(id) {
        Some(gt) => {
            let list = match gt {
                Value::Array(l) => l.clone(),
                obj @ Value::Object(_) => vec![obj.clone()],
                _ => return Err(format!("the possible answer of `{id}` is not a list")),
            };
            (
                list.iter().map(pick_call).collect::<Result<Vec<_>, _>>()?,
                Some(Value::Array(list)),
            )
        }
        None if check == Some(Check::Irrelevance) => (Vec::new(), None),
        None if check == Some(Check::Relevance) && keep_relevance => (Vec::new(), None),
        None if check == Some(Check::Relevance) => {
            return Err(format!(
                "`{id}` is a relevance task: any call is right, which an `answer` cannot say \
                 (`mlx-grpo eval --bfcl` scores these)"
            ))
        }
        None => return Err(format!("no possible answer for id `{id}`")),
    };
    let mut ex = assemble(&tools, &query, &calls, "bfcl", style)?;
    ex.possible_answers = possible;
    // The conversation, when there is more than the one query, with the
    // guide's prompt (functions included) as its last user turn.
    ex.messages = context_messages(&turns).map(|mut messages| {
        messages[last_user].content = ex.prompt.clone();
        messages
    });
    // The tools are in the prompt; kept here for scoring and templates,
    // not written twice.
    ex.tools = Some(tools);
    ex.tools_from_prompt = true;
    ex.extra.insert("id".into(), Value::from(id));
    if let Some(c) = category {
        ex.extra.insert("category".into(), Value::from(c.name()));
    }
    Ok(ex)
}

/// The messages of a single-turn question.
fn question_turns(question: &Value) -> std::result::Result<Vec<Message>, String> {
    let messages = match question {
        Value::String(s) => return Ok(vec![Message::new("user", s.as_str())]),
        Value::Array(items) if items.iter().all(Value::is_array) => match items.as_slice() {
            [one] => one.clone(),
            _ => {
                return Err(format!(
                    "multi-turn question ({} turns) cannot be one record",
                    items.len()
                ))
            }
        },
        Value::Array(_) => question.clone(),
        _ => return Err("`question` is neither text nor messages".into()),
    };
    serde_json::from_value(messages).map_err(|e| format!("`question` messages are malformed: {e}"))
}

/// One expected call from `{"fn": {"param": [allowed…]}}`.
fn pick_call(entry: &Value) -> std::result::Result<Call, String> {
    let map = entry
        .as_object()
        .filter(|m| m.len() == 1)
        .ok_or("a possible answer is not `{\"function\": {…}}`")?;
    let (name, params) = map.iter().next().ok_or("empty possible answer")?;
    let params = params
        .as_object()
        .ok_or_else(|| format!("the parameters of `{name}` are not an object"))?;
    let mut args = Map::new();
    for (param, allowed) in params {
        let allowed = allowed
            .as_array()
            .ok_or_else(|| format!("`{name}.{param}` is not a list of allowed values"))?;
        if let Some(v) = first_allowed(allowed) {
            args.insert(param.clone(), v);
        }
    }
    Ok(Call {
        name: name.clone(),
        args,
    })
}

/// The first allowed value that is not `""`, with BFCL's nested form
/// resolved inside it.
fn first_allowed(allowed: &[Value]) -> Option<Value> {
    allowed
        .iter()
        .find(|v| v.as_str() != Some(""))
        .map(resolve_nested)
}

/// BFCL writes a dict-valued parameter as a dict of allowed-value lists
/// (`{"min": [300000], "max": [400000, ""]}`), and a list of dicts as a
/// list of those; this picks one value at each level. Anything else is a
/// literal and stays as written.
fn resolve_nested(value: &Value) -> Value {
    match value {
        Value::Object(map) if !map.is_empty() && map.values().all(Value::is_array) => {
            Value::Object(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), first_allowed(v.as_array()?)?)))
                    .collect(),
            )
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(is_nested_dict) => {
            Value::Array(items.iter().map(resolve_nested).collect())
        }
        other => other.clone(),
    }
}

fn is_nested_dict(value: &Value) -> bool {
    matches!(value, Value::Object(map) if !map.is_empty() && map.values().all(Value::is_array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_dicts_pick_one_value_per_level() {
        let call = pick_call(&json!({"find": {
            "budget": [{"min": [300000], "max": ["", 400000]}],
            "rooms": [[{"kind": ["bed"]}, {"kind": ["bath", ""]}]],
            "tags": [["a", "b"]],
            "meta": [{"format": "epoch"}],
            "unit": [""]
        }}))
        .unwrap();
        assert_eq!(
            Value::Object(call.args),
            json!({
                "budget": {"min": 300000, "max": 400000},
                "rooms": [{"kind": "bed"}, {"kind": "bath"}],
                "tags": ["a", "b"],
                "meta": {"format": "epoch"}
            })
        );
    }
}
