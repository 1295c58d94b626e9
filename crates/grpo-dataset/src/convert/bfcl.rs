//! Berkeley Function Calling Leaderboard: question files with one
//! `{"id", "question", "function"}` per line (`question` as text, a list
//! of messages, or a list of turns of messages) and possible-answer files
//! with `{"id", "ground_truth": [{"fn": {"param": [allowed…]}}]}`.
//!
//! The answer takes, for each parameter, the first allowed value that is
//! not `""` (BFCL's mark for "may be omitted"), and leaves out a parameter
//! whose only allowed value is `""`; the full allowed sets are kept in
//! `possible_answers`. Irrelevance categories (ids starting with
//! `irrelevance` or `live_irrelevance`) have no possible answer and become
//! empty answers. Multi-turn tasks are rejected: their ground truth is a
//! sequence of exchanges, which one record cannot hold.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{assemble, context_messages, Call};
use crate::prompt::JsonStyle;
use crate::record::{Example, Message};

/// Possible answers keyed by id; records without an id are ignored here
/// and their questions are rejected as unanswered.
pub(super) fn answers_by_id(
    records: Vec<(String, Result<Value, String>)>,
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

pub(super) fn convert(
    record: &Value,
    answers: &HashMap<String, Value>,
    style: JsonStyle,
) -> Result<Example, String> {
    let id = record.get("id").and_then(Value::as_str).ok_or("no `id`")?;
    let tools = match record.get("function") {
        Some(Value::Array(list)) => list.clone(),
        Some(obj @ Value::Object(_)) => vec![obj.clone()],
        _ => return Err("no `function` list".into()),
    };
    let turns = question_turns(record.get("question").ok_or("no `question`")?)?;
    let query = turns
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.clone())
        .ok_or("the question has no user message")?;
    let irrelevance = id.starts_with("irrelevance") || id.starts_with("live_irrelevance");
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
        None if irrelevance => (Vec::new(), None),
        None => return Err(format!("no possible answer for id `{id}`")),
    };
    let mut ex = assemble(&tools, &query, &calls, "bfcl", style)?;
    ex.possible_answers = possible;
    ex.messages = context_messages(&turns);
    ex.extra.insert("source_id".into(), Value::from(id));
    Ok(ex)
}

/// The messages of a single-turn question.
fn question_turns(question: &Value) -> Result<Vec<Message>, String> {
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
fn pick_call(entry: &Value) -> Result<Call, String> {
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
        if let Some(v) = allowed.iter().find(|v| v.as_str() != Some("")) {
            args.insert(param.clone(), v.clone());
        }
    }
    Ok(Call {
        name: name.clone(),
        args,
    })
}
