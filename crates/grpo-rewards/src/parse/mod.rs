//! [`extract_function_calls`]: every tool call in a model's output.
//!
//! The scanner walks the text once. At each line start (and after each
//! marker) it checks, in order: a marker (reasoning, envelope, fence,
//! end-of-turn token); the start of an item (`name(`, `[`, `{`), which must
//! parse as calls that end the line; otherwise the line is prose, which
//! makes the output unclean. A failed item attempt reports the furthest
//! byte it read, and the scan resumes from there rather than from the next
//! line, so no byte is read more than a few times: the work is linear in
//! the input, whatever the input.

mod envelope;
mod json;
mod literal;
mod python;
mod result;
mod tagged;

use crate::call::{ToolCall, Value};
use envelope::Marker;
use python::{hws, ws, Fail, FailKind};
use tagged::{Cursor, TagFail, Tagged};

pub use python::MAX_DEPTH;
pub use result::{Format, Formats, ParseError, ParseErrorKind, ParseResult, Reasoning};

/// Longest input [`extract_function_calls`] reads; longer input yields
/// [`ParseErrorKind::InputTooLong`] and no calls. Completions of a few
/// hundred tokens are a few kilobytes.
///
/// ```
/// use grpo_rewards::{extract_function_calls, ParseErrorKind, MAX_INPUT_BYTES};
///
/// let huge = "f()\n".repeat(MAX_INPUT_BYTES / 4 + 1);
/// let parsed = extract_function_calls(&huge);
/// assert!(parsed.calls.is_empty());
/// assert!(matches!(parsed.errors[0].kind, ParseErrorKind::InputTooLong { .. }));
/// ```
pub const MAX_INPUT_BYTES: usize = 512 * 1024;

/// Finds every tool call in `text`, in any supported format; never panics
/// and never evaluates code.
///
/// Bare calls count when they stand on their own lines (one or several per
/// line, separated by `,` or `;`, or in a `[...]` list) or inside an
/// envelope; a call mentioned inside a sentence is prose. Reasoning in
/// `<think>` blocks is never searched. See the crate docs for every format.
///
/// ```
/// use grpo_rewards::{extract_function_calls, ToolCall};
///
/// let parsed = extract_function_calls(
///     "<think>The user wants two factorials.</think>\n\
///      calculate_factorial(n=5)\ncalculate_factorial(n=7)",
/// );
/// assert_eq!(
///     parsed.calls,
///     [
///         ToolCall::new("calculate_factorial").arg("n", 5),
///         ToolCall::new("calculate_factorial").arg("n", 7),
///     ]
/// );
/// assert!(parsed.clean);
/// ```
pub fn extract_function_calls(text: &str) -> ParseResult {
    let mut scanner = Scanner {
        text,
        out: ParseResult {
            clean: true,
            ..ParseResult::default()
        },
        next_line: envelope::NextMatch::new("\n"),
        next_tool_call_close: envelope::NextMatch::new(envelope::TOOL_CALL_CLOSE),
        finder: tagged::Finder::default(),
        in_fence: false,
    };
    if text.len() > MAX_INPUT_BYTES {
        scanner.error(
            0,
            ParseErrorKind::InputTooLong {
                len: text.len(),
                max: MAX_INPUT_BYTES,
            },
        );
        return scanner.out;
    }
    scanner.scan(0, text.len());
    scanner.out
}

/// Parses one Python or JSON literal, the whole of `text` (whitespace
/// around it allowed): dicts (keys in the order written), lists, tuples
/// (as lists), strings in any quoting, numbers, `True`/`False`/`None` and
/// `true`/`false`/`null`. It is the value grammar of the call parser;
/// calls and names are not literals, and nothing is evaluated. Nesting
/// deeper than [`MAX_DEPTH`] and input longer than [`MAX_INPUT_BYTES`]
/// are errors.
///
/// ```
/// use grpo_rewards::{parse_literal, ParseErrorKind, Value};
///
/// let v = parse_literal("{'name': 'f', 'arguments': {'x': True, 'y': (1, 2.5), 'z': None}}")?;
/// assert_eq!(
///     v.to_json().to_string(),
///     r#"{"name":"f","arguments":{"x":true,"y":[1,2.5],"z":null}}"#
/// );
/// assert_eq!(parse_literal(r#" {"a": [1, "b"]} "#)?, Value::Dict(vec![
///     ("a".into(), Value::List(vec![Value::Int(1), Value::from("b")])),
/// ]));
/// assert_eq!(parse_literal("[1, 2").unwrap_err().kind, ParseErrorKind::Truncated);
/// assert_eq!(parse_literal("{'a': 1} extra").unwrap_err().offset, 9);
/// assert!(parse_literal("f(x=1)").is_err(), "a call is not a literal");
/// # Ok::<(), grpo_rewards::ParseError>(())
/// ```
pub fn parse_literal(text: &str) -> Result<Value, ParseError> {
    let error = |offset, kind| Err(ParseError { offset, kind });
    if text.len() > MAX_INPUT_BYTES {
        let kind = ParseErrorKind::InputTooLong {
            len: text.len(),
            max: MAX_INPUT_BYTES,
        };
        return error(0, kind);
    }
    let body = ws(text);
    let start = text.len() - body.len();
    match python::value(body, 0) {
        Ok((rest, v)) => {
            let rest = ws(rest);
            if !rest.is_empty() {
                error(text.len() - rest.len(), ParseErrorKind::Malformed)
            } else if holds_call(&v) {
                error(start, ParseErrorKind::Malformed)
            } else {
                Ok(v)
            }
        }
        Err(nom::Err::Error(f) | nom::Err::Failure(f)) => {
            let offset = text.len() - f.at.len();
            match f.kind {
                FailKind::TooDeep => error(offset, ParseErrorKind::TooDeep { max: MAX_DEPTH }),
                _ if ws(f.at).is_empty() => error(offset, ParseErrorKind::Truncated),
                _ => error(offset, ParseErrorKind::Malformed),
            }
        }
        Err(nom::Err::Incomplete(_)) => error(text.len(), ParseErrorKind::Truncated),
    }
}

/// Whether a value is or holds a call.
fn holds_call(v: &Value) -> bool {
    match v {
        Value::Call(_) => true,
        Value::List(items) => items.iter().any(holds_call),
        Value::Dict(entries) => entries.iter().any(|(_, v)| holds_call(v)),
        _ => false,
    }
}

/// The scan state: the text, what was found so far, and remembered
/// searches.
struct Scanner<'a> {
    text: &'a str,
    out: ParseResult,
    next_line: envelope::NextMatch,
    next_tool_call_close: envelope::NextMatch,
    /// Closing tags of the tagged formats.
    finder: tagged::Finder,
    /// Whether the scan is inside a code fence.
    in_fence: bool,
}

/// Where to resume after a failed tagged call: where reading stopped, and
/// never before `min`, the end of the marker it followed.
fn at_least(fail: TagFail, min: usize) -> usize {
    match fail {
        TagFail::Broken(at) => at.max(min),
        TagFail::NotThis | TagFail::Cut => min,
    }
}

/// Where an item parse failed, and whether that is the end of the text.
struct Failure {
    at: usize,
    at_end: bool,
}

/// How items are separated in a run of calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    /// On one line: `,` or `;` between calls (a call may still span lines
    /// inside its brackets).
    Line,
    /// After an envelope marker: any whitespace, `,` or `;`.
    Envelope,
}

impl<'a> Scanner<'a> {
    fn error(&mut self, offset: usize, kind: ParseErrorKind) {
        self.out.clean = false;
        self.out.errors.push(ParseError { offset, kind });
    }

    /// What to go back to when an attempt turns out not to be calls.
    fn save(&self) -> (usize, Formats) {
        (self.out.calls.len(), self.out.formats)
    }

    fn restore(&mut self, (calls, formats): (usize, Formats)) {
        self.out.calls.truncate(calls);
        self.out.formats = formats;
    }

    /// Offset in the text of a suffix slice of `text[..end]`.
    fn offset(&self, rest: &str, end: usize) -> usize {
        end - rest.len()
    }

    /// Scans `text[pos..end]`.
    fn scan(&mut self, mut pos: usize, end: usize) {
        loop {
            pos = self.offset(ws(&self.text[pos..end]), end);
            if pos >= end {
                return;
            }
            let rest = &self.text[pos..end];
            if let Some((marker, len)) = envelope::marker_at(rest) {
                pos = self.on_marker(marker, pos, pos + len, end);
                continue;
            }
            let fail_at = if python::starts_item(rest) {
                match self.bare_line(pos, end) {
                    Ok(next) => {
                        pos = next;
                        continue;
                    }
                    Err(at) => at,
                }
            } else if let Some(next) = self.glm_bare(pos, end) {
                pos = next;
                continue;
            } else {
                pos
            };
            self.out.clean = false;
            pos = self.skip_prose(pos, fail_at, end);
        }
    }

    /// Where to resume after prose at `pos`, when reading it failed at
    /// `fail_at`: the first marker after the failure on this line, else the
    /// next line, or the line of the failure when that is further on (the
    /// bytes before it were read already).
    fn skip_prose(&mut self, pos: usize, fail_at: usize, end: usize) -> usize {
        let text = &self.text[..end];
        let eol = self.next_line.find(self.text, pos, end).unwrap_or(end);
        if fail_at <= eol {
            let from = fail_at.max(pos);
            envelope::find_marker(&text[from..eol]).map_or(eol, |i| from + i)
        } else {
            text[..fail_at].rfind('\n').map_or(fail_at, |i| i + 1)
        }
    }

    /// Calls standing on their own line(s) at `pos`. On success returns the
    /// end of the line's calls; on failure the furthest offset read.
    fn bare_line(&mut self, pos: usize, end: usize) -> Result<usize, usize> {
        let saved = self.save();
        match self.items(&self.text[pos..end], Run::Line) {
            Ok(rest) => {
                let after = hws(rest);
                let line_ends = after.is_empty()
                    || after.starts_with(['\n', '\r'])
                    || envelope::marker_at(after).is_some();
                if line_ends {
                    Ok(self.offset(rest, end))
                } else {
                    self.restore(saved);
                    Err(self.offset(after, end))
                }
            }
            Err(fail) => {
                let kind = fail.kind;
                let failure = self.failed(fail, end);
                // A call cut off by the end of the text keeps the complete
                // calls before it on its line.
                if !failure.at_end {
                    self.restore(saved);
                    // A line that opens a call (bare, bracketed or as a JSON
                    // object) and does not parse is a broken call; a
                    // complete value that is not calls is data.
                    if kind == FailKind::Syntax && python::opens_call(&self.text[pos..end]) {
                        self.error(pos, ParseErrorKind::Malformed);
                    }
                }
                Err(failure.at)
            }
        }
    }

    /// Records a failed item parse: nesting too deep, or the end of the
    /// text reached inside a call (truncation).
    fn failed(&mut self, fail: Fail<'a>, end: usize) -> Failure {
        let at = self.offset(fail.at, end);
        let at_end =
            fail.kind == FailKind::Syntax && end == self.text.len() && ws(fail.at).is_empty();
        if fail.kind == FailKind::TooDeep {
            self.error(at, ParseErrorKind::TooDeep { max: MAX_DEPTH });
        } else if at_end {
            self.out.truncated = true;
            let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
            self.error(line_start, ParseErrorKind::Truncated);
        }
        Failure { at, at_end }
    }

    /// A run of items (calls, JSON call shapes, lists of them) at the start
    /// of `i`, appended to the output. Returns the text after the last one.
    fn items(&mut self, mut i: &'a str, run: Run) -> Result<&'a str, Fail<'a>> {
        loop {
            let (rest, v) = match python::value(i, 0) {
                Ok(ok) => ok,
                Err(nom::Err::Error(f) | nom::Err::Failure(f)) => return Err(f),
                Err(nom::Err::Incomplete(_)) => {
                    return Err(Fail {
                        at: "",
                        kind: FailKind::Syntax,
                    })
                }
            };
            if !json::push_item_calls(v, &mut self.out.calls, &mut self.out.formats) {
                return Err(Fail {
                    at: rest,
                    kind: FailKind::NotCalls,
                });
            }
            let after = if run == Run::Line {
                hws(rest)
            } else {
                ws(rest)
            };
            let (after, separated) = match after.strip_prefix([',', ';']) {
                Some(r) => (ws(r), true),
                None => (after, false),
            };
            let more = (separated || run == Run::Envelope)
                && python::starts_item(after)
                && envelope::marker_at(after).is_none();
            if !more {
                return Ok(if separated { after } else { rest });
            }
            i = after;
        }
    }

    /// Handles the marker at `pos` whose text ends at `after`; returns
    /// where scanning resumes.
    fn on_marker(&mut self, marker: Marker, pos: usize, after: usize, end: usize) -> usize {
        match marker {
            Marker::ThinkOpen => match self.text[after..end].find(envelope::THINK_CLOSE) {
                Some(i) => {
                    self.out.reasoning = Reasoning::Closed;
                    after + i + envelope::THINK_CLOSE.len()
                }
                None => {
                    self.out.reasoning = Reasoning::Unclosed;
                    end
                }
            },
            Marker::ThinkClose if self.out.reasoning == Reasoning::None && !self.in_fence => {
                // A close with no open: the template opened the block in the
                // prompt (Qwen3, DeepSeek-R1), so everything so far was
                // reasoning. A `</think>` inside a call's string is read as
                // part of the call and never gets here.
                self.out = ParseResult {
                    clean: true,
                    reasoning: Reasoning::Closed,
                    ..ParseResult::default()
                };
                after
            }
            Marker::ThinkClose | Marker::ToolCallClose => {
                self.out.clean = false;
                after
            }
            Marker::StrayClose => {
                self.out.clean = false;
                after
            }
            Marker::EndOfTurn => after,
            Marker::TurnStart => self.turn_start(after, end),
            Marker::Tagged(format) => self.tagged(format, pos, after, end),
            Marker::ToolCallOpen => self.hermes(after, end),
            Marker::Prefix(format) => self.prefixed(format, pos, after, end),
            Marker::Fence => self.fence(after, end),
        }
    }

    /// `<tool_call>` content up to `</tool_call>`.
    fn hermes(&mut self, after: usize, end: usize) -> usize {
        self.out.formats.insert(Format::Hermes);
        let open_at = after - envelope::TOOL_CALL_OPEN.len();
        let unclosed = ParseErrorKind::Unclosed {
            open: envelope::TOOL_CALL_OPEN,
            close: envelope::TOOL_CALL_CLOSE,
        };
        let saved = self.save();
        if let Some(next) = self.hermes_tagged(open_at, after, end) {
            return next;
        }
        let fail_at = match self.items(ws(&self.text[after..end]), Run::Envelope) {
            Ok(rest) => {
                let rest = ws(rest);
                if let Some(r) = rest.strip_prefix(envelope::TOOL_CALL_CLOSE) {
                    return self.offset(r, end);
                }
                if rest.is_empty() || envelope::marker_at(rest).is_some() {
                    // Complete calls in an envelope that is never closed:
                    // the calls count, the output is truncated.
                    self.out.truncated = true;
                    self.error(open_at, unclosed);
                    return self.offset(rest, end);
                }
                self.offset(rest, end)
            }
            Err(fail) => {
                let failure = self.failed(fail, end);
                if failure.at_end {
                    self.error(open_at, unclosed);
                    return end;
                }
                failure.at
            }
        };
        self.restore(saved);
        self.error(
            open_at,
            ParseErrorKind::NotACall {
                format: Format::Hermes,
            },
        );
        // Resume after this envelope's close, if it has one.
        match self.next_tool_call_close.find(self.text, fail_at, end) {
            Some(at) => at + envelope::TOOL_CALL_CLOSE.len(),
            None => self.skip_prose(fail_at, fail_at, end),
        }
    }

    /// `<tool_call>` content in a tagged format (Qwen3-Coder, GLM);
    /// `None` when it is in none of them.
    fn hermes_tagged(&mut self, open_at: usize, after: usize, end: usize) -> Option<usize> {
        let mut c = Cursor {
            text: self.text,
            end,
            finder: &mut self.finder,
        };
        let content = c.end - ws(&c.text[after..end]).len();
        let (result, format) = match tagged::qwen3_coder(&mut c, after) {
            Err(TagFail::NotThis) => match tagged::glm_xml(&mut c, after) {
                Err(TagFail::NotThis) => match tagged::glm_json(&mut c, content) {
                    Some((call, next)) => (Ok((vec![call], next)), Format::Glm),
                    None => return None,
                },
                r => (r, Format::Glm),
            },
            r => (r, Format::Qwen3Coder),
        };
        let unclosed = ParseErrorKind::Unclosed {
            open: envelope::TOOL_CALL_OPEN,
            close: envelope::TOOL_CALL_CLOSE,
        };
        match result {
            Ok((calls, next)) => {
                self.push_calls(calls, format);
                let rest = ws(&self.text[next..end]);
                if let Some(r) = rest.strip_prefix(envelope::TOOL_CALL_CLOSE) {
                    return Some(self.offset(r, end));
                }
                if rest.is_empty() || envelope::marker_at(rest).is_some() {
                    self.out.truncated = true;
                    self.error(open_at, unclosed);
                }
                Some(self.offset(rest, end))
            }
            Err(TagFail::Cut) => {
                self.out.formats.insert(format);
                self.out.truncated = true;
                self.error(open_at, ParseErrorKind::Truncated);
                self.error(open_at, unclosed);
                Some(end)
            }
            Err(fail) => {
                self.error(open_at, ParseErrorKind::NotACall { format });
                let at = at_least(fail, after);
                Some(match self.next_tool_call_close.find(self.text, at, end) {
                    Some(close) => close + envelope::TOOL_CALL_CLOSE.len(),
                    None => self.skip_prose(at, at, end),
                })
            }
        }
    }

    fn push_calls(&mut self, calls: Vec<ToolCall>, format: Format) {
        self.out.calls.extend(calls);
        self.out.formats.insert(format);
    }

    /// GLM-4's name line then JSON arguments, at `pos`.
    fn glm_bare(&mut self, pos: usize, end: usize) -> Option<usize> {
        let mut c = Cursor {
            text: self.text,
            end,
            finder: &mut self.finder,
        };
        let (call, next) = tagged::glm_json(&mut c, pos)?;
        self.push_calls(vec![call], Format::Glm);
        Some(next)
    }

    /// After `<|im_start|>`: the role word on the rest of the line, if any,
    /// is skipped.
    fn turn_start(&mut self, after: usize, end: usize) -> usize {
        let rest = &self.text[after..end];
        if let Some((_, r)) = python::name_at(rest) {
            let r = hws(r);
            if r.is_empty() || r.starts_with(['\n', '\r']) {
                return self.offset(r, end);
            }
        }
        after
    }

    /// A Gemma, Kimi or MiniMax envelope opened by the marker at `pos`.
    fn tagged(&mut self, format: Format, pos: usize, after: usize, end: usize) -> usize {
        self.out.formats.insert(format);
        let open = &self.text[pos..after];
        let mut c = Cursor {
            text: self.text,
            end,
            finder: &mut self.finder,
        };
        let result: Tagged = match format {
            Format::Gemma => tagged::gemma(&mut c, after, open),
            Format::Kimi => tagged::kimi(&mut c, after),
            _ => tagged::minimax(&mut c, after),
        };
        match result {
            Ok((calls, next)) => {
                self.push_calls(calls, format);
                next
            }
            Err(TagFail::Cut) => {
                self.out.truncated = true;
                self.error(pos, ParseErrorKind::Truncated);
                end
            }
            Err(fail) => {
                self.error(pos, ParseErrorKind::NotACall { format });
                let at = at_least(fail, after);
                self.skip_prose(at, at, end)
            }
        }
    }

    /// Calls after `[TOOL_CALLS]`, `<|python_tag|>` or `<functioncall>`.
    fn prefixed(&mut self, format: Format, pos: usize, after: usize, end: usize) -> usize {
        self.out.formats.insert(format);
        let content = ws(&self.text[after..end]);
        if format == Format::Mistral {
            if let Some(next) = self.mistral_v11(content, end) {
                return next;
            }
        }
        let saved = self.save();
        match self.items(content, Run::Envelope) {
            Ok(rest) => self.offset(rest, end),
            Err(fail) => {
                let failure = self.failed(fail, end);
                if !failure.at_end {
                    self.restore(saved);
                    self.error(pos, ParseErrorKind::NotACall { format });
                }
                self.skip_prose(failure.at, failure.at, end)
            }
        }
    }

    /// Mistral v11's `name[ARGS]{…}`; `None` when `content` is not that.
    fn mistral_v11(&mut self, content: &'a str, end: usize) -> Option<usize> {
        let name_len = content
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(content.len());
        let (name, rest) = content.split_at(name_len);
        let args = ws(rest.strip_prefix(envelope::MISTRAL_ARGS)?);
        if !python::is_call_name(name) {
            return None;
        }
        match python::value(args, 0) {
            Ok((rest, Value::Dict(entries))) => {
                let mut call = ToolCall::new(name);
                call.args = entries;
                self.out.calls.push(call);
                self.out.formats.insert(Format::Json);
                Some(self.offset(rest, end))
            }
            _ => None,
        }
    }

    /// A code fence: its content is scanned like top-level text.
    fn fence(&mut self, after: usize, end: usize) -> usize {
        self.out.formats.insert(Format::CodeFence);
        let skip = envelope::fence_content_start(&self.text[after..end]);
        let start = after + skip;
        match envelope::fence_close(self.text, start, end, skip == 0) {
            Some(close) => {
                self.in_fence = true;
                self.scan(start, close);
                self.in_fence = false;
                close + envelope::FENCE.len()
            }
            None => {
                self.error(
                    after - envelope::FENCE.len(),
                    ParseErrorKind::Unclosed {
                        open: envelope::FENCE,
                        close: envelope::FENCE,
                    },
                );
                self.in_fence = true;
                self.scan(start, end);
                self.in_fence = false;
                end
            }
        }
    }
}
