//! BFCL on its own file layout: finding the categories of a data
//! directory, converting them, and scoring given outputs the way the
//! leaderboard does, on the hand-written fixtures in `tests/data/bfcl`
//! (BFCL's shapes, not its data; see tests/data/README.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use grpo_dataset::bfcl::{
    convert_dir, read_category, Category, CategoryFile, CategoryScore, DataDir, Judged, Summary,
};
use grpo_dataset::convert::{convert_file, ConvertOptions, Format};
use grpo_dataset::prompt::JsonStyle;
use grpo_dataset::Error;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn outputs() -> HashMap<String, String> {
    std::fs::read_to_string(data("bfcl/outputs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_owned(),
                v["output"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every entry of the fixture directory judged on the outputs of
/// `outputs.jsonl`.
fn judge_all() -> Vec<Judged> {
    let dir = DataDir::scan(&data("bfcl")).unwrap();
    let outputs = outputs();
    let mut judged = Vec::new();
    for file in &dir.files {
        for entry in read_category(file, JsonStyle::Pretty).unwrap() {
            let id = entry.id.clone().unwrap();
            judged.push(Judged::new(file.category, &entry, &outputs[&id]));
        }
    }
    judged
}

fn file_name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

#[test]
fn a_data_directory_lists_every_single_turn_category() {
    let dir = DataDir::scan(&data("bfcl")).unwrap();
    let found: Vec<Category> = dir.files.iter().map(|f| f.category).collect();
    assert_eq!(found, Category::ALL);
    let by = |c| dir.files.iter().find(|f| f.category == c).unwrap();
    let simple: &CategoryFile = by(Category::SimplePython);
    assert_eq!(simple.version, 4);
    assert_eq!(
        file_name(simple.answers.as_ref().unwrap()),
        "BFCL_v4_simple_python.json"
    );
    for c in [
        Category::Irrelevance,
        Category::LiveIrrelevance,
        Category::LiveRelevance,
    ] {
        assert_eq!(by(c).answers, None, "{c}");
    }
    let skipped: Vec<(&str, &str)> = dir
        .skipped
        .iter()
        .map(|(p, why)| (file_name(p), why.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().any(|(f, why)| *f == "BFCL_v3_simple.json"
        && why.contains("older version of")
        && why.contains("BFCL_v4_simple_python.json")));
    assert!(skipped
        .iter()
        .any(|(f, why)| *f == "BFCL_v4_multi_turn_base.json" && why.contains("not a single-turn")));
}

#[test]
fn bfcl_v3_names_are_read() {
    let dir = DataDir::scan(&data("bfcl_v3")).unwrap();
    let found: Vec<(Category, u32)> = dir.files.iter().map(|f| (f.category, f.version)).collect();
    assert_eq!(
        found,
        [(Category::SimplePython, 3), (Category::Irrelevance, 3)]
    );
    let (_, converted) = convert_dir(&data("bfcl_v3"), JsonStyle::Pretty).unwrap();
    assert_eq!(converted[0].examples[0].answer, "math.factorial(number=3)");
    assert_eq!(converted[0].examples[0].category(), Some("simple_python"));
}

#[test]
fn a_directory_without_bfcl_files_is_an_error() {
    let err = DataDir::scan(&data("convert_none_here")).unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err}");
    let err = DataDir::scan(&data("")).unwrap_err();
    assert!(
        err.to_string().contains("no BFCL_v<N>_<category>.json"),
        "{err}"
    );
}

#[test]
fn converting_a_directory_keeps_ids_and_categories() {
    let (dir, converted) = convert_dir(&data("bfcl"), JsonStyle::Pretty).unwrap();
    let counts: Vec<(Category, usize, usize)> = dir
        .files
        .iter()
        .zip(&converted)
        .map(|(f, c)| (f.category, c.examples.len(), c.rejected.len()))
        .collect();
    use Category::*;
    assert_eq!(
        counts,
        [
            (SimplePython, 3, 0),
            (SimpleJava, 2, 0),
            (SimpleJavascript, 2, 0),
            (Multiple, 2, 1),
            (Parallel, 2, 0),
            (ParallelMultiple, 2, 0),
            (Irrelevance, 2, 0),
            (LiveSimple, 2, 0),
            (LiveMultiple, 3, 0),
            (LiveParallel, 1, 0),
            (LiveParallelMultiple, 2, 0),
            (LiveIrrelevance, 3, 0),
            (LiveRelevance, 0, 2),
        ]
    );
    let multiple = &converted[3];
    assert!(multiple.rejected[0]
        .reason
        .contains("no possible answer for id `multiple_2`"));
    assert!(converted[12].rejected[0].reason.contains("relevance task"));
    for (f, c) in dir.files.iter().zip(&converted) {
        for ex in &c.examples {
            assert_eq!(ex.category(), Some(f.category.name()));
            assert!(ex.id().unwrap().starts_with(f.category.name()));
        }
    }
    let ex = &converted[0].examples[0];
    assert_eq!(ex.id(), Some("simple_python_0"));
    assert_eq!(
        ex.answer,
        "calculate_triangle_area(base=10, height=5, unit=\"units\")"
    );
    assert!(ex.possible_answers.is_some());
    assert_eq!(converted[6].examples[0].answer, "");
    // A system turn is kept, and the last user turn is the guide's prompt,
    // functions included.
    let live = &converted[7].examples[0];
    let messages = live.messages.as_ref().unwrap();
    assert_eq!(messages[0].role, "system");
    assert_eq!(messages[1].content, live.prompt);
    assert!(live.prompt.contains("\"set_alarm\""));
    // The files written load back, ids and categories included.
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("live_simple.jsonl");
    grpo_dataset::write_jsonl(&path, &converted[7].examples).unwrap();
    let loaded = grpo_dataset::load(&path, &Default::default()).unwrap();
    assert_eq!(loaded.examples[1].id(), Some("live_simple_1-1-0"));
    assert_eq!(loaded.examples[1].category(), Some("live_simple"));
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains("\"tools\""));
}

#[test]
fn single_files_find_their_answers_or_need_none() {
    let none = ConvertOptions::default();
    // Answers beside the file, in possible_answer/, are found.
    let c = convert_file(Format::Bfcl, &data("bfcl/BFCL_v4_parallel.json"), &none).unwrap();
    assert_eq!(c.examples.len(), 2);
    assert_eq!(
        c.examples[0].answer,
        "math.factorial(number=5)\nmath.factorial(number=7)"
    );
    // Irrelevance has no answer file and needs none.
    let c = convert_file(Format::Bfcl, &data("bfcl/BFCL_v4_irrelevance.json"), &none).unwrap();
    assert_eq!((c.examples.len(), c.rejected.len()), (2, 0));
    // Relevance records are read and rejected, with the reason.
    let c = convert_file(
        Format::Bfcl,
        &data("bfcl/BFCL_v4_live_relevance.json"),
        &none,
    )
    .unwrap();
    assert_eq!((c.examples.len(), c.rejected.len()), (0, 2));
    // An AST category away from its answers is an error naming the fix.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("BFCL_v4_simple_python.json");
    std::fs::copy(data("bfcl/BFCL_v4_simple_python.json"), &copy).unwrap();
    let err = convert_file(Format::Bfcl, &copy, &none).unwrap_err();
    assert!(err.to_string().contains("--answers FILE"), "{err}");
}

#[test]
fn old_conversions_with_source_id_still_name_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.jsonl");
    std::fs::write(
        &path,
        "{\"prompt\": \"p\", \"answer\": \"\", \"source\": \"bfcl\", \"source_id\": \"irrelevance_3\"}\n",
    )
    .unwrap();
    let loaded = grpo_dataset::load(&path, &Default::default()).unwrap();
    assert_eq!(loaded.examples[0].id(), Some("irrelevance_3"));
    assert_eq!(loaded.examples[0].category(), None);
}

/// Hand-checked verdicts of `outputs.jsonl` (the reasons are in
/// tests/data/README.md): right answers and entries per category.
const EXPECTED: [(Category, usize, usize); 13] = [
    (Category::SimplePython, 2, 3),
    (Category::SimpleJava, 1, 2),
    (Category::SimpleJavascript, 2, 2),
    (Category::Multiple, 1, 3),
    (Category::Parallel, 1, 2),
    (Category::ParallelMultiple, 1, 2),
    (Category::Irrelevance, 1, 2),
    (Category::LiveSimple, 1, 2),
    (Category::LiveMultiple, 2, 3),
    (Category::LiveParallel, 1, 1),
    (Category::LiveParallelMultiple, 0, 2),
    (Category::LiveIrrelevance, 2, 3),
    (Category::LiveRelevance, 1, 2),
];

#[test]
fn given_outputs_score_as_checked_by_hand() {
    let judged = judge_all();
    let scores: Vec<(Category, usize, usize)> = Category::ALL
        .iter()
        .map(|&c| {
            let s = CategoryScore::tally(c, &judged);
            (c, s.correct, s.total)
        })
        .collect();
    assert_eq!(scores, EXPECTED);

    let error = |id: &str| {
        let j = judged.iter().find(|j| j.id == id).unwrap();
        (
            j.outcome.error_type.unwrap_or("none"),
            j.outcome.reason.clone(),
        )
    };
    let cases = [
        ("simple_python_1", "none"), // BFCL strings: case, spaces and commas ignored
        ("simple_python_2", "type_error"), // 5.0 for an int
        ("simple_java_1", "ast_decoder:decoder_failed"),
        ("multiple_1", "simple_function_checker:wrong_func_name"),
        ("multiple_2", "not_converted"),
        ("parallel_0", "none"), // any order
        (
            "parallel_1",
            "parallel_function_checker_no_order:wrong_count",
        ),
        ("parallel_multiple_1", "value_error"),
        ("irrelevance_1", "irrelevance_error:decoder_success"),
        (
            "live_simple_1-1-0",
            "simple_function_checker:unexpected_param",
        ),
        ("live_multiple_1-0-1", "none"), // JSON output, "A red fox." standardized
        (
            "live_multiple_2-1-0",
            "simple_function_checker:missing_required",
        ),
        (
            "live_parallel_multiple_1-1-0",
            "parallel_function_checker_no_order:wrong_count",
        ),
        ("live_irrelevance_1-0-1", "none"), // a broken call decodes to nothing
        ("live_relevance_1-1-0", "relevance_error:decoder_failed"),
    ];
    for (id, want) in cases {
        let (got, reason) = error(id);
        assert_eq!(got, want, "{id}: {reason}");
    }
    assert!(error("parallel_multiple_1").1.contains("`b=5`"));
    let line = judged
        .iter()
        .find(|j| j.id == "parallel_0")
        .unwrap()
        .to_json();
    assert_eq!(line["verdict"], "correct");
    assert_eq!(line["category"], "parallel");
    assert_eq!(
        line["decoded"],
        serde_json::json!(["math.factorial(number=7)", "math.factorial(number=5)"])
    );
}

#[test]
fn the_summary_averages_as_the_leaderboard_does() {
    let judged = judge_all();
    let scores: Vec<CategoryScore> = Category::ALL
        .iter()
        .map(|&c| CategoryScore::tally(c, &judged))
        .collect();
    let s = Summary::compute(&scores);
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
    // mean(2/3, 1/2, 2/2) = 13/18
    assert!(close(s.non_live_simple.value, 13.0 / 18.0));
    // mean(13/18, 1/3, 1/2, 1/2) = 37/72
    assert!(close(s.non_live_ast.value, 37.0 / 72.0));
    // (1 + 2 + 1 + 0) right of (2 + 3 + 1 + 2)
    assert!(close(s.live.value, 0.5));
    // mean(1/2, 2/3)
    assert!(close(s.irrelevance.value, 7.0 / 12.0));
    assert!(close(s.relevance.value, 0.5));
    assert!(s.averages().iter().all(|a| a.missing.is_empty()));
    assert_eq!(s.live.count, 8);

    // Without Java and JavaScript, the simple average is N/A as on the
    // leaderboard, and over the categories present it is Python's alone.
    let python_only: Vec<CategoryScore> = scores
        .iter()
        .copied()
        .filter(|c| {
            !matches!(
                c.category,
                Category::SimpleJava | Category::SimpleJavascript
            )
        })
        .collect();
    let s = Summary::compute(&python_only);
    assert_eq!(s.non_live_simple.value, None);
    assert_eq!(s.non_live_ast.value, None);
    assert!(close(s.non_live_simple.over_present, 2.0 / 3.0));
    assert!(close(
        s.non_live_ast.over_present,
        (2.0 / 3.0 + 1.0 / 3.0 + 0.5 + 0.5) / 4.0
    ));
    assert_eq!(
        s.non_live_ast.missing,
        [Category::SimpleJava, Category::SimpleJavascript]
    );
    assert!(close(s.live.value, 0.5));
}
