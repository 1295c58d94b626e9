//! Converters from popular tool-calling data sets into this crate's format.
//!
//! Each converter reads its source's documented record shape, renders the
//! expected calls in the guide's Python call syntax, builds the prompt in
//! the guide's shape (see [`crate::prompt::build_prompt`]) and checks the
//! result with [`crate::validate()`]. A record that cannot be represented
//! is returned in [`Converted::rejected`] with the reason; nothing is
//! dropped silently.
//!
//! | format | source | record shape |
//! |---|---|---|
//! | `xlam` | Salesforce xlam-function-calling-60k | `{query, tools, answers}` (a JSON list, or JSONL); `tools`/`answers` may be JSON text |
//! | `glaive` | glaiveai glaive-function-calling-v2 | `{system, chat}` with `<functioncall>` in the chat |
//! | `hermes` | NousResearch hermes-function-calling-v1, ShareGPT and OpenAI chats | `{conversations: [{from, value}]}` or `{messages: [{role, content, tool_calls}]}`, with `tools` or `<tools>` in the system turn |
//! | `bfcl` | Berkeley Function Calling Leaderboard | question lines `{id, question, function}` plus a possible-answer file of `{id, ground_truth}` |

mod bfcl;
mod glaive;
mod hermes;
mod xlam;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::call_syntax::render_call;
use crate::error::{Error, Result};
use crate::prompt::{build_prompt, tool_name, JsonStyle};
use crate::record::{Example, Message};
use crate::validate::validate;

/// A source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Salesforce xlam-function-calling-60k.
    Xlam,
    /// glaiveai glaive-function-calling-v2.
    Glaive,
    /// NousResearch hermes-function-calling-v1 and other ShareGPT or
    /// OpenAI-style chats with tools and tool calls.
    Hermes,
    /// Berkeley Function Calling Leaderboard question and possible-answer
    /// files.
    Bfcl,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 4] = [Format::Xlam, Format::Glaive, Format::Hermes, Format::Bfcl];

    /// The name used on the command line and in `source`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Xlam => "xlam",
            Format::Glaive => "glaive",
            Format::Hermes => "hermes",
            Format::Bfcl => "bfcl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| Error::BadConfig {
                name: "format",
                value: s.to_owned(),
                allowed: "one of xlam, glaive, hermes, bfcl".into(),
            })
    }
}

/// Options of [`convert_file`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Layout of the function list in the prompts written.
    pub json_style: JsonStyle,
    /// The possible-answer file, for [`Format::Bfcl`]; by default
    /// `possible_answer/<same name>` beside the question file when it is
    /// there (BFCL's layout). Irrelevance and relevance files need none.
    pub answers: Option<PathBuf>,
}

/// A source record the converter could not represent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Where it is: `file:line` for JSONL, `file:[index]` for a JSON list.
    pub location: String,
    /// Why it could not be converted.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// The result of a conversion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    /// Source records read.
    pub read: usize,
    /// Records converted.
    pub examples: Vec<Example>,
    /// Records that could not be converted, with reasons.
    pub rejected: Vec<Rejected>,
}

/// Converts the file at `input` from `format`.
///
/// # Errors
///
/// [`Error::Read`] when a file cannot be read; [`Error::BadSource`] when
/// the file as a whole is not in the format (not JSON, or a BFCL category
/// with possible answers without its answer file).
pub fn convert_file(format: Format, input: &Path, opts: &ConvertOptions) -> Result<Converted> {
    let style = opts.json_style;
    let each = |one: fn(&Value, JsonStyle) -> std::result::Result<Example, String>| {
        let records = read_source(input, format.name())?;
        Ok(convert_each(records, |v| one(v, style)))
    };
    match format {
        Format::Xlam => each(xlam::convert),
        Format::Glaive => each(glaive::convert),
        Format::Hermes => each(hermes::convert),
        Format::Bfcl => {
            let answers = opts
                .answers
                .clone()
                .or_else(|| crate::bfcl::answers_beside(input));
            let entries = bfcl::entries(input, answers.as_deref(), style, false)?;
            Ok(crate::bfcl::Entry::collect(entries))
        }
    }
}

/// The BFCL entries of a question file, in file order (see
/// [`crate::bfcl::read_category`]); `keep_relevance` keeps relevance
/// records, which have no answer, for a caller that scores them itself.
pub(crate) fn bfcl_entries(
    input: &Path,
    answers: Option<&Path>,
    style: JsonStyle,
    keep_relevance: bool,
) -> Result<Vec<crate::bfcl::Entry>> {
    bfcl::entries(input, answers, style, keep_relevance)
}

/// Runs `one` over each record, validates what it returns, and collects
/// the rejections.
fn convert_each(
    records: Vec<(String, std::result::Result<Value, String>)>,
    one: impl Fn(&Value) -> std::result::Result<Example, String>,
) -> Converted {
    let mut out = Converted::default();
    for (location, record) in records {
        out.read += 1;
        let converted = record.and_then(|v| one(&v)).and_then(|ex| {
            validate(&ex)
                .map(|()| ex)
                .map_err(|d| format!("converted record is invalid: {d}"))
        });
        match converted {
            Ok(ex) => out.examples.push(ex),
            Err(reason) => out.rejected.push(Rejected { location, reason }),
        }
    }
    out
}

/// Reads a source file (plain or gzip) as a JSON list or as JSONL; each
/// record comes with its location and either its value or why it is not JSON.
fn read_source(
    path: &Path,
    format: &'static str,
) -> Result<Vec<(String, std::result::Result<Value, String>)>> {
    let read_err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_err)?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(read_err)?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| Error::BadSource {
            path: path.to_owned(),
            format,
            reason: format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?
    };
    let name = path.display();
    if text.trim_start().starts_with('[') {
        let list: Vec<Value> = serde_json::from_str(&text).map_err(|e| Error::BadSource {
            path: path.to_owned(),
            format,
            reason: format!("not a JSON list of records: {e}"),
        })?;
        return Ok(list
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{name}:[{i}]"), Ok(v)))
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let value = serde_json::from_str(l).map_err(|e| format!("not JSON: {e}"));
            (format!("{name}:{}", i + 1), value)
        })
        .collect())
}

/// A field that may hold JSON directly or as JSON text (xLAM and Hermes
/// store lists as strings).
fn json_field(record: &Value, key: &str) -> std::result::Result<Option<Value>, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| format!("`{key}` is text that is not JSON: {e}")),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// One expected call: a name and its arguments in source order.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    name: String,
    args: Map<String, Value>,
}

impl Call {
    /// A call from `{"name": …, "arguments": {…} or "{…}"}` (also accepts
    /// `parameters` for the arguments, and the OpenAI `function` wrapper).
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let v = v.get("function").filter(|f| f.is_object()).unwrap_or(v);
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("a call has no `name`")?;
        let args = match v.get("arguments").or_else(|| v.get("parameters")) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
            Some(Value::String(s)) => match serde_json::from_str(s) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(format!(
                        "the arguments of `{name}` are not a JSON object: {s}"
                    ))
                }
            },
            Some(other) => {
                return Err(format!(
                    "the arguments of `{name}` are {}, expected an object",
                    crate::json_type_name(other)
                ))
            }
        };
        Ok(Self {
            name: name.to_owned(),
            args,
        })
    }

    fn render(&self) -> String {
        render_call(&self.name, self.args.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// Assembles a converted record: the guide's prompt around `query`, the
/// calls as the answer (empty: irrelevance), and the guide's fields.
fn assemble(
    tools: &[Value],
    query: &str,
    calls: &[Call],
    source: &str,
    style: JsonStyle,
) -> std::result::Result<Example, String> {
    if tools.is_empty() {
        return Err("no functions are listed".into());
    }
    if let Some(i) = tools.iter().position(|t| tool_name(t).is_none()) {
        return Err(format!("function {i} of the list has no name"));
    }
    if query.trim().is_empty() {
        return Err("the user query is empty".into());
    }
    let mut distinct: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let ground_truth = calls.first().map(|c| c.name.clone());
    Ok(Example {
        prompt: build_prompt(tools, query.trim(), style),
        answer: calls
            .iter()
            .map(Call::render)
            .collect::<Vec<_>>()
            .join("\n"),
        ground_truth_text: ground_truth.clone(),
        ground_truth,
        possible_boxed_answers: tools
            .iter()
            .filter_map(tool_name)
            .map(str::to_owned)
            .collect(),
        is_multi_answer: distinct.len() > 1,
        source: source.to_owned(),
        ..Example::default()
    })
}

/// The conversation before the call turn, when it is more than the one
/// user query (a system turn or earlier exchanges): kept in `messages` so
/// no context is lost.
fn context_messages(turns: &[Message]) -> Option<Vec<Message>> {
    (turns.len() > 1).then(|| turns.to_vec())
}
