//! glaiveai glaive-function-calling-v2: `{"system", "chat"}`. The system
//! text lists functions as JSON objects after "Use them if required -";
//! the chat alternates `USER:`, `ASSISTANT:` and `FUNCTION RESPONSE:`
//! turns, and a call is `<functioncall> {"name": …, "arguments": '{…}'}`
//! (arguments as single-quoted JSON text).
//!
//! The first user turn is the query. When the first assistant turn calls a
//! function, that call is the answer; when it answers in prose although
//! functions are listed, the record is an irrelevance task (empty answer).

use serde_json::Value;

use super::{assemble, Call};
use crate::prompt::JsonStyle;
use crate::record::Example;

pub(super) fn convert(record: &Value, style: JsonStyle) -> Result<Example, String> {
    let system = record
        .get("system")
        .and_then(Value::as_str)
        .ok_or("no `system` text")?;
    let chat = record
        .get("chat")
        .and_then(Value::as_str)
        .ok_or("no `chat` text")?;
    let tools = json_objects(system);
    if tools.is_empty() {
        return Err("the system text lists no functions".into());
    }
    let turns = turns(chat);
    let query = turns
        .iter()
        .find(|(role, _)| *role == "USER")
        .map(|(_, text)| *text)
        .ok_or("the chat has no USER turn")?;
    let reply = turns
        .iter()
        .find(|(role, _)| *role == "ASSISTANT")
        .map(|(_, text)| *text)
        .ok_or("the chat has no ASSISTANT turn")?;
    let calls = match reply.find("<functioncall>") {
        Some(at) => vec![parse_call(&reply[at + "<functioncall>".len()..])?],
        None => Vec::new(),
    };
    assemble(&tools, query, &calls, "glaive", style)
}

/// Every top-level JSON object in `text`, in order.
fn json_objects(text: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(off) = text[from..].find('{') {
        let start = from + off;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v @ Value::Object(_))) => {
                found.push(v);
                from = start + stream.byte_offset();
            }
            _ => from = start + 1,
        }
    }
    found
}

const MARKERS: [&str; 3] = ["USER:", "ASSISTANT:", "FUNCTION RESPONSE:"];

/// Splits the chat into `(role, text)` turns at the role markers.
fn turns(chat: &str) -> Vec<(&'static str, &str)> {
    let mut cuts: Vec<(usize, &'static str)> = Vec::new();
    for marker in MARKERS {
        cuts.extend(chat.match_indices(marker).map(|(i, _)| (i, marker)));
    }
    cuts.sort_unstable();
    cuts.iter()
        .enumerate()
        .map(|(k, &(i, marker))| {
            let end = cuts.get(k + 1).map_or(chat.len(), |c| c.0);
            let role = marker.trim_end_matches(':');
            let role = if role == "FUNCTION RESPONSE" {
                "FUNCTION"
            } else {
                role
            };
            (role, chat[i + marker.len()..end].trim())
        })
        .collect()
}

/// Parses the payload after `<functioncall>`: JSON, or JSON whose
/// `arguments` value is JSON text between single quotes.
fn parse_call(payload: &str) -> Result<Call, String> {
    let payload = payload.split("<|endoftext|>").next().unwrap_or("").trim();
    if let Ok(v) = serde_json::from_str::<Value>(payload) {
        return Call::from_json(&v);
    }
    // `{"name": "f", "arguments": '{"a": 1}'}`: lift the quoted text out.
    let fixed = payload
        .find(": '")
        .zip(payload.rfind('\''))
        .filter(|(open, close)| close > open)
        .map(|(open, close)| {
            format!(
                "{}: {}{}",
                &payload[..open],
                &payload[open + 3..close],
                &payload[close + 1..]
            )
        });
    let v: Value = fixed
        .as_deref()
        .and_then(|f| serde_json::from_str(f).ok())
        .ok_or_else(|| format!("the function call is not JSON: {payload}"))?;
    Call::from_json(&v)
}
