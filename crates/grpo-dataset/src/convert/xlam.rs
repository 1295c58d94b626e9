//! Salesforce xlam-function-calling-60k: `{"id", "query", "tools",
//! "answers"}`, where `tools` is a list of `{name, description,
//! parameters: {p: {type, description, default?}}}` and `answers` a list
//! of `{name, arguments}`; both are often stored as JSON text. An empty
//! `answers` list (as in xLAM's irrelevance set) becomes an empty answer.

use serde_json::Value;

use super::{assemble, json_field, Call};
use crate::prompt::JsonStyle;
use crate::record::Example;

pub(super) fn convert(record: &Value, style: JsonStyle) -> Result<Example, String> {
    let query = record
        .get("query")
        .and_then(Value::as_str)
        .ok_or("no `query` text")?;
    let tools = match json_field(record, "tools")? {
        Some(Value::Array(list)) => list,
        Some(_) => return Err("`tools` is not a list".into()),
        None => return Err("no `tools`".into()),
    };
    let calls = match json_field(record, "answers")? {
        Some(Value::Array(list)) => list
            .iter()
            .map(Call::from_json)
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("`answers` is not a list".into()),
        None => return Err("no `answers`".into()),
    };
    let mut ex = assemble(&tools, query, &calls, "xlam", style)?;
    if let Some(id) = record.get("id") {
        ex.extra.insert("source_id".into(), id.clone());
    }
    Ok(ex)
}
