//! String and number literals of the value grammar (`python.rs`): Python's
//! string prefixes, quotes, escapes and implicit concatenation (plus JSON's
//! `\/` and surrogate pairs), and Python's int and float forms.

use nom::bytes::complete::{take_while, take_while1};
use nom::Parser;

use crate::call::Value;
use crate::parse::python::{hws, is_ident_char, syntax, ws, PResult};

/// An int or float literal: sign, `_` separators, `0x`/`0o`/`0b` ints,
/// `.5`, `5.`, exponents. Ints too large for `i64` become floats.
pub(super) fn number(i: &str) -> PResult<'_, Value> {
    let (body, negative) = match i.as_bytes().first() {
        Some(b'-') => (hws(&i[1..]), true),
        Some(b'+') => (hws(&i[1..]), false),
        _ => (i, false),
    };
    let radix = match body.as_bytes() {
        [b'0', b'x' | b'X', ..] => 16,
        [b'0', b'o' | b'O', ..] => 8,
        [b'0', b'b' | b'B', ..] => 2,
        _ => 10,
    };
    if radix != 10 {
        let (rest, digits) =
            take_while1(|c: char| c == '_' || c.is_digit(radix)).parse(&body[2..])?;
        let value = i64::from_str_radix(&digits.replace('_', ""), radix)
            .ok()
            .map(|n| if negative { -n } else { n });
        return match value {
            Some(n) => number_end(rest, Value::Int(n)),
            None => syntax(body),
        };
    }
    let digits = |s| take_while(|c: char| c.is_ascii_digit() || c == '_').parse(s);
    let (rest, int_part) = digits(body)?;
    let (rest, frac) = match rest.strip_prefix('.') {
        Some(after) => {
            let (rest, frac) = digits(after)?;
            (rest, Some(frac))
        }
        None => (rest, None),
    };
    if int_part.is_empty() && frac.is_none_or(str::is_empty) {
        return syntax(rest);
    }
    let (rest, exponent) = match rest.as_bytes() {
        [b'e' | b'E', ..] => {
            let after = &rest[1..];
            let after = after
                .strip_prefix('+')
                .or_else(|| after.strip_prefix('-'))
                .unwrap_or(after);
            let (after, exp_digits) = take_while1(|c: char| c.is_ascii_digit()).parse(after)?;
            (after, !exp_digits.is_empty())
        }
        _ => (rest, false),
    };
    let text = &body[..body.len() - rest.len()];
    let owned;
    let clean = if text.contains('_') {
        owned = text.replace('_', "");
        owned.as_str()
    } else {
        text
    };
    if frac.is_none() && !exponent {
        // `i64::MIN` has no positive counterpart, so parse with the sign.
        let parsed = if negative {
            format!("-{clean}").parse::<i64>()
        } else {
            clean.parse::<i64>()
        };
        if let Ok(n) = parsed {
            return number_end(rest, Value::Int(n));
        }
    }
    match clean.parse::<f64>() {
        Ok(x) => number_end(rest, Value::Float(if negative { -x } else { x })),
        Err(_) => syntax(body),
    }
}

/// A number must not run into a name (`5abc`, `1j`).
fn number_end(rest: &str, v: Value) -> PResult<'_, Value> {
    match rest.chars().next() {
        Some(c) if is_ident_char(c) || c == '.' => syntax(rest),
        _ => Ok((rest, v)),
    }
}

/// The length of a string prefix (`r`, `u`, `b`, `rb`, `br`) directly
/// followed by a quote.
pub(super) fn string_prefix_len(i: &str) -> Option<usize> {
    let b = i.as_bytes();
    let is_quote = |k: usize| matches!(b.get(k), Some(b'"' | b'\''));
    let lower = |k: usize| b.get(k).map(u8::to_ascii_lowercase);
    match (lower(0), lower(1)) {
        (Some(b'r'), Some(b'b')) | (Some(b'b'), Some(b'r')) if is_quote(2) => Some(2),
        (Some(b'r' | b'u' | b'b'), _) if is_quote(1) => Some(1),
        _ => None,
    }
}

/// A string literal, with Python's implicit concatenation of adjacent
/// literals (`"a" "b"` is `"ab"`).
pub(super) fn string_value(i: &str) -> PResult<'_, Value> {
    let (mut rest, mut s) = string_literal(i)?;
    loop {
        let next = ws(rest);
        let starts_string = matches!(next.as_bytes().first(), Some(b'"' | b'\''))
            || string_prefix_len(next).is_some();
        if !starts_string {
            return Ok((rest, Value::Str(s)));
        }
        let (r, more) = string_literal(next)?;
        s.push_str(&more);
        rest = r;
    }
}

/// One string literal: optional prefix, then `'…'`, `"…"`, `'''…'''` or
/// `"""…"""`. Escapes are resolved as Python does, plus JSON's `\/`;
/// unknown escapes keep their backslash.
fn string_literal(i: &str) -> PResult<'_, String> {
    let prefix = string_prefix_len(i).unwrap_or(0);
    let raw = i.as_bytes()[..prefix]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(&b'r'));
    let i = &i[prefix..];
    let b = i.as_bytes();
    let Some(&quote) = b.first().filter(|q| matches!(q, b'"' | b'\'')) else {
        return syntax(i);
    };
    let triple = b.len() >= 3 && b[1] == quote && b[2] == quote;
    let open = if triple { 3 } else { 1 };
    let body = &i[open..];
    let bytes = body.as_bytes();
    let mut out = String::new();
    let mut plain_from = 0;
    let mut j = 0;
    loop {
        let Some(&c) = bytes.get(j) else {
            // Unterminated: the failure is at the end of the input.
            return syntax(&body[bytes.len()..]);
        };
        match c {
            _ if c == quote => {
                if !triple {
                    break;
                }
                if bytes.get(j + 1) == Some(&quote) && bytes.get(j + 2) == Some(&quote) {
                    break;
                }
                j += 1;
            }
            b'\n' if !triple => return syntax(&body[j..]),
            b'\\' if raw => {
                // A raw string keeps the backslash, but it still stops the
                // next quote (or backslash) from ending the literal.
                j += match bytes.get(j + 1) {
                    Some(b'\\' | b'"' | b'\'' | b'\n') => 2,
                    _ => 1,
                };
            }
            b'\\' => {
                out.push_str(&body[plain_from..j]);
                let (len, decoded) = escape(&body[j + 1..]);
                match decoded {
                    Escape::Char(ch) => out.push(ch),
                    Escape::Nothing => {}
                    Escape::Keep => out.push('\\'),
                    Escape::Invalid => return syntax(&body[j..]),
                }
                j += 1 + len;
                plain_from = j;
            }
            _ => j += 1,
        }
    }
    out.push_str(&body[plain_from..j]);
    let rest = &body[j + open..];
    Ok((rest, out))
}

/// What an escape sequence stands for.
enum Escape {
    Char(char),
    /// A line continuation: backslash-newline stands for nothing.
    Nothing,
    /// An unknown escape: the backslash stays, the next char is read as is.
    Keep,
    /// A malformed `\x`, `\u` or `\U` escape (a syntax error in Python).
    Invalid,
}

/// Decodes the escape after a backslash; returns the bytes consumed after
/// the backslash.
fn escape(s: &str) -> (usize, Escape) {
    let b = s.as_bytes();
    let simple = |c: char| (1, Escape::Char(c));
    match b.first() {
        None => (0, Escape::Invalid),
        Some(b'\n') => (1, Escape::Nothing),
        Some(b'\r') if b.get(1) == Some(&b'\n') => (2, Escape::Nothing),
        Some(b'\\') => simple('\\'),
        Some(b'\'') => simple('\''),
        Some(b'"') => simple('"'),
        Some(b'/') => simple('/'),
        Some(b'n') => simple('\n'),
        Some(b't') => simple('\t'),
        Some(b'r') => simple('\r'),
        Some(b'b') => simple('\u{8}'),
        Some(b'f') => simple('\u{c}'),
        Some(b'v') => simple('\u{b}'),
        Some(b'a') => simple('\u{7}'),
        Some(b'0'..=b'7') => {
            let len = b
                .iter()
                .take(3)
                .take_while(|c| (b'0'..=b'7').contains(c))
                .count();
            let code = u32::from_str_radix(&s[..len], 8).unwrap_or(0);
            (
                len,
                Escape::Char(char::from_u32(code).unwrap_or('\u{fffd}')),
            )
        }
        Some(b'x') => hex_escape(s, 2),
        Some(b'u') => {
            let (len, first) = hex_code(s, 4);
            match first {
                Some(high @ 0xD800..=0xDBFF) => {
                    // A JSON surrogate pair: `\ud83d\ude00`.
                    let rest = &s[len..];
                    if rest.starts_with("\\u") {
                        if let (len2, Some(low @ 0xDC00..=0xDFFF)) = hex_code(&rest[1..], 4) {
                            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            return (len + 1 + len2, Escape::Char(ch));
                        }
                    }
                    (len, Escape::Char('\u{fffd}'))
                }
                Some(code) => (
                    len,
                    Escape::Char(char::from_u32(code).unwrap_or('\u{fffd}')),
                ),
                None => (len, Escape::Invalid),
            }
        }
        Some(b'U') => hex_escape(s, 8),
        Some(_) => (0, Escape::Keep),
    }
}

fn hex_escape(s: &str, digits: usize) -> (usize, Escape) {
    match hex_code(s, digits) {
        (len, Some(code)) => (
            len,
            Escape::Char(char::from_u32(code).unwrap_or('\u{fffd}')),
        ),
        (len, None) => (len, Escape::Invalid),
    }
}

/// Reads exactly `digits` hex digits after the escape letter at `s[0]`.
fn hex_code(s: &str, digits: usize) -> (usize, Option<u32>) {
    let hex = s
        .get(1..1 + digits)
        .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
    match hex {
        Some(h) => (1 + digits, u32::from_str_radix(h, 16).ok()),
        None => (1, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        let parsed = if string_prefix_len(s).is_some() || s.starts_with(['"', '\'']) {
            string_value(s)
        } else {
            number(s)
        };
        let (rest, v) = parsed.unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
        assert!(rest.is_empty(), "{s:?} left {rest:?}");
        v
    }

    fn rejects(s: &str) {
        let parsed = if string_prefix_len(s).is_some() || s.starts_with(['"', '\'']) {
            string_value(s)
        } else {
            number(s)
        };
        assert!(
            parsed.map_or(true, |(rest, _)| !rest.is_empty()),
            "{s:?} should not parse fully"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse("5"), Value::Int(5));
        assert_eq!(parse("-5"), Value::Int(-5));
        assert_eq!(parse("- 5"), Value::Int(-5));
        assert_eq!(parse("+7"), Value::Int(7));
        assert_eq!(parse("1_000"), Value::Int(1000));
        assert_eq!(parse("0x1F"), Value::Int(31));
        assert_eq!(parse("-0b101"), Value::Int(-5));
        assert_eq!(parse("0o17"), Value::Int(15));
        assert_eq!(parse("5.0"), Value::Float(5.0));
        assert_eq!(parse(".5"), Value::Float(0.5));
        assert_eq!(parse("5."), Value::Float(5.0));
        assert_eq!(parse("1e3"), Value::Float(1000.0));
        assert_eq!(parse("-1.5E-3"), Value::Float(-0.0015));
        assert_eq!(parse("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(parse("99999999999999999999"), Value::Float(1e20));
        assert_eq!(parse("1e999"), Value::Float(f64::INFINITY));
        for bad in ["5abc", "1j", ".", "-", "1e", "0x", "1.2.3"] {
            rejects(bad);
        }
    }

    #[test]
    fn strings() {
        assert_eq!(parse(r#""a\"b""#), Value::from("a\"b"));
        assert_eq!(parse(r"'it\'s'"), Value::from("it's"));
        assert_eq!(parse(r#""\n\t\\\/""#), Value::from("\n\t\\/"));
        assert_eq!(parse(r#""\x41\u00e9\U0001F600""#), Value::from("Aé😀"));
        assert_eq!(parse(r#""\ud83d\ude00""#), Value::from("😀"));
        assert_eq!(parse(r#""\ud83d""#), Value::from("\u{fffd}"));
        assert_eq!(parse(r#""\101""#), Value::from("A"));
        assert_eq!(parse(r#""\q""#), Value::from("\\q"));
        assert_eq!(parse(r#"r"a\nb""#), Value::from("a\\nb"));
        assert_eq!(parse(r#"r"a\"b""#), Value::from("a\\\"b"));
        assert_eq!(parse("'''a\n'b'\n'''"), Value::from("a\n'b'\n"));
        assert_eq!(parse(r#""""x""y""""#), Value::from("x\"\"y"));
        assert_eq!(parse("\"a\" 'b'"), Value::from("ab"));
        assert_eq!(parse("u'é'"), Value::from("é"));
        assert_eq!(parse("\"a\\\nb\""), Value::from("ab"));
        for bad in [
            "\"abc",
            "'a\nb'",
            r#""\x4""#,
            r#""\u12""#,
            "'''abc''",
            "\"\\",
        ] {
            rejects(bad);
        }
    }
}
