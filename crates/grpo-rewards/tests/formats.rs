//! Table-driven parser cases from `tests/data/formats.jsonl` (regenerate
//! with `python3 gen_formats.py > formats.jsonl` in that folder): every
//! format the crate reads, with the calls, cleanliness, truncation and
//! formats each text must give.

use grpo_rewards::extract_function_calls;
use serde_json::Value as Json;

const CASES: &str = include_str!("data/formats.jsonl");

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn every_case_in_the_table() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in CASES.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let case: Json = serde_json::from_str(line).expect("valid JSONL");
        let name = case["name"].as_str().expect("name");
        let text = case["text"].as_str().expect("text");
        let parsed = extract_function_calls(text);
        let calls: Vec<String> = parsed.calls.iter().map(ToString::to_string).collect();
        let formats: Vec<String> = parsed.formats.iter().map(|f| f.name().to_owned()).collect();
        let got = (calls, parsed.clean, parsed.truncated, formats);
        let want = (
            strings(&case["calls"]),
            case["clean"].as_bool().expect("clean"),
            case["truncated"].as_bool().expect("truncated"),
            strings(&case["formats"]),
        );
        if got != want {
            failures.push(format!(
                "{name}\n  text:   {text:?}\n  got:    {got:?}\n  wanted: {want:?}\n  errors: {:?}",
                parsed.errors
            ));
        }
    }
    assert!(count >= 60, "the table has {count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
