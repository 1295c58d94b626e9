//! Reading Python literals (`{'name': 'f', 'arguments': {'x': True}}`) as
//! JSON. Some sources write calls with `repr()` rather than `json.dumps`.

use serde_json::{Map, Number, Value};

/// Parses one Python literal: dicts, lists, tuples (as lists), strings in
/// either quote, numbers, `True`, `False`, `None`. Trailing text is an error.
pub(crate) fn parse_python_literal(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text at byte {}", p.i));
    }
    Ok(v)
}

/// Nesting limit, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match self.peek() {
            Some(b'{') => self.dict(depth),
            Some(b'[') => self.seq(b']', depth),
            Some(b'(') => self.seq(b')', depth),
            Some(q @ (b'\'' | b'"')) => self.string(q).map(Value::String),
            Some(_) => self.atom(),
            None => Err("unexpected end of text".into()),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(Value::Object(map));
            }
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if self.peek() != Some(b':') {
                return Err(format!("expected `:` at byte {}", self.i));
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.i)),
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "expected `,` or `{}` at byte {}",
                        close as char, self.i
                    ))
                }
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        let mut start = self.i;
        while self.i < self.s.len() {
            match self.s[self.i] {
                c if c == quote => {
                    out.push_str(&self.text[start..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[start..self.i]);
                    let at = self.i + 1;
                    let esc = self.text[at..]
                        .chars()
                        .next()
                        .ok_or("unterminated string")?;
                    self.i = at + esc.len_utf8();
                    match esc {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'u' => {
                            let hex = self.text.get(self.i..self.i + 4).ok_or("bad \\u escape")?;
                            let code =
                                u32::from_str_radix(hex, 16).map_err(|_| "bad \\u escape")?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            self.i += 4;
                        }
                        // `\\`, `\'`, `\"` and anything else: the character itself.
                        other => out.push(other),
                    }
                    start = self.i;
                }
                _ => self.i += 1,
            }
        }
        Err("unterminated string".into())
    }

    fn atom(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && !b",:]})".contains(&self.s[self.i])
            && !self.s[self.i].is_ascii_whitespace()
        {
            self.i += 1;
        }
        let word = &self.text[start..self.i];
        Ok(match word {
            "True" | "true" => Value::Bool(true),
            "False" | "false" => Value::Bool(false),
            "None" | "null" => Value::Null,
            _ => {
                if let Ok(i) = word.parse::<i64>() {
                    Value::from(i)
                } else if let Some(n) = word.parse::<f64>().ok().and_then(Number::from_f64) {
                    Value::Number(n)
                } else {
                    return Err(format!("unexpected `{word}` at byte {start}"));
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_hermes_style_calls() {
        let v = parse_python_literal(
            r#"{'arguments': {'symbol': 'AAPL', 'n': 3, 'x': -1.5, 'ok': True, 'none': None, 'xs': (1, 2)}, 'name': 'get_stock_price'}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"arguments": {"symbol": "AAPL", "n": 3, "x": -1.5, "ok": true, "none": null, "xs": [1, 2]}, "name": "get_stock_price"})
        );
    }

    #[test]
    fn reads_escapes_and_json() {
        assert_eq!(parse_python_literal(r#"'it\'s'"#).unwrap(), json!("it's"));
        assert_eq!(
            parse_python_literal(r#"{"a": [true, null]}"#).unwrap(),
            json!({"a": [true, null]})
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "{'a': }", "[1, 2", "'open", "{'a' 1}", "x y", "", "((((((", "'\\u12'",
        ] {
            assert!(parse_python_literal(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(10_000);
        assert!(parse_python_literal(&deep).is_err());
    }
}
