//! Chats with tools: NousResearch hermes-function-calling-v1 (ShareGPT
//! `{"conversations": [{"from", "value"}], "tools"}`, calls as
//! `<tool_call>{…}</tool_call>` in `gpt` turns, tools also as
//! `<tools>[…]</tools>` in the system turn) and OpenAI-style
//! `{"messages": [{"role", "content", "tool_calls"}], "tools"}`.
//!
//! The answer is the calls of the first assistant turn that makes any; the
//! query is the last user turn before it, and when other turns came before
//! it (a system turn, earlier exchanges), the conversation up to it is kept
//! in `messages`. If no
//! assistant turn calls a function, the first user turn becomes an
//! irrelevance task.

use serde_json::Value;

use super::{assemble, context_messages, json_field, Call};
use crate::prompt::JsonStyle;
use crate::record::{Example, Message};

pub(super) fn convert(record: &Value, style: JsonStyle) -> Result<Example, String> {
    let turns = read_turns(record)?;
    let mut tools = match json_field(record, "tools")? {
        Some(Value::Array(list)) => list,
        Some(_) => return Err("`tools` is not a list".into()),
        None => Vec::new(),
    };
    if tools.is_empty() {
        if let Some(system) = turns.iter().find(|m| m.role == "system") {
            tools = tools_in_tags(&system.content)?;
        }
    }
    let call_turn = turns.iter().position(|m| {
        m.role == "assistant" && (m.tool_calls.is_some() || m.content.contains("<tool_call>"))
    });
    let (before, calls) = match call_turn {
        Some(i) => (&turns[..i], calls_of(&turns[i])?),
        None => {
            let first_user = turns
                .iter()
                .position(|m| m.role == "user")
                .ok_or("the chat has no user turn")?;
            (&turns[..=first_user], Vec::new())
        }
    };
    let query = before
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.as_str())
        .ok_or("no user turn comes before the call")?;
    let mut ex = assemble(&tools, query, &calls, "hermes", style)?;
    ex.messages = context_messages(before);
    for key in ["id", "category", "subcategory", "task"] {
        if let Some(v) = record.get(key) {
            ex.extra.insert(format!("source_{key}"), v.clone());
        }
    }
    Ok(ex)
}

/// The turns as OpenAI messages, whichever shape the record has.
fn read_turns(record: &Value) -> Result<Vec<Message>, String> {
    if let Some(messages) = record.get("messages") {
        return serde_json::from_value(messages.clone())
            .map_err(|e| format!("`messages` is not a chat: {e}"));
    }
    let conv = record
        .get("conversations")
        .and_then(Value::as_array)
        .ok_or("neither `messages` nor `conversations` is present")?;
    conv.iter()
        .map(|turn| {
            let from = turn
                .get("from")
                .and_then(Value::as_str)
                .ok_or("a turn has no `from`")?;
            let value = turn
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let role = match from {
                "system" => "system",
                "human" | "user" => "user",
                "gpt" | "assistant" | "function_call" => "assistant",
                "tool" | "function_response" | "observation" => "tool",
                other => return Err(format!("unknown turn sender `{other}`")),
            };
            Ok(Message::new(role, value))
        })
        .collect()
}

/// The function list inside `<tools>…</tools>`: a JSON list, or JSON
/// objects one after another.
fn tools_in_tags(system: &str) -> Result<Vec<Value>, String> {
    // Hermes system prompts mention the tags in prose ("within <tools>
    // </tools> XML tags") before the real block: take the first non-empty one.
    for (start, _) in system.match_indices("<tools>") {
        let body = &system[start + "<tools>".len()..];
        let body = body.split("</tools>").next().unwrap_or(body).trim();
        if body.is_empty() {
            continue;
        }
        let mut tools = Vec::new();
        for item in serde_json::Deserializer::from_str(body).into_iter::<Value>() {
            match item.map_err(|e| format!("the <tools> block is not JSON: {e}"))? {
                Value::Array(list) => tools.extend(list),
                other => tools.push(other),
            }
        }
        return Ok(tools);
    }
    Ok(Vec::new())
}

/// The calls of one assistant turn: `tool_calls`, or `<tool_call>` blocks
/// holding JSON or a Python dict.
fn calls_of(turn: &Message) -> Result<Vec<Call>, String> {
    if let Some(list) = &turn.tool_calls {
        return list.iter().map(Call::from_json).collect();
    }
    let mut calls = Vec::new();
    for block in turn.content.split("<tool_call>").skip(1) {
        let body = block.split("</tool_call>").next().unwrap_or(block).trim();
        let value = serde_json::from_str::<Value>(body)
            .or_else(|_| grpo_rewards::parse_literal(body).map(|v| v.to_json()))
            .map_err(|e| {
                format!("a <tool_call> block is neither JSON nor a Python dict ({e}): {body}")
            })?;
        calls.push(Call::from_json(&value)?);
    }
    Ok(calls)
}
