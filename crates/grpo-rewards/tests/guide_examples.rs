//! Every example of the user's guide (`tool-calling-guide.md`): its dataset
//! record, expected outputs, prompt functions, reward names and weights,
//! and its evaluation script's use of the parse-and-compare API.

use grpo_rewards::{
    compare_function_calls, extract_function_calls, CompareOptions, Error, Reference, RewardSet,
    KNOWN_REWARDS,
};
use serde_json::json;

/// The `answer` of the guide's dataset record.
const RECORD_ANSWER: &str = "calculate_factorial(n=5)\ncalculate_factorial(n=7)";

#[test]
fn dataset_record_answer_is_two_calls() {
    let reference = Reference::from_answer(RECORD_ANSWER).unwrap();
    let names: Vec<&str> = reference.calls().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["calculate_factorial", "calculate_factorial"]);
    assert!(reference.expects_call());
}

#[test]
fn expected_outputs_parse_cleanly() {
    // "Direct Generation" and "Multi-Function Calls".
    let single = extract_function_calls("calculate_factorial(n=5)");
    assert_eq!(single.calls.len(), 1);
    assert!(single.clean);
    let multi = extract_function_calls(
        "calculate_factorial(n=5)\ncalculate_factorial(n=7)\ncalculate_factorial(n=10)",
    );
    let ns: Vec<String> = multi
        .calls
        .iter()
        .map(|c| c.args[0].1.to_string())
        .collect();
    assert_eq!(ns, ["5", "7", "10"]);
    assert!(multi.clean);
}

#[test]
fn quick_test_prompt_functions_name_positional_arguments() {
    // The function list of the guide's "Quick Test" prompt.
    let functions = json!([{
        "name": "calculate_factorial",
        "description": "Calculates the factorial of a non-negative integer.",
        "parameters": {
            "n": {"description": "The non-negative integer.", "type": "int"}
        }
    }]);
    let tools = functions.as_array().unwrap();
    let reference = Reference::from_answer("calculate_factorial(n=7)")
        .unwrap()
        .with_tools(tools)
        .unwrap();
    let options = CompareOptions::default();
    for output in ["calculate_factorial(n=7)", "calculate_factorial(7)"] {
        let calls = extract_function_calls(output).calls;
        assert_eq!(
            reference.compare(&calls, &options).exact_match,
            1.0,
            "{output}"
        );
    }
}

#[test]
fn evaluation_script_translates_one_to_one() {
    // pred_calls = extract_function_calls(response)
    // exp_calls = extract_function_calls(expected)
    // comparison = compare_function_calls(pred_calls, exp_calls)
    // if comparison['exact_match'] == 1.0: correct += 1
    let cases = [
        ("calculate_factorial(n=7)", "calculate_factorial(n=7)", 1.0),
        ("calculate_factorial(n=7)", "calculate_factorial(n=5)", 0.0),
        (
            RECORD_ANSWER,
            "calculate_factorial(n=7)\ncalculate_factorial(n=5)",
            1.0,
        ),
        (
            "The factorial of 7 is 5040.",
            "calculate_factorial(n=7)",
            0.0,
        ),
    ];
    for (expected, response, exact) in cases {
        let pred_calls = extract_function_calls(response).calls;
        let exp_calls = extract_function_calls(expected).calls;
        let comparison = compare_function_calls(&pred_calls, &exp_calls);
        assert_eq!(
            comparison.exact_match, exact,
            "{response:?} vs {expected:?}"
        );
    }
}

#[test]
fn reward_table_meanings() {
    let reference = Reference::from_answer("calculate_factorial(n=5)").unwrap();
    let all = RewardSet::new(
        &[
            "tool_call_exact",
            "tool_call_function",
            "tool_call_params",
            "tool_call_overall",
            "tool_call_parseable",
        ],
        None,
    )
    .unwrap();
    // Exact match: everything 1.
    assert_eq!(
        all.score("calculate_factorial(n=5)", &reference).values,
        [1.0, 1.0, 1.0, 1.0, 1.0]
    );
    // Right function, wrong parameter: partial credit (function 1, params
    // 0, overall 40 %).
    let s = all.score("calculate_factorial(n=6)", &reference).values;
    assert_eq!(&s[..3], [0.0, 1.0, 0.0]);
    assert!((s[3] - 0.4).abs() < 1e-6);
    assert_eq!(s[4], 1.0);
    // Wrong function: parameters earn nothing ("requires correct function").
    let s = all.score("calculate_fibonacci(n=5)", &reference).values;
    assert_eq!(s, [0.0, 0.0, 0.0, 0.0, 1.0]);
    // Text instead of a call: nothing parseable.
    let s = all.score("The factorial of 5 is 120.", &reference).values;
    assert_eq!(s, [0.0; 5]);
}

#[test]
fn every_command_line_resolves() {
    let commands: [(&[&str], Option<&[f32]>); 6] = [
        // Recommended settings, Strategy 3, Full Training.
        (
            &["tool_call_exact", "tool_call_function", "tool_call_overall"],
            Some(&[0.3, 0.4, 0.3]),
        ),
        // Strategy 1.
        (&["tool_call_exact"], Some(&[1.0])),
        // Strategy 2, phases 1 to 3.
        (
            &["tool_call_function", "tool_call_parseable"],
            Some(&[0.8, 0.2]),
        ),
        (
            &["tool_call_function", "tool_call_params"],
            Some(&[0.5, 0.5]),
        ),
        (&["tool_call_exact", "tool_call_overall"], Some(&[0.7, 0.3])),
        // Quick Test: no weights given.
        (&["tool_call_function"], None),
    ];
    for (names, weights) in commands {
        let set = RewardSet::new(names, weights).unwrap();
        assert_eq!(set.names(), names);
    }
    // Production Training.
    let set = RewardSet::new(
        &[
            "tool_call_exact",
            "tool_call_function",
            "tool_call_params",
            "tool_call_overall",
        ],
        Some(&[0.25, 0.3, 0.2, 0.25]),
    )
    .unwrap();
    assert_eq!(set.weights(), [0.25, 0.3, 0.2, 0.25]);
    // Every name in the guide's table is known.
    for name in [
        "tool_call_exact",
        "tool_call_function",
        "tool_call_params",
        "tool_call_overall",
        "tool_call_parseable",
    ] {
        assert!(KNOWN_REWARDS.contains(&name));
    }
    assert!(matches!(
        RewardSet::new(&["tool_call_exact", "tool_call_function"], Some(&[0.3])),
        Err(Error::WeightCount {
            expected: 2,
            got: 1
        })
    ));
}

#[test]
fn weighted_total_is_a_plain_sum() {
    // Strategy 3's weights on a half-right answer.
    let set = RewardSet::new(
        &["tool_call_exact", "tool_call_function", "tool_call_overall"],
        Some(&[0.3, 0.4, 0.3]),
    )
    .unwrap();
    let reference = Reference::from_answer(RECORD_ANSWER).unwrap();
    let s = set.score("calculate_factorial(n=5)", &reference);
    // exact 0; function F1 = 2·1/(1+2); params = 1/2; overall = 0.4·f + 0.4·p.
    let f = 2.0 / 3.0;
    let overall = 0.4 * f + 0.4 * 0.5;
    assert!((s.values[1] - f).abs() < 1e-6);
    assert!((s.values[2] - overall).abs() < 1e-6);
    assert!((s.total - (0.4 * f + 0.3 * overall)).abs() < 1e-6);
}
