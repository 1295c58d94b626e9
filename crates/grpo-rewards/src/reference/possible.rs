//! The Berkeley Function Calling Leaderboard's possible-answer form.

use crate::call::Value;
use crate::error::{shorten, Error, Result};
use crate::reference::{ExpectedCall, ExpectedParam, ParamKey};

/// Reads a BFCL possible answer (see [`Reference::with_possible_answers`](crate::Reference::with_possible_answers)).
pub(super) fn possible_answers(v: &serde_json::Value) -> Result<Vec<ExpectedCall>> {
    use serde_json::Value as J;
    let invalid = |path: String, expected, got: &J| Error::InvalidPossibleAnswer {
        path,
        expected,
        got: shorten(&got.to_string(), 60),
    };
    // (path for messages, function name, parameters)
    let entries: Vec<(String, &String, &J)> = match v {
        J::Array(items) => {
            let mut entries = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let J::Object(map) = item else {
                    return Err(invalid(format!("[{i}]"), "an object {function: {…}}", item));
                };
                entries.extend(map.iter().map(|(k, v)| (format!("[{i}].{k}"), k, v)));
            }
            entries
        }
        J::Object(map) => map.iter().map(|(k, v)| (k.clone(), k, v)).collect(),
        other => return Err(invalid(String::new(), "a list of calls", other)),
    };
    let mut calls = Vec::with_capacity(entries.len());
    for (path, name, params) in entries {
        let J::Object(params) = params else {
            return Err(invalid(path, "an object of parameters", params));
        };
        let mut call = ExpectedCall {
            name: name.clone(),
            params: Vec::with_capacity(params.len()),
        };
        for (key, allowed) in params {
            let (allowed, optional) = match allowed {
                J::Array(values) if values.is_empty() => {
                    let path = format!("{path}.{key}");
                    return Err(invalid(path, "a non-empty list of allowed values", allowed));
                }
                J::Array(values) => (
                    values.iter().map(Value::from).collect(),
                    values.iter().any(|v| v.as_str() == Some("")),
                ),
                single => (vec![Value::from(single)], false),
            };
            call.params.push(ExpectedParam {
                key: ParamKey::Name(key.clone()),
                allowed,
                optional,
            });
        }
        calls.push(call);
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;
    use serde_json::json;

    #[test]
    fn possible_answers_forms() {
        let r = Reference::default()
            .with_possible_answers(&json!([
                {"f": {"a": [1, 2], "b": ["", "x"], "c": "only"}},
                {"g": {}}
            ]))
            .unwrap();
        assert_eq!(r.calls.len(), 2);
        let a = &r.calls[0].params[0];
        assert_eq!(a.allowed, [Value::Int(1), Value::Int(2)]);
        assert!(!a.optional);
        assert!(r.calls[0].params[1].optional);
        assert_eq!(r.calls[0].params[2].allowed, [Value::from("only")]);
        assert_eq!(r.calls[1].name, "g");
        assert!(!Reference::default()
            .with_possible_answers(&json!([]))
            .unwrap()
            .expects_call());
        let r = Reference::default()
            .with_possible_answers(&json!({"h": {"x": [true]}}))
            .unwrap();
        assert_eq!(r.calls[0].name, "h");
    }

    #[test]
    fn possible_answer_errors_name_the_path() {
        let cases = [
            (
                json!(5),
                "possible answer at : expected a list of calls, got 5",
            ),
            (
                json!([{"f": {"a": []}}]),
                "possible answer at [0].f.a: expected a non-empty list of allowed values, got []",
            ),
            (
                json!([{"f": 3}]),
                "possible answer at [0].f: expected an object of parameters, got 3",
            ),
            (
                json!(["f"]),
                "possible answer at [0]: expected an object {function: {…}}, got \"f\"",
            ),
        ];
        for (v, message) in cases {
            let err = Reference::default().with_possible_answers(&v).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
    }
}
