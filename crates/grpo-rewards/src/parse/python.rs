//! The nom grammar of Python call syntax and literals.
//!
//! One value grammar serves both Python and JSON: JSON is Python literal
//! syntax plus `true`/`false`/`null`, which are accepted too. Nothing is
//! evaluated; only literals, containers and calls are values, so
//! `f(x=some_variable)` does not parse.
//!
//! String and number literals are in `literal.rs`.
//!
//! Every alternative is chosen by looking at the first byte, so a parse
//! never backtracks further than one identifier, and its error points at
//! the furthest byte it read (the scanner in `parse/mod.rs` relies on this
//! to keep the whole extraction linear). Nesting deeper than [`MAX_DEPTH`]
//! fails at once with [`FailKind::TooDeep`] instead of recursing further.

use nom::character::complete::char;
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use crate::call::{ToolCall, Value};
use crate::parse::literal::{number, string_prefix_len, string_value};

/// Deepest nesting of lists, tuples, dicts and calls a call may have (the
/// call's own parentheses count as one level). Deeper input stops that
/// parse with [`ParseErrorKind::TooDeep`](crate::ParseErrorKind::TooDeep)
/// rather than recursing on.
///
/// ```
/// use grpo_rewards::{extract_function_calls, MAX_DEPTH};
///
/// let depth = |d: u32| format!("f(x={}{})", "[".repeat(d as usize - 1), "]".repeat(d as usize - 1));
/// assert_eq!(extract_function_calls(&depth(MAX_DEPTH)).calls.len(), 1);
/// assert!(extract_function_calls(&depth(MAX_DEPTH + 1)).calls.is_empty());
/// ```
pub const MAX_DEPTH: u32 = 32;

/// Why a parse failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// The text is not a literal or call at this point.
    Syntax,
    /// Nesting exceeded [`MAX_DEPTH`].
    TooDeep,
    /// A complete value that is not a call (`{"city": "Paris"}`).
    NotCalls,
}

/// A parse failure: where (the unread rest of the input) and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fail<'a> {
    pub(crate) at: &'a str,
    pub(crate) kind: FailKind,
}

impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(input: &'a str, _: ErrorKind) -> Self {
        Fail {
            at: input,
            kind: FailKind::Syntax,
        }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }

    /// Keeps the failure that read further, so the error marks how much of
    /// the input was examined.
    fn or(self, other: Self) -> Self {
        if other.at.len() <= self.at.len() {
            other
        } else {
            self
        }
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a str, T, Fail<'a>>;

pub(super) fn syntax<T>(at: &str) -> PResult<'_, T> {
    Err(nom::Err::Error(Fail {
        at,
        kind: FailKind::Syntax,
    }))
}

/// Whitespace of any kind, newlines included (inside brackets).
/// (Byte loops rather than nom's `multispace0`: whitespace is skipped
/// between every two tokens, and this is measurably faster.)
pub(crate) fn ws(i: &str) -> &str {
    let n = i
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    &i[n..]
}

/// Spaces and tabs only (between calls on one line).
pub(crate) fn hws(i: &str) -> &str {
    let n = i.bytes().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &i[n..]
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

pub(super) fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The length of the run of identifier characters at the start of `i`
/// (`-` too when `dash`). A markdown-escaped underscore, `\_`, counts as
/// one: Mistral-family models write `get\_weather(…)`.
fn ident_run(i: &str, dash: bool) -> usize {
    let b = i.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            c if c.is_ascii_alphanumeric() || c == b'_' => k += 1,
            b'-' if dash => k += 1,
            b'\\' if b.get(k + 1) == Some(&b'_') => k += 2,
            c if c.is_ascii() => break,
            _ => match i[k..].chars().next() {
                Some(c) if is_ident_char(c) => k += c.len_utf8(),
                _ => break,
            },
        }
    }
    k
}

/// Whether `i` starts an identifier (markdown-escaped `\_` included).
fn starts_ident(i: &str) -> bool {
    i.starts_with(is_ident_start) || i.starts_with("\\_")
}

/// A name as written, without markdown escapes: `get\_weather` is
/// `get_weather`.
pub(crate) fn unescape_name(name: &str) -> String {
    if name.contains('\\') {
        name.replace("\\_", "_")
    } else {
        name.to_owned()
    }
}

/// An identifier: a keyword argument name or one segment of a call name.
fn ident(i: &str) -> PResult<'_, &str> {
    if !starts_ident(i) {
        return syntax(i);
    }
    let len = ident_run(i, false);
    Ok((&i[len..], &i[..len]))
}

/// A call name: dotted identifiers, where segments may hold `-` after their
/// first character (`get-weather`), since tool names often do.
fn call_name(i: &str) -> PResult<'_, &str> {
    let (mut rest, _) = ident(i)?;
    loop {
        rest = &rest[ident_run(rest, true)..];
        match rest.strip_prefix('.') {
            Some(after) if starts_ident(after) => rest = after,
            _ => break,
        }
    }
    let name = &i[..i.len() - rest.len()];
    Ok((rest, name))
}

/// A call name at the start of `i`, and the text after it.
pub(crate) fn name_at(i: &str) -> Option<(&str, &str)> {
    call_name(i).ok().map(|(rest, name)| (name, rest))
}

/// Whether all of `s` is a call name, so that a name read from JSON prints
/// back as Python call syntax.
pub(crate) fn is_call_name(s: &str) -> bool {
    call_name(s).is_ok_and(|(rest, _)| rest.is_empty())
}

/// Whether `i` starts like a top-level item: `name(`, `[` or `{`.
pub(crate) fn starts_item(i: &str) -> bool {
    match i.as_bytes().first() {
        Some(b'[' | b'{') => true,
        Some(_) => call_name(i).is_ok_and(|(rest, _)| hws(rest).starts_with('(')),
        None => false,
    }
}

/// Whether `i` starts like a call: `name(`, a bracketed list whose first
/// item does (`[name(`), or a JSON call object (`{"name"`, `[{"name"`). A
/// line that does so and then fails to parse is a broken call, not prose.
pub(crate) fn opens_call(i: &str) -> bool {
    let i = match i.strip_prefix('[') {
        Some(rest) => ws(rest),
        None => i,
    };
    match i.as_bytes().first() {
        Some(b'{') => opens_call_object(ws(&i[1..])),
        Some(b'[') | None => false,
        Some(_) => starts_item(i),
    }
}

/// Whether a dict's first key is one that names a call (`"name"`,
/// `'function'`, …).
fn opens_call_object(i: &str) -> bool {
    let Some(&quote) = i.as_bytes().first().filter(|q| matches!(q, b'"' | b'\'')) else {
        return false;
    };
    let body = &i[1..];
    [
        "name",
        "function",
        "tool",
        "tool_name",
        "type",
        "tool_calls",
    ]
    .iter()
    .any(|key| body.starts_with(key) && body.as_bytes().get(key.len()) == Some(&quote))
}

/// Parses one value at the start of `i`; `depth` is the current nesting.
pub(crate) fn value(i: &str, depth: u32) -> PResult<'_, Value> {
    let Some(&first) = i.as_bytes().first() else {
        return syntax(i);
    };
    match first {
        b'"' | b'\'' => string_value(i),
        b'[' => list(i, depth),
        b'(' => tuple(i, depth),
        b'{' => dict(i, depth),
        b'-' | b'+' | b'.' | b'0'..=b'9' => number(i),
        _ if string_prefix_len(i).is_some() => string_value(i),
        _ => name_value(i, depth),
    }
}

/// Enters one nesting level, failing once [`MAX_DEPTH`] is passed.
fn deeper(i: &str, depth: u32) -> Result<u32, nom::Err<Fail<'_>>> {
    if depth >= MAX_DEPTH {
        Err(nom::Err::Failure(Fail {
            at: i,
            kind: FailKind::TooDeep,
        }))
    } else {
        Ok(depth + 1)
    }
}

/// Comma-separated values up to `close`, trailing comma allowed. Returns
/// the values and whether any comma was seen (to tell `(1)` from `(1,)`).
fn sequence(i: &str, close: u8, depth: u32) -> PResult<'_, (Vec<Value>, bool)> {
    let mut items = Vec::new();
    let mut commas = false;
    let mut i = ws(i);
    loop {
        if i.as_bytes().first() == Some(&close) {
            return Ok((&i[1..], (items, commas)));
        }
        let (rest, v) = value(i, depth)?;
        items.push(v);
        let rest = ws(rest);
        match rest.as_bytes().first() {
            Some(b',') => {
                commas = true;
                i = ws(&rest[1..]);
            }
            Some(&c) if c == close => return Ok((&rest[1..], (items, commas))),
            _ => return syntax(rest),
        }
    }
}

fn list(i: &str, depth: u32) -> PResult<'_, Value> {
    let depth = deeper(i, depth)?;
    let (i, _) = char('[').parse(i)?;
    let (rest, (items, _)) = sequence(i, b']', depth)?;
    Ok((rest, Value::List(items)))
}

/// `(a, b)` and `()` are tuples, read as lists; `(a)` is just `a`.
fn tuple(i: &str, depth: u32) -> PResult<'_, Value> {
    let depth = deeper(i, depth)?;
    let (i, _) = char('(').parse(i)?;
    let (rest, (mut items, commas)) = sequence(i, b')', depth)?;
    if items.len() == 1 && !commas {
        Ok((rest, items.pop().unwrap_or_default()))
    } else {
        Ok((rest, Value::List(items)))
    }
}

fn dict(i: &str, depth: u32) -> PResult<'_, Value> {
    let depth = deeper(i, depth)?;
    let (i, _) = char('{').parse(i)?;
    let mut entries = Vec::new();
    let mut i = ws(i);
    loop {
        if let Some(rest) = i.strip_prefix('}') {
            return Ok((rest, Value::Dict(entries)));
        }
        let (rest, key) = dict_key(i)?;
        let (rest, _) = char(':').parse(ws(rest))?;
        let (rest, v) = value(ws(rest), depth)?;
        entries.push((key, v));
        let rest = ws(rest);
        match rest.as_bytes().first() {
            Some(b',') => i = ws(&rest[1..]),
            Some(b'}') => return Ok((&rest[1..], Value::Dict(entries))),
            _ => return syntax(rest),
        }
    }
}

/// A dict key: a string, or a number, bool or `None` stored as its JSON
/// text (what `json.dumps` does with such keys).
fn dict_key(i: &str) -> PResult<'_, String> {
    let (rest, key) = match i.as_bytes().first() {
        Some(b'"' | b'\'') => string_value(i)?,
        Some(b'-' | b'+' | b'.' | b'0'..=b'9') => number(i)?,
        _ if string_prefix_len(i).is_some() => string_value(i)?,
        _ => {
            let (rest, name) = call_name(i)?;
            match name {
                "True" | "true" => (rest, Value::Bool(true)),
                "False" | "false" => (rest, Value::Bool(false)),
                "None" | "null" => (rest, Value::Null),
                _ => return syntax(i),
            }
        }
    };
    let text = match key {
        Value::Str(s) => s,
        Value::Int(n) => n.to_string(),
        Value::Float(x) => format!("{x:?}"),
        other => other.to_json().to_string(),
    };
    Ok((rest, text))
}

/// A constant (`True`, `null`, …) or a call `name(args)`.
fn name_value(i: &str, depth: u32) -> PResult<'_, Value> {
    let (rest, name) = call_name(i)?;
    let after = hws(rest);
    if after.starts_with('(') {
        let (rest, call) = call_args(&unescape_name(name), after, depth)?;
        return Ok((rest, Value::Call(Box::new(call))));
    }
    let v = match name {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        "None" | "null" => Value::Null,
        _ => return syntax(rest),
    };
    Ok((rest, v))
}

/// Parses a call at the start of `i`: `name(args)`.
#[cfg(test)]
pub(crate) fn call(i: &str, depth: u32) -> PResult<'_, ToolCall> {
    let (rest, name) = call_name(i)?;
    call_args(&unescape_name(name), hws(rest), depth)
}

/// The argument list `( … )` of a call to `name`: positional arguments,
/// then keyword arguments, trailing comma allowed.
fn call_args<'a>(name: &str, i: &'a str, depth: u32) -> PResult<'a, ToolCall> {
    let depth = deeper(i, depth)?;
    let (i, _) = char('(').parse(i)?;
    let mut call = ToolCall::new(name);
    let mut i = ws(i);
    loop {
        if let Some(rest) = i.strip_prefix(')') {
            return Ok((rest, call));
        }
        let rest = match keyword(i) {
            Some((after_eq, key)) => {
                let (rest, v) = value(ws(after_eq), depth)?;
                call.args.push((unescape_name(key), v));
                rest
            }
            // A positional argument after a keyword one is a syntax error
            // in Python too.
            None if !call.args.is_empty() => return syntax(i),
            None => {
                let (rest, v) = value(i, depth)?;
                call.positional.push(v);
                rest
            }
        };
        let rest = ws(rest);
        match rest.as_bytes().first() {
            Some(b',') => i = ws(&rest[1..]),
            Some(b')') => return Ok((&rest[1..], call)),
            _ => return syntax(rest),
        }
    }
}

/// `name =` (but not `name ==`): returns the text after `=` and the name.
fn keyword(i: &str) -> Option<(&str, &str)> {
    let (rest, key) = ident(i).ok()?;
    let rest = ws(rest).strip_prefix('=')?;
    if rest.starts_with('=') {
        return None;
    }
    Some((rest, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        let (rest, v) = value(s, 0).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
        assert!(rest.is_empty(), "{s:?} left {rest:?}");
        v
    }

    fn rejects(s: &str) {
        assert!(
            value(s, 0).map_or(true, |(rest, _)| !rest.is_empty()),
            "{s:?} should not parse fully"
        );
    }

    #[test]
    fn constants_and_containers() {
        assert_eq!(parse("True"), Value::Bool(true));
        assert_eq!(parse("false"), Value::Bool(false));
        assert_eq!(parse("None"), Value::Null);
        assert_eq!(parse("null"), Value::Null);
        assert_eq!(
            parse("[1, (2, 3), (4,), (5), ()]"),
            Value::List(vec![
                Value::Int(1),
                Value::List(vec![Value::Int(2), Value::Int(3)]),
                Value::List(vec![Value::Int(4)]),
                Value::Int(5),
                Value::List(vec![]),
            ])
        );
        assert_eq!(
            parse("{'a': [1,], \"b\": {}, 1: None, true: 2.5,}"),
            Value::Dict(vec![
                ("a".into(), Value::List(vec![Value::Int(1)])),
                ("b".into(), Value::Dict(vec![])),
                ("1".into(), Value::Null),
                ("true".into(), Value::Float(2.5)),
            ])
        );
        for bad in ["[1 2]", "{1}", "{[1]: 2}", "x", "[x]", "(1, 2", "{'a' 1}"] {
            rejects(bad);
        }
    }

    #[test]
    fn calls() {
        let (rest, c) = call("m.get-weather ( 'Paris' , days = 3, f=g(x=[]), )", 0).unwrap();
        assert!(rest.is_empty());
        assert_eq!(c.name, "m.get-weather");
        assert_eq!(c.positional, vec![Value::from("Paris")]);
        assert_eq!(c.args[0], ("days".into(), Value::Int(3)));
        assert_eq!(
            c.args[1].1,
            Value::Call(Box::new(ToolCall::new("g").arg("x", Value::List(vec![]))))
        );
        // Positional after keyword, comparisons, unpacking and variables.
        for bad in ["f(a=1, 2)", "f(a==1)", "f(*x)", "f(**k)", "f(x)", "f(a=1"] {
            assert!(call(bad, 0).map_or(true, |(r, _)| !r.is_empty()), "{bad}");
        }
    }

    #[test]
    fn markdown_escaped_names() {
        let (rest, c) = call("get\\_current\\_weather(city\\_name='Paris')", 0).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            c,
            ToolCall::new("get_current_weather").arg("city_name", "Paris")
        );
        assert!(starts_item("\\_private(x=1)"));
        assert_eq!(unescape_name("a\\_b.c"), "a_b.c");
        assert!(
            call("get\\weather()", 0).is_err(),
            "only underscores are escaped"
        );
    }

    #[test]
    fn failures_point_at_the_furthest_byte_read() {
        let input = "f(a=[1, 2, 3, x])";
        let Err(nom::Err::Error(fail)) = call(input, 0) else {
            panic!("should fail");
        };
        assert_eq!(input.len() - fail.at.len(), input.find('x').unwrap() + 1);
        let Err(nom::Err::Error(fail)) = call("f(a='abc", 0) else {
            panic!("should fail");
        };
        assert!(
            fail.at.is_empty(),
            "an unterminated string fails at the end"
        );
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(value(&ok, 0).is_ok());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(matches!(
            value(&deep, 0),
            Err(nom::Err::Failure(Fail {
                kind: FailKind::TooDeep,
                ..
            }))
        ));
        assert!(matches!(
            call(&format!("f{}", "(".repeat(100_000)), 0),
            Err(nom::Err::Failure(_))
        ));
    }

    #[test]
    fn items_start_with_a_call_or_bracket() {
        assert!(starts_item("f(x)"));
        assert!(starts_item("a.b ("));
        assert!(starts_item("[f()]"));
        assert!(starts_item("{\"name\": 1}"));
        assert!(!starts_item("Sure, f(x)"));
        assert!(!starts_item("(f)"));
        assert!(!starts_item("f"));
        assert!(opens_call("[get_weather(city="));
        assert!(opens_call("[ {\"name\": "));
        assert!(opens_call("{'function': "));
        assert!(!opens_call("[1, 2"));
        assert!(!opens_call("{\"city\": "));
    }
}
