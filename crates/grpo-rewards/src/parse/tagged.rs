//! Call formats with a grammar of their own rather than Python or JSON
//! syntax: tag-delimited arguments (Qwen3-Coder, GLM-4.5/4.7, MiniMax M2),
//! Gemma's `call:name{…}`, Kimi K2's numbered calls, and GLM-4's name line
//! followed by a JSON object.
//!
//! | Family | Shape |
//! |---|---|
//! | Qwen3-Coder (in `<tool_call>`) | `<function=f>` `<parameter=k>` v `</parameter>` … `</function>` |
//! | GLM-4.5/4.7 (in `<tool_call>`) | `f` `<arg_key>k</arg_key>` `<arg_value>v</arg_value>` … |
//! | GLM-4 (bare, or in `<tool_call>`) | `f` alone on a line, then `{"k": v}` |
//! | MiniMax M2 | `<minimax:tool_call>` `<invoke name="f">` `<parameter name="k">v</parameter>` `</invoke>` … |
//! | Gemma | `<start_function_call>call:f{k:<escape>v<escape>,n:5}<end_function_call>`, Gemma 4's `<\|tool_call>…<tool_call\|>` with `<\|"\|>` quotes |
//! | Kimi K2 | `<\|tool_call_begin\|>functions.f:0<\|tool_call_argument_begin\|>{…}<\|tool_call_end\|>` |
//!
//! A value written as raw text between tags (`<parameter=k>5</parameter>`)
//! is read as a literal when the whole of it is one (`5`, `true`,
//! `[1, 2]`, `"x"`), else as the string itself, one leading and one
//! trailing newline removed: these formats leave typing to the tool
//! schema, which the parser does not see.
//!
//! Every search for a closing tag goes through [`Finder`], which remembers
//! its answers, so the work stays linear in the input.

use crate::call::{ToolCall, Value};
use crate::parse::envelope::{
    NextMatch, GEMMA4_CLOSE, GEMMA4_OPEN, GEMMA_CLOSE, KIMI_ARGS, KIMI_CLOSE, MINIMAX_CLOSE,
};
use crate::parse::json::is_call_shape;
use crate::parse::python::{self, hws, is_call_name, unescape_name, ws, MAX_DEPTH};

/// Remembered searches for fixed strings (see [`NextMatch`]).
#[derive(Debug, Default)]
pub(crate) struct Finder {
    cache: Vec<NextMatch>,
}

impl Finder {
    /// The first occurrence of `needle` at or after `pos` that ends by `end`.
    pub(crate) fn find(
        &mut self,
        text: &str,
        needle: &'static str,
        pos: usize,
        end: usize,
    ) -> Option<usize> {
        let index = match self.cache.iter().position(|m| m.needle() == needle) {
            Some(i) => i,
            None => {
                self.cache.push(NextMatch::new(needle));
                self.cache.len() - 1
            }
        };
        self.cache[index].find(text, pos, end)
    }
}

/// Why a tagged call could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagFail {
    /// The text is not this format at all.
    NotThis,
    /// The text ends inside the call.
    Cut,
    /// The format's opening was there, but what follows is malformed;
    /// reading stopped at this offset.
    Broken(usize),
}

/// Calls read from a tagged format, and the offset after them.
pub(crate) type Tagged = Result<(Vec<ToolCall>, usize), TagFail>;

/// A text cursor over `text[..end]` with remembered searches.
pub(crate) struct Cursor<'a, 'f> {
    pub(crate) text: &'a str,
    pub(crate) end: usize,
    pub(crate) finder: &'f mut Finder,
}

impl<'a> Cursor<'a, '_> {
    fn rest(&self, pos: usize) -> &'a str {
        &self.text[pos..self.end]
    }

    fn skip_ws(&self, pos: usize) -> usize {
        self.end - ws(self.rest(pos)).len()
    }

    /// `pos` after `tag`, if the text there starts with it.
    fn tag(&self, pos: usize, tag: &str) -> Option<usize> {
        self.rest(pos).starts_with(tag).then_some(pos + tag.len())
    }

    /// The failure for a missing piece at `pos`: the end of the text
    /// reached means the call was cut off.
    fn fail(&self, pos: usize) -> TagFail {
        if self.end == self.text.len() && self.skip_ws(pos) >= self.end {
            TagFail::Cut
        } else {
            TagFail::Broken(pos)
        }
    }

    /// The text from `pos` up to `close`, and the offset after `close`.
    fn until(&mut self, pos: usize, close: &'static str) -> Result<(&'a str, usize), TagFail> {
        match self.finder.find(self.text, close, pos, self.end) {
            Some(at) => Ok((&self.text[pos..at], at + close.len())),
            None if self.end == self.text.len() => Err(TagFail::Cut),
            None => Err(TagFail::Broken(pos)),
        }
    }

    /// A tag's attribute up to `>`: a name, optionally quoted.
    fn attribute(&mut self, pos: usize) -> Result<(String, usize), TagFail> {
        let rest = self.rest(pos);
        let Some(len) = rest.find(['>', '<', '\n']) else {
            return Err(self.fail(self.end));
        };
        if !rest[len..].starts_with('>') {
            return Err(TagFail::Broken(pos + len));
        }
        let raw = rest[..len].trim();
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .or_else(|| raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
            .unwrap_or(raw);
        if unquoted.is_empty() {
            return Err(TagFail::Broken(pos));
        }
        Ok((unescape_name(unquoted), pos + len + 1))
    }
}

/// A value written as raw text between tags (see the module docs).
fn raw_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    if let Ok((rest, v)) = python::value(trimmed, 1) {
        if ws(rest).is_empty() && !matches!(v, Value::Call(_)) {
            return v;
        }
    }
    let s = raw.strip_prefix('\n').unwrap_or(raw);
    let s = s.strip_suffix('\n').unwrap_or(s);
    Value::Str(s.to_owned())
}

/// Qwen3-Coder: one or more `<function=f>…</function>` at `pos`.
pub(crate) fn qwen3_coder(c: &mut Cursor<'_, '_>, pos: usize) -> Tagged {
    let mut pos = c.skip_ws(pos);
    if c.tag(pos, "<function=").is_none() {
        return Err(TagFail::NotThis);
    }
    let mut calls = Vec::new();
    while let Some(after) = c.tag(pos, "<function=") {
        let (name, mut at) = c.attribute(after)?;
        if !is_call_name(&name) {
            return Err(TagFail::Broken(after));
        }
        let mut call = ToolCall::new(name);
        loop {
            at = c.skip_ws(at);
            if let Some(after) = c.tag(at, "<parameter=") {
                let (key, value_at) = c.attribute(after)?;
                let (raw, next) = c.until(value_at, "</parameter>")?;
                call.args.push((key, raw_value(raw)));
                at = next;
            } else if let Some(next) = c.tag(at, "</function>") {
                at = next;
                break;
            } else {
                return Err(c.fail(at));
            }
        }
        calls.push(call);
        pos = c.skip_ws(at);
    }
    Ok((calls, pos))
}

/// GLM-4.5/4.7: `f<arg_key>k</arg_key><arg_value>v</arg_value>…` at `pos`.
pub(crate) fn glm_xml(c: &mut Cursor<'_, '_>, pos: usize) -> Tagged {
    let pos = c.skip_ws(pos);
    let Some((name, rest)) = python::name_at(c.rest(pos)) else {
        return Err(TagFail::NotThis);
    };
    let mut at = c.skip_ws(c.end - rest.len());
    if c.tag(at, "<arg_key>").is_none() {
        return Err(TagFail::NotThis);
    }
    let mut call = ToolCall::new(unescape_name(name));
    while let Some(after) = c.tag(at, "<arg_key>") {
        let (key, next) = c.until(after, "</arg_key>")?;
        let value_at = c.skip_ws(next);
        let Some(value_at) = c.tag(value_at, "<arg_value>") else {
            return Err(c.fail(value_at));
        };
        let (raw, next) = c.until(value_at, "</arg_value>")?;
        call.args.push((key.trim().to_owned(), raw_value(raw)));
        at = c.skip_ws(next);
    }
    Ok((vec![call], at))
}

/// GLM-4: a call name alone on its line, then a JSON object of arguments
/// (one that is not itself a call shape) ending its line. `None` when the
/// text at `pos` is not that.
pub(crate) fn glm_json(c: &mut Cursor<'_, '_>, pos: usize) -> Option<(ToolCall, usize)> {
    let (name, rest) = python::name_at(c.rest(pos))?;
    let rest = hws(rest);
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let body = ws(rest);
    if !body.starts_with('{') {
        return None;
    }
    let (after, v) = python::value(body, 0).ok()?;
    let Value::Dict(entries) = v else {
        return None;
    };
    if is_call_shape(&entries) {
        return None;
    }
    let line_end = hws(after);
    let ends = line_end.is_empty()
        || line_end.starts_with(['\n', '\r'])
        || crate::parse::envelope::marker_at(line_end).is_some();
    if !ends || matches!(name, "True" | "False" | "None" | "true" | "false" | "null") {
        return None;
    }
    let mut call = ToolCall::new(unescape_name(name));
    call.args = entries;
    Some((call, c.end - after.len()))
}

/// MiniMax M2: `<invoke name="f"><parameter name="k">v</parameter></invoke>`
/// blocks after `<minimax:tool_call>`, up to its close.
pub(crate) fn minimax(c: &mut Cursor<'_, '_>, pos: usize) -> Tagged {
    let mut at = c.skip_ws(pos);
    let mut calls = Vec::new();
    while let Some(after) = c.tag(at, "<invoke name=") {
        let (name, mut next) = c.attribute(after)?;
        if !is_call_name(&name) {
            return Err(TagFail::Broken(after));
        }
        let mut call = ToolCall::new(name);
        loop {
            next = c.skip_ws(next);
            if let Some(after) = c.tag(next, "<parameter name=") {
                let (key, value_at) = c.attribute(after)?;
                let (raw, n) = c.until(value_at, "</parameter>")?;
                call.args.push((key, raw_value(raw.trim())));
                next = n;
            } else if let Some(n) = c.tag(next, "</invoke>") {
                next = n;
                break;
            } else {
                return Err(c.fail(next));
            }
        }
        calls.push(call);
        at = c.skip_ws(next);
    }
    match c.tag(at, MINIMAX_CLOSE) {
        Some(next) if !calls.is_empty() => Ok((calls, next)),
        _ => Err(c.fail(at)),
    }
}

/// Kimi K2: `functions.f:0<|tool_call_argument_begin|>{…}<|tool_call_end|>`
/// after `<|tool_call_begin|>`.
pub(crate) fn kimi(c: &mut Cursor<'_, '_>, pos: usize) -> Tagged {
    let at = c.skip_ws(pos);
    let Some((name, rest)) = python::name_at(c.rest(at)) else {
        return Err(c.fail(at));
    };
    let name = name.strip_prefix("functions.").unwrap_or(name);
    let mut next = c.end - rest.len();
    if let Some(after) = c.tag(next, ":") {
        let digits = c.rest(after).bytes().take_while(u8::is_ascii_digit).count();
        next = after + digits;
    }
    next = c.skip_ws(next);
    let Some(args_at) = c.tag(next, KIMI_ARGS) else {
        return Err(c.fail(next));
    };
    let body = ws(c.rest(args_at));
    let (rest, v) = match python::value(body, 0) {
        Ok(ok) => ok,
        Err(_) => return Err(c.fail(c.end - body.len())),
    };
    let Value::Dict(entries) = v else {
        return Err(TagFail::Broken(c.end - body.len()));
    };
    let close_at = c.skip_ws(c.end - rest.len());
    let Some(next) = c.tag(close_at, KIMI_CLOSE) else {
        return Err(c.fail(close_at));
    };
    let mut call = ToolCall::new(unescape_name(name));
    call.args = entries;
    Ok((vec![call], next))
}

/// Gemma: `call:f{k:v,…}` after `<start_function_call>` (closed by
/// `<end_function_call>`) or `<|tool_call>` (closed by `<tool_call|>`).
/// `open` is the marker met.
pub(crate) fn gemma(c: &mut Cursor<'_, '_>, pos: usize, open: &str) -> Tagged {
    let (close, quote) = if open == GEMMA4_OPEN {
        (GEMMA4_CLOSE, "<|\"|>")
    } else {
        (GEMMA_CLOSE, "<escape>")
    };
    let at = c.skip_ws(pos);
    let Some(after) = c.tag(at, "call:") else {
        return Err(c.fail(at));
    };
    let Some((name, rest)) = python::name_at(c.rest(after)) else {
        return Err(c.fail(after));
    };
    let brace = c.end - rest.len();
    if c.tag(brace, "{").is_none() {
        return Err(c.fail(brace));
    }
    let (v, next) = gemma_value(c, brace, quote, 0)?;
    let Value::Dict(entries) = v else {
        return Err(TagFail::Broken(brace));
    };
    let close_at = c.skip_ws(next);
    let Some(next) = c.tag(close_at, close) else {
        return Err(c.fail(close_at));
    };
    let mut call = ToolCall::new(unescape_name(name));
    call.args = entries;
    Ok((vec![call], next))
}

/// One Gemma value at `pos`: a quoted string, `{k:v,…}`, `[v,…]`, or a
/// bare scalar up to the next `,`, `}` or `]`.
fn gemma_value(
    c: &mut Cursor<'_, '_>,
    pos: usize,
    quote: &'static str,
    depth: u32,
) -> Result<(Value, usize), TagFail> {
    if depth > MAX_DEPTH {
        return Err(TagFail::Broken(pos));
    }
    let pos = c.skip_ws(pos);
    if let Some(after) = c.tag(pos, quote) {
        let (s, next) = c.until(after, quote)?;
        return Ok((Value::Str(s.to_owned()), next));
    }
    let (close, is_dict) = match c.rest(pos).as_bytes().first() {
        Some(b'{') => (b'}', true),
        Some(b'[') => (b']', false),
        Some(_) => {
            let rest = c.rest(pos);
            let len = rest.find([',', '}', ']']).unwrap_or(rest.len());
            if len == rest.len() && c.end == c.text.len() {
                return Err(TagFail::Cut);
            }
            return Ok((raw_value(rest[..len].trim()), pos + len));
        }
        None => return Err(c.fail(pos)),
    };
    let mut at = c.skip_ws(pos + 1);
    let mut items = Vec::new();
    let mut entries = Vec::new();
    loop {
        if c.rest(at).as_bytes().first() == Some(&close) {
            let v = if is_dict {
                Value::Dict(entries)
            } else {
                Value::List(items)
            };
            return Ok((v, at + 1));
        }
        if is_dict {
            let rest = c.rest(at);
            let Some(colon) = rest
                .find([':', ',', '}'])
                .filter(|&i| rest[i..].starts_with(':'))
            else {
                return Err(c.fail(c.end));
            };
            let key = rest[..colon].trim();
            if key.is_empty() || key.contains(['\n', '{', '[']) {
                return Err(TagFail::Broken(at));
            }
            let key = key.to_owned();
            let (v, next) = gemma_value(c, at + colon + 1, quote, depth + 1)?;
            entries.push((key, v));
            at = c.skip_ws(next);
        } else {
            let (v, next) = gemma_value(c, at, quote, depth + 1)?;
            items.push(v);
            at = c.skip_ws(next);
        }
        match c.rest(at).as_bytes().first() {
            Some(b',') => at = c.skip_ws(at + 1),
            Some(&b) if b == close => {}
            _ => return Err(c.fail(at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_are_literals_when_whole() {
        assert_eq!(raw_value("5"), Value::Int(5));
        assert_eq!(raw_value(" true\n"), Value::Bool(true));
        assert_eq!(raw_value("[1, 2]"), Value::List(vec![1.into(), 2.into()]));
        assert_eq!(raw_value("\"x\""), Value::from("x"));
        assert_eq!(raw_value("\nParis\n"), Value::from("Paris"));
        assert_eq!(raw_value("2024-05-01"), Value::from("2024-05-01"));
        assert_eq!(raw_value("f(x=1)"), Value::from("f(x=1)"));
    }

    fn run(text: &str, f: impl Fn(&mut Cursor<'_, '_>) -> Tagged) -> Tagged {
        let mut finder = Finder::default();
        let mut c = Cursor {
            text,
            end: text.len(),
            finder: &mut finder,
        };
        f(&mut c)
    }

    #[test]
    fn failures() {
        assert_eq!(
            run("<function=f>\n<parameter=a>\n1", |c| qwen3_coder(c, 0)),
            Err(TagFail::Cut)
        );
        assert_eq!(run("f(x=1)", |c| qwen3_coder(c, 0)), Err(TagFail::NotThis));
        assert_eq!(run("f <b>", |c| glm_xml(c, 0)), Err(TagFail::NotThis));
        assert!(matches!(
            run("call:f{a:1} oops <end_function_call>", |c| gemma(
                c,
                0,
                "<start_function_call>"
            )),
            Err(TagFail::Broken(_))
        ));
    }
}
