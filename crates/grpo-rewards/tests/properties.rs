//! Property tests: the parser never panics on any text, calls printed in
//! every format parse back equal, scores stay in [0, 1], and every call
//! list matches itself exactly.
//!
//! The number of cases follows proptest's `PROPTEST_CASES` (256 by
//! default); a long run of the parser is
//! `PROPTEST_CASES=1000000 cargo test --release -p grpo-rewards --test properties`.

use grpo_rewards::{
    compare_function_calls, extract_function_calls, Reference, RewardSet, ToolCall, Value,
    KNOWN_REWARDS,
};
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,11}"
}

fn call_name() -> impl Strategy<Value = String> {
    (ident(), proptest::option::of(ident())).prop_map(|(a, b)| match b {
        Some(b) => format!("{a}.{b}"),
        None => a,
    })
}

/// Finite floats: NaN is not equal to itself, and JSON has no infinities.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 8.0),
    ]
}

fn unique_entries(entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

/// Values without calls (these have a JSON form).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        float().prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|e| Value::Dict(unique_entries(e))),
        ]
    })
}

/// Calls whose arguments have a JSON form: keyword arguments only.
fn json_call() -> impl Strategy<Value = ToolCall> {
    (
        call_name(),
        prop::collection::vec((ident(), json_value()), 0..4),
    )
        .prop_map(|(name, args)| ToolCall {
            name,
            positional: Vec::new(),
            args: unique_entries(args),
        })
}

/// Any call: positional arguments and nested calls too.
fn python_call() -> impl Strategy<Value = ToolCall> {
    let nested = (call_name(), prop::collection::vec(json_value(), 0..2)).prop_map(|(n, pos)| {
        Value::Call(Box::new(ToolCall {
            name: n,
            positional: pos,
            args: Vec::new(),
        }))
    });
    let value = prop_oneof![4 => json_value(), 1 => nested];
    (
        call_name(),
        prop::collection::vec(value.clone(), 0..3),
        prop::collection::vec((ident(), value), 0..3),
    )
        .prop_map(|(name, positional, args)| ToolCall {
            name,
            positional,
            args: unique_entries(args),
        })
}

fn json(call: &ToolCall) -> String {
    call.to_json().to_string()
}

fn join(calls: &[ToolCall], f: impl Fn(&ToolCall) -> String, sep: &str) -> String {
    calls.iter().map(f).collect::<Vec<_>>().join(sep)
}

/// Every rendering of JSON-expressible calls the parser must read back.
fn renderings(calls: &[ToolCall]) -> Vec<(&'static str, String)> {
    let python = join(calls, ToString::to_string, "\n");
    let json_list = format!("[{}]", join(calls, json, ", "));
    vec![
        ("python lines", python.clone()),
        (
            "python list",
            format!("[{}]", join(calls, ToString::to_string, ", ")),
        ),
        ("python semicolons", join(calls, ToString::to_string, "; ")),
        ("json lines", join(calls, json, "\n")),
        ("json list", json_list.clone()),
        ("openai", {
            let items = join(
                calls,
                |c| format!(r#"{{"type": "function", "function": {}}}"#, json(c)),
                ", ",
            );
            format!(r#"{{"tool_calls": [{items}]}}"#)
        }),
        (
            "hermes",
            join(
                calls,
                |c| format!("<tool_call>\n{}\n</tool_call>", json(c)),
                "\n",
            ),
        ),
        ("mistral", format!("[TOOL_CALLS] {json_list}</s>")),
        (
            "llama",
            format!("<|python_tag|>{}<|eom_id|>", join(calls, json, "; ")),
        ),
        (
            "glaive",
            join(calls, |c| format!("<functioncall> {}", json(c)), "\n"),
        ),
        ("fence", format!("```python\n{python}\n```")),
        (
            "think then hermes",
            format!(
                "<think>I could call f(x=1)\n<tool_call>oops</tool_call></think>\n{}",
                join(calls, |c| format!("<tool_call>{}</tool_call>", json(c)), "")
            ),
        ),
    ]
}

/// Text made of the pieces the parser cares about, to reach its corners
/// more often than random strings do.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<tool_call>"),
        Just("</tool_call>"),
        Just("<think>"),
        Just("</think>"),
        Just("[TOOL_CALLS]"),
        Just("[ARGS]"),
        Just("<|python_tag|>"),
        Just("<functioncall>"),
        Just("```"),
        Just("```json\n"),
        Just("<|im_end|>"),
        Just("f("),
        Just("a.b("),
        Just("x="),
        Just(")"),
        Just("("),
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just("\"name\": "),
        Just("\"arguments\": "),
        Just("\""),
        Just("'"),
        Just("'''"),
        Just("\\"),
        Just("\\u12"),
        Just(", "),
        Just(";"),
        Just(":"),
        Just("\n"),
        Just(" "),
        Just("1"),
        Just("-2.5e3"),
        Just("0x"),
        Just("True"),
        Just("null"),
        Just("é"),
        Just("word"),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn any_string_never_panics(text in any::<String>()) {
        let parsed = extract_function_calls(&text);
        prop_assert!(parsed.calls.is_empty() || !parsed.formats.is_empty());
    }

    #[test]
    fn tricky_text_never_panics(text in tricky_text()) {
        let parsed = extract_function_calls(&text);
        prop_assert!(parsed.calls.is_empty() || !parsed.formats.is_empty());
        // Whatever was found prints as Python and reads back the same.
        let printed = join(&parsed.calls, ToString::to_string, "\n");
        prop_assert_eq!(extract_function_calls(&printed).calls, parsed.calls);
    }

    #[test]
    fn python_syntax_round_trips(calls in prop::collection::vec(python_call(), 1..4)) {
        let text = join(&calls, ToString::to_string, "\n");
        let parsed = extract_function_calls(&text);
        prop_assert_eq!(&parsed.calls, &calls, "{}", text);
        prop_assert!(parsed.clean && !parsed.truncated);
    }

    #[test]
    fn every_format_round_trips(calls in prop::collection::vec(json_call(), 1..4)) {
        for (format, text) in renderings(&calls) {
            let parsed = extract_function_calls(&text);
            prop_assert_eq!(&parsed.calls, &calls, "{}: {}", format, text);
            prop_assert!(parsed.clean, "{}: {} {:?}", format, text, parsed.errors);
            prop_assert!(!parsed.truncated, "{}: {}", format, text);
        }
    }

    #[test]
    fn cut_output_never_panics_and_keeps_whole_calls(
        calls in prop::collection::vec(python_call(), 1..3),
        cut in 0.0f64..1.0,
    ) {
        let text = join(&calls, ToString::to_string, "\n");
        let mut at = (text.len() as f64 * cut) as usize;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let parsed = extract_function_calls(&text[..at]);
        prop_assert!(parsed.calls.len() <= calls.len());
        // Calls on lines before the cut line come back unchanged.
        let whole_lines = text[..at].matches('\n').count();
        prop_assert!(parsed.calls.len() >= whole_lines.min(calls.len()));
        prop_assert_eq!(&parsed.calls[..whole_lines], &calls[..whole_lines]);
    }

    #[test]
    fn calls_match_themselves_exactly(calls in prop::collection::vec(python_call(), 0..4)) {
        let c = compare_function_calls(&calls, &calls);
        prop_assert_eq!(c.exact_match, 1.0);
        prop_assert_eq!(c.function_score, 1.0);
        prop_assert_eq!(c.params_score, 1.0);
        prop_assert_eq!(c.overall, 1.0);
        prop_assert!(c.extra.is_empty());
    }

    #[test]
    fn scores_stay_in_unit_range(
        expected in prop::collection::vec(python_call(), 0..3),
        predicted in prop::collection::vec(python_call(), 0..4),
        noise in tricky_text(),
        shuffle in any::<bool>(),
    ) {
        let set = RewardSet::new(KNOWN_REWARDS, None).unwrap();
        let reference = Reference::from_calls(&expected);
        let mut outputs = vec![noise, join(&predicted, ToString::to_string, "\n")];
        // Half-right answers: expected calls with one argument dropped.
        let mut partial = expected.clone();
        if let Some(first) = partial.first_mut() {
            first.args.pop();
        }
        if shuffle {
            partial.reverse();
        }
        partial.extend(predicted.iter().take(1).cloned());
        outputs.push(join(&partial, ToString::to_string, "\n"));
        for output in &outputs {
            let scores = set.score(output, &reference);
            for (name, v) in set.names().iter().zip(&scores.values) {
                prop_assert!((0.0..=1.0).contains(v), "{} = {} for {:?}", name, v, output);
            }
            let comparison = compare_function_calls(&extract_function_calls(output).calls, &expected);
            prop_assert!(comparison.overall <= 1.0 && comparison.overall >= 0.0);
            prop_assert!(
                comparison.exact_match == 0.0 || comparison.overall == 1.0,
                "an exact match scores 1 overall"
            );
        }
    }
}
