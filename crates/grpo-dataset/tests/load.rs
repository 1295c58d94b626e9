//! Loading files: the guide's records, unknown fields, and each defect
//! reported with file, line and field.

use std::path::{Path, PathBuf};

use grpo_dataset::{load, Error, IssueKind, LoadOptions};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn guide_records_load_with_extensions_and_extra_fields() {
    let loaded = load(&data("guide.jsonl"), &LoadOptions::default()).unwrap();
    assert_eq!(loaded.report.skipped_total(), 0);
    let [factorial, irrelevant, chat] = &loaded.examples[..] else {
        panic!("expected 3 records");
    };
    assert_eq!(
        factorial.answer,
        "calculate_factorial(n=5)\ncalculate_factorial(n=7)"
    );
    let names: Vec<&str> = factorial
        .tools
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reverse_words", "calculate_factorial", "get_range"]);
    assert!(factorial.tools_from_prompt);
    assert!(irrelevant.is_irrelevance());
    assert_eq!(irrelevant.confidence, 1.0);
    assert_eq!(irrelevant.extra["difficulty"], "easy");
    assert!(!chat.tools_from_prompt);
    assert_eq!(chat.messages.as_ref().unwrap().len(), 3);
    assert_eq!(chat.extra["meta"]["n"][1], 2);
}

#[test]
fn round_trip_keeps_every_field() {
    let loaded = load(&data("guide.jsonl"), &LoadOptions::default()).unwrap();
    let original = std::fs::read_to_string(data("guide.jsonl")).unwrap();
    for (ex, line) in loaded.examples.iter().zip(original.lines()) {
        let a: serde_json::Value = serde_json::from_str(&ex.to_json_line()).unwrap();
        let mut b: serde_json::Value = serde_json::from_str(line).unwrap();
        // Defaults are written out explicitly.
        for (k, v) in [
            ("type", "tool_call".into()),
            ("is_multi_answer", false.into()),
            ("confidence", 1.0.into()),
        ] {
            b.as_object_mut().unwrap().entry(k).or_insert(v);
        }
        for k in ["possible_boxed_answers", "source"] {
            let default = if k == "source" {
                "".into()
            } else {
                serde_json::json!([])
            };
            b.as_object_mut().unwrap().entry(k).or_insert(default);
        }
        assert_eq!(a, b);
    }
}

#[test]
fn bad_records_are_skipped_counted_and_located() {
    let loaded = load(&data("mixed.jsonl"), &LoadOptions::default()).unwrap();
    let r = &loaded.report;
    assert_eq!(loaded.lines, [1, 10]);
    assert_eq!(r.blank_lines, 1);
    assert_eq!(r.skipped_total(), 7);
    let got: Vec<(usize, Option<&str>, IssueKind)> = r
        .issues
        .iter()
        .map(|i| (i.line, i.field.as_deref(), i.kind))
        .collect();
    assert_eq!(
        got,
        [
            (2, Some("confidence"), IssueKind::ConfidenceOutOfRange),
            (3, None, IssueKind::NotJson),
            (4, Some("prompt"), IssueKind::MissingField),
            (6, Some("answer"), IssueKind::AnswerNotCalls),
            (7, Some("ground_truth"), IssueKind::GroundTruthNotCalled),
            (
                8,
                Some("possible_boxed_answers"),
                IssueKind::BoxedAnswersMissingCall
            ),
            (9, Some("prompt"), IssueKind::WrongType),
        ]
    );
    assert_eq!(r.duplicates, [(10, 1)]);
    let text = r.to_string();
    assert!(
        text.contains("mixed.jsonl:2: field `confidence`: got 1.5, expected a number in [0, 1]"),
        "{text}"
    );
    assert!(text.contains("1 repeat an earlier prompt"), "{text}");
}

#[test]
fn report_keeps_only_the_first_issues_but_counts_all() {
    let opts = LoadOptions {
        max_issues: 2,
        ..LoadOptions::default()
    };
    let r = load(&data("mixed.jsonl"), &opts).unwrap().report;
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.skipped_total(), 7);
    assert!(r.to_string().contains("… and 5 more"));
}

#[test]
fn strict_stops_at_the_first_bad_record() {
    let opts = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    match load(&data("mixed.jsonl"), &opts).unwrap_err() {
        Error::Invalid { issue } => assert_eq!(
            (issue.line, issue.kind),
            (2, IssueKind::ConfidenceOutOfRange)
        ),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn empty_and_all_bad_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    assert!(matches!(
        load(&empty, &LoadOptions::default()),
        Err(Error::Empty { .. })
    ));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"answer\": \"\"}\nnope\n").unwrap();
    match load(&bad, &LoadOptions::default()).unwrap_err() {
        Error::NoValidRecord { skipped, first, .. } => {
            assert_eq!(skipped, 2);
            assert_eq!(first.line, 1);
        }
        other => panic!("unexpected {other}"),
    }
    let missing = load(&dir.path().join("missing.jsonl"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(missing, Error::Read { .. }));
    assert!(missing.to_string().contains("missing.jsonl"));
}

#[test]
fn a_call_to_an_unlisted_function_is_caught_through_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    let prompt = grpo_dataset::prompt::build_prompt(
        &[serde_json::json!({"name": "get_time", "parameters": {}})],
        "What time is it?",
        grpo_dataset::prompt::JsonStyle::Compact,
    );
    let line = serde_json::json!({"prompt": prompt, "answer": "get_date()"});
    std::fs::write(&path, format!("{line}\n{line}\n")).unwrap();
    let err = load(&path, &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`get_date`, which is not among the listed functions (get_time)"),
        "{err}"
    );
    // Without extraction the prompt's list is not consulted.
    let opts = LoadOptions {
        extract_tools: false,
        ..LoadOptions::default()
    };
    assert_eq!(load(&path, &opts).unwrap().examples.len(), 2);
}
