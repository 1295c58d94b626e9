//! The matching rules through the public API: alternatives, optional
//! parameters, schemas, value typing and verdicts.

use grpo_rewards::{
    compare_function_calls, compare_with, extract_function_calls, CompareOptions, NumberMode,
    ParamKey, Reference, RewardSet, StringMode, ToolCall, Verdict,
};
use serde_json::json;

fn calls(text: &str) -> Vec<ToolCall> {
    let parsed = extract_function_calls(text);
    assert!(parsed.clean, "{text}: {:?}", parsed.errors);
    parsed.calls
}

fn exact(reference: &Reference, output: &str) -> f32 {
    reference
        .compare(&calls(output), &CompareOptions::default())
        .exact_match
}

#[test]
fn possible_answers_accept_any_listed_value_and_optional_omissions() {
    let reference = Reference::default()
        .with_possible_answers(&json!([
            {"calculate_area": {"base": [10, 10.0], "height": [5], "unit": ["units", ""]}},
            {"get_time": {"zone": ["UTC", "GMT"]}}
        ]))
        .unwrap();
    assert_eq!(
        exact(
            &reference,
            "get_time(zone='GMT')\ncalculate_area(base=10, height=5)"
        ),
        1.0
    );
    assert_eq!(
        exact(
            &reference,
            "calculate_area(base=10, height=5, unit='units'); get_time(zone='UTC')"
        ),
        1.0
    );
    assert_eq!(
        exact(
            &reference,
            "calculate_area(base=10, height=5, unit='cm'); get_time(zone='UTC')"
        ),
        0.0
    );
    assert_eq!(
        exact(&reference, "calculate_area(base=10, height=5)"),
        0.0,
        "a call is missing"
    );
}

#[test]
fn schema_defaults_count_as_omissions_both_ways() {
    let tools = [
        json!({"name": "get_weather", "parameters": {"type": "object", "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "default": "celsius"}
        }}}),
    ];
    let omits = Reference::from_answer("get_weather(city='Paris')")
        .unwrap()
        .with_tools(&tools)
        .unwrap();
    let spells_out = Reference::from_answer("get_weather(city='Paris', unit='celsius')")
        .unwrap()
        .with_tools(&tools)
        .unwrap();
    for reference in [&omits, &spells_out] {
        assert_eq!(exact(reference, "get_weather(city='Paris')"), 1.0);
        assert_eq!(
            exact(reference, "get_weather(city='Paris', unit='celsius')"),
            1.0
        );
        assert_eq!(exact(reference, "get_weather('Paris', 'celsius')"), 1.0);
        assert_eq!(
            exact(reference, "get_weather(city='Paris', unit='kelvin')"),
            0.0
        );
    }
    // Without the schema, a default spelled out is an unexpected parameter.
    let plain = Reference::from_answer("get_weather(city='Paris')").unwrap();
    assert_eq!(
        exact(&plain, "get_weather(city='Paris', unit='celsius')"),
        0.0
    );
}

#[test]
fn schema_names_positional_arguments_of_predicted_calls() {
    let tools = [
        json!({"type": "function", "function": {"name": "pow", "parameters": {
            "type": "object",
            "properties": {"base": {"type": "number"}, "exp": {"type": "number"}}
        }}}),
    ];
    let reference = Reference::from_answer("pow(base=2, exp=10)")
        .unwrap()
        .with_tools(&tools)
        .unwrap();
    assert_eq!(exact(&reference, "pow(2, 10)"), 1.0);
    assert_eq!(exact(&reference, "pow(2, exp=10)"), 1.0);
    let c = reference.compare(&calls("pow(10, 2)"), &CompareOptions::default());
    let keys: Vec<ParamKey> = c.calls[0].params.iter().map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        [ParamKey::Name("base".into()), ParamKey::Name("exp".into())]
    );
    assert_eq!(c.params_score, 0.0);
}

#[test]
fn verdicts_say_why_a_parameter_failed() {
    let expected = calls("book(city='Paris', nights=3, guests=2)");
    let predicted = calls("book(city='Paris', nights='3', breakfast=True)");
    let c = compare_function_calls(&predicted, &expected);
    let verdicts: Vec<(String, Verdict)> = c.calls[0]
        .params
        .iter()
        .map(|p| (p.key.to_string(), p.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("city".into(), Verdict::Correct),
            (
                "nights".into(),
                Verdict::WrongType {
                    expected: "int",
                    got: "str"
                }
            ),
            ("guests".into(), Verdict::Missing),
            ("breakfast".into(), Verdict::Unexpected),
        ]
    );
    assert_eq!(c.params_score, 0.25);
}

#[test]
fn value_typing_and_options() {
    let expected = calls(
        "f(n=2, ratio=0.5, city='New York', tags=['a', 'b'], cfg={'x': 1, 'y': [1, 2]}, g=h(k=1))",
    );
    let reordered_dict = calls(
        "f(n=2.0, ratio=0.5, city='New York', tags=['a', 'b'], cfg={'y': [1, 2.0], 'x': 1}, g=h(k=1.0))",
    );
    assert_eq!(
        compare_function_calls(&reordered_dict, &expected).exact_match,
        1.0
    );

    let strict = CompareOptions {
        numbers: NumberMode::Strict,
        ..CompareOptions::default()
    };
    assert_eq!(
        compare_with(&reordered_dict, &expected, &strict).exact_match,
        0.0
    );

    let loose_city = calls(
        "f(n=2, ratio=0.5, city='new-york', tags=['a', 'b'], cfg={'x': 1, 'y': [1, 2]}, g=h(k=1))",
    );
    assert_eq!(
        compare_function_calls(&loose_city, &expected).exact_match,
        0.0
    );
    let normalized = CompareOptions {
        strings: StringMode::Normalized,
        ..CompareOptions::default()
    };
    assert_eq!(
        compare_with(&loose_city, &expected, &normalized).exact_match,
        1.0
    );

    let swapped_tags = calls(
        "f(n=2, ratio=0.5, city='New York', tags=['b', 'a'], cfg={'x': 1, 'y': [1, 2]}, g=h(k=1))",
    );
    assert_eq!(
        compare_function_calls(&swapped_tags, &expected).exact_match,
        0.0
    );
}

#[test]
fn names_are_exact() {
    let expected = calls("math.factorial(n=5)");
    assert_eq!(
        compare_function_calls(&calls("factorial(n=5)"), &expected).function_score,
        0.0
    );
    assert_eq!(
        compare_function_calls(&calls("Math.factorial(n=5)"), &expected).function_score,
        0.0
    );
}

/// Issue 14, point 1: BFCL writes the allowed values of dict-valued
/// parameters as dicts of lists of allowed values, recursively.
#[test]
fn nested_possible_answers_are_expanded() {
    let reference = Reference::default()
        .with_possible_answers(&json!([{"find_home": {
            "city": ["Austin"],
            "budget": [{"min": [300000], "max": [400000, ""]}],
            "rooms": [[{"kind": ["bedroom"], "count": [2, 3]}, {"kind": ["office"], "count": [1, ""]}], ""]
        }}]))
        .unwrap();
    for output in [
        "find_home(city='Austin', budget={'min': 300000, 'max': 400000})",
        "find_home(city='Austin', budget={'min': 300000})",
        "find_home(city='Austin', budget={'max': 400000.0, 'min': 300000}, \
         rooms=[{'kind': 'bedroom', 'count': 3}, {'kind': 'office'}])",
    ] {
        assert_eq!(exact(&reference, output), 1.0, "{output}");
    }
    for output in [
        "find_home(city='Austin', budget={'max': 400000})",
        "find_home(city='Austin', budget={'min': 300000, 'max': 400000, 'tax': 0})",
        "find_home(city='Austin', budget=300000)",
        "find_home(city='Austin', budget={'min': 300000}, rooms=[{'kind': 'office'}, {'kind': 'bedroom', 'count': 2}])",
    ] {
        assert_eq!(exact(&reference, output), 0.0, "{output}");
    }
    // A literal answer is compared literally.
    let literal = Reference::from_answer("f(opts={'a': [1, 2]})").unwrap();
    assert_eq!(exact(&literal, "f(opts={'a': 1})"), 0.0);
    assert_eq!(exact(&literal, "f(opts={'a': [1, 2]})"), 1.0);
}

/// Issue 14, point 5: `required` in a schema beats a default equal to the
/// expected value.
#[test]
fn required_parameters_must_be_given_even_with_a_default() {
    let tools = [
        json!({"name": "get_weather", "parameters": {"type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "default": "celsius"}
            },
            "required": ["city", "unit"]
        }}),
    ];
    let reference = Reference::from_answer("get_weather(city='Paris', unit='celsius')")
        .unwrap()
        .with_tools(&tools)
        .unwrap();
    assert_eq!(
        exact(&reference, "get_weather(city='Paris', unit='celsius')"),
        1.0
    );
    assert_eq!(exact(&reference, "get_weather(city='Paris')"), 0.0);
    let c = reference.compare(
        &calls("get_weather(city='Paris')"),
        &CompareOptions::default(),
    );
    assert_eq!(c.calls[0].params[1].verdict, Verdict::Missing);
}

/// Issue 14, point 6: the BFCL-compatible checking mode, through a
/// `RewardSet`, next to the stricter defaults.
#[test]
fn bfcl_mode_checks_as_the_leaderboard_does() {
    let reference = Reference::default()
        .with_possible_answers(&json!([{"plan": {
            "city": ["San Francisco, CA"],
            "ratio": [0.5, 1.0],
            "count": [2],
            "dates": [["April 1, 2024", "April 2, 2024"]]
        }}]))
        .unwrap();
    let default = RewardSet::new(&["tool_call_exact"], None).unwrap();
    let bfcl = RewardSet::new(&["tool_call_exact"], None)
        .unwrap()
        .with_options(CompareOptions::bfcl());
    let score = |set: &RewardSet, output: &str| set.score(output, &reference).total;
    // (output, default mode, BFCL mode)
    for (output, want_default, want_bfcl) in [
        (
            "plan(city='San Francisco, CA', ratio=0.5, count=2, dates=['April 1, 2024', 'April 2, 2024'])",
            1.0,
            1.0,
        ),
        // Strings: case, spaces and `,./-_*^` are ignored by BFCL only.
        (
            "plan(city='san francisco ca', ratio=0.5, count=2, dates=('april 1 2024', 'April 2 2024'))",
            0.0,
            1.0,
        ),
        // Other punctuation still counts.
        (
            "plan(city='San Francisco (CA)', ratio=0.5, count=2, dates=['April 1, 2024', 'April 2, 2024'])",
            0.0,
            0.0,
        ),
        // An int for a float is right in both modes.
        (
            "plan(city='San Francisco, CA', ratio=1, count=2, dates=['April 1, 2024', 'April 2, 2024'])",
            1.0,
            1.0,
        ),
        // A float for an int is right by default, a type error for BFCL.
        (
            "plan(city='San Francisco, CA', ratio=0.5, count=2.0, dates=['April 1, 2024', 'April 2, 2024'])",
            1.0,
            0.0,
        ),
    ] {
        assert_eq!(score(&default, output), want_default, "default: {output}");
        assert_eq!(score(&bfcl, output), want_bfcl, "bfcl: {output}");
    }
    let float_for_int = calls("plan(count=2.0)");
    let c = Reference::from_answer("plan(count=2)")
        .unwrap()
        .compare(&float_for_int, &CompareOptions::bfcl());
    assert_eq!(
        c.calls[0].params[0].verdict,
        Verdict::WrongType {
            expected: "int",
            got: "float"
        }
    );
}
