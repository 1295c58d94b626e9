//! Shapes seen in real model outputs (issue 14): broken bracketed calls,
//! unclosed envelopes followed by another turn, and the abstention credit
//! each would otherwise earn.

use grpo_rewards::{extract_function_calls, ParseErrorKind, Reference, RewardSet};

/// Point 3: a line that opens a bracketed call list (or a JSON call
/// object) and does not parse is a broken call, as a bare call line is.
#[test]
fn broken_bracketed_calls_leave_a_parse_error() {
    for broken in [
        "[get_weather(city=\"Paris\"\nI hope that helps.",
        "[f(x=1), g(\nmore text",
        "[ get_weather(city=\"Paris\", days=[1, 2)]\nDone.",
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"\nDone.",
        "[{\"name\": \"get_weather\", \"arguments\": {\"city\": Paris}}]",
        "get_weather(city=\"Paris\"\nI hope that helps.",
    ] {
        let parsed = extract_function_calls(broken);
        assert!(parsed.calls.is_empty(), "{broken:?}");
        assert!(
            parsed
                .errors
                .iter()
                .any(|e| e.kind == ParseErrorKind::Malformed),
            "{broken:?}: {:?}",
            parsed.errors
        );
    }
    // Data and lists of values are not broken calls.
    for data in [
        "{\"city\": \"Paris\"\nok",
        "[1, 2\nok",
        "{\"name\": \"Ada\", \"age\": 36}",
    ] {
        assert!(extract_function_calls(data).errors.is_empty(), "{data:?}");
    }
}

/// Point 3, as a reward: on a no-call example the bracketed form earns no
/// more abstention credit than the bare one.
#[test]
fn broken_bracketed_calls_earn_no_abstention_credit() {
    let set = RewardSet::new(
        &["tool_call_exact", "tool_call_overall", "tool_call_format"],
        None,
    )
    .unwrap();
    let nothing = Reference::from_answer("").unwrap();
    for (bare, bracketed) in [
        (
            "get_weather(city=\"Paris\"\nthanks",
            "[get_weather(city=\"Paris\"\nthanks",
        ),
        ("f(x=1), g(\nthanks", "[f(x=1), g(\nthanks"),
    ] {
        let bare_scores = set.score(bare, &nothing);
        let bracketed_scores = set.score(bracketed, &nothing);
        assert_eq!(bare_scores.total, 0.0, "{bare:?}");
        assert_eq!(bracketed_scores.total, 0.0, "{bracketed:?}");
    }
    assert_eq!(set.score("No tool applies.", &nothing).total, 3.0);
}

/// Point 4: an unclosed `<tool_call>` followed by another turn token keeps
/// the complete calls before it.
#[test]
fn unclosed_envelopes_keep_their_calls_before_the_next_turn() {
    let reference = Reference::from_answer("get_weather(city='Paris')").unwrap();
    let set = RewardSet::new(&["tool_call_exact", "tool_call_format"], None).unwrap();
    let call = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}";
    for next_turn in [
        "<|im_start|>user\nThanks!<|im_end|>",
        "<|im_start|>",
        "<|start_header_id|>user<|end_header_id|>",
        "<|user|>",
        "<start_of_turn>user\nok<end_of_turn>",
        "<|eot_id|>",
    ] {
        let text = format!("<tool_call>\n{call}\n{next_turn}");
        let parsed = extract_function_calls(&text);
        assert_eq!(parsed.calls.len(), 1, "{text:?}: {:?}", parsed.errors);
        assert!(parsed.truncated, "{text:?}");
        let scores = set.score(&text, &reference);
        assert_eq!(scores.values, [1.0, 0.0], "{text:?}");
    }
}

/// Point 7: the literal parser grpo-dataset's converters use for Python
/// dicts in `<tool_call>` blocks.
#[test]
fn python_literals_parse_as_json_values() {
    use grpo_rewards::parse_literal;
    let v = parse_literal(
        "{'arguments': {'symbol': 'AAPL', 'n': 3, 'x': -1.5, 'ok': True, 'none': None, 'xs': (1, 2)}, 'name': 'get_stock_price'}",
    )
    .unwrap();
    assert_eq!(
        v.to_json(),
        serde_json::json!({"arguments": {"symbol": "AAPL", "n": 3, "x": -1.5, "ok": true, "none": null, "xs": [1, 2]}, "name": "get_stock_price"})
    );
    assert_eq!(parse_literal(r"'it\'s'").unwrap().to_json(), "it's");
    for bad in [
        "{'a': }", "[1, 2", "'open", "{'a' 1}", "x y", "", "((((((", "'\\u12'", "f()",
    ] {
        assert!(parse_literal(bad).is_err(), "{bad}");
    }
    assert!(parse_literal(&"[".repeat(10_000)).is_err());
}

/// The new formats are calls, not prose, for `tool_call_concise`.
#[test]
fn new_formats_hold_no_prose() {
    for text in [
        "<function_call> [{\"name\": \"f\", \"arguments\": {\"a\": 1}}]",
        "get_weather\n{\"city\": \"Paris\"}",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
        "<minimax:tool_call>\n<invoke name=\"get_weather\">\n<parameter name=\"city\">Paris</parameter>\n</invoke>\n</minimax:tool_call>",
        "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>",
        "<|tool_calls_section_begin|>\n<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>\n<|tool_calls_section_end|>",
        "<|im_start|>assistant\n{\"name\": \"f\", \"arguments\": {}}\n<|im_end|>",
        "get\\_weather(city=\"Paris\")",
    ] {
        assert_eq!(grpo_rewards::prose_chars(text), 0, "{text:?}");
    }
}
