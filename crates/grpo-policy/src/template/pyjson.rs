//! Python's `json.dumps`, over template values.
//!
//! transformers replaces Jinja's `tojson` filter with `json.dumps(x,
//! ensure_ascii=False, indent=None, separators=None, sort_keys=False)`, and
//! chat templates write tool schemas and tool-call arguments through it, so a
//! prompt only tokenizes like Python's when these bytes are the same: `", "`
//! and `": "` separators, non-ASCII kept, Python's float spelling.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, Value};

/// The options of `json.dumps` that a template can set.
#[derive(Debug, Clone)]
pub(crate) struct DumpOptions {
    /// Escape every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
    /// The text repeated once per nesting level; `None` keeps one line.
    pub indent: Option<String>,
    /// Written between items (`", "` by default, `","` with an indent).
    pub item_separator: String,
    /// Written between a key and its value.
    pub key_separator: String,
    /// Write map entries in key order instead of insertion order.
    pub sort_keys: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            ensure_ascii: false,
            indent: None,
            item_separator: ", ".into(),
            key_separator: ": ".into(),
            sort_keys: false,
        }
    }
}

/// Serializes `value` as `json.dumps` does with these options.
pub(crate) fn dumps(value: &Value, options: &DumpOptions) -> Result<String, Error> {
    let mut out = String::new();
    write_value(&mut out, value, options, 0)?;
    Ok(out)
}

/// The widest indent `tojson` accepts, so a template cannot ask for
/// gigabytes of spaces.
const MAX_INDENT: i64 = 1024;

/// `tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
pub(crate) fn tojson(
    value: &Value,
    ensure_ascii: Option<bool>,
    indent: Option<Value>,
    separators: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let ensure_ascii = match kwargs.get::<Option<bool>>("ensure_ascii")? {
        Some(flag) => flag,
        None => ensure_ascii.unwrap_or(false),
    };
    let indent = kwargs
        .get::<Option<Value>>("indent")?
        .or(indent)
        .filter(|v| !v.is_none());
    let separators = kwargs
        .get::<Option<Value>>("separators")?
        .or(separators)
        .filter(|v| !v.is_none());
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;

    let mut options = DumpOptions {
        ensure_ascii,
        sort_keys,
        ..Default::default()
    };
    if let Some(indent) = indent {
        options.indent = Some(match indent.as_str() {
            Some(text) => text.to_owned(),
            None => {
                let width = indent
                    .as_i64()
                    .filter(|w| *w <= MAX_INDENT)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("tojson indent must be a string or an int up to {MAX_INDENT}"),
                        )
                    })?;
                " ".repeat(width.max(0) as usize)
            }
        });
        options.item_separator = ",".into();
    }
    if let Some(separators) = separators {
        let parts: Vec<Value> = separators.try_iter()?.collect();
        match parts.as_slice() {
            [item, key] if item.as_str().is_some() && key.as_str().is_some() => {
                options.item_separator = item.to_string();
                options.key_separator = key.to_string();
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson separators must be a pair of strings (item, key)",
                ))
            }
        }
    }
    dumps(value, &options).map(Value::from)
}

/// Python's `repr(float)`: the shortest digits that round-trip, in positional
/// form for exponents in `-4..16` and in `1e-05` form otherwise.
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    // `{:e}` gives the same shortest round-trip digits as Python, e.g. `1.5e-5`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // The decimal point sits after `decpt` digits: 0.d1d2… × 10^decpt.
    let decpt = exponent + 1;
    if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    let n = digits.len() as i32;
    let body = if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

fn write_value(
    out: &mut String,
    value: &Value,
    o: &DumpOptions,
    level: usize,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value),
        ValueKind::String => write_string(out, value.as_str().unwrap_or_default(), o.ensure_ascii),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            write_container(out, o, level, '[', ']', &items, |out, item, level| {
                write_value(out, item, o, level)
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter()?.collect();
            if o.sort_keys {
                keys.sort();
            }
            write_container(out, o, level, '{', '}', &keys, |out, key, level| {
                write_key(out, key, o)?;
                out.push_str(&o.key_separator);
                write_value(out, &value.get_item(key)?, o, level)
            })?;
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("object of type {kind} is not JSON serializable"),
            ))
        }
    }
    Ok(())
}

/// Writes `[a, b]` or its indented form, as `json.dumps` lays them out.
fn write_container(
    out: &mut String,
    o: &DumpOptions,
    level: usize,
    open: char,
    close: char,
    items: &[Value],
    mut write_item: impl FnMut(&mut String, &Value, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    let newline_indent = |level: usize| match &o.indent {
        Some(indent) => format!("\n{}", indent.repeat(level)),
        None => String::new(),
    };
    let inner = newline_indent(level + 1);
    out.push_str(&inner);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&o.item_separator);
            out.push_str(&inner);
        }
        write_item(out, item, level + 1)?;
    }
    out.push_str(&newline_indent(level));
    out.push(close);
    Ok(())
}

/// Map keys: strings as they are; numbers, booleans and none as Python
/// converts them (`1`, `true`, `null`).
fn write_key(out: &mut String, key: &Value, o: &DumpOptions) -> Result<(), Error> {
    let text = match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
        ValueKind::None => "null".into(),
        ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).into(),
        ValueKind::Number => {
            let mut s = String::new();
            write_number(&mut s, key);
            s
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("keys must be str, int, float, bool or None, not {kind}"),
            ))
        }
    };
    write_string(out, &text, o.ensure_ascii);
    Ok(())
}

fn write_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        out.push_str(&value.to_string());
        return;
    }
    let x = f64::try_from(value.clone()).unwrap_or(f64::NAN);
    match float_repr(x).as_str() {
        "nan" => out.push_str("NaN"),
        "inf" => out.push_str("Infinity"),
        "-inf" => out.push_str("-Infinity"),
        repr => out.push_str(repr),
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        // Values checked against CPython 3.11 `repr`.
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456.789, "123456.789"),
            (2.5e100, "2.5e+100"),
            (-3.25, "-3.25"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "repr({x:e})");
        }
    }

    #[test]
    fn dumps_uses_python_separators_and_keeps_order() {
        let value = Value::from_pairs([
            ("z", Value::from(1)),
            (
                "a",
                Value::from(vec![Value::from(1.5), Value::from(()), Value::from(true)]),
            ),
            ("é", Value::from("x\"y\n\u{1}")),
        ]);
        let compact = dumps(&value, &DumpOptions::default()).unwrap();
        assert_eq!(
            compact,
            r#"{"z": 1, "a": [1.5, null, true], "é": "x\"y\n\u0001"}"#
        );

        let options = DumpOptions {
            indent: Some("  ".into()),
            item_separator: ",".into(),
            sort_keys: true,
            ensure_ascii: true,
            ..DumpOptions::default()
        };
        let pretty = dumps(&value, &options).unwrap();
        let want = "{\n  \"a\": [\n    1.5,\n    null,\n    true\n  ],\n  \"z\": 1,\n  \"\\u00e9\": \"x\\\"y\\n\\u0001\"\n}";
        assert_eq!(pretty, want);
    }

    #[test]
    fn empty_containers_stay_on_one_line_when_indented() {
        let value = Value::from_pairs([("a", Value::from(Vec::<Value>::new()))]);
        let options = DumpOptions {
            indent: Some("    ".into()),
            item_separator: ",".into(),
            ..DumpOptions::default()
        };
        assert_eq!(dumps(&value, &options).unwrap(), "{\n    \"a\": []\n}");
    }

    #[test]
    fn astral_characters_become_surrogate_pairs_with_ensure_ascii() {
        let options = DumpOptions {
            ensure_ascii: true,
            ..DumpOptions::default()
        };
        assert_eq!(
            dumps(&Value::from("😀"), &options).unwrap(),
            r#""\ud83d\ude00""#
        );
        assert_eq!(
            dumps(&Value::from("😀"), &DumpOptions::default()).unwrap(),
            "\"😀\""
        );
    }

    #[test]
    fn undefined_is_not_serializable() {
        let err = dumps(&Value::UNDEFINED, &DumpOptions::default()).unwrap_err();
        assert!(err.to_string().contains("not JSON serializable"), "{err}");
    }
}
